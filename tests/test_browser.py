"""What a reader sees in a real browser: Playwright driving Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser_env import ARGS, CHROMIUM, require_chromium  # noqa: E402
from tests.conftest import copy_publication, run_cli

require_chromium()

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from tests import browser_env  # noqa: E402

pytestmark = pytest.mark.browser


def _serve(folder: Path) -> Iterator[str]:
    """The built site at its `site_url` path (the publication is the folder's parent)."""
    with browser_env.serve(folder, browser_env.site_path(folder.parent)) as base:
        yield base


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[dict[str, str]]:
    out = {}
    servers = []
    for mode, args in (("production", ["build"]), ("preview", ["build", "--preview"])):
        root = copy_publication(tmp_path_factory.mktemp(mode) / "pub")
        assert run_cli(root, *args).exit_code == 0
        gen = _serve(root / "site")
        out[mode] = next(gen)
        servers.append(gen)
    yield out
    for gen in servers:
        next(gen, None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


class Watch:
    """Console errors and every request the page makes."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.hosts.add(urlparse(r.url).hostname or r.url))


def _visible_variant(page: Page) -> str:
    return page.eval_on_selector(
        ".gp-article",
        "a => a.querySelector('[data-audience-variant]:not([hidden])').dataset.audienceVariant",
    )


def test_audience_choice_persists_across_articles_and_reloads(
    browser: Browser, sites: dict
) -> None:
    context = browser.new_context()
    page = context.new_page()
    watch = Watch(page)
    base = sites["production"]
    page.goto(base + "oncology/net-imaging/")
    assert _visible_variant(page) == "clinician"
    page.click('[data-audience-choice="patient"]')
    assert _visible_variant(page) == "patient"
    assert page.is_visible("text=Doctors usually use two kinds of scan")
    page.goto(base + "cardiology/af-anticoagulation/")
    assert _visible_variant(page) == "patient"
    assert page.is_visible("text=Blood thinners for atrial fibrillation")
    page.reload()
    assert _visible_variant(page) == "patient"
    assert page.get_attribute('[data-audience-choice="patient"]', "aria-pressed") == "true"
    # An article without a student version keeps the default wording and says so.
    page.click('[data-audience-choice="student"]')
    assert _visible_variant(page) == "clinician"
    assert page.is_visible('[data-audience-missing="student"]')
    page.goto(base + "cardiology/hypertension-initial-therapy/")
    assert _visible_variant(page) == "student"
    assert watch.errors == []
    assert watch.hosts == {"127.0.0.1"}
    context.close()


def test_a_new_visit_remembers_the_choice(browser: Browser, sites: dict, tmp_path: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(sites["production"] + "oncology/net-imaging/")
    page.click('[data-audience-choice="patient"]')
    state = context.storage_state()
    context.close()
    again = browser.new_context(storage_state=state)
    page = again.new_page()
    page.goto(sites["production"] + "infectious-disease/community-acquired-pneumonia/")
    assert _visible_variant(page) == "patient"
    again.close()


def test_citation_click_reaches_its_reference(browser: Browser, sites: dict) -> None:
    page = browser.new_page()
    page.goto(sites["production"] + "oncology/net-imaging/")
    link = page.locator('[data-audience-variant="clinician"] sup.gp-cite a').nth(2)
    target = link.get_attribute("href")
    link.click()
    assert page.url.endswith(target)
    reference = page.locator(target)
    assert reference.is_visible()
    assert reference.evaluate("el => el.matches(':target')")
    box = reference.bounding_box()
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"]
    page.close()


def test_banner_shows_in_preview_only(browser: Browser, sites: dict) -> None:
    page = browser.new_page()
    watch = Watch(page)
    page.goto(sites["preview"] + "infectious-disease/acute-cystitis/")
    assert page.is_visible("text=this content is pending human review")
    page.goto(sites["preview"] + "oncology/net-imaging/")
    assert page.locator(".gp-banner").count() == 0
    response = page.goto(sites["production"] + "infectious-disease/acute-cystitis/")
    assert response is not None and response.status == 404
    assert watch.hosts == {"127.0.0.1"}
    page.close()


def test_readers_without_javascript_see_the_default_audience(browser: Browser, sites: dict) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(sites["production"] + "oncology/net-imaging/")
    assert page.is_visible("text=Staging combines cross-sectional imaging")
    assert not page.is_visible("text=Doctors usually use two kinds of scan")
    assert not page.is_visible(".gp-audience")
    context.close()


def test_search_finds_patient_wording_and_opens_it(browser: Browser, sites: dict) -> None:
    page = browser.new_page()
    watch = Watch(page)
    page.goto(sites["production"])
    page.click(".md-search__input")
    page.keyboard.type("tracer", delay=30)
    result = page.locator('a.md-search-result__link[href*="#patient-what-the-scans-are"]')
    result.wait_for(timeout=10000)
    result.click()
    page.wait_for_url("**/oncology/net-imaging/**")
    assert _visible_variant(page) == "patient"
    assert page.is_visible("#patient-what-the-scans-are")
    assert watch.errors == [] and watch.hosts == {"127.0.0.1"}
    page.close()
