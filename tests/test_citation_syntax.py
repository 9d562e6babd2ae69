"""Citation syntax: a locator `[@key, p. 5]` is shown with its number; near misses such as
`[@a, @b]`, `[see @key]`, `(@key)` and `see @key` are `citation.malformed` with the likely fix,
in any section, and never reach a page unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from pipeline.citations import AUDIENCE, analyse
from tests.conftest import line_of, replace_in, run_cli

PATIENT = "content/cardiology/hypertension-initial-therapy.patient.md"
MAIN = "content/cardiology/hypertension-initial-therapy.md"


def _sup_texts(html: str) -> list[str]:
    soup = BeautifulSoup(html.replace(AUDIENCE, "clinician"), "html.parser")
    return [sup.get_text() for sup in soup.select("sup.gp-cite")]


def test_a_locator_is_shown_after_its_number_which_still_links() -> None:
    facts = analyse("Dose [@b]. Target [@a, p. 5]. Both [@a; @b, ch. 2].\n", 1)
    assert [(c.key, c.line) for c in facts.citations] == [("b", 1), ("a", 1), ("a", 1), ("b", 1)]
    assert _sup_texts(facts.html) == ["1", "2, p. 5", "2; 1, ch. 2"]
    soup = BeautifulSoup(facts.html.replace(AUDIENCE, "clinician"), "html.parser")
    second = soup.select("sup.gp-cite")[1]
    assert [a["href"] for a in second.find_all("a")] == ["#ref-clinician-2"]
    assert facts.near_misses == []


def test_a_locator_is_text_never_markup() -> None:
    facts = analyse("Dose [@a, p. 5 & 6].\n\nOther [@a, <img src=x onerror=alert(1)>].\n", 1)
    assert "<img" not in facts.html and "p. 5 &amp; 6" in facts.html
    assert facts.raw_html == [3]  # markup in brackets is not a locator: it stays raw HTML


def test_a_cited_locator_passes_check(publication: Path) -> None:
    replace_in(
        publication, PATIENT, "kidneys or heart [@esc-htn-2024]", "kidneys [@esc-htn-2024, p. 12]"
    )
    run = run_cli(publication, "check", "--format", "json")
    codes = {d["code"] for d in run.json()["errors"]}
    assert not codes & {"citation.malformed", "citation.unknown-key", "citation.missing"}


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [
        ("[@esc-htn-2024, @aha-acc-htn-2025]", "[@esc-htn-2024; @aha-acc-htn-2025]"),
        ("[@esc-htn-2024 @aha-acc-htn-2025]", "[@esc-htn-2024; @aha-acc-htn-2025]"),
        ("[see @esc-htn-2024]", "see [@esc-htn-2024]"),
        ("(@esc-htn-2024)", "[@esc-htn-2024]"),
        ("see @esc-htn-2024", "[@esc-htn-2024]"),
        ("[@ esc-htn-2024]", "[@esc-htn-2024]"),
        ("[@esc-htn-2024", "[@esc-htn-2024]"),
        ("as shown by @esc-htn-2024", "[@esc-htn-2024]"),  # a bare known key
    ],
)
def test_near_misses_in_an_evidence_section(
    publication: Path, written: str, suggestion: str
) -> None:
    # "Diagnostic evaluation" is an evidence section: each bullet must cite.
    old = "starting lifelong treatment [@aha-acc-htn-2025; @esc-htn-2024]."
    replace_in(publication, MAIN, old, f"starting lifelong treatment {written}.")
    run = run_cli(publication, "check", "--format", "json")
    line = line_of(publication, MAIN, f"starting lifelong treatment {written}")
    cites = {"citation.malformed", "citation.missing"}
    here = [d for d in run.json()["errors"] if d["code"] in cites]
    assert [(d["code"], d["file"], d["line"]) for d in here] == [("citation.malformed", MAIN, line)]
    message = here[0]["message"]
    assert f"write {suggestion}" in message
    # Inside an evidence section the bullet's fate is said here, not as "cites no source".
    assert "until then this bullet cites no source" in message


def test_near_misses_outside_evidence_sections(publication: Path) -> None:
    replace_in(publication, PATIENT, "kidneys or heart [@esc-htn-2024]", "kidneys (@esc-htn-2024)")
    run = run_cli(publication, "check", "--format", "json")
    found = [d for d in run.json()["errors"] if d["code"] == "citation.malformed"]
    assert [(d["file"], d["line"]) for d in found] == [
        (PATIENT, line_of(publication, PATIENT, "kidneys (@esc"))
    ]
    assert (
        "write [@esc-htn-2024]" in found[0]["message"] and "until then" not in found[0]["message"]
    )


def test_near_misses_in_the_summary(publication: Path) -> None:
    replace_in(
        publication,
        MAIN,
        "alongside lifestyle change [@aha-acc-htn-2025; @esc-htn-2024].",
        "alongside lifestyle change [@aha-acc-htn-2025, @esc-htn-2024].",
    )
    run = run_cli(publication, "check", "--format", "json")
    found = [d for d in run.json()["errors"] if d["code"] == "citation.malformed"]
    assert [(d["file"], d["line"]) for d in found] == [
        (MAIN, line_of(publication, MAIN, "alongside lifestyle change"))
    ]
    assert "until then" not in found[0]["message"]


def test_what_is_not_a_citation_is_left_alone() -> None:
    body = (
        "Mail team@example.org or follow @WHO.\n\n"
        "Code `[@a, @b]` and escaped \\[@a, @b] stay as written.\n\n"
        "```\n[see @a]\n```\n"
    )
    found = analyse(body, 1).near_misses
    # Only the handle is a candidate, and only a known reference key would make it one.
    assert [(m.text, m.certain) for m in found] == [("@WHO", False)]


def test_an_unknown_bare_word_after_at_is_not_reported(publication: Path) -> None:
    replace_in(publication, PATIENT, "kidneys or heart", "kidneys or heart (@nurse-team)")
    errors = run_cli(publication, "check", "--format", "json").json()["errors"]
    assert "citation.malformed" in {d["code"] for d in errors}  # `(@x)` reads as a citation
    replace_in(publication, PATIENT, "(@nurse-team)", "ask @nurse-team")
    errors = run_cli(publication, "check", "--format", "json").json()["errors"]
    assert "citation.malformed" not in {d["code"] for d in errors}


def test_a_flood_of_near_misses_is_bounded() -> None:
    """Hostile bodies: each near miss is looked at once, at most 100 per paragraph are kept,
    and a paragraph of many citations is read in one pass (lines counted on, not recounted)."""
    floods = ["@a " * 20_000, "[@a, @b] " * 20_000, "see @x\n" * 20_000, "[" * 20_000 + "@x"]
    for body in floods:
        assert len(analyse(body, 1).near_misses) <= 100
    many = "x [@a]\ny [@b; @c]\n" * 5_000
    facts = analyse(many, 1)
    assert len(facts.citations) == 15_000 and facts.citations[-1].line == 10_000
