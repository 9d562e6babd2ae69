"""Links between generated pages, as MkDocs makes them.

MkDocs owns the site's URL scheme: a page's URL is the `url` of its MkDocs `File` (which
follows `use_directory_urls`), and a link is MkDocs' own relative URL between two pages. Nothing
here rebuilds those rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from mkdocs.structure.files import File
from mkdocs.utils import get_relative_url


@dataclass
class Links:
    use_directory_urls: bool = True
    site_url: str | None = None  # the public address, ending in "/", when the site has one
    _urls: dict[str, str] = field(default_factory=dict, repr=False)

    def url(self, rel_md: str) -> str:
        """The page's URL from the site root, e.g. `oncology/x/` or `oncology/x.html`."""
        if rel_md not in self._urls:
            file = File(rel_md, None, "", self.use_directory_urls)
            self._urls[rel_md] = file.url
        return self._urls[rel_md]

    def href(self, from_md: str, to_md: str) -> str:
        """A relative link from one generated page to another, as MkDocs writes it."""
        return get_relative_url(self.url(to_md), self.url(from_md))

    def absolute(self, rel_md: str) -> str | None:
        """The page's public address; None when the publication sets no `site_url`."""
        if not self.site_url:
            return None
        url = self.url(rel_md)
        return urljoin(self.site_url, "" if url == "./" else url)

    @property
    def digest_input(self) -> str:
        return f"{self.use_directory_urls}|{self.site_url or ''}"


def site_url_of(value: str | None) -> str | None:
    """A `site_url` as MkDocs keeps it: ending in a slash."""
    if not value:
        return None
    return value if value.endswith("/") else value + "/"
