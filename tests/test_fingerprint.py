"""The content fingerprint covers what a reader sees, and nothing else."""

from __future__ import annotations

from pathlib import Path

from pipeline.fingerprint import fingerprint
from pipeline.loader import load
from tests.conftest import replace_in

ARTICLE = "content/oncology/net-imaging.md"


def _fp(root: Path, article_id: str = "oncology/net-imaging") -> str:
    project = load(root)
    return fingerprint(project.article(article_id), project.library)


def test_line_endings_do_not_matter(publication: Path) -> None:
    before = _fp(publication)
    for rel in (ARTICLE, "content/oncology/net-imaging.patient.md", "references/oncology.bib"):
        path = publication / rel
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert _fp(publication) == before


def test_front_matter_key_order_does_not_matter(publication: Path) -> None:
    before = _fp(publication)
    replace_in(publication, ARTICLE, "authors: [jdoe]\n", "")
    replace_in(publication, ARTICLE, "tags:", "authors:\n  - jdoe\ntags:")
    assert _fp(publication) == before


def test_review_metadata_is_not_content(publication: Path) -> None:
    before = _fp(publication)
    replace_in(publication, ARTICLE, "status: approved", "status: under_review")
    replace_in(publication, ARTICLE, "last_updated: 2026-12-02", "last_updated: 2026-12-03")
    assert _fp(publication) == before


def test_bib_field_order_and_spacing_do_not_matter(publication: Path) -> None:
    before = _fp(publication)
    replace_in(
        publication,
        "references/oncology.bib",
        "  volume  = {2},\n  number  = {2},",
        "  number = {2},\n     volume =   {2},",
    )
    assert _fp(publication) == before


def test_every_part_a_reader_sees_changes_it(publication: Path) -> None:
    seen = {_fp(publication)}
    edits = [
        (ARTICLE, "FDG PET adds", "FDG PET may add"),
        ("content/oncology/net-imaging.patient.md", "two kinds of scan", "two types of scan"),
        (ARTICLE, "tags: [", "tags: [staging, "),
        (ARTICLE, "title: Imaging for", "title: Imaging used for"),
        ("references/oncology.bib", "pages   = {159--168}", "pages   = {159--169}"),
    ]
    for rel, old, new in edits:
        replace_in(publication, rel, old, new)
        current = _fp(publication)
        assert current not in seen, (rel, old)
        seen.add(current)


def test_uncited_reference_does_not_change_it(publication: Path) -> None:
    before = _fp(publication)
    replace_in(
        publication, "references/oncology.bib", "pages    = {203--231}", "pages    = {203--232}"
    )
    assert _fp(publication) == before
