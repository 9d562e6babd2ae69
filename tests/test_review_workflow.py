"""`pipeline review`, `pipeline new` and `pipeline status`: round-trip edits that change only
status and reviews, atomic writes, refusals with one-line reasons."""

from __future__ import annotations

import difflib
from pathlib import Path

from pipeline.loader import load
from tests.conftest import replace_in, review_cli, run_cli, write

UNUSUAL = """---
# Editor's note: keep the question short.
question:   "Which antibiotic for acute cystitis?"   # quoted on purpose
title: >-
  First-line treatment of
  acute cystitis
authors:
    - mroe     # four-space indent, kept
status: under_review   # set by the review command
last_updated: 2026-10-12
tags: [urinary tract infection,   primary care]
related: []
---
Treat with nitrofurantoin [@idsa-escmid-cystitis-2011].
"""
REL = "content/infectious-disease/odd-format.md"


def _diff(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def approve(root: Path, reviewer: str, *args: str):  # noqa: ANN201 - a test helper
    if reviewer not in ("cnguyen", "bjones", "asmith"):
        return run_cli(
            root, "review", "approve", "infectious-disease/odd-format", "--reviewer", reviewer
        )
    return review_cli(root, "approve", "infectious-disease/odd-format", reviewer, *args)


def test_approve_changes_only_status_and_reviews(publication: Path) -> None:
    write(publication, REL, UNUSUAL)
    run = approve(
        publication,
        "cnguyen",
        "--note",
        "Fine: clear",
    )
    assert run.exit_code == 0, run.stderr
    after = (publication / REL).read_text()
    changed = _diff(UNUSUAL, after)
    assert changed[0] == "-status: under_review   # set by the review command"
    assert changed[1] == "+status: approved   # set by the review command"
    added = changed[2:]
    assert all(line.startswith("+") for line in added)
    assert added[0] == "+reviews:"
    assert "+  - reviewer: cnguyen" in added and "+    decision: approved" in added
    assert any(line.startswith("+    fingerprint: sha256:") for line in added)
    assert "+    note: 'Fine: clear'" in added
    assert any(line.startswith("+    signature: U1NIU0lH") for line in added)
    project = load(publication)
    article = project.article("infectious-disease/odd-format")
    assert article.meta.status == "approved" and len(article.meta.reviews) == 1
    assert run_cli(publication, "check").exit_code == 0


def test_crlf_files_stay_crlf(publication: Path) -> None:
    path = write(publication, REL, "")
    path.write_bytes(UNUSUAL.replace("\n", "\r\n").encode())
    run = review_cli(publication, "request-changes", "infectious-disease/odd-format", "cnguyen")
    assert run.exit_code == 0, run.stderr
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")
    assert b"decision: changes_requested" in data


def test_two_approvals_when_two_are_required(publication: Path) -> None:
    settings = publication / "content/publication.yml"
    settings.write_text(
        settings.read_text().replace("approvals_required: 1", "approvals_required: 2")
    )
    write(publication, REL, UNUSUAL)
    run = approve(publication, "cnguyen")
    assert "status under_review (1 of 2" in run.output
    again = approve(publication, "cnguyen")
    assert again.exit_code == 1 and "already approved" in again.stderr
    run = approve(publication, "bjones")
    assert "status approved (2 of 2" in run.output


def test_refusals_leave_the_file_alone(publication: Path) -> None:
    write(publication, REL, UNUSUAL.replace("    - mroe ", "    - cnguyen\n    - mroe "))
    cases = [
        ("cnguyen", "is an author"),
        ("jdoe", "not a board reviewer"),
        ("nobody", "not in content/board.yml"),
    ]
    for reviewer, reason in cases:
        run = approve(
            publication,
            reviewer,
        )
        assert run.exit_code == 1 and reason in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
        assert "reviews:" not in (publication / REL).read_text()
    broken = UNUSUAL.replace("[@idsa-escmid-cystitis-2011]", "[@missing-key]")
    write(publication, REL, broken)
    run = approve(publication, "cnguyen")
    assert run.exit_code == 1 and "check error" in run.stderr
    assert (publication / REL).read_text() == broken


def test_submitted_article_needs_start_first(publication: Path) -> None:
    article = "endocrinology/hypothyroidism-levothyroxine"
    replace_in(publication, f"content/{article}.md", "status: under_review", "status: submitted")
    run = review_cli(publication, "approve", article, "bjones")
    assert run.exit_code == 1 and "review start" in run.stderr
    assert run_cli(publication, "review", "start", article, "--reviewer", "bjones").exit_code == 0
    assert load(publication).article(article).meta.status == "under_review"


def test_new_scaffold_passes_check_once_filled_in(publication: Path) -> None:
    run = run_cli(publication, "new", "endocrinology/thyroid-nodules", "--author", "jdoe")
    assert run.exit_code == 0, run.stderr
    path = publication / "content/endocrinology/thyroid-nodules.md"
    text = path.read_text()
    assert "TODO" in text
    filled = (
        text.replace(
            "TODO What clinical question does this article answer?",
            "How are thyroid nodules assessed?",
        )
        .replace("TODO Title of the article", "Assessing thyroid nodules")
        .replace("tags: [TODO]", "tags: [thyroid]")
        .replace(
            "TODO One-paragraph answer to the question, citing its sources like this",
            "Assess with TSH and ultrasound",
        )
        .replace("TODO One recommendation per bullet, each with a citation", "Measure TSH first")
        .replace("# Fill in every field marked TODO, then run `pipeline check`.\n", "")
    )
    path.write_text(filled)
    assert "TODO" not in filled
    assert run_cli(publication, "check").exit_code in (0,), run_cli(publication, "check").output
    again = run_cli(publication, "new", "endocrinology/thyroid-nodules", "--author", "jdoe")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert path.read_text() == filled


def test_status_table(publication: Path) -> None:
    run = run_cli(publication, "status")
    assert run.exit_code == 0
    approved_on = load(publication).article("oncology/net-imaging").meta.reviews[-1].day
    due = approved_on.replace(year=approved_on.year + 2).isoformat()
    assert "oncology/net-imaging" in run.output and "1/1" in run.output and due in run.output
