"""Every page type meets WCAG 2.1 A/AA (axe-core) on desktop and phone, and works by keyboard."""

from __future__ import annotations

import pytest

from tests.browser_env import WIDTHS, require_chromium

require_chromium()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, Page  # noqa: E402

pytestmark = pytest.mark.browser

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
ARTICLE = "oncology/net-imaging/"
# Every page type; preview adds the review dashboard and an article that is not approved.
PAGES = {
    "home": "",
    "topic": "oncology/",
    "tags": "tags/",
    "article": ARTICLE,
    "editorial policy": "editorial-policy/",
    "board": "board/",
    "404": "no/such/page/",
}
PREVIEW_ONLY = {
    "review dashboard": "review-dashboard/",
    "article under review": "infectious-disease/acute-cystitis/",
}
CASES = [
    (mode, name, path)
    for mode in ("production", "preview")
    for name, path in {**PAGES, **(PREVIEW_ONLY if mode == "preview" else {})}.items()
]


def assert_no_violations(page: Page, what: str) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    report = results.generate_report()
    assert results.violations_count == 0, f"{what}: {results.generate_snapshot()}\n{report}"


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize(("mode", "name", "path"), CASES, ids=[f"{m}-{n}" for m, n, _ in CASES])
def test_every_page_type_passes_axe(
    browser: Browser, sites: dict, mode: str, name: str, path: str, width: str
) -> None:
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.goto(sites[mode] + path)
    assert_no_violations(page, f"{mode} {name} at {width} width")
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_article_in_other_wordings_and_open_search_pass_axe(
    browser: Browser, sites: dict, width: str
) -> None:
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.goto(sites["production"] + ARTICLE)
    page.click('[data-audience-choice="patient"]')
    assert_no_violations(page, f"patient wording at {width} width")
    # No student version: the default wording shows, with the note saying so.
    page.click('[data-audience-choice="student"]')
    assert page.is_visible('[data-audience-missing="student"]')
    assert_no_violations(page, f"missing-wording note at {width} width")
    # The search dialog, open with results.
    page.goto(sites["production"])
    if width == "phone":
        page.click('label[for="__search"]')
    page.click(".md-search__input")
    page.keyboard.type("tracer", delay=30)
    page.locator("a.md-search-result__link").first.wait_for(timeout=10000)
    assert_no_violations(page, f"open search at {width} width")
    context.close()


# Keyboard. A focused element must become visible (allowing for the theme's fade-in).
VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return true;
  const r = el.getBoundingClientRect();
  return el.checkVisibility({opacityProperty: true, visibilityProperty: true})
    && r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth;
}"""
DESCRIBE = """() => { const el = document.activeElement;
  return el.outerHTML.slice(0, 160); }"""


def _tab(page: Page) -> str:
    page.keyboard.press("Tab")
    try:
        page.wait_for_function(VISIBLE, timeout=3000)
    except Exception as error:  # noqa: BLE001 - report which element it was
        raise AssertionError(f"a hidden element took focus: {page.evaluate(DESCRIBE)}") from error
    return page.evaluate(DESCRIBE)


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_skip_link_first_then_the_audience_selector_in_a_few_presses(
    browser: Browser, sites: dict, width: str
) -> None:
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.goto(sites["production"] + ARTICLE)
    assert "gp-skip" in _tab(page), "the first Tab must reach the skip link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "gp-main"
    # Past the skip link only the header block's own links: the board, approvers, authors, policy.
    for _ in range(6):
        if "data-audience-choice" in _tab(page):
            break
    else:
        raise AssertionError("the audience selector is more than 6 Tab presses past the skip link")
    # The selector works from the keyboard, and a screen reader hears the change.
    page.focus('[data-audience-choice="patient"]')
    page.keyboard.press("Enter")
    status = page.locator("[data-audience-status]")
    assert status.get_attribute("role") == "status"
    page.wait_for_function(
        "() => document.querySelector('[data-audience-status]').textContent"
        ".includes('Patient or caregiver')"
    )
    page.focus('[data-audience-choice="student"]')
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('[data-audience-status]').textContent"
        ".includes('no version for Student')"
    )
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("path", [ARTICLE, "", "no/such/page/"], ids=["article", "home", "404"])
def test_no_hidden_element_takes_focus(
    browser: Browser, sites: dict, width: str, path: str
) -> None:
    context = browser.new_context(viewport=WIDTHS[width])
    page = context.new_page()
    page.goto(sites["production"] + path)
    seen = []
    for _ in range(300):
        seen.append(_tab(page))
        if len(seen) > 1 and seen[-1] == seen[0]:
            break  # back at the start: every stop checked
    assert "gp-skip" in seen[0]
    assert not any("__palette" in s or "md-search__scrollwrap" in s for s in seen)
    context.close()


def test_phone_menu_and_search_open_from_the_keyboard(browser: Browser, sites: dict) -> None:
    context = browser.new_context(viewport=WIDTHS["phone"])
    page = context.new_page()
    page.goto(sites["production"] + ARTICLE)
    _tab(page)  # the skip link
    assert 'for="__drawer"' in _tab(page)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.classList.contains('md-nav__link')")
    page.wait_for_function(VISIBLE)
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('__drawer').checked")
    assert 'for="__drawer"' in page.evaluate(DESCRIBE)
    assert 'for="__search"' in _tab(page)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.activeElement.matches('[data-md-component=search-query]')"
    )
    page.wait_for_function(VISIBLE)
    context.close()


def test_stepper_states_are_in_words(browser: Browser, sites: dict) -> None:
    page = browser.new_page()
    page.goto(sites["preview"] + "infectious-disease/acute-cystitis/")
    steps = page.locator(".gp-stepper li").all_text_contents()
    assert [s.split(": ")[-1] for s in steps] == ["completed", "current", "not yet"]
    page.goto(sites["production"] + ARTICLE)
    steps = page.locator(".gp-stepper li").all_text_contents()
    assert [s.split(": ")[-1] for s in steps] == ["completed", "completed", "completed"]
    page.close()
