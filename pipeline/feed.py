"""The Atom feed of newly approved and updated articles (`feed.xml`), with feedgen.

Production only, and only when the publication has a `site_url`: a feed's entries need
absolute addresses. Dates come from the approvals, never the clock, so that two builds of
the same inputs write the same bytes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.outputs import output

if TYPE_CHECKING:
    from pipeline.render import SiteRenderer

FEED = "feed.xml"
ENTRIES = 50


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@output
def atom_feed(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    home = site.links.absolute("index.md")
    if site.preview or not home:
        return
    from feedgen.feed import FeedGenerator

    recent = site.recently_approved(ENTRIES)
    feed = FeedGenerator()
    feed.id(home)
    feed.title(site.settings.name)
    feed.subtitle(site.settings.description or site.settings.name)
    feed.link(href=home, rel="alternate")
    feed.link(href=site.links.absolute(FEED), rel="self")
    feed.language(site.language)
    first = min((s.state.approved_on for s in recent if s.state.approved_on), default=None)
    latest = max((s.state.approved_on for s in recent if s.state.approved_on), default=None)
    feed.updated(_moment(latest or first or dt.date(2000, 1, 1)))
    for shown in reversed(recent):  # feedgen lists the entry added last first
        article, state = shown.article, shown.state
        assert article.meta is not None and state.approved_on is not None
        url = site.links.absolute(f"{article.id}.md")
        entry = feed.add_entry()
        entry.id(url)
        entry.title(article.meta.title)
        entry.link(href=url, rel="alternate")
        entry.updated(_moment(state.approved_on))
        entry.published(_moment(site.versions(article)[0].day))
        entry.summary(site.summary(article))
        for author in article.meta.authors:
            entry.author({"name": site.member_name(author)})
    yield FEED, feed.atom_str(pretty=True).decode("utf-8")
