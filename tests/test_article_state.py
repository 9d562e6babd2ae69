"""An article's public state is decided once (`approval.article_state`), and every page shows
that decision: an article whose approval does not hold is nowhere shown as approved."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from pipeline.approval import article_state, publishing
from pipeline.loader import load
from tests.conftest import replace_in, run_cli

IMAGING = "content/oncology/net-imaging.md"


def soup(root: Path, rel: str) -> BeautifulSoup:
    return BeautifulSoup((root / "site" / rel).read_text(encoding="utf-8"), "html.parser")


def test_an_article_back_under_review_is_not_shown_as_approved_in_preview(
    publication: Path,
) -> None:
    # The editor sends an approved article back to review: its signed approval still matches
    # the text, but the article is no longer approved.
    replace_in(publication, IMAGING, "status: approved", "status: under_review")
    project = load(publication)
    state = article_state(project, project.articles["oncology/net-imaging"])
    assert state.approval.valid and not state.approved and state.approvers == ()
    assert run_cli(publication, "build", "--preview").exit_code == 0
    page = soup(publication, "oncology/net-imaging/index.html")
    assert "approved by" not in page.select_one(".gp-board-note").get_text()
    assert page.select_one(".gp-banner") is not None
    assert page.select_one('[aria-current="step"]').get_text() == "Under Review: current"
    home = soup(publication, "index.html")
    recent = [a.get_text() for a in home.select("#recently-approved + ul a")]
    assert recent and "Imaging for neuroendocrine tumors" not in " ".join(recent)
    topic = soup(publication, "oncology/index.html").get_text()
    assert "(Under Review)" in topic


def test_an_approved_page_names_its_approvers_with_links_and_dates(publication: Path) -> None:
    assert run_cli(publication, "build").exit_code == 0
    note = soup(publication, "oncology/net-imaging/index.html").select_one(".gp-board-note")
    links = note.select("a[href*='#']")
    assert links and links[0]["href"].startswith("../../board/#")
    assert "Next review due" in note.get_text()


def test_home_lists_recent_approvals_newest_first(publication: Path) -> None:
    assert run_cli(publication, "build").exit_code == 0
    project = load(publication)
    approved = [
        article_state(project, a).approved_on
        for a in project.articles.values()
        if publishing(project, a).article is a and article_state(project, a).approved
    ]
    items = soup(publication, "index.html").select("#recently-approved + ul li")
    assert len(items) == len(approved) >= 2
    assert "approved" in items[0].get_text()
    # Dates, as shown, in the order of approval: newest first.
    shown = [li.get_text().rsplit("approved ", 1)[1] for li in items]
    from datetime import datetime

    days = [datetime.strptime(d.strip(), "%B %d, %Y").date() for d in shown]
    assert days == sorted(days, reverse=True) == sorted(approved, reverse=True)
