"""`pipeline check`: each defect of SPEC 4.1, injected into a copy of the example publication,
gives exactly its code at the right file and line, and leaves every file untouched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import line_of, reapprove, replace_in, run_cli, signed_record, snapshot, write

HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"  # status: under_review, no approval
IMAGING = "content/oncology/net-imaging.md"  # status: approved
FP = "sha256:" + "0" * 64


def _frontmatter_syntax(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "title: Starting", "title: Starting: and")
    return HYPO, line_of(root, HYPO, "title: Starting")


def _frontmatter_schema(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "tags:", "colour: blue\ntags:")
    return HYPO, line_of(root, HYPO, "colour: blue")


def _article_slug(root: Path) -> tuple[str, None]:
    write(root, "content/Oncology/Bad_Name.md", "---\ntitle: x\n---\n")
    return "content/Oncology/Bad_Name.md", None


def _article_duplicate(root: Path) -> tuple[str, None]:
    # A wording for the default audience duplicates the main article's body.
    variant = "content/endocrinology/hypothyroidism-levothyroxine.clinician.md"
    write(root, variant, "Hello [@ata-hypothyroidism-2014].\n")
    return variant, None


def _audience_unknown(root: Path) -> tuple[str, None]:
    write(
        root,
        "content/endocrinology/hypothyroidism-levothyroxine.nurse.md",
        "Hello [@ata-hypothyroidism-2014].\n",
    )
    return "content/endocrinology/hypothyroidism-levothyroxine.nurse.md", None


def _citation_unknown(root: Path) -> tuple[str, int]:
    replace_in(
        root,
        HYPO,
        "## Follow-up recommendations\n",
        "## Follow-up recommendations\n- Extra advice [@no-such-key].\n",
    )
    return HYPO, line_of(root, HYPO, "no-such-key")


def _citation_missing(root: Path) -> tuple[str, int]:
    replace_in(
        root,
        HYPO,
        "## Follow-up recommendations\n",
        "## Follow-up recommendations\n- An uncited claim.\n",
    )
    return HYPO, line_of(root, HYPO, "An uncited claim")


def _reference_syntax(root: Path) -> tuple[str, int]:
    path = root / "references/endocrinology.bib"
    path.write_text(path.read_text() + "\n@article{broken,\n  title = {Unclosed\n")
    return "references/endocrinology.bib", len(path.read_text().splitlines())


def _reference_duplicate(root: Path) -> tuple[str, int]:
    write(
        root,
        "references/zz-extra.bib",
        "% extra\n@misc{SPRINT-2015,\n  title = {Copy}, year = {2015}, howpublished = {x},\n}\n",
    )
    return "references/zz-extra.bib", 2


def _reference_missing_field(root: Path) -> tuple[str, int]:
    # An entry only an unapproved article cites, so that no approval goes stale.
    replace_in(
        root,
        "references/endocrinology.bib",
        "  year     = {2014},\n  volume   = {24},",
        "  volume   = {24},",
    )
    return "references/endocrinology.bib", line_of(
        root, "references/endocrinology.bib", "@article{ata-hypothyroidism-2014"
    )


def _reference_unused(root: Path) -> tuple[str, int]:
    write(
        root,
        "references/zz-extra.bib",
        "\n@misc{never-cited,\n  title = {Unused}, year = {2020}, howpublished = {Example},\n}\n",
    )
    return "references/zz-extra.bib", 2


def _disclaimer_unknown(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "tags:", "disclaimer: legal\ntags:")
    return HYPO, line_of(root, HYPO, "disclaimer: legal")


def _review_unknown_reviewer(root: Path) -> tuple[str, int]:
    replace_in(
        root,
        HYPO,
        "tags:",
        f"reviews:\n  - reviewer: zz\n    decision: changes_requested\n"
        f"    date: 2026-11-03\n    fingerprint: {FP}\ntags:",
    )
    return HYPO, line_of(root, HYPO, "reviewer: zz")


def _review_self_approval(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "authors: [jdoe]", "authors: [jdoe, asmith]")
    record = signed_record(
        root, "endocrinology/hypothyroidism-levothyroxine", "asmith", "approved", FP, "2026-11-03"
    )
    replace_in(root, HYPO, "tags:", f"reviews:\n{record}tags:")
    return HYPO, line_of(root, HYPO, "reviewer: asmith")


def _review_stale(root: Path) -> tuple[str, int]:
    replace_in(root, IMAGING, "FDG PET adds", "FDG PET often adds")
    return IMAGING, line_of(root, IMAGING, "status:")


def _review_insufficient(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "status: under_review", "status: approved")
    return HYPO, line_of(root, HYPO, "status:")


def _review_overdue(root: Path) -> tuple[str, int]:
    reapprove(root, "oncology/net-imaging", "asmith", "2020-01-02")
    return IMAGING, line_of(root, IMAGING, "status:")


def _date_future(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "last_updated: 2026-12-02", "last_updated: 2999-01-01")
    return HYPO, line_of(root, HYPO, "last_updated:")


def _link_unknown(root: Path) -> tuple[str, int]:
    replace_in(root, HYPO, "tags:", "related: [oncology/no-such-article]\ntags:")
    return HYPO, line_of(root, HYPO, "related:")


def _raw_html(root: Path) -> tuple[str, int]:
    replace_in(
        root,
        HYPO,
        "## Treatment approach\n",
        '## Treatment approach\n\n<div onclick="x()">Click</div>\n\n',
    )
    return HYPO, line_of(root, HYPO, "<div onclick")


CASES: dict[str, tuple[Callable[[Path], tuple[str, int | None]], int]] = {
    "frontmatter.syntax": (_frontmatter_syntax, 1),
    "frontmatter.schema": (_frontmatter_schema, 1),
    "article.slug": (_article_slug, 1),
    "article.duplicate": (_article_duplicate, 1),
    "audience.unknown": (_audience_unknown, 1),
    "citation.unknown-key": (_citation_unknown, 1),
    "citation.missing": (_citation_missing, 1),
    "reference.syntax": (_reference_syntax, 1),
    "reference.duplicate-key": (_reference_duplicate, 1),
    "reference.missing-field": (_reference_missing_field, 1),
    "reference.unused": (_reference_unused, 0),
    "disclaimer.unknown": (_disclaimer_unknown, 1),
    "review.unknown-reviewer": (_review_unknown_reviewer, 1),
    "review.self-approval": (_review_self_approval, 1),
    "review.stale": (_review_stale, 1),
    "review.insufficient": (_review_insufficient, 1),
    "review.overdue": (_review_overdue, 0),
    "date.future": (_date_future, 1),
    "link.unknown-article": (_link_unknown, 1),
    "content.raw-html": (_raw_html, 1),
}


def test_example_publication_is_clean(publication: Path) -> None:
    run = run_cli(publication, "check", "--format", "json")
    assert run.exit_code == 0, run.output
    report = run.json()
    assert report["errors"] == [] and report["warnings"] == []
    assert report["articles"] >= 8


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_defect_gives_exactly_its_code(publication: Path, code: str) -> None:
    inject, expected_exit = CASES[code]
    file, line = inject(publication)
    before = snapshot(publication)
    run = run_cli(publication, "check", "--format", "json")
    report = run.json()
    found = report["errors"] + report["warnings"]
    assert {d["code"] for d in found} == {code}, found
    assert any(d["file"] == file and d["line"] == line for d in found), found
    assert all(d["message"] for d in found)
    assert run.exit_code == expected_exit
    assert snapshot(publication) == before


def test_fifty_broken_articles_give_fifty_diagnostics_in_one_run(publication: Path) -> None:
    for i in range(50):
        write(
            publication,
            f"content/broken/article-{i:02d}.md",
            "---\nquestion: Q?\ntitle: T\nauthors: [jdoe]\nstatus: submitted\n"
            f"last_updated: 2026-01-01\n---\nCites a missing source [@missing-{i:02d}].\n",
        )
    run = run_cli(publication, "check", "--format", "json")
    errors = run.json()["errors"]
    assert run.exit_code == 1
    assert len(errors) == 50
    assert {e["code"] for e in errors} == {"citation.unknown-key"}
    assert {e["file"] for e in errors} == {f"content/broken/article-{i:02d}.md" for i in range(50)}
    assert all(e["line"] == 8 for e in errors)


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("title: Starting", "title: <b>Starting</b>", "title: <b>"),
        ("tags: [", "tags: [javascript:alert(1), ", "tags: [javascript"),
        (
            "## Treatment approach\n",
            "## Treatment approach\n- [see](javascript:alert(1))\n",
            "(javascript",
        ),
        (
            "## Treatment approach\n",
            "## Treatment approach\n- ![x](data:image/png;base64,AAAA)\n",
            "(data:",
        ),
    ],
)
def test_raw_html_and_script_links_in_fields_and_bodies(
    publication: Path, old: str, new: str, needle: str
) -> None:
    replace_in(publication, HYPO, old, new)
    errors = run_cli(publication, "check", "--format", "json").json()["errors"]
    raw = [e for e in errors if e["code"] == "content.raw-html"]
    assert raw and raw[0]["file"] == HYPO
    assert raw[0]["line"] == line_of(publication, HYPO, needle)
