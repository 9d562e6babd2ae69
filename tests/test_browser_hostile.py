"""Hostile input in a real browser: payloads forced past the checks into preview and production
sites run no script and load nothing from another host, on every page type; the Content
Security Policy holds on every page and reports nothing on normal pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pipeline.approval import Publishing
from tests.conftest import copy_publication, replace_in, run_cli
from tests.hostile_payloads import (
    BODY_PAYLOADS,
    CODE_SPAN,
    FIELD_EXTERNAL,
    FIELD_MARKUP,
    INERT_TEXT,
)
from tests.test_browser import ARGS, CHROMIUM, _serve

pytestmark = pytest.mark.browser

HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"
HYPO_PATIENT = "content/endocrinology/hypothyroidism-levothyroxine.patient.md"
IMAGING = "content/oncology/net-imaging.md"
PUBLICATION = "content/publication.yml"
BOARD = "content/board.yml"
MARKUP = list(FIELD_MARKUP.values()) + list(FIELD_EXTERNAL.values())


def _q(value: str) -> str:
    return json.dumps(value)


def hostile_publication(root: Path) -> Path:
    """The example publication with a payload in every string field, body and reference."""
    copy_publication(root)
    quote_breakout = 'x" http-equiv="refresh" content="0;url=https://evil.example/'
    for rel in (HYPO, IMAGING):
        replace_in(root, rel, "question: ", f"question: {_q(MARKUP[0] + ' ' + MARKUP[3])}\n_q: ")
        replace_in(root, rel, "\n_q: ", "\n# ")
        replace_in(root, rel, "title: ", f"title: {_q(quote_breakout + MARKUP[4])}\n# ")
        replace_in(root, rel, "tags: [", "tags: [" + ", ".join(_q(v) for v in MARKUP) + ", ")
    body = "\n\n".join(text for text, _ in BODY_PAYLOADS.values())
    # Control characters never get this far: the loader refuses the file
    # (content.control-character, tests/test_hostile_files.py).
    body += f"\n\nCode: {CODE_SPAN}\n\nPlaceholder lookalike: wzxhzdk:0 end.\n\n"
    body += "\n\n".join(INERT_TEXT) + "\n"
    for rel in (HYPO, HYPO_PATIENT, IMAGING):
        path = root / rel
        path.write_text(path.read_text(encoding="utf-8") + "\n" + body, encoding="utf-8")
    replace_in(root, HYPO_PATIENT, "title: ", f"title: {_q(MARKUP[1] + MARKUP[5])}\n# ")
    replace_in(
        root, PUBLICATION, "name: ", f"name: {_q('</title><script>window.__pwned=1</script>')}\n# "
    )
    replace_in(
        root,
        PUBLICATION,
        "description: >-",
        f"description: {_q(MARKUP[3] + ' ' + INERT_TEXT[1])}\n_d: >-",
    )
    replace_in(root, PUBLICATION, "\n_d: >-", "\nx_d: >-")
    text = (root / PUBLICATION).read_text(encoding="utf-8")
    text = re.sub(r"\nx_d: >-\n(  .*\n)+", "\n", text)
    text = text.replace("label: Clinician", f"label: {_q(MARKUP[0])}")
    text = text.replace(
        "description: Physicians, nurses, pharmacists and other practising professionals.",
        f"description: {_q(quote_breakout)}",
    )
    text = text.replace("title: Professional medical disclaimer", f"title: {_q(MARKUP[1])}")
    text = text.replace("title: Important information for patients", f"title: {_q(MARKUP[4])}")
    text = re.sub(
        r"question_intake_url: .*",
        "question_intake_url: " + _q('https://example.org/ask"><svg/onload=window.__pwned=1>'),
        text,
    )
    # YAML refuses control characters: the policy gets the rest of the body's payloads.
    clean_body = "\n".join(line for line in body.split("\n") if not line.startswith("Control"))
    policy = "\n".join(f"  {line}" if line else "" for line in clean_body.split("\n"))
    text = text.replace("  **Corrections.**", policy + "\n  **Corrections.**")
    (root / PUBLICATION).write_text(text, encoding="utf-8")
    board = (root / BOARD).read_text(encoding="utf-8")
    board = board.replace("name: Example Reviewer A. Smith", f"name: {_q(MARKUP[0])}")
    board = board.replace("credentials: MPH (example editor)", f"credentials: {_q(MARKUP[3])}")
    for old in re.findall(r"bio: .*", board):
        board = board.replace(old, f"bio: {_q(MARKUP[4] + ' ' + MARKUP[13])}", 1)
    (root / BOARD).write_text(board, encoding="utf-8")
    bib = root / "references/endocrinology.bib"
    text = bib.read_text(encoding="utf-8")
    text = text.replace(
        "doi      = {10.1089/thy.2014.0028}",
        'doi = {10.1/"><img src=x onerror=window.__pwned=1>},\n'
        "  url = {javascript:window.__pwned=1},\n"
        "  title2 = {x}",
    )
    text = text.replace("pmid     = {25266247}", 'pmid = {1"><svg onload=window.__pwned=1>}')
    text = re.sub(
        r"(@article\{chaker-hypothyroidism-2017,\n)",
        r"\1  note = {<img src=x onerror=window.__pwned=1>},\n",
        text,
    )
    text = text.replace(
        "journal  = {Thyroid}", "journal = {Thyroid <script>window.__pwned=1</script>}"
    )
    bib.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def hostile_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    import pipeline.build
    import pipeline.render

    out, servers = {}, []
    for mode, preview in (("production", False), ("preview", True)):
        root = hostile_publication(tmp_path_factory.mktemp(f"hostile-{mode}") / "pub")
        check = run_cli(root, "check", "--format", "json").json()
        assert check["errors"], "the payloads must be named by check"
        with pytest.MonkeyPatch.context() as patch:
            # The checks are bypassed and every article published: the renderer alone must hold.
            patch.setattr(pipeline.build, "check_for_build", lambda project, *args, **kwargs: [])
            patch.setattr(
                pipeline.render,
                "publishing",
                lambda project, article, preview=False: Publishing(article, "forced by the test"),
            )
            pipeline.build.build(root, preview=preview)
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


WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


class Attack:
    """Dialogs, requests to other hosts and CSP violations on one page."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.hosts: set[str] = set()
        page.add_init_script(WATCH_CSP)
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: self.hosts.add(urlparse(r.url).hostname or r.url))

    def assert_inert(self, page: Page, where: str) -> None:
        page.wait_for_timeout(200)  # let autofocus, onfocus and image errors fire
        assert page.evaluate("window.__pwned") is None, where
        assert self.dialogs == [], where
        assert self.hosts <= {"127.0.0.1"}, (where, self.hosts)


PAGES = [
    "",
    "endocrinology/",
    "oncology/",
    "tags/",
    "board/",
    "editorial-policy/",
    "endocrinology/hypothyroidism-levothyroxine/",
    "oncology/net-imaging/",
    "404.html",
    "no-such-page/",
]


@pytest.mark.parametrize("mode", ["production", "preview"])
def test_no_payload_runs_script_or_loads_from_another_host(
    browser: Browser, hostile_sites: dict, mode: str
) -> None:
    base = hostile_sites[mode]
    pages = PAGES + (["review-dashboard/"] if mode == "preview" else [])
    context = browser.new_context()
    for path in pages:
        page = context.new_page()
        attack = Attack(page)
        page.goto(base + path)
        # Every audience's wording, and focus moving through the page.
        for choice in page.locator("[data-audience-choice]").all():
            choice.click()
        for _ in range(5):
            page.keyboard.press("Tab")
        attack.assert_inert(page, path)
        page.close()
    context.close()


@pytest.mark.parametrize("mode", ["production", "preview"])
def test_payloads_show_as_text(browser: Browser, hostile_sites: dict, mode: str) -> None:
    page = browser.new_page()
    page.goto(hostile_sites[mode] + "endocrinology/hypothyroidism-levothyroxine/")
    question = page.inner_text("h1.gp-question")
    assert "<img src=x onerror=window.__pwned=1>" in question
    assert "{ onerror=window.__pwned=1 }" in question
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    description = page.get_attribute("meta[name=description]", "content")
    assert description is not None and description.startswith("Levothyroxine monotherapy")
    og_title = page.get_attribute("meta[property='og:title']", "content")
    assert og_title is not None and og_title.startswith("<img src=x onerror=window.__pwned=1>")
    assert page.title().startswith("<img src=x onerror=window.__pwned=1> ![p]")
    body = page.inner_text('[data-audience-variant="clinician"] .gp-body')
    assert "clinicianwzxhzdk" not in body and "wzxhzdk:0" in body
    assert INERT_TEXT[0] in body
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert not [h for h in links if re.match(r"\s*(javascript|data|vbscript):", h, re.I)]
    references = page.inner_text('[data-audience-variant="clinician"] .gp-references')
    assert 'doi: 10.1/"><img src=x onerror=window.__pwned=1>' in references
    page.goto(hostile_sites[mode])
    assert page.title().startswith("</title><script>window.__pwned=1</script>")
    assert "</title><script>" in page.inner_text("h1")
    page.close()


def test_search_results_are_inert(browser: Browser, hostile_sites: dict) -> None:
    page = browser.new_page()
    attack = Attack(page)
    page.goto(hostile_sites["preview"])
    page.click(".md-search__input")
    page.keyboard.type("onerror", delay=20)
    page.locator(".md-search-result__item").first.wait_for(timeout=10000)
    attack.assert_inert(page, "search")
    page.close()


# --- the Content Security Policy ---------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = copy_publication(tmp_path_factory.mktemp("clean") / "pub")
    assert run_cli(root, "build", "--preview").exit_code == 0
    gen = _serve(root / "site")
    yield next(gen), root / "site"
    next(gen, None)


def test_normal_pages_have_a_policy_and_break_none_of_it(browser: Browser, clean_site) -> None:
    base, _ = clean_site
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(WATCH_CSP)
    for path in [*PAGES[:-1], "review-dashboard/", "cardiology/af-anticoagulation/"]:
        page.goto(base + path)
        policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
        assert (
            policy
            and "script-src 'self'" in policy
            and "'unsafe-inline'" not in policy.split("style-src")[0]
        ), path
        page.wait_for_timeout(100)
        assert page.evaluate("window.__csp") == [], path
    # Search and the audience selector still work under the policy.
    page.goto(base)
    page.click(".md-search__input")
    page.keyboard.type("tracer", delay=20)
    page.locator(".md-search-result__item").first.wait_for(timeout=10000)
    page.goto(base + "oncology/net-imaging/")
    page.click('[data-audience-choice="patient"]')
    assert page.is_visible("text=Doctors usually use two kinds of scan")
    assert page.evaluate("window.__csp") == []
    assert errors == []
    page.close()


def test_the_policy_blocks_an_injected_inline_script(browser: Browser, clean_site) -> None:
    base, site = clean_site
    page_file = site / "oncology/net-imaging/index.html"
    html = page_file.read_text(encoding="utf-8")
    injected = html.replace(
        "</article>", "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>", 1
    )
    (site / "oncology/net-imaging/injected.html").write_text(injected, encoding="utf-8")
    page = browser.new_page()
    page.add_init_script(WATCH_CSP)
    page.goto(base + "oncology/net-imaging/injected.html")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
    page.close()
