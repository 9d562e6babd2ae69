"""A failed or killed build never leaves site/ missing or half-made, and a generated page is
reused only when it is exactly what was rendered."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import build as build_mod
from tests.conftest import REPO, copy_publication, replace_in, run_cli, snapshot

PAGE = "build/preview/endocrinology/hypothyroidism-levothyroxine.md"
HTML = "site/endocrinology/hypothyroidism-levothyroxine/index.html"
ARTICLE = "content/endocrinology/hypothyroidism-levothyroxine.md"


def tree(site: Path) -> dict[str, str]:
    return {
        p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def built(root: Path) -> Path:
    before = snapshot(root)
    run = run_cli(root, "build", "--preview")
    assert run.exit_code == 0, run.stderr
    assert snapshot(root) == before, "build changed content/ or references/"
    return root / "site"


def test_a_truncated_generated_page_is_rendered_again(publication: Path) -> None:
    built(publication)
    whole = (publication / PAGE).read_bytes()
    (publication / PAGE).write_bytes(whole[: len(whole) // 3])
    built(publication)
    assert (publication / PAGE).read_bytes() == whole
    assert "disclaimer" in (publication / HTML).read_text().lower()


def test_an_altered_generated_page_of_the_same_size_is_rendered_again(publication: Path) -> None:
    built(publication)
    whole = (publication / PAGE).read_bytes()
    (publication / PAGE).write_bytes(whole.replace(b"a", b"b"))
    built(publication)
    assert (publication / PAGE).read_bytes() == whole


def test_a_failed_build_leaves_site_byte_identical(publication: Path) -> None:
    before = tree(built(publication))
    replace_in(publication, ARTICLE, "status:", "status: &a\nstatus:")
    run = run_cli(publication, "build", "--preview")
    assert run.exit_code == 1 and "Traceback" not in run.stderr
    assert tree(publication / "site") == before


@pytest.mark.parametrize("failing_call", [1, 2, 3])
def test_site_survives_a_failure_at_any_rename(
    publication: Path, monkeypatch, failing_call: int
) -> None:
    before = tree(built(publication))
    calls = {"n": 0}
    real_replace = os.replace

    def flaky(src, dst):  # noqa: ANN001 - os.replace's signature
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    replace_in(publication, ARTICLE, "## Follow-up", "A changed line.\n\n## Follow-up")
    try:
        run_cli(publication, "build", "--preview")
    except OSError:
        pass  # the in-process runner lets the error through; `pipeline` prints one line
    monkeypatch.setattr(os, "replace", real_replace)
    site = publication / "site"
    assert site.is_dir()
    after = tree(site)
    assert after == before or "A changed line." in (publication / HTML).read_text()
    built(publication)
    assert "A changed line." in (publication / HTML).read_text()
    leftovers = [
        p.name for p in publication.iterdir() if p.name.startswith(("site.tmp-", "site.old-"))
    ]
    assert leftovers == []
    current = (publication / "site").resolve()
    # The build it replaced is swept by the next build, while that one works.
    assert current in {p.resolve() for p in (publication / "site.builds").iterdir()}
    builds = list((publication / "site.builds").iterdir())
    assert len([p for p in builds if p.is_dir()]) <= 2
    marks = [p for p in builds if not p.is_dir()]  # the replaced build, emptied of its files
    assert all(p.name.endswith(".emptied") and p.with_suffix("").is_dir() for p in marks)


def test_each_build_sweeps_the_builds_before_the_one_it_replaces(publication: Path) -> None:
    builds = []
    for word in ("first", "second", "third"):
        replace_in(publication, ARTICLE, "---\n", f"---\n# {word}\n")
        builds.append(built(publication).resolve())
    remaining = {p.resolve() for p in (publication / "site.builds").iterdir() if p.is_dir()}
    assert remaining == {builds[2], builds[1]}
    assert (publication / "site").resolve() == builds[2]
    assert builds[2] == builds[0]  # the third went into the first's emptied folders
    assert not any(p.is_file() for p in builds[1].rglob("*"))  # and the second is emptied


def test_an_old_real_site_folder_is_replaced(publication: Path) -> None:
    (publication / "site").mkdir()
    (publication / "site/stale.html").write_text("old")
    site = built(publication)
    assert site.is_symlink() and not (site / "stale.html").exists()
    assert (site / "index.html").is_file()


def test_leftovers_of_killed_runs_are_cleaned(publication: Path) -> None:
    built(publication)
    (publication / "site.tmp-x").mkdir()
    (publication / "site.old-y").mkdir()
    (publication / "site.builds/build-dead").mkdir()
    (publication / "build/preview/.index.md.abc.tmp").write_text("half")
    built(publication)
    names = {p.name for p in publication.iterdir()}
    assert not {"site.tmp-x", "site.old-y"} & names
    assert not (publication / "site.builds/build-dead").exists()
    assert not (publication / "build/preview/.index.md.abc.tmp").exists()


def test_a_build_writing_one_page_twice_fails(publication: Path, monkeypatch) -> None:
    from pipeline import outputs

    def colliding(site):  # noqa: ANN001, ANN202 - an output that claims an article's path
        yield "endocrinology/hypothyroidism-levothyroxine.md", "# Collides\n"

    monkeypatch.setattr(outputs, "OUTPUTS", [*outputs.OUTPUTS, colliding])
    run = run_cli(publication, "build", "--preview")
    assert run.exit_code == 1 and "build.duplicate-page" in run.stderr


def test_site_is_present_after_random_kills(publication: Path) -> None:
    """`pipeline build` in a subprocess, killed at random moments, several times."""
    before = tree(built(publication))
    rng = random.Random(8)
    for attempt in range(6):
        replace_in(publication, ARTICLE, "## Follow-up", f"Edit {attempt}.\n\n## Follow-up")
        process = subprocess.Popen(
            [
                "timeout",
                "120",
                sys.executable,
                "-m",
                "pipeline",
                "--root",
                str(publication),
                "build",
                "--preview",
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.2, 3.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        site = publication / "site"
        assert site.is_dir(), f"site/ missing after kill {attempt}"
        assert (site / "index.html").is_file()
        assert (site / HTML.removeprefix("site/")).is_file()
    built(publication)
    assert tree(publication / "site") != before
    assert not [p for p in publication.iterdir() if p.name.startswith(("site.tmp-", "site.old-"))]


def test_clean_leftovers_keeps_the_current_build(tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = build_mod.new_build_dir(site)
    (first / "index.html").write_text("1")
    build_mod.swap_into_place(first, site)
    second = build_mod.new_build_dir(site)
    (second / "index.html").write_text("2")
    build_mod.swap_into_place(second, site)
    assert (site / "index.html").read_text() == "2" and not first.exists()


def test_a_build_gives_the_garbage_collector_back_everything_it_froze(publication: Path) -> None:
    import gc

    build_mod.build(publication)
    assert gc.get_freeze_count() == 0
    replace_in(publication, "content/oncology/net-imaging.md", "title:", "title: [")
    with pytest.raises(build_mod.BuildFailed):
        build_mod.build(publication)
    assert gc.get_freeze_count() == 0


def test_the_writer_removes_what_it_did_not_write_and_only_that(
    tmp_path: Path, monkeypatch
) -> None:
    from pipeline import outputs, stamp

    out = tmp_path / "generated"
    first = outputs.Writer(out)
    first.write("a/b/page.md", "page")
    first.write("kept.md", "kept")
    first.finish()
    (out / "a/b/stray.md").write_text("stray")
    (out / "x/y/z").mkdir(parents=True)
    (out / "x/y/z/deep.md").write_text("deep")
    (out / "e/f").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "theirs.txt").write_text("not ours")
    (out / "link").symlink_to(outside, target_is_directory=True)
    monkeypatch.setattr(stamp, "RACY_NS", -(10**18))  # every recorded stat is trusted
    second = outputs.Writer(out)
    second.claim("kept.md")
    old = second.reusable("kept.md")
    assert old is not None
    second.keep("kept.md", old)
    second.claim("a/b/page.md")
    assert second.reusable("a/b/page.md") is not None  # found intact, then made again anyway
    (out / "a/b/page.md").write_text("page, changed")
    second.record("a/b/page.md", True, outputs.page_digest(b"page, changed"), {})
    removed = second.finish()
    assert sorted(removed) == ["a/b/stray.md", "link", "x/y/z/deep.md"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        ".pipeline-manifest.json",
        "a",
        "a/b",
        "a/b/page.md",
        "kept.md",
    ]
    assert (outside / "theirs.txt").read_text() == "not ours"
    entries, _, _ = outputs.read_manifest(out / outputs.MANIFEST)
    for rel in ("kept.md", "a/b/page.md"):
        info = os.lstat(out / rel)
        assert entries[rel].stat == [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def test_a_build_goes_into_the_emptied_folders_of_the_build_before_last(
    publication: Path, tmp_path: Path
) -> None:
    from pipeline import stamp

    first = built(publication).resolve()
    stamp.forget(publication)
    second = built(publication).resolve()
    assert second != first and first.is_dir() and not any(p.is_file() for p in first.rglob("*"))
    (first / "oncology/gone-page").mkdir(parents=True)  # a page this build does not make
    (first / "404.html").mkdir()  # a folder where this build writes a file
    stamp.forget(publication)
    third = built(publication).resolve()
    assert third == first  # the emptied tree, not a new folder
    assert not (third / "oncology/gone-page").exists() and (third / "404.html").is_file()
    assert not any(p.is_file() for p in second.rglob("*"))  # emptied in its turn
    fresh = copy_publication(tmp_path / "fresh")
    clean = built(fresh)
    assert _folders_and_files(third) == _folders_and_files(clean.resolve())


def test_a_leftover_build_holding_a_file_is_never_built_into(publication: Path) -> None:
    from pipeline import stamp

    first = built(publication).resolve()
    stamp.forget(publication)
    built(publication)
    (first / "oncology/planted.html").parent.mkdir(parents=True, exist_ok=True)
    (first / "oncology/planted.html").write_text("<script>alert(1)</script>")
    stamp.forget(publication)
    third = built(publication).resolve()
    assert third != first and not first.exists()
    assert not (third / "oncology/planted.html").exists()


def _folders_and_files(top: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(top).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(top.rglob("*"))
        if p.name not in {"sitemap.xml.gz"}  # dated by the build's clock
    }
