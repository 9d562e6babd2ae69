"""Generated pages are HTML already: MkDocs is handed that HTML instead of converting it again.

Every page the pipeline generates is a front matter followed by block-level HTML that the
renderer has escaped and sanitised (render.py). Python-Markdown passes such raw HTML blocks
through unchanged: its conversion of them costs two HTML parses per page (finding the raw blocks,
and MkDocs collecting their ids) and gives back the same text, stripped. That was a third of a
full build's time.

For a page of the pipeline's own, the plugin replaces MkDocs' `Page.render` with one that sets
what the conversion would have set: `content` (the body, stripped), an empty table of contents
(raw HTML has no Markdown headings), no title from the body, no links to other pages' anchors, and
the ids present in the HTML, collected only if MkDocs' anchor validation asks for them.

It is taken only when the result is certainly the conversion's:
- the configured Markdown extensions are ones that leave raw HTML alone (`PASSIVE`); any other
  extension (md_in_html, snippets, attr_list...) may rewrite it, and the page is converted;
- the body is made only of top-level raw HTML blocks as Python-Markdown reads them: each
  starts at the margin with a block-level tag after nothing but line breaks, its elements
  balance, its last closing tag ends its line, and nothing in it is changed by
  Python-Markdown's whitespace normalising (tabs, carriage returns, lines of
  spaces, runs of blank lines, its STX/ETX markers), and no line opens a code fence.
Anything else is converted by Python-Markdown as before. tests/test_html_pages.py compares both
ways on every page of the example publication, on hostile content and on generated text."""

from __future__ import annotations

import re

import markdown
from mkdocs.structure.pages import Page, _HTMLHandler
from mkdocs.structure.toc import get_toc

# Extensions that never rewrite a raw HTML block: their processors act on Markdown blocks only,
# after raw HTML is set aside; fenced_code, which runs before, only on a line opening a fence
# (such a page is converted).
PASSIVE = frozenset(
    {
        "admonition",
        "fenced_code",
        "tables",
        "toc",
        "markdown.extensions.admonition",
        "markdown.extensions.fenced_code",
        "markdown.extensions.tables",
        "markdown.extensions.toc",
    }
)

_BLOCK = "|".join(sorted(markdown.Markdown().block_level_elements, key=len, reverse=True))
_OPENS_BLOCK = re.compile(rf"<(?:{_BLOCK})[\s/>]", re.IGNORECASE)
_NORMALISED = re.compile(r"[\t\r\x02\x03]|\n +\n|^ +\n|\n\n\n")
_FENCE = re.compile(r"^ *(?:```|~~~)", re.MULTILINE)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def applies(config) -> bool:  # noqa: ANN001 - an MkDocsConfig
    """Whether this site's Markdown extensions leave raw HTML blocks alone."""
    return all(isinstance(e, str) and e in PASSIVE for e in config.markdown_extensions)


def html_only(body: str) -> bool:
    """Whether Python-Markdown would give `body` back unchanged (stripped)."""
    if _NORMALISED.search(body) or _FENCE.search(body):
        return False
    text = body.strip("\n")  # leading spaces would make an indented code block
    open_: list[str] = []  # elements open in the current top-level block, innermost last
    after = 0  # where the text between top-level blocks starts
    for tag in _TAG.finditer(text):
        closing, name, empty = tag.groups()
        name = name.lower()
        void = bool(empty) or name in _VOID
        if not open_:
            # A top-level block: alone on the margin, after nothing but line breaks.
            if (
                closing
                or text[after : tag.start()].strip("\n")
                or not _OPENS_BLOCK.match(text, tag.start())
            ):
                return False
            if tag.start() and text[tag.start() - 1] != "\n":
                return False
            if void:
                after = tag.end()
                if text[after : after + 1] not in ("", "\n"):
                    return False
                continue
        if void:
            continue
        if not closing:
            open_.append(name)
            continue
        if open_.pop() != name:
            return False  # elements that do not nest
        if not open_:
            after = tag.end()
            if text[after : after + 1] not in ("", "\n"):
                return False  # text after the block on its line
    return not open_ and not text[after:].strip("\n")


class _Anchors:
    """The ids in a page's HTML, as MkDocs collects them, collected the first time they are
    asked for (MkDocs asks only to check other pages' links to this page's anchors)."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.found: set[str] | None = None

    def _ids(self) -> set[str]:
        if self.found is None:
            parser = _HTMLHandler()
            parser.feed(self.html)
            parser.close()
            self.found = parser.present_anchor_ids
        return self.found

    def __contains__(self, anchor: object) -> bool:
        return anchor in self._ids()

    def __iter__(self):  # noqa: ANN204
        return iter(self._ids())

    def __len__(self) -> int:
        return len(self._ids())


def hand_over(page: Page) -> None:
    """At `on_pre_page`, for a generated page: its HTML is given to MkDocs as it is, when
    the conversion would give the same (see the module's docstring)."""
    convert = page.render

    def render(config, files) -> None:  # noqa: ANN001 - MkDocs' config and files
        if page.markdown is None or not html_only(page.markdown):
            convert(config, files)
            return
        page.content = page.markdown.strip()
        page.toc = get_toc([])
        page._title_from_render = None
        page.present_anchor_ids = _Anchors(page.content)  # type: ignore[assignment]
        page.links_to_anchors = {}

    page.render = render  # type: ignore[method-assign]
