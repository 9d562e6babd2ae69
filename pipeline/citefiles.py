""" "Cite this article" downloads: a BibTeX and a RIS file beside every article page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pipeline.outputs import article_output

if TYPE_CHECKING:
    from pipeline.render import Shown, SiteRenderer


def _plain(text: str) -> str:
    """One line, without the characters that end a BibTeX value or a RIS line."""
    return " ".join(re.sub(r"[{}\\]", "", text).split())


def _names(site: SiteRenderer, shown: Shown) -> list[str]:
    """'Surname, Given' for each author, as both formats list people."""
    assert shown.article.meta is not None
    names = []
    for author in shown.article.meta.authors:
        member = site.board.member(author)
        words = _plain(member.name if member else author).split()
        names.append(f"{words[-1]}, {' '.join(words[:-1])}" if len(words) > 1 else " ".join(words))
    return names


@article_output("bib")
def bibtex(site: SiteRenderer, shown: Shown) -> str:
    meta = shown.article.meta
    assert meta is not None
    fields = {
        "author": " and ".join(_names(site, shown)),
        "title": _plain(meta.title),
        "howpublished": _plain(site.settings.name),
        "year": str(meta.last_updated.year),
        "date": meta.last_updated.isoformat(),
    }
    url = site.links.absolute(f"{shown.article.id}.md")
    if url:
        fields["url"] = url
    if shown.state.approved_on:
        fields["note"] = f"Reviewed {shown.state.approved_on.isoformat()}"
    key = re.sub(r"[^a-z0-9]+", "-", shown.article.id)
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items())
    return f"@misc{{{key},\n{body}\n}}\n"


@article_output("ris")
def ris(site: SiteRenderer, shown: Shown) -> str:
    meta = shown.article.meta
    assert meta is not None
    lines = ["TY  - ELEC"]
    lines += [f"AU  - {name}" for name in _names(site, shown)]
    lines += [
        f"TI  - {_plain(meta.title)}",
        f"PB  - {_plain(site.settings.name)}",
        f"PY  - {meta.last_updated.year}",
        f"DA  - {meta.last_updated:%Y/%m/%d}",
    ]
    url = site.links.absolute(f"{shown.article.id}.md")
    if url:
        lines.append(f"UR  - {url}")
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"
