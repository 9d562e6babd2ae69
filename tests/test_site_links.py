"""MkDocs owns the site's URLs: with either `use_directory_urls` and on a sub-path `site_url`,
every link of every page of the built site leads to a page that exists (crawled)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from tests.conftest import replace_in, run_cli


def crawl(site: Path, base_path: str) -> list[str]:
    """Every internal link or resource that leads nowhere, as 'page -> target'."""
    broken = []
    pages = {p.relative_to(site).as_posix(): p for p in site.rglob("*.html")}
    ids: dict[str, set[str]] = {}

    def ids_of(rel: str) -> set[str]:
        if rel not in ids:
            soup = BeautifulSoup(pages[rel].read_text(encoding="utf-8"), "html.parser")
            ids[rel] = {t["id"] for t in soup.find_all(id=True)} | {
                t["name"] for t in soup.find_all(attrs={"name": True})
            }
        return ids[rel]

    for rel, path in sorted(pages.items()):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        page_url = base_path + rel
        for tag in soup.find_all(["a", "link", "script", "img"]):
            target = tag.get("href") or tag.get("src")
            if not target or tag.name == "link" and "canonical" in (tag.get("rel") or []):
                continue
            parts = urlsplit(target)
            if parts.scheme in ("https", "http", "mailto"):
                continue
            if target.startswith("//") or parts.scheme:
                broken.append(f"{rel} -> {target}")
                continue
            absolute = urlsplit(urljoin(page_url, target))
            if not absolute.path.startswith(base_path):
                broken.append(f"{rel} -> {target} (outside the site)")
                continue
            file = unquote(absolute.path[len(base_path) :])
            if file == "" or file.endswith("/"):
                file += "index.html"
            if not (site / file).is_file():
                broken.append(f"{rel} -> {target} (no {file})")
            elif absolute.fragment and file.endswith(".html"):
                if absolute.fragment not in ids_of(file):
                    broken.append(f"{rel} -> {target} (no #{absolute.fragment} in {file})")
    return broken


@pytest.mark.parametrize("directory_urls", [True, False])
@pytest.mark.parametrize("site_url", [None, "https://example.org/notes/"])
def test_every_link_of_the_built_site_leads_somewhere(
    publication: Path, directory_urls: bool, site_url: str | None
) -> None:
    if not directory_urls:
        replace_in(
            publication, "mkdocs.yml", "use_directory_urls: true", "use_directory_urls: false"
        )
    replace_in(
        publication,
        "content/publication.yml",
        "site_url: https://example-org.github.io/clinical-guideline-notes/\n",
        f"site_url: {site_url}\n" if site_url else "",
    )
    run = run_cli(publication, "build")
    assert run.exit_code == 0, run.output + run.stderr
    site = publication / "site"
    article = "oncology/net-skin-lesions" + ("/index.html" if directory_urls else ".html")
    assert (site / article).is_file()
    base_path = urlsplit(site_url).path if site_url else "/"
    assert crawl(site, base_path) == []


def test_the_crawler_finds_a_broken_link(publication: Path) -> None:
    """The crawl can fail: a page with a link to nowhere is reported."""
    assert run_cli(publication, "build").exit_code == 0
    site = publication / "site"
    page = site / "board" / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace("</body>", '<a href="../nowhere/">x</a></body>'),
        encoding="utf-8",
    )
    assert crawl(site, "/clinical-guideline-notes/") == [
        "board/index.html -> ../nowhere/ (no nowhere/index.html)"
    ]


def test_site_name_and_description_come_from_publication_yml(publication: Path) -> None:
    replace_in(
        publication,
        "content/publication.yml",
        "name: Clinical Guideline Notes",
        "name: Example Renamed Notes",
    )
    assert run_cli(publication, "build").exit_code == 0
    home = (publication / "site" / "index.html").read_text(encoding="utf-8")
    assert "<title>Example Renamed Notes" in home
    assert 'content="Short, referenced answers to clinical questions' in home


def test_a_preview_built_for_disk_after_a_normal_build_has_no_broken_link(
    publication: Path,
) -> None:
    """A reviewer opens the downloaded preview from disk: page files, every link working, even
    when the folder held a build with directory URLs before (nothing reused from it)."""
    assert run_cli(publication, "build", "--preview").exit_code == 0
    run = run_cli(publication, "build", "--preview", "--for-disk")
    assert run.exit_code == 0, run.output + run.stderr
    site = publication / "site"
    assert (site / "oncology/net-imaging.html").is_file()
    assert not (site / "oncology/net-imaging").exists()
    assert crawl(site, "/clinical-guideline-notes/") == []
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="oncology/net-imaging.html"' in home or "net-imaging.html" in home
