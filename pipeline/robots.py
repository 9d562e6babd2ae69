"""`robots.txt`: production invites crawlers and names the sitemap; a preview turns them away."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.outputs import output

if TYPE_CHECKING:
    from pipeline.render import SiteRenderer


@output
def robots_txt(site: SiteRenderer) -> Iterator[tuple[str, str]]:
    if site.preview:
        yield "robots.txt", "User-agent: *\nDisallow: /\n"
        return
    lines = ["User-agent: *", "Allow: /"]
    sitemap = site.links.absolute("sitemap.xml")
    if sitemap:
        lines.append(f"Sitemap: {sitemap}")
    yield "robots.txt", "\n".join(lines) + "\n"
