"""Messages suggest the likely fix: the key, id, field or value meant, the allowed values, the
date format; one typo is one diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import line_of, replace_in, run_cli, write

HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"
FP = "sha256:" + "0" * 64


def _errors(root: Path) -> list[dict]:
    run = run_cli(root, "check", "--format", "json")
    return run.json()["errors"]


def _one(root: Path, code: str) -> dict:
    errors = _errors(root)
    assert len(errors) == 1, errors
    assert errors[0]["code"] == code, errors
    return errors[0]


CASES = [
    # (old, new, code, expected in the message, text on the line reported)
    (
        "## Treatment approach\n",
        "## Treatment approach\n- Dose by weight [@sprint-2051].\n",
        "citation.unknown-key",
        "Did you mean `@sprint-2015`?",
        "sprint-2051",
    ),
    (
        "tags:",
        "related: [cardiology/af-anticoagulaton]\ntags:",
        "link.unknown-article",
        "Did you mean `cardiology/af-anticoagulation`?",
        "related:",
    ),
    ("authors: [jdoe]", "authors: [jdo]", "frontmatter.schema", "Did you mean `jdoe`?", "authors"),
    (
        "tags:",
        "disclaimer: patinet\ntags:",
        "disclaimer.unknown",
        "Did you mean `patient`?",
        "disc",
    ),
    (
        "last_updated:",
        "last_update:",
        "frontmatter.schema",
        "Did you mean `last_updated`?",
        "last_",
    ),
    (
        "status: under_review",
        "status: under-review",
        "frontmatter.schema",
        "'submitted', 'under_review' or 'approved'. Did you mean `under_review`?",
        "status:",
    ),
    (
        "last_updated: 2026-12-02",
        "last_updated: 02/12/2026",
        "frontmatter.schema",
        "write dates as YYYY-MM-DD, for example 2024-03-15",
        "last_updated",
    ),
    (
        "last_updated: 2026-12-02",
        "last_updated: 2026-02-30",
        "frontmatter.syntax",
        "write dates as YYYY-MM-DD, for example 2024-03-15",
        "last_updated",
    ),
    (
        "tags:",
        "reviews:\n  - reviewer: asmiht\n    decision: changes_requested\n"
        f"    date: 2026-11-03\n    fingerprint: {FP}\ntags:",
        "review.unknown-reviewer",
        "Did you mean `asmith`?",
        "reviewer: asmiht",
    ),
    (
        "tags:",
        "reviews:\n  - reviewer: asmith\n    decision: changes_requested\n"
        f"    date: 3 Nov 2026\n    fingerprint: {FP}\ntags:",
        "frontmatter.schema",
        "`reviews[0].date` is not a valid date (`3 Nov 2026`): write dates as YYYY-MM-DD",
        "date: 3 Nov",
    ),
]


@pytest.mark.parametrize(("old", "new", "code", "expected", "needle"), CASES)
def test_a_typo_is_one_diagnostic_that_suggests_the_fix(
    publication: Path, old: str, new: str, code: str, expected: str, needle: str
) -> None:
    replace_in(publication, HYPO, old, new)
    error = _one(publication, code)
    assert expected in error["message"], error["message"]
    assert error["file"] == HYPO
    assert error["line"] == line_of(publication, HYPO, needle)


def test_an_unknown_audience_suggests_the_file_name(publication: Path) -> None:
    rel = "content/endocrinology/hypothyroidism-levothyroxine.patients.md"
    write(publication, rel, "Hello [@ata-hypothyroidism-2014].\n")
    error = _one(publication, "audience.unknown")
    assert error["file"] == rel
    assert "Did you mean `hypothyroidism-levothyroxine.patient.md`?" in error["message"]


def test_no_suggestion_when_nothing_is_close(publication: Path) -> None:
    replace_in(publication, HYPO, "## Treatment approach\n", "## Treatment approach\n- X [@zz].\n")
    message = _one(publication, "citation.unknown-key")["message"]
    assert message == "The citation [@zz] matches no entry in references/*.bib."
