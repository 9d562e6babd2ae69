"""Markdown bodies: the Markdown parser, Pandoc-style citations ``[@key]`` / ``[@a; @b]``, and
what the checks need from a body (citations with lines, uncited bullets, raw HTML, links)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from pipeline.safety import is_external_url, is_unsafe_url, sanitize_html

CITE_KEY = r"[A-Za-z0-9_][A-Za-z0-9_:.#$%&\-+?<>~/]*"
_CITE_GROUP = re.compile(rf"\s*\[(@{CITE_KEY}(?:\s*;\s*@{CITE_KEY})*)\]")
_KEY = re.compile(rf"@({CITE_KEY})")
# Text a browser would read as a tag if it reached a page unescaped (`<img src=x onerror=...>`
# is not an HTML tag in CommonMark, but it is one in every browser).
_LOOKS_LIKE_TAG = re.compile(r"<[A-Za-z/!?]")


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: ``[@a; @b]`` becomes one ``citation`` token holding the keys."""
    if not state.src.startswith("[@", state.pos):
        return False
    match = _CITE_GROUP.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.meta = {
            "keys": _KEY.findall(match.group(1)),
            "offset": state.src.count("\n", 0, state.pos),
        }
    state.pos = match.end()
    return True


# Stands for the audience id in rendered HTML (ids and anchors differ per audience). `analyse`
# replaces it in the source before parsing, so it can only come from the renderer.
AUDIENCE = "\ue000"


def _render_citation(self, tokens, idx, options, env) -> str:  # noqa: ANN001 - markdown-it API
    numbers: dict[str, int] = env["numbers"]
    cited = [numbers[k.lower()] for k in tokens[idx].meta["keys"]]
    links = format_ranges(
        cited, item=lambda n: f'<a href="#ref-{AUDIENCE}-{n}">{n}</a>', dash="\u2013"
    )
    return f'<sup class="gp-cite">{links}</sup>'


def _render_as_text(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    # Raw HTML never reaches a page: the checks refuse it, and the renderer escapes it anyway.
    return escapeHtml(tokens[idx].content)


def _safe_link(self, tokens, idx, options, env) -> str:  # noqa: ANN001
    token = tokens[idx]
    if is_unsafe_url(str(token.attrs.get("href", ""))):
        token.attrSet("href", "#")
    return self.renderToken(tokens, idx, options, env)


def make_parser() -> MarkdownIt:
    """CommonMark with tables; raw HTML is parsed so that the checks can refuse it."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    # Keep every link, whatever its scheme, so that unsafe ones reach the check (and are refused).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("html_block", _render_as_text)
    md.add_render_rule("html_inline", _render_as_text)
    md.add_render_rule("link_open", _safe_link)
    return md


PARSER = make_parser()


@dataclass(frozen=True)
class Citation:
    key: str
    line: int  # 1-based, in the file


@dataclass
class BodyFacts:
    """What the checks need from one Markdown body."""

    citations: list[Citation] = field(default_factory=list)
    uncited_bullets: list[tuple[int, str]] = field(default_factory=list)  # (line, section)
    raw_html: list[int] = field(default_factory=list)
    unsafe_links: list[tuple[int, str]] = field(default_factory=list)
    external_images: list[tuple[int, str]] = field(default_factory=list)
    # The body as HTML, parsed once: AUDIENCE stands for the audience id in ids and anchors.
    html: str = ""
    toc: list[tuple[str, str, int]] = field(default_factory=list)  # (id, text, level)
    # Each cited key (lower case) and its number, by first citation: computed once, here.
    numbers: dict[str, int] = field(default_factory=dict)


def _inline_line(token: Token, offset: int) -> int:
    return (token.map[0] if token.map else 0) + offset


def analyse(text: str, first_line: int, evidence_sections: Iterable[str] = ()) -> BodyFacts:
    """Walk the body once; lines are made absolute with ``first_line`` (line of the body's
    first line in its file)."""
    required = {s.strip().lower() for s in evidence_sections}
    facts = BodyFacts()
    tokens = PARSER.parse(text.replace(AUDIENCE, "\ufffd"))
    section = ""
    in_heading = False
    # A stack of open list items: [line, cited?]; a cite anywhere below an item counts for it.
    items: list[list] = []
    used: set[str] = set()
    for index, tok in enumerate(tokens):
        if tok.type == "heading_open":
            in_heading = tok.tag in ("h2", "h3")
            text = _CITE_GROUP.sub("", tokens[index + 1].content).strip()
            heading_id = f"{AUDIENCE}-{slugify(text)}"
            while heading_id in used:
                heading_id += "-x"
            used.add(heading_id)
            tok.attrSet("id", heading_id)
            if in_heading:
                facts.toc.append((heading_id, text, int(tok.tag[1])))
        elif tok.type == "heading_close":
            in_heading = False
        elif tok.type == "list_item_open":
            items.append([first_line + (tok.map[0] if tok.map else 0), False])
        elif tok.type == "list_item_close":
            line, cited = items.pop()
            if cited and items:
                items[-1][1] = True
            if not cited and section.lower() in required:
                facts.uncited_bullets.append((line, section))
        elif tok.type == "html_block":
            facts.raw_html.append(first_line + (tok.map[0] if tok.map else 0))
        elif tok.type == "inline":
            if in_heading and tok.content:
                section = tok.content.strip()
            for child in tok.children or []:
                line = first_line + _inline_line(
                    tok, child.meta.get("offset", 0) if child.meta else 0
                )
                if child.type == "citation":
                    facts.citations.extend(Citation(k, line) for k in child.meta["keys"])
                    if items:
                        items[-1][1] = True
                elif child.type == "html_inline" or (
                    child.type == "text" and _LOOKS_LIKE_TAG.search(child.content)
                ):
                    if first_line + _inline_line(tok, 0) not in facts.raw_html:
                        facts.raw_html.append(first_line + _inline_line(tok, 0))
                elif child.type in ("link_open", "image"):
                    href = str(child.attrs.get("href") or child.attrs.get("src") or "")
                    if is_unsafe_url(href):
                        facts.unsafe_links.append((line, href))
                    elif child.type == "image" and is_external_url(href):
                        facts.external_images.append((line, href))
    facts.numbers = number_citations(c.key for c in facts.citations)
    html = PARSER.renderer.render(tokens, PARSER.options, {"numbers": facts.numbers})
    facts.html = sanitize_html(html)
    return facts


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def number_citations(keys_in_order: Iterable[str]) -> dict[str, int]:
    """Numbers by first citation on the page, 1-based; keys compare case-insensitively."""
    numbers: dict[str, int] = {}
    for key in keys_in_order:
        numbers.setdefault(key.lower(), len(numbers) + 1)
    return numbers


def compress_ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """[1, 3, 4, 5] -> [(1, 1), (3, 5)]; duplicates dropped, sorted."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def format_ranges(numbers: Iterable[int], item: Callable[[int], str] = str, dash: str = "-") -> str:
    """[1, 3, 4, 5] -> '1,3-5' (a run of two stays '1,2'); `item` renders each number."""
    parts = []
    for start, end in compress_ranges(numbers):
        if start == end:
            parts.append(item(start))
        elif end == start + 1:
            parts.append(f"{item(start)},{item(end)}")
        else:
            parts.append(f"{item(start)}{dash}{item(end)}")
    return ",".join(parts)
