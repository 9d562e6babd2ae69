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
# A locator after a key, as in Pandoc: `[@key, p. 5]`, `[@key, ch. 2; @other]`. Plain words,
# numbers and punctuation only: never another key, a bracket or markup.
_LOCATOR = r"[^;\[\]@<>`\n]{1,60}"
_CITE_ITEM = rf"@{CITE_KEY}(?:\s*,\s*{_LOCATOR}?)?"
_CITE_GROUP = re.compile(rf"\s*\[(\s*{_CITE_ITEM}(?:\s*;\s*{_CITE_ITEM})*\s*)\]")
_ITEM = re.compile(rf"@({CITE_KEY})(?:\s*,\s*({_LOCATOR}))?")
_KEY = re.compile(rf"@({CITE_KEY})")
# Text a browser would read as a tag if it reached a page unescaped (`<img src=x onerror=...>`
# is not an HTML tag in CommonMark, but it is one in every browser).
_LOOKS_LIKE_TAG = re.compile(r"<[A-Za-z/!?]")

# Near misses of the citation syntax, looked for in the text a reader would see (never in code,
# never in what was escaped). `\x00` stands for anything that is not plain text.
_SEP = "\x00"
MAX_NEAR_MISSES = 100  # per paragraph: past that, more of the same tells an editor nothing
_ESCAPED = "\x01"  # a character escaped with a backslash: what follows it up to `]` is text
_BRACKETED = re.compile(r"\[([^\[\]\n\x00]*)\]")
_KEY_START = re.compile(r"(?<![\w.+\-])@")  # an @ that starts a key (not one in an email)
_UNCLOSED = re.compile(rf"\[\s*@({CITE_KEY})")
_BARE = re.compile(rf"(?<![\w@\[\x00\x01.+/\-\\])@({CITE_KEY})")
_LOOSE_KEY = re.compile(rf"@\s*({CITE_KEY})")
# Words or marks before a bare `@key` that say it is meant as a citation: "see @key", "(@key)".
_SEE_BEFORE = re.compile(r"(?i)(?:\b(?:see|cf|cf\.|e\.g\.,?|i\.e\.,?|as in|per)|[(,;])\s*$")


def _line_offset(state: StateInline) -> int:
    """Lines before `state.pos` in the inline text, counted on from the last citation's: a
    paragraph of many citations is read in one pass, never once per citation."""
    counted = getattr(state, "_gp_lines", None)
    if counted is None or counted[0] > state.pos:
        counted = (0, 0)
    at, lines = counted
    lines += state.src.count("\n", at, state.pos)
    state._gp_lines = (state.pos, lines)  # type: ignore[attr-defined]
    return lines


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: ``[@a, p. 5; @b]`` becomes one ``citation`` token holding the keys and
    their locators."""
    if not state.src.startswith("[@", state.pos):
        return False
    match = _CITE_GROUP.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.content = match.group(0)
        items = [(key, " ".join((loc or "").split())) for key, loc in _ITEM.findall(match.group(1))]
        token.meta = {
            "keys": [key for key, _ in items],
            "locators": [loc for _, loc in items],
            "offset": _line_offset(state),
        }
    state.pos = match.end()
    return True


@dataclass(frozen=True)
class NearMiss:
    """Text that looks meant as a citation but is not one (`[@a, @b]`, `see @key`)."""

    line: int  # 1-based, in the file
    text: str  # as written
    suggestion: str  # the citation it was likely meant to be
    keys: tuple[str, ...]
    certain: bool  # False for a bare `@word`: a citation only if the word is a known key
    bullet: int | None = None  # line of the list item it is in, if any


def _suggestion(inner: str) -> tuple[str, tuple[str, ...]]:
    """`see @a, @b` -> ('see [@a; @b]', ('a', 'b')): words before the keys move outside."""
    keys = tuple(k.rstrip(".,:;?") for k in _LOOSE_KEY.findall(inner))
    prefix = inner[: inner.index("@")].strip(" ,;")
    cite = "[" + "; ".join(f"@{k}" for k in keys) + "]"
    return (f"{prefix} {cite}" if prefix else cite), keys


def _near_misses(scan: str) -> list[tuple[int, str, str, tuple[str, ...], bool]]:
    """(line offset, text, suggestion, keys, certain) for every near miss in `scan`."""
    found = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for match in _BRACKETED.finditer(scan):
        if len(found) >= MAX_NEAR_MISSES:
            break
        if "@" not in match.group(1) or not _KEY_START.search(match.group(1)):
            continue
        suggestion, keys = _suggestion(match.group(1))
        if keys:
            taken.append(match.span())
            found.append((match.start(), match.group(0), suggestion, keys, True))
    for match in _UNCLOSED.finditer(scan):
        if len(found) >= MAX_NEAR_MISSES:
            break
        if free(*match.span()):
            key = match.group(1).rstrip(".,:;?")
            taken.append(match.span())
            found.append((match.start(), match.group(0), f"[@{key}]", (key,), True))
    for match in _BARE.finditer(scan):
        if len(found) >= MAX_NEAR_MISSES:
            break
        if free(*match.span()):
            key = match.group(1).rstrip(".,:;?")
            window = scan[max(0, match.start() - 200) : match.start()]  # bounded: long lines
            before = window[window.rfind("\n") + 1 :]
            if _ESCAPED in before and "]" not in before[before.rindex(_ESCAPED) :]:
                continue  # inside an escaped bracket, `\\[@a, @b]`: written as text on purpose
            see = _SEE_BEFORE.search(before) is not None and before.strip() != ""
            found.append((match.start(), "@" + key, f"[@{key}]", (key,), see))
    found.sort()
    lines, counted, at = [], 0, 0
    for pos, *rest in found[:MAX_NEAR_MISSES]:
        counted += scan.count("\n", at, pos)
        at = pos
        lines.append((counted, *rest))
    return lines


def _mark_near_misses(state) -> None:  # noqa: ANN001 - markdown-it's StateCore
    """Core rule, before escapes are joined into text: each inline token's near misses go to
    its meta, with line offsets counted from its first line."""
    for token in state.tokens:
        if token.type != "inline" or not token.children or "@" not in token.content:
            continue
        parts = []
        for child in token.children:
            if child.type == "text":
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append("\n")
            elif child.type == "text_special" and child.info == "escape":
                parts.append(_ESCAPED)
            else:
                parts.append(_SEP + "\n" * child.content.count("\n"))
        found = _near_misses("".join(parts))
        if found:
            token.meta = {**(token.meta or {}), "near_misses": found}


# Stands for the audience id in rendered HTML (ids and anchors differ per audience). `analyse`
# replaces it in the source before parsing, so it can only come from the renderer.
AUDIENCE = "\ue000"


def _render_citation(self, tokens, idx, options, env) -> str:  # noqa: ANN001 - markdown-it API
    numbers: dict[str, int] = env["numbers"]
    meta = tokens[idx].meta
    locators = meta.get("locators") or [""] * len(meta["keys"])

    def link(n: int) -> str:
        return f'<a href="#ref-{AUDIENCE}-{n}">{n}</a>'

    plain = [numbers[k.lower()] for k, loc in zip(meta["keys"], locators, strict=True) if not loc]
    parts = [format_ranges(plain, item=link, dash="\u2013")] if plain else []
    # A locator belongs to its own number: "3, p. 5"; numbers without one stay compressed.
    parts += [
        f"{link(numbers[k.lower()])}, {escapeHtml(loc)}"
        for k, loc in zip(meta["keys"], locators, strict=True)
        if loc
    ]
    return f'<sup class="gp-cite">{"; ".join(parts)}</sup>'


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
    md.core.ruler.before("text_join", "citation_near_misses", _mark_near_misses)
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
    near_misses: list[NearMiss] = field(default_factory=list)  # `[@a, @b]`, `see @key`
    toc: list[tuple[str, str, int]] = field(default_factory=list)  # (id, text, level)
    # Each cited key (lower case) and its number, by first citation: computed once, here.
    numbers: dict[str, int] = field(default_factory=dict)
    source: str = ""  # the Markdown analysed, for `html`
    # The HTML, once asked for: a check never asks, so it never renders or sanitises.
    _html: str | None = field(default=None, repr=False, compare=False)

    @property
    def html(self) -> str:
        """The body as sanitised HTML (AUDIENCE stands for the audience id in ids and
        anchors), rendered when a page first asks for it."""
        if self._html is None:
            tokens = PARSER.parse(self.source.replace(AUDIENCE, "\ufffd"))
            _name_headings(tokens)
            env = {"numbers": self.numbers}
            self._html = sanitize_html(PARSER.renderer.render(tokens, PARSER.options, env))
        return self._html


def _inline_line(token: Token, offset: int) -> int:
    return (token.map[0] if token.map else 0) + offset


def _name_headings(tokens: list[Token]) -> list[tuple[str, str, int]]:
    """Give every heading its id (AUDIENCE stands for the audience id); the table of contents
    of its h2 and h3 headings: (id, text, level)."""
    toc = []
    used: set[str] = set()
    for index, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = _CITE_GROUP.sub("", tokens[index + 1].content).strip()
            heading_id = f"{AUDIENCE}-{slugify(text)}"
            while heading_id in used:
                heading_id += "-x"
            used.add(heading_id)
            tok.attrSet("id", heading_id)
            if tok.tag in ("h2", "h3"):
                toc.append((heading_id, text, int(tok.tag[1])))
    return toc


def analyse(
    text: str, first_line: int, evidence_sections: Iterable[str] = (), html: bool = False
) -> BodyFacts:
    """Walk the body once; lines are made absolute with ``first_line`` (line of the body's
    first line in its file). Its HTML is rendered from the same tokens when `html` is true (a
    load for pages), else left to `BodyFacts.html`, for a page to ask (a check never does)."""
    required = {s.strip().lower() for s in evidence_sections}
    facts = BodyFacts(source=text)
    tokens = PARSER.parse(text.replace(AUDIENCE, "\ufffd"))
    facts.toc = _name_headings(tokens)
    section = ""
    in_heading = False
    # A stack of open list items: [line, cited?]; a cite anywhere below an item counts for it.
    items: list[list] = []
    for tok in tokens:
        if tok.type == "heading_open":
            in_heading = tok.tag in ("h2", "h3")
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
            for offset, written, suggestion, keys, certain in (tok.meta or {}).get(
                "near_misses", ()
            ):
                facts.near_misses.append(
                    NearMiss(
                        first_line + _inline_line(tok, offset),
                        written,
                        suggestion,
                        keys,
                        certain,
                        items[-1][0] if items else None,
                    )
                )
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
    if html:
        env = {"numbers": facts.numbers}
        facts._html = sanitize_html(PARSER.renderer.render(tokens, PARSER.options, env))
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
