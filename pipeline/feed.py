"""The Atom feed of newly approved and updated articles (`feed.xml`), with feedgen.

Production only, and only when the publication has a `site_url`: a feed's entries need
absolute addresses. Dates come from the approvals, never the clock, so that two builds of
the same inputs write the same bytes."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline import outputs
from pipeline.outputs import output

if TYPE_CHECKING:
    from pipeline.render import SiteRenderer

FEED = "feed.xml"
ENTRIES = 50


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@output
def atom_feed(site: SiteRenderer) -> Iterator[outputs.Made]:
    home = site.links.absolute("index.md")
    if site.preview or not home:
        return
    recent = site.recently_approved(ENTRIES)
    days = [s.state.approved_on for s in recent if s.state.approved_on]
    entries = []
    for shown in reversed(recent):  # feedgen lists the entry added last first
        article, state = shown.article, shown.state
        assert article.meta is not None and state.approved_on is not None
        entries.append(
            {
                "url": site.links.absolute(f"{article.id}.md"),
                "title": article.meta.title,
                "updated": state.approved_on.isoformat(),
                "published": site.versions(article)[0].day.isoformat(),
                "summary": site.summary(article),
                "authors": [site.member_name(author) for author in article.meta.authors],
            }
        )
    feed = {
        "home": home,
        "self": site.links.absolute(FEED),
        "title": site.settings.name,
        "subtitle": site.settings.description or site.settings.name,
        "language": site.language,
        "updated": max(days, default=dt.date(2000, 1, 1)).isoformat(),
        "entries": entries,
    }
    # What the feed shows, as plain data: the previous feed is kept when it is unchanged.
    inputs = {"code": site.deps.digest_of("code"), "context": outputs.digest(feed)}
    yield outputs.Made(FEED, inputs, functools.partial(_atom, feed))


def _atom(feed: dict) -> str:
    from feedgen.feed import FeedGenerator

    made = FeedGenerator()
    made.id(feed["home"])
    made.title(feed["title"])
    made.subtitle(feed["subtitle"])
    made.link(href=feed["home"], rel="alternate")
    made.link(href=feed["self"], rel="self")
    made.language(feed["language"])
    made.updated(_moment(dt.date.fromisoformat(feed["updated"])))
    for item in feed["entries"]:
        entry = made.add_entry()
        entry.id(item["url"])
        entry.title(item["title"])
        entry.link(href=item["url"], rel="alternate")
        entry.updated(_moment(dt.date.fromisoformat(item["updated"])))
        entry.published(_moment(dt.date.fromisoformat(item["published"])))
        entry.summary(item["summary"])
        for author in item["authors"]:
            entry.author({"name": author})
    return made.atom_str(pretty=True).decode("utf-8")
