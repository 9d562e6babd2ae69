"""Markdown bodies: the Markdown parser, Pandoc-style citations ``[@key]`` / ``[@a; @b]``, and
what the checks need from a body (citations with lines, uncited bullets, raw HTML, links)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
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
_CITE_ITEMS = rf"(\s*{_CITE_ITEM}(?:\s*;\s*{_CITE_ITEM})*\s*)"
_CITE_GROUP = re.compile(rf"\s*\[{_CITE_ITEMS}\]")
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
        token.meta = _citation_meta(match, _line_offset(state))
    state.pos = match.end()
    return True


def _citation_meta(match: re.Match, offset: int) -> dict:
    """A citation token's meta: its keys and locators (from a `_CITE_GROUP` match), and the
    lines before it in its inline text."""
    items = [(key, " ".join((loc or "").split())) for key, loc in _ITEM.findall(match.group(1))]
    return {
        "keys": [key for key, _ in items],
        "locators": [loc for _, loc in items],
        "offset": offset,
    }


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
    its meta."""
    for token in state.tokens:
        if token.type == "inline":
            _mark_inline_near_misses(token)


def _mark_inline_near_misses(token: Token) -> None:
    """One inline token's near misses go to its meta, with line offsets counted from its
    first line."""
    if not token.children or "@" not in token.content:
        return
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
    scan = "".join(parts)
    found = _near_misses(scan) if "@" in scan else []  # every near miss has an `@`
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
            heading_id, text = _heading_id(tokens[index + 1].content, used)
            tok.attrSet("id", heading_id)
            if tok.tag in ("h2", "h3"):
                toc.append((heading_id, text, int(tok.tag[1])))
    return toc


def _heading_id(content: str, used: set[str]) -> tuple[str, str]:
    """A heading's id, made unlike the `used` ones (and added to them), and its text without
    citations, from its inline text."""
    text = _CITE_GROUP.sub("", content).strip() if "[" in content else content.strip()
    heading_id = f"{AUDIENCE}-{slugify(text)}"
    while heading_id in used:
        heading_id += "-x"
    used.add(heading_id)
    return heading_id, text


# --- plain bodies, read without markdown-it ---------------------------------------------------
# A check needs a body's facts, never its HTML, and most bodies are written in a small part of
# Markdown: ATX headings, paragraphs, lists, citations. `plain_facts` reads those itself, with
# no token made, and gives the facts `analyse` gives from markdown-it's tokens, in a fraction of
# its time; a body with anything it does not model goes to markdown-it. It models no link, image
# or HTML, so a body that could hold one is never plain (tests/test_fast_markdown.py compares
# both readings on generated, hostile and real bodies).

# What can start markup the fast path does not model: `!` (images), `&` (entities), `<` `>`
# (HTML, autolinks, block quotes), `\\` (escapes), backticks (code), `|` (tables), `~` (fences),
# and links: `](`, `][` (`]:` is looked at where blocks start).
_MARKUP_CHARACTERS = "!&<>\\`|~"
_LINKS = ("](", "][")
# A line of only these is a thematic break, a setext underline, a table's delimiter row or an
# empty list item.
_RULE_LINE = re.compile(r"[-=_*+: ]+")
_RULE_START = "-=_*+:"  # what such a line, less its indent, starts with
_HEADING = re.compile(r"#{1,6}(?= |$)")
_LIST_MARKER = re.compile(r"(?:[-*+]|([0-9]{1,9})[.)])(?= |$)")
_MARKER_START = "-*+0123456789"
# A citation where the citation rule reads one: at a `[@`, looking on from the last one's end.
_CITATION = re.compile(rf"\[(?=@){_CITE_ITEMS}\]")
# A line break in inline text, with the spaces before and after it that markdown-it drops.
_BREAK = re.compile(r" *\n *")
# Lists nested deeper than this go to markdown-it, which stops reading past its nesting limit.
_MAX_LIST_DEPTH = 6


def _plain_characters(text: str) -> bool:
    """No character that may start markup the fast path does not model, and none that is not
    printable but the line break and the ASCII space: no tab, `\\r`, control, format character
    or other space (which CommonMark trims or splits on where Python does not, or the other
    way round). Printable: every letter, mark, digit, punctuation and symbol."""
    return (
        text.replace("\n", " ").isprintable()
        and not any(ch in text for ch in _MARKUP_CHARACTERS)
        and not any(link in text for link in _LINKS)
    )


def _plain_inline(src: str) -> tuple[list[tuple[int, list[str]]], str] | None:
    """An inline text's citations, each as (lines before it, keys), and the text its near
    misses are looked for in (as `_mark_inline_near_misses` makes it of markdown-it's tokens;
    empty when it has no `@`); None if it may hold emphasis."""
    if "[@" not in src:
        if "*" in src or "_" in src:
            return None
        if "@" not in src:
            return [], ""
        return [], _BREAK.sub("\n", src) if "\n" in src else src
    citations: list[tuple[int, list[str]]] = []
    texts = []  # between citations: what markdown-it reads into text and line break tokens
    marks = []  # what stands for each citation in the text near misses are looked for in
    at = 0
    breaks = "\n" in src
    for match in _CITATION.finditer(src):
        start = match.start()
        texts.append(src[at:start])
        written = match.group(0)
        # Every `@` in a citation starts a key: a locator holds none.
        citations.append((src.count("\n", 0, start) if breaks else 0, _KEY.findall(match.group(1))))
        marks.append(_SEP + "\n" * written.count("\n") if breaks else _SEP)
        at = match.end()
    texts.append(src[at:])
    outside = "".join(texts)
    if "*" in outside or "_" in outside:
        return None
    if "@" not in outside:
        return citations, ""
    if breaks:
        texts = [_BREAK.sub("\n", text) for text in texts]
    marks.append("")
    return citations, "".join(text + mark for text, mark in zip(texts, marks, strict=True))


def plain_facts(
    text: str, first_line: int, required: Collection[str] = frozenset()
) -> BodyFacts | None:
    """The facts `analyse` gives of a body in plain Markdown (`required`: the evidence sections,
    stripped and in lower case), read without markdown-it; None for any other body. Plain: ATX
    headings at the margin, paragraphs, and lists whose items start where their parent's
    content starts, with content on the marker's line; no lazy continuation lines."""
    if not _plain_characters(text):
        return None
    facts = BodyFacts(source=text)
    lines = text.split("\n")
    # A link reference definition (`[r]: url`) starts a paragraph, or a list item's content.
    definitions = "]:" in text
    items: list[list] = []  # each open list item: [content column, line, cited?], outermost first
    paragraph: list[str] = []  # the open paragraph's lines, less their container's indent
    start = 0  # the open paragraph's first line
    section = ""  # the text of the last h2 or h3 heading
    used: set[str] = set()  # heading ids

    def read_inline(content: str, line: int) -> bool:
        """An inline text's citations and near misses go to the facts (`line`: its first, in
        the body); False if it may hold emphasis."""
        read = _plain_inline(content)
        if read is None:
            return False
        citations, scan = read
        line += first_line
        for offset, keys in citations:
            facts.citations.extend(Citation(key, line + offset) for key in keys)
        if citations and items:
            items[-1][2] = True
        if "@" in scan:  # every near miss has an `@`
            bullet = items[-1][1] if items else None
            facts.near_misses.extend(
                NearMiss(line + offset, *found, bullet) for offset, *found in _near_misses(scan)
            )
        return True

    def end_paragraph() -> bool:
        if paragraph:
            if not read_inline("\n".join(paragraph).strip(" "), start):
                return False
            paragraph.clear()
        return True

    def close_items(column: int) -> None:
        while items and items[-1][0] > column:
            _column, line, cited = items.pop()
            if cited and items:
                items[-1][2] = True  # a cite anywhere below an item counts for it
            if not cited and section.lower() in required:
                facts.uncited_bullets.append((line, section))

    for index, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if not stripped:
            if not end_paragraph():
                return None
            continue
        indent = len(line) - len(stripped)
        if stripped[0] in _RULE_START and _RULE_LINE.fullmatch(stripped):
            return None
        if stripped[0] == "#":
            heading = _HEADING.match(line)  # None when indented, or not a heading (`#5`)
            if heading is None:
                return None
            content = line[heading.end() :].strip(" ")
            if content.endswith("#") or not end_paragraph():
                return None  # `## a ##`: a closing sequence
            close_items(-1)
            if not read_inline(content, index):
                return None
            heading_id, title = _heading_id(content, used)
            if heading.end() in (2, 3):
                facts.toc.append((heading_id, title, heading.end()))
                if content:
                    section = content.strip()
            continue
        marker = _LIST_MARKER.match(stripped) if stripped[0] in _MARKER_START else None
        if marker:
            rest = stripped[marker.end() :]
            content = rest.lstrip(" ")
            spaces = len(rest) - len(content)
            # Empty items, indented code after the marker, blocks on the marker's line (`- - a`,
            # `- # a`, `1. ---`) and perhaps a link reference definition go to markdown-it.
            if (
                not content
                or spaces > 4
                or (content[0] in _MARKER_START and _LIST_MARKER.match(content))
                or content[0] == "#"
                or (content[0] in _RULE_START and _RULE_LINE.fullmatch(content))
                or (definitions and content[0] == "[")
            ):
                return None
            # An item in the open paragraph's container interrupts it: an ordered one only
            # when it counts from 1 (else the line is more of the paragraph).
            interrupts = bool(paragraph) and not (items and items[-1][0] > indent)
            if interrupts and marker.group(1) is not None and int(marker.group(1)) != 1:
                return None
            if not end_paragraph():
                return None
            close_items(indent)
            if indent != (items[-1][0] if items else 0) or len(items) >= _MAX_LIST_DEPTH:
                return None
            items.append([indent + marker.end() + spaces, first_line + index, False])
            paragraph.append(content)
            start = index
            continue
        column = items[-1][0] if items else 0
        if paragraph:
            if indent < column:
                return None  # a lazy continuation line
            paragraph.append(line[column:])
            continue
        close_items(indent)
        column = items[-1][0] if items else 0
        if indent - column > 3 or (definitions and stripped[0] == "["):
            return None  # indented code, or perhaps a link reference definition
        paragraph.append(line[column:])
        start = index
    if not end_paragraph():
        return None
    close_items(-1)
    facts.numbers = number_citations(c.key for c in facts.citations)
    return facts


def analyse(
    text: str, first_line: int, evidence_sections: Iterable[str] = (), html: bool = False
) -> BodyFacts:
    """Walk the body once; lines are made absolute with ``first_line`` (line of the body's
    first line in its file). Its HTML is rendered from the same tokens when `html` is true (a
    load for pages), else left to `BodyFacts.html`, for a page to ask (a check never does)."""
    required = {s.strip().lower() for s in evidence_sections}
    # A page's HTML is rendered from markdown-it's tokens; a check reads plain bodies itself.
    if not html and (plain := plain_facts(text, first_line, required)) is not None:
        return plain
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


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _NOT_SLUG.sub("-", text.lower()).strip("-") or "section"


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
