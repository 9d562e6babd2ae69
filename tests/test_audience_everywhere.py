"""The reader's audience everywhere (a real browser): the question, the tab title, listings,
the fallback note beside the selector, the selector saying which wordings exist, and a choice
made by arriving on another wording's heading is remembered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_env import require_chromium, serve, site_path
from tests.conftest import copy_publication, run_cli

require_chromium()

from playwright.sync_api import Browser, expect  # noqa: E402

PATIENT_QUESTION = "Which scans show where a neuroendocrine tumor is?"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = copy_publication(tmp_path_factory.mktemp("audience") / "pub")
    variant = root / "content/oncology/net-imaging.patient.md"
    text = variant.read_text(encoding="utf-8")
    variant.write_text(text.replace("---\n", f"---\nquestion: {PATIENT_QUESTION}\n", 1), "utf-8")
    # A new wording goes back to review, as an editor's edit does.
    main = root / "content/oncology/net-imaging.md"
    main.write_text(
        main.read_text("utf-8").replace("status: approved", "status: under_review"), "utf-8"
    )
    run = run_cli(root, "build", "--preview")
    assert run.exit_code == 0, run.output + run.stderr
    with serve(root / "site", site_path(root)) as base:
        yield base


def test_a_patient_sees_patient_wording_on_every_page(browser: Browser, site: str) -> None:
    page = browser.new_page()
    page.goto(site + "oncology/net-imaging/")
    page.click('[data-audience-choice="patient"]')
    assert page.inner_text("h1.gp-question") == PATIENT_QUESTION
    assert page.title().startswith(PATIENT_QUESTION)
    expect(page.locator("[data-audience-status]")).to_contain_text("Patient")
    page.goto(site + "oncology/")  # the topic listing
    listing = page.inner_text(".gp-listing")
    assert "Scans used to check a neuroendocrine tumor" in listing
    assert PATIENT_QUESTION in listing
    page.reload()  # the choice is remembered on this device
    assert "Scans used to check a neuroendocrine tumor" in page.inner_text(".gp-listing")
    page.goto(site)  # home: another article's patient title
    assert "Skin changes in people with a neuroendocrine tumor" in page.inner_text(
        "#recently-approved + ul"
    )
    page.goto(site + "tags/")
    assert "Scans used to check a neuroendocrine tumor" in page.inner_text(".gp-tags")
    page.close()


def test_the_fallback_note_is_beside_the_selector_and_announced(
    browser: Browser, site: str
) -> None:
    page = browser.new_page()
    page.goto(site + "oncology/net-imaging/")  # no student wording
    student = page.locator('[data-audience-choice="student"]')
    assert "not written yet" in student.inner_text()
    student.click()
    note = page.locator('.gp-audience [data-audience-missing="student"]')
    assert note.is_visible()
    expect(page.locator("[data-audience-status]")).to_contain_text("no version")
    assert "no version for Student readers" in page.inner_text("[data-audience-status]")
    page.close()


def test_arriving_on_another_wordings_heading_remembers_it(browser: Browser, site: str) -> None:
    page = browser.new_page()
    page.goto(site + "oncology/net-imaging/")
    anchor = page.eval_on_selector(
        '[data-audience-variant="patient"] .gp-body h2', "element => element.id"
    )
    page.goto(site + "oncology/net-imaging/#" + anchor)
    assert page.locator('[data-audience-variant="patient"].gp-variant').is_visible()
    page.goto(site + "oncology/")
    assert "Scans used to check a neuroendocrine tumor" in page.inner_text(".gp-listing")
    page.close()


def test_home_is_built_for_finding_an_answer(browser: Browser, site: str) -> None:
    """Search first: the home's own search field opens the site search with the words typed."""
    page = browser.new_page()
    page.goto(site)
    headings = page.eval_on_selector_all(".gp-home h2", "els => els.map(e => e.id)")
    assert headings[:2] == ["topics", "recently-approved"]
    assert page.locator(".gp-topics li").first.inner_text().endswith("article)") or "articles)" in (
        page.locator(".gp-topics li").first.inner_text()
    )
    page.fill("#gp-find-input", "anticoagulation")
    page.click(".gp-find button")
    page.locator(".md-search-result__item").first.wait_for(timeout=10000)
    assert "anticoagulation" in page.input_value(".md-search__input")
    page.close()
