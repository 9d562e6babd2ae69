"""How generated files are written (`paths.write_if_changed`): whole, through a temporary file
renamed into place, with the usual mode; an unchanged one not at all; never through a link."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from pipeline import paths


@pytest.fixture
def temporary_files(monkeypatch) -> list[str]:
    """The temporary files `write_if_changed` makes, by name."""
    made: list[str] = []
    real = tempfile.mkstemp

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        fd, name = real(*args, **kwargs)
        made.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", counted)
    return made


def test_a_new_file_is_written_whole_with_the_usual_mode(
    tmp_path: Path, temporary_files: list[str]
) -> None:
    page = tmp_path / "topic" / "page.md"
    page.parent.mkdir()
    assert paths.write_if_changed(page, "# Page\n")
    assert page.read_text() == "# Page\n"
    assert len(temporary_files) == 1 and not Path(temporary_files[0]).exists()
    assert stat.S_IMODE(page.stat().st_mode) == 0o666 & ~paths.UMASK
    assert sorted(p.name for p in page.parent.iterdir()) == ["page.md"]


def test_a_new_file_in_a_missing_folder_makes_the_folder(tmp_path: Path) -> None:
    page = tmp_path / "a" / "b" / "page.md"
    assert paths.write_if_changed(page, "text")
    assert page.read_text() == "text"


def test_a_changed_file_is_replaced_through_a_temporary_file_keeping_its_mode(
    tmp_path: Path, temporary_files: list[str]
) -> None:
    page = tmp_path / "page.md"
    page.write_text("old")
    page.chmod(0o640)
    inode = page.stat().st_ino
    assert paths.write_if_changed(page, "new")
    assert page.read_text() == "new"
    assert len(temporary_files) == 1 and not Path(temporary_files[0]).exists()
    assert page.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(page.stat().st_mode) == 0o640


def test_an_unchanged_file_is_not_written(tmp_path: Path, temporary_files: list[str]) -> None:
    page = tmp_path / "page.md"
    page.write_text("same")
    before = page.stat()
    assert not paths.write_if_changed(page, "same")
    after = page.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert temporary_files == []


def test_a_dangling_link_in_the_way_is_replaced_not_followed(tmp_path: Path) -> None:
    """A link left where a generated file goes (pointing outside, at nothing yet) must not make
    the write land at its target."""
    outside = tmp_path / "outside" / "target.txt"
    outside.parent.mkdir()
    generated = tmp_path / "generated"
    generated.mkdir()
    page = generated / "page.md"
    page.symlink_to(outside)
    assert paths.write_if_changed(page, "generated text")
    assert not outside.exists()
    assert not page.is_symlink()
    assert page.read_text() == "generated text"


def test_a_link_to_a_file_with_the_same_text_is_replaced_by_a_file(tmp_path: Path) -> None:
    """The same text behind a link is not the file the writer made: whoever can change the
    link's target could change the page later, unseen by its stat."""
    outside = tmp_path / "outside" / "target.md"
    outside.parent.mkdir()
    outside.write_text("generated text")
    generated = tmp_path / "generated"
    generated.mkdir()
    page = generated / "page.md"
    page.symlink_to(outside)
    assert paths.write_if_changed(page, "generated text")
    assert not page.is_symlink() and page.read_text() == "generated text"
    assert outside.read_text() == "generated text"


def test_a_link_to_a_folder_in_the_way_is_replaced_not_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    generated = tmp_path / "generated"
    generated.mkdir()
    page = generated / "page.md"
    page.symlink_to(outside, target_is_directory=True)
    assert paths.write_if_changed(page, "text")
    assert not page.is_symlink() and page.read_text() == "text"
    assert list(outside.iterdir()) == []


def test_a_write_that_fails_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    page = tmp_path / "page.md"
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle) -> None:  # noqa: ANN001
            self.handle = handle

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[:3])
            self.handle.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(OSError):
        paths.write_if_changed(page, "a longer text")
    assert not page.exists()
    assert list(tmp_path.iterdir()) == []
