"""Hostile files and names: each is one diagnostic with its file (and line where there is
one), never a traceback, a hang or a file read from outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import SourceFile, classify, decode_source, read_source
from tests.conftest import REPO, line_of, run_cli, snapshot, write

ARTICLE = "content/endocrinology/hypothyroidism-levothyroxine.md"


def findings(root: Path) -> list[tuple[str, str, int | None]]:
    before = snapshot(root)
    run = run_cli(root, "check", "--format", "json")
    assert run.exit_code in (0, 1), run.output + run.stderr
    assert snapshot(root) == before, "check changed content/ or references/"
    report = run.json()
    return [(d["code"], d["file"], d["line"]) for d in report["errors"] + report["warnings"]]


def codes_for(root: Path, file: str) -> set[str]:
    return {code for code, f, _ in findings(root) if f == file}


# --- what a file is -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("content/publication.yml", SourceFile("content/publication.yml", "publication")),
        ("content/board.yml", SourceFile("content/board.yml", "board")),
        ("content/onc/net.md", SourceFile("content/onc/net.md", "article", "onc/net")),
        (
            "content/onc/net.patient.md",
            SourceFile("content/onc/net.patient.md", "variant", "onc/net", "patient"),
        ),
        ("references/oncology.bib", SourceFile("references/oncology.bib", "references")),
    ],
)
def test_known_files_are_classified(rel: str, expected: SourceFile) -> None:
    assert classify(rel) == expected


@pytest.mark.parametrize(
    ("rel", "code"),
    [
        ("content/onc/net.markdown", "content.unknown-file"),
        ("content/onc/net.txt", "content.unknown-file"),
        ("content/notes.yml", "content.unknown-file"),
        ("references/sub/x.bib", "content.unknown-file"),
        ("references/readme.md", "content.unknown-file"),
        ("content/readme.md", "article.slug"),
        ("content/onc/deep/net.md", "article.slug"),
        ("content/onc/net\n.md", "article.slug"),
        ("content/onc\n/net.md", "article.slug"),
        ("content/onc/net.patient\n.md", "article.slug"),
        ("content/onc/a.b.c.md", "article.slug"),
        ("content/Onc/net.md", "article.slug"),
        ("content/onc/-net.md", "article.slug"),
        ("content/onc/index.md", "article.slug"),
        ("content/onc/tags.md", "article.slug"),
        ("content/board/net.md", "article.slug"),
        ("content/tags/net.md", "article.slug"),
        ("content/review-dashboard/net.md", "article.slug"),
        ("content/assets/net.md", "article.slug"),
        ("content/search/net.md", "article.slug"),
        ("content/onc/" + "a" * 101 + ".md", "article.slug"),
    ],
)
def test_unknown_files_are_errors(rel: str, code: str) -> None:
    source = classify(rel)
    assert source.kind == "unknown"
    diagnostic = source.diagnostic()
    assert diagnostic is not None and diagnostic.code == code and diagnostic.file == rel


@pytest.mark.parametrize(
    "rel",
    ["content/cardiology/index.md", "content/board/x.md", "content/tags/x.md"],
)
def test_an_article_never_replaces_a_site_page(publication: Path, rel: str) -> None:
    write(publication, rel, (publication / ARTICLE).read_text())
    assert "article.slug" in codes_for(publication, rel)


def test_a_slug_ending_in_a_newline_is_refused(publication: Path) -> None:
    rel = "content/endocrinology/trailing\n.md"
    write(publication, rel, (publication / ARTICLE).read_text())
    assert "article.slug" in codes_for(publication, rel)


def test_markdown_suffix_is_an_unknown_file(publication: Path) -> None:
    rel = "content/endocrinology/other.markdown"
    write(publication, rel, (publication / ARTICLE).read_text())
    assert codes_for(publication, rel) == {"content.unknown-file"}


def test_stray_files_are_reported(publication: Path) -> None:
    write(publication, "content/cardiology/notes.txt", "todo\n")
    write(publication, "references/extra/more.bib", "")
    found = findings(publication)
    assert ("content.unknown-file", "content/cardiology/notes.txt", None) in found
    assert ("content.unknown-file", "references/extra/more.bib", None) in found


# --- special files ------------------------------------------------------------------------


def test_a_bib_symlinked_from_outside_is_not_read(publication: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.bib"
    outside.write_text("@misc{secret, title = {Secret}, year = 2020, howpublished = {x}}\n")
    (publication / "references/leak.bib").symlink_to(outside)
    assert codes_for(publication, "references/leak.bib") == {"content.special-file"}
    text, found = read_source(publication, "references/leak.bib")
    assert text is None and found[0].code == "content.special-file"


def test_a_symlinked_article_and_topic_are_refused(publication: Path) -> None:
    (publication / "content/endocrinology/link.md").symlink_to(publication / ARTICLE)
    (publication / "content/linked").symlink_to(publication / "content/cardiology")
    found = findings(publication)
    assert ("content.special-file", "content/endocrinology/link.md", None) in found
    assert ("content.special-file", "content/linked", None) in found


def test_bib_linked_to_dev_zero(publication: Path) -> None:
    (publication / "references/zero.bib").symlink_to("/dev/zero")
    assert codes_for(publication, "references/zero.bib") == {"content.special-file"}


def test_a_folder_named_like_an_article(publication: Path) -> None:
    (publication / "content/cardiology/folder.md").mkdir()
    assert codes_for(publication, "content/cardiology/folder.md") == {"content.special-file"}


def _pipeline(root: Path, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.mark.parametrize("rel", ["references/pipe.bib", "content/cardiology/pipe.md"])
def test_a_fifo_never_blocks(publication: Path, rel: str) -> None:
    os.mkfifo(publication / rel)
    run = _pipeline(publication, "check", "--format", "json")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f'"file": "{rel}"' in run.stdout and "content.special-file" in run.stdout


def test_read_source_refuses_a_path_out_of_the_repository(publication: Path) -> None:
    text, found = read_source(publication, "references/../../etc/passwd")
    assert text is None and found[0].code == "content.special-file"


# --- bytes --------------------------------------------------------------------------------


def test_a_control_character_in_a_body_is_named_with_its_line(publication: Path) -> None:
    text = (publication / ARTICLE).read_text()
    write(publication, ARTICLE, text.replace("## Follow-up", "Odd \x01 byte.\n\n## Follow-up", 1))
    line = line_of(publication, ARTICLE, "Odd ")
    assert ("content.control-character", ARTICLE, line) in findings(publication)


def test_control_characters_in_settings_and_references(publication: Path) -> None:
    path = publication / "references/oncology.bib"
    path.write_text(path.read_text() + "\n@misc{odd, title = {a\x1bb}}\n")
    line = len(path.read_text().splitlines())
    found = findings(publication)
    assert ("content.control-character", "references/oncology.bib", line) in found


def test_a_nul_byte_is_a_binary_file_at_its_line() -> None:
    text, found = decode_source(b"---\ntitle: x\n---\nab\x00c\n", "content/a/b.md")
    assert text is None and (found[0].code, found[0].line) == ("frontmatter.syntax", 4)


def test_invalid_utf8_is_named_with_its_line() -> None:
    text, found = decode_source(b"a\nb\n\xff\n", "references/x.bib")
    assert text is None and (found[0].code, found[0].line) == ("reference.syntax", 3)


def test_bom_and_line_endings_are_normalised() -> None:
    text, found = decode_source("\ufeffa\r\nb\rc\n".encode(), "content/a/b.md")
    assert found == [] and text == "a\nb\nc\n"


def test_a_bom_and_crlf_article_checks_clean(publication: Path) -> None:
    data = (publication / ARTICLE).read_bytes().replace(b"\n", b"\r\n")
    (publication / ARTICLE).write_bytes(b"\xef\xbb\xbf" + data)
    assert not {c for c, f, _ in findings(publication) if f == ARTICLE}


def test_a_large_bib_is_refused_by_its_size(publication: Path) -> None:
    entry = "@misc{{k{0}, title = {{T}}, year = 2020, howpublished = {{x}}}}\n"
    with (publication / "references/huge.bib").open("w") as handle:
        for number in range(90_000):
            handle.write(entry.format(number))
    assert (publication / "references/huge.bib").stat().st_size > 5_000_000
    assert ("reference.size", "references/huge.bib", 1) in findings(publication)
