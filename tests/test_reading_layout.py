"""Reading comfort: a 70-80 character measure, the answer on a phone's first screen, an aligned
stepper, and a follow-up link that warns questions are public."""

from __future__ import annotations

import pytest

from tests.browser_env import (
    DESKTOP,
    PHONE,
    WIDTHS,
    require_chromium,
)

require_chromium()

from playwright.sync_api import Browser, Page  # noqa: E402

pytestmark = pytest.mark.browser

ARTICLES = [
    "oncology/net-imaging/",
    "oncology/net-skin-lesions/",
    "cardiology/af-anticoagulation/",
    "cardiology/hypertension-initial-therapy/",
]
# Characters on each full (not last) line of the shown wording's paragraphs and list items.
LINE_LENGTHS = """() => {
  const out = [];
  const blocks = document.querySelectorAll(
    ".gp-variant:not([hidden]) .gp-body p, .gp-variant:not([hidden]) .gp-body li");
  for (const block of blocks) {
    const lines = [0];
    let previous = -Infinity;
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest("ul, ol") !== block.closest("ul, ol")) continue;
      for (let i = 0; i < node.length; i++) {
        const range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        if (rect.left < previous - 40) lines.push(0);  // wrapped to a new line
        previous = rect.left;
        lines[lines.length - 1] += 1;
      }
    }
    out.push(...lines.slice(0, -1));
  }
  return out;
}"""


def _open(browser: Browser, url: str, viewport: dict, audience: str) -> Page:
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    page.click(f'[data-audience-choice="{audience}"]')
    page.evaluate("window.scrollTo(0, 0)")
    return page


@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_text_measure_is_about_75_characters_on_a_wide_screen(
    browser: Browser, sites: dict, audience: str
) -> None:
    lengths: list[int] = []
    for article in ARTICLES:
        page = _open(browser, sites["production"] + article, DESKTOP, audience)
        lengths += [n for n in page.evaluate(LINE_LENGTHS) if n > 20]
        page.close()
    mean = sum(lengths) / len(lengths)
    assert 65 <= mean <= 82, f"mean {mean:.0f} characters a line"
    assert max(lengths) <= 95, f"longest line {max(lengths)} characters"


@pytest.mark.parametrize("audience", ["clinician", "patient"])
@pytest.mark.parametrize("article", ARTICLES)
def test_the_answer_starts_on_a_phones_first_screen(
    browser: Browser, sites: dict, article: str, audience: str
) -> None:
    page = _open(browser, sites["production"] + article, PHONE, audience)
    top = page.evaluate(
        "document.querySelector('.gp-variant:not([hidden]) .gp-body > *')"
        ".getBoundingClientRect().top"
    )
    # Its first line, at least, above the fold (with room for a browser's own bars).
    assert top + 30 < PHONE["height"] - 60, f"the answer starts {top:.0f} px down"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_stepper_lines_up_with_the_text(browser: Browser, sites: dict, width: str) -> None:
    page = _open(browser, sites["production"] + ARTICLES[0], WIDTHS[width], "clinician")
    left = page.evaluate(
        """() => ['.gp-question', '.gp-stepper__title', '.gp-stepper li', '.gp-audience']
             .map(s => Math.round(document.querySelector(s).getBoundingClientRect().left))"""
    )
    assert len(set(left)) == 1, f"left edges {left}"
    page.close()


def test_follow_up_link_warns_that_questions_are_public(browser: Browser, sites: dict) -> None:
    page = browser.new_page()
    page.goto(sites["production"] + ARTICLES[0])
    button = page.locator(".gp-follow-up a.md-button")
    warning = page.locator("#" + button.get_attribute("aria-describedby"))
    text = warning.inner_text()
    assert "public" in text and "personal health information" in text
    assert warning.is_visible()
    # The warning comes before the button, where a reader sees it first.
    assert warning.bounding_box()["y"] < button.bounding_box()["y"]
    page.close()
