"""What a reader learns about where an article comes from, and how search engines, feed
readers and citation managers find it: authors, approvers, revision history, "cite this
article", meta description, Open Graph, Atom feed, sitemap, robots.txt, noindex previews."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pybtex.database import parse_string

from tests.conftest import copy_publication, replace_in, run_cli
from tests.gitrepo import EDITOR, commit, git

SITE_URL = "https://example.org/notes/"
PAGE = "oncology/net-imaging/index.html"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example publication with a public address, in a Git repository, built."""
    root = copy_publication(tmp_path_factory.mktemp("provenance") / "pub")
    replace_in(
        root,
        "content/publication.yml",
        "site_url: https://example-org.github.io/clinical-guideline-notes/\n",
        f"site_url: {SITE_URL}\n",
    )
    git(root, "init", "-q", "-b", "main")
    # The editor's commit comes before the reviews (signed 2 December 2026), whatever today is.
    commit(root, EDITOR, "Oncology: imaging article", date="2026-12-01T12:00:00+00:00")
    run = run_cli(root, "build")
    assert run.exit_code == 0, run.output + run.stderr
    return root


def page(root: Path, rel: str = PAGE) -> BeautifulSoup:
    return BeautifulSoup((root / "site" / rel).read_text(encoding="utf-8"), "html.parser")


def test_the_page_names_its_authors_and_approvers_with_links_to_the_board(published: Path) -> None:
    article = page(published)
    byline = article.select_one(".gp-byline")
    assert "Jordan Doe" in byline.get_text()
    assert byline.a["href"] == "../../board/#jdoe"
    assert page(published, "board/index.html").find(id="jdoe") is not None
    note = article.select_one(".gp-board-note")
    approver = note.select("a")[-1]
    assert approver["href"].startswith("../../board/#")
    assert page(published, "board/index.html").find(id=approver["href"].split("#")[1])
    assert "Next review due" in note.get_text()


def test_the_revision_history_lists_each_approved_version(published: Path) -> None:
    history = page(published).select(".gp-history li")
    assert history
    text = history[0].get_text(" ", strip=True)
    assert "Approved by Example Reviewer A. Smith" in text
    # What changed: the subject of the board editor's commit to the article.
    assert "Oncology: imaging article" in text


def test_cite_this_article_and_its_downloads(published: Path) -> None:
    block = page(published).select_one(".gp-cite-this")
    text = block.select_one(".gp-cite-this__text").get_text()
    assert text.startswith("Doe J. Imaging for staging well-differentiated neuroendocrine tumors.")
    assert text.endswith(SITE_URL + "oncology/net-imaging/")
    links = {a.get_text(): a["href"] for a in block.select("a")}
    assert links == {"BibTeX": "../net-imaging.bib", "RIS": "../net-imaging.ris"}
    bib = (published / "site/oncology/net-imaging.bib").read_text(encoding="utf-8")
    entry = parse_string(bib, "bibtex").entries["oncology-net-imaging"]
    assert entry.fields["url"] == SITE_URL + "oncology/net-imaging/"
    assert str(entry.persons["author"][0]) == "Doe, Jordan"
    ris = (published / "site/oncology/net-imaging.ris").read_bytes().decode("utf-8")
    assert ris.startswith("TY  - ELEC\r\n") and "AU  - Doe, Jordan\r\n" in ris
    assert ris.endswith("ER  - \r\n")


def test_meta_description_and_open_graph_come_from_the_article(published: Path) -> None:
    head = page(published).head
    description = head.find("meta", attrs={"name": "description"})["content"]
    assert description.startswith("Staging combines") and len(description) <= 160
    assert "1,2" not in description  # citation numbers are not prose
    og = {m["property"]: m["content"] for m in head.find_all("meta", property=True)}
    assert og["og:type"] == "article" and og["og:url"] == SITE_URL + "oncology/net-imaging/"
    assert og["og:description"] == description
    assert head.find("link", rel="canonical")["href"] == SITE_URL + "oncology/net-imaging/"
    assert page(published, "index.html").title.get_text() == "Clinical Guideline Notes"


def test_the_atom_feed_lists_approved_articles_newest_first(published: Path) -> None:
    feed = ET.parse(published / "site/feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert SITE_URL + "oncology/net-imaging/" in links
    assert all(link.startswith(SITE_URL) for link in links)
    assert not any("hypothyroidism" in link for link in links)  # under review: not published
    updated = [e.find(f"{ATOM}updated").text for e in entries]
    assert updated == sorted(updated, reverse=True)
    head = page(published, "index.html").head
    assert head.find("link", type="application/atom+xml")["href"] == "feed.xml"


def test_sitemap_and_robots_name_public_addresses(published: Path) -> None:
    sitemap = (published / "site/sitemap.xml").read_text(encoding="utf-8")
    assert f"<loc>{SITE_URL}oncology/net-imaging/</loc>" in sitemap
    robots = (published / "site/robots.txt").read_text(encoding="utf-8")
    assert robots == f"User-agent: *\nAllow: /\nSitemap: {SITE_URL}sitemap.xml\n"


def test_every_preview_page_is_noindex_and_has_no_feed(publication: Path) -> None:
    assert run_cli(publication, "build", "--preview").exit_code == 0
    site = publication / "site"
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for path in pages:
        head = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").head
        assert head.find("meta", attrs={"name": "robots"})["content"].startswith("noindex"), path
    assert not (site / "feed.xml").exists()
    assert (site / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"


def test_the_follow_up_can_go_to_an_email_address(publication: Path) -> None:
    """The intake may be an email address instead of an issue form; the link still warns that
    questions are read by others and asks for no personal health details."""
    import re

    path = publication / "content/publication.yml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(
        r"^question_intake_url: .*$",
        "question_intake_url: mailto:questions@example.org?subject=Follow-up",
        text,
        flags=re.M,
    )
    path.write_text(text, encoding="utf-8")
    assert run_cli(publication, "check").exit_code == 0
    assert run_cli(publication, "build").exit_code == 0
    follow_up = page(publication, PAGE).select_one(".gp-follow-up")
    assert follow_up.select_one("a.md-button")["href"] == (
        "mailto:questions@example.org?subject=Follow-up"
    )
    assert "personal health" in follow_up.get_text()


@pytest.mark.parametrize("value", ["mailto:javascript:alert(1)", "mailto:", "http://example.org"])
def test_an_intake_that_is_neither_https_nor_an_address_is_refused(
    publication: Path, value: str
) -> None:
    import re

    path = publication / "content/publication.yml"
    text = re.sub(
        r"^question_intake_url: .*$",
        f'question_intake_url: "{value}"',
        path.read_text(encoding="utf-8"),
        flags=re.M,
    )
    path.write_text(text, encoding="utf-8")
    report = run_cli(publication, "check", "--format", "json").json()
    assert [e["file"] for e in report["errors"]] == ["content/publication.yml"]
    assert "question_intake_url" in report["errors"][0]["message"]
