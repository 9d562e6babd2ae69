"""A printed article: no controls, headings kept with their text, and where it came from."""

from __future__ import annotations

import io
import re

import pytest

from tests.browser_env import require_chromium

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402
from pypdf import PdfReader  # noqa: E402

pytestmark = pytest.mark.browser

ARTICLE = "oncology/net-imaging/"
# On screen only: none of this may reach paper.
CONTROLS = [
    "Ask a follow-up question",
    "Have a follow-up question?",
    "Which best describes you?",
    "On this page",
    "Skip to content",
    "View editorial policy",
    "Related articles",
]


def _printed(page: Page) -> list[str]:
    """The page printed to A4 PDF, as the text of each sheet."""
    reader = PdfReader(io.BytesIO(page.pdf(format="A4")))
    return [sheet.extract_text() for sheet in reader.pages]


def _open(browser: Browser, url: str, audience: str) -> Page:
    page = browser.new_page()
    page.goto(url)
    page.click(f'[data-audience-choice="{audience}"]')
    return page


@pytest.mark.parametrize("audience", ["patient", "clinician"])
def test_printed_article_has_no_controls_and_fits_two_pages(
    browser: Browser, sites: dict, audience: str
) -> None:
    url = sites["production"] + ARTICLE
    page = _open(browser, url, audience)
    sheets = _printed(page)
    text = "\n".join(sheets)
    # Before the print stylesheet this article took 3 A4 sheets, the last holding the button.
    assert len(sheets) <= 2, f"{len(sheets)} sheets"
    for control in CONTROLS:
        assert control not in text, f"{control!r} is printed"
    heading = page.inner_text(f'[data-audience-variant="{audience}"] .gp-title')
    assert heading in text  # the chosen wording is what prints
    page.close()


def test_printed_article_says_where_and_when_it_came_from(browser: Browser, sites: dict) -> None:
    page = _open(browser, sites["production"] + ARTICLE, "patient")
    text = re.sub(r"\s+", " ", "\n".join(_printed(page)))
    assert "Clinical Guideline Notes" in text
    # On paper, the article's public address (its canonical URL), not the local one.
    assert "https://example-org.github.io/clinical-guideline-notes/" + ARTICLE in text
    today = page.evaluate(
        "new Intl.DateTimeFormat('en-US', {year: 'numeric', month: 'long', day: 'numeric'})"
        ".format(new Date())"
    )
    assert f"Printed {today}" in text
    assert "Approved by Example Reviewer A. Smith" in text
    assert re.search(r"last reviewed [A-Z][a-z]+ \d{1,2}, \d{4}", text)
    page.close()


def test_no_printed_sheet_ends_with_a_heading(browser: Browser, sites: dict) -> None:
    for article in (ARTICLE, "oncology/net-skin-lesions/", "cardiology/af-anticoagulation/"):
        for audience in ("clinician", "patient"):
            page = _open(browser, sites["production"] + article, audience)
            headings = {
                h.strip()
                for h in page.locator(
                    f'[data-audience-variant="{audience}"] :is(h2, h3, h4)'
                ).all_inner_texts()
            }
            sheets = _printed(page)
            for number, sheet in enumerate(sheets[:-1], 1):
                last = [line.strip() for line in sheet.splitlines() if line.strip()][-1]
                assert last not in headings, f"{article} {audience}: sheet {number} ends {last!r}"
            page.close()


def test_preview_banner_prints(browser: Browser, sites: dict) -> None:
    page = _open(browser, sites["preview"] + "infectious-disease/acute-cystitis/", "clinician")
    text = re.sub(r"\s+", " ", "\n".join(_printed(page)))
    assert "this content is pending human review" in text
    assert "Ask a follow-up question" not in text
    page.close()
