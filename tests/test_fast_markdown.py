"""The plain-Markdown fast path of a check's load: `citations.plain_facts` reads bodies in a
plain subset of Markdown without markdown-it, and `analyse` gives exactly the facts markdown-it
gives; anything outside the subset goes to markdown-it."""

from __future__ import annotations

import random
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import citations
from pipeline.citations import AUDIENCE, BodyFacts, analyse, plain_facts
from pipeline.loader import split_front_matter
from tests.hostile_payloads import (
    BODY_PAYLOADS,
    CODE_SPAN,
    FIELD_EXTERNAL,
    FIELD_MARKUP,
    INERT_TEXT,
)

REPO = Path(__file__).resolve().parent.parent
EVIDENCE = ["Recommendations", "Evidence", "diagnostic evaluation"]
REQUIRED = {s.strip().lower() for s in EVIDENCE}


def _plain(text: str, first_line: int = 1) -> BodyFacts | None:
    """The fast path's facts, or None when the body goes to markdown-it."""
    return plain_facts(text, first_line, REQUIRED)


def _markdown_it_facts(text: str, first_line: int) -> BodyFacts:
    """`analyse` with HTML: a load for pages, always read by markdown-it."""
    return analyse(text, first_line, EVIDENCE, html=True)


def _assert_same(text: str, first_line: int = 1) -> bool:
    """Fast path and markdown-it agree on every fact and on a page's HTML; True if the fast
    path ran."""
    fast = analyse(text, first_line, EVIDENCE)
    slow = _markdown_it_facts(text, first_line)
    for f in fields(BodyFacts):
        if f.compare:
            assert getattr(fast, f.name) == getattr(slow, f.name), (f.name, text)
    assert fast.html == slow.html, text  # a page's HTML, rendered later from what was kept
    plain = _plain(text, first_line)
    assert plain is None or plain == fast, text
    return plain is not None


# --- the alphabet of bodies --------------------------------------------------------------------

_WORDS = [
    "Assess",
    "dose",
    "CHA2DS2-VASc",
    "2%",
    "(a score of 1)",
    ",",
    ".",
    ":",
    ";",
    "?",
    "'s",
    '"most"',
    "and/or",
    "+5",
    "x = 2",
    "#1",
    "C#",
    "1.",
    "2)",
    "-",
    "--",
    "{daily}",
    "$5",
    "^",
    "é",
    "naïve",
    "—",
    "≥",
    "\ufffd",
    "Recommendations",
]
_CITES = [
    "[@a]",
    "[@ref-000001; @B]",
    "[@a, p. 5]",
    "[@a, p. 5; @b, ch. 2]",
    "[ @a ]",
    "[@a;\n@b]",
    "[@a;\n   @b]",
    "[@a_b]",
    "[@a:b.c]",
    "[@a, see *x*]",
    "[@A]",
]
_NEAR_MISSES = [
    "[@a, @b]",
    "see @key",
    "cf. @a",
    "(@a)",
    "@a",
    "[@key",
    "[see @a]",
    "a@b.c",
    "user@example.org",
    "[",
    "]",
    "[x]",
    "[@]",
    "@",
    "[@a]]",
    "[[@a]",
    "[@a] [@b",
    "e.g., @a",
]
# Anything that is not plain: each must send the body to markdown-it (or leave it as text).
_HOSTILE = [
    "*",
    "_",
    "**b**",
    "_i_",
    "*i*",
    "`c`",
    "<b>",
    "<img src=x onerror=alert(1)>",
    "&amp;",
    "&",
    "\\[@a]",
    "\\",
    "![i](http://x/y.png)",
    "![i]",
    "[l](javascript:alert(1))",
    "[l](data:text/html,x)",
    "[r]",
    "[a][r]",
    "[r]: javascript:x",
    "|",
    "a | b",
    ">",
    "~",
    "!",
    "\t",
    "\r",
    "\r\n",
    "\x00",
    "\x0b",
    "\x0c",
    "\u00a0",
    "\u2003",
    "\u2028",
    "\u0085",
    "\ufeff",
    AUDIENCE,
    "<https://x.org>",
    "http://x.org",
]
_GAPS = ["", " ", " ", " ", "  ", "   "]


@st.composite
def _inline(draw: st.DrawFn, hostile: bool) -> str:
    pool = _WORDS * 3 + _CITES * 2 + _NEAR_MISSES + (_HOSTILE if hostile else [])
    pieces = draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(_GAPS)), max_size=6))
    return "".join(piece + gap for piece, gap in pieces)


_INDENTS = ["", "", "", " ", "  ", "  ", "   ", "    ", "     ", "      ", "        "]
_MARKERS = ["- ", "- ", "* ", "+ ", "1. ", "2. ", "1) ", "10. ", "-  ", "-     ", "-", "1.", "-\t"]
_HEADINGS = ["# ", "## ", "## ", "### ", "#### ", "###### ", "####### ", "#", "##  ", " ## ", "#x"]
_SECTIONS = ["Recommendations", "Evidence", "Diagnostic evaluation", "Other", "", "Evidence ##"]
_RULES = ["---", "===", "***", "- - -", "___", "-", "=", ":-:", "- ---", "* * *", "+", "1."]


@st.composite
def _line(draw: st.DrawFn, hostile: bool) -> str:
    kind = draw(
        st.sampled_from(["heading", "item", "item", "item", "text", "text", "blank", "rule"])
    )
    if kind == "heading":
        return draw(st.sampled_from(_HEADINGS)) + draw(
            st.one_of(st.sampled_from(_SECTIONS), _inline(hostile))
        )
    if kind == "item":
        return (
            draw(st.sampled_from(_INDENTS))
            + draw(st.sampled_from(_MARKERS))
            + draw(_inline(hostile))
        )
    if kind == "text":
        return draw(st.sampled_from(_INDENTS)) + draw(_inline(hostile))
    if kind == "blank":
        return draw(st.sampled_from(["", "", " ", "  "]))
    return draw(st.sampled_from(_INDENTS[:5])) + draw(st.sampled_from(_RULES))


@st.composite
def _structured_lines(draw: st.DrawFn) -> list[str]:
    """Sections of paragraphs and lists nested as editors nest them (each item where its
    parent's content starts), with continuation lines and blank lines."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        level = draw(st.sampled_from(["#", "##", "##", "###", "####"]))
        lines.append(f"{level} {draw(st.sampled_from(_SECTIONS[:4]))}")
        if draw(st.booleans()):
            lines.append(draw(_inline(False)) or "Text")
        columns = [0]  # where the content of each open item starts
        for _ in range(draw(st.integers(0, 5))):
            move = draw(st.sampled_from(["same", "same", "in", "out"]))
            if move == "out" and len(columns) > 2:
                del columns[-2:]  # a sibling of the parent
            elif (move != "in" or len(columns) >= 5) and len(columns) > 1:
                columns.pop()  # a sibling; "in": a child of the last item
            marker = draw(st.sampled_from(["- ", "- ", "* ", "1. ", "2. ", "10. ", "-   "]))
            lines.append(" " * columns[-1] + marker + (draw(_inline(False)) or "x"))
            columns.append(columns[-1] + len(marker))
            if draw(st.integers(0, 3)) == 0:
                lines.append(" " * columns[-1] + (draw(_inline(False)) or "x"))
            if draw(st.integers(0, 3)) == 0:
                lines.append("")
    return lines


@st.composite
def _body(draw: st.DrawFn) -> str:
    """Random lines, or structured ones with a few lines changed, put in or made hostile."""
    hostile = draw(st.integers(0, 3)) == 0
    if draw(st.integers(0, 3)) == 0:
        lines = draw(st.lists(_line(hostile), max_size=12))
    else:
        lines = draw(_structured_lines())
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
            at = draw(st.integers(0, len(lines)))
            change = draw(st.sampled_from(["insert", "indent", "append"]))
            if change == "insert" or at == len(lines):
                lines.insert(at, draw(_line(hostile)))
            elif change == "indent":
                lines[at] = draw(st.sampled_from(_INDENTS)) + lines[at].lstrip(" ")
            else:
                lines[at] += draw(_inline(True))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


# --- the differential tests ---------------------------------------------------------------------


def test_fast_path_agrees_with_markdown_it() -> None:
    """Every generated body: identical facts; the fast path runs on a fair share of them."""
    taken: list[bool] = []
    cited_items: list[bool] = []  # fast, with a list item and a citation

    @settings(
        max_examples=1500,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_body(), st.integers(1, 40))
    def agree(text: str, first_line: int) -> None:
        taken.append(_assert_same(text, first_line))
        facts = analyse(text, first_line, EVIDENCE)
        cited_items.append(taken[-1] and "- " in text and bool(facts.citations))

    agree()
    assert sum(taken) >= 0.2 * len(taken), f"fast path on {sum(taken)} of {len(taken)}"
    assert sum(cited_items) >= 0.05 * len(taken), f"{sum(cited_items)} of {len(taken)}"
    assert sum(taken) < len(taken)


_EDITOR_WORDS = [
    "Assess",
    "the",
    "dose",
    "CHA2DS2-VASc",
    "2%",
    "(a score of 1)",
    "and/or",
    "x = 2;",
    "men's",
    "naïve",
    "≥ 65",
    "[@a]",
    "[@ref-000001; @B]",
    "[@a, p. 5]",
    "[@a, @b]",
    "see @key",
    "[@key",
    "user@example.org",
    "[x]",
]


def _random_plain_body(rng: random.Random) -> str:
    """A body as editors write them: sections of paragraphs and nested lists with citations."""

    def words(n: int) -> str:
        first = rng.choice(_EDITOR_WORDS[:11])
        rest = " ".join(rng.choice(_EDITOR_WORDS) for _ in range(n))
        return f"{first} {rest}{rng.choice(['.', '', ':'])}"

    out = [words(12)] if rng.random() < 0.5 else []
    for _ in range(rng.randrange(1, 5)):
        out.append(f"{'#' * rng.choice([2, 2, 3, 1, 4])} {rng.choice(_SECTIONS[:4])}")
        if rng.random() < 0.3:
            out += ["", words(9)]
        columns = [0]  # where the content of each open item starts
        for _ in range(rng.randrange(0, 7)):
            if rng.random() < 0.3 and len(columns) < 4:
                marker = rng.choice(["- ", "* ", "1. "])  # a child of the last item
            else:
                del columns[1 + (len(columns) > 2 and rng.random() < 0.3) :][-2:]
                columns = columns[: max(1, len(columns) - 1)] if len(columns) > 1 else columns
                marker = rng.choice(["- ", "- ", "* ", "1. ", "2. ", "10. ", "-   "])
            out.append(" " * columns[-1] + marker + words(6))
            columns.append(columns[-1] + len(marker))
            if rng.random() < 0.3:
                out.append(" " * columns[-1] + words(5))
            if rng.random() < 0.2:
                out.append("")
        if rng.random() < 0.5:
            out += ["", words(9)]
    return "\n".join(out) + "\n"


def test_fast_path_agrees_on_bodies_as_editors_write_them() -> None:
    rng = random.Random(20261203)
    taken = [_assert_same(_random_plain_body(rng), rng.randrange(1, 30)) for _ in range(1500)]
    assert sum(taken) >= 0.5 * len(taken), f"fast path on {sum(taken)} of {len(taken)}"


@pytest.mark.parametrize(
    "text",
    [p for p, _ in BODY_PAYLOADS.values()]
    + list(FIELD_MARKUP.values())
    + list(FIELD_EXTERNAL.values())
    + [CODE_SPAN],
)
def test_hostile_bodies_go_to_markdown_it(text: str) -> None:
    for body in (text, f"## Evidence\n- {text} [@a]\n", f"Intro [@a].\n\n{text}\n"):
        assert _plain(body) is None, body
        _assert_same(body)


@pytest.mark.parametrize("text", INERT_TEXT + ["A definition later [r] [@a].\n[r]: javascript:x"])
def test_text_that_looks_like_markup_is_read_alike(text: str) -> None:
    for body in (text, f"## Evidence\n- {text} [@a]\n", f"Intro [@a].\n\n{text}\n"):
        _assert_same(body)


@pytest.mark.parametrize(
    "text",
    [
        "- a [@x]\nlazy continuation",
        "Text\n2. an ordered item after a paragraph is text",
        "- a\n  2. nested, after a paragraph",
        "- a\n   - indented one column too far",
        "- a\n - indented one column too few",
        "-\n  empty item",
        "-      five spaces: code",
        "    indented code [@x]",
        "- a\n\n      code in an item",
        "Heading\n---",
        "Heading\n===",
        "- # heading in an item",
        "- - nested on one line",
        "1. ---",
        "- a\n\n1. * * *",
        " ## indented heading",
        "## closed heading ##",
        "#hashtag",
        "[r]\n\n[r]: javascript:alert(1)",
        "[r]\n\n- [r]: javascript:alert(1)",
        "[r]\n\n   [r]: javascript:alert(1)",
        "[r [@a]\n\n[r\nx]: javascript:alert(1)",
        "- a\n  - b\n    - c\n      - d\n        - e\n          - f\n            - g",
    ],
)
def test_constructs_outside_the_subset_go_to_markdown_it(text: str) -> None:
    assert _plain(text) is None
    _assert_same(text, 3)


@pytest.mark.parametrize(
    "space", ["\u00a0", "\u2003", "\u3000", "\u2028", "\u2029", "\u0085", "\u200b", "\ufeff"]
)
def test_unusual_spaces_go_to_markdown_it(space: str) -> None:
    """CommonMark trims some of these and Python's `strip` others; neither splits lines on
    them."""
    for text in (
        f"## {space}Evidence{space}\n- a [@k]{space}\n",
        f"{space}see @k{space}\n",
        f"Text [@k]{space}\nmore\n",
        f"- a{space}b\n",
    ):
        assert _plain(text) is None
        assert _plain(text.replace(space, " ")) is not None
        _assert_same(text)


def test_plain_bodies_take_the_fast_path() -> None:
    body = (
        "Summary [@a; @b, p. 5], see @c.\n\n## Evidence\n- One [@a].\n- Two\n  - child [@b]\n"
        "- Three, uncited, [@a, @b]\n\n1. First\n2. Second [@c\n\n### Notes\n"
        "A paragraph  \nwith a hard break and user@example.org.\n"
    )
    assert _plain(body) is not None
    assert _assert_same(body, 7)
    facts = analyse(body, 7, EVIDENCE)
    assert [(c.key, c.line) for c in facts.citations] == [
        ("a", 7),
        ("b", 7),
        ("a", 10),
        ("b", 12),
    ]
    assert facts.uncited_bullets == [(13, "Evidence"), (15, "Evidence"), (16, "Evidence")]
    assert [(m.line, m.text, m.bullet) for m in facts.near_misses] == [
        (7, "@c", None),
        (13, "[@a, @b]", 13),
        (16, "[@c", 16),
    ]


def test_pages_are_always_read_by_markdown_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(citations, "plain_facts", lambda *args: pytest.fail("fast path"))
    assert "gp-cite" in analyse("Text [@a].\n", 1, html=True).html


def _bodies(root: Path) -> list[tuple[str, str, int]]:
    found = []
    for path in sorted((root / "content").rglob("*.md")):
        _front, body, line = split_front_matter(path.read_text(encoding="utf-8"))
        found.append((str(path.relative_to(root)), body, line))
    return found


def test_the_example_publications_bodies() -> None:
    bodies = _bodies(REPO) + _bodies(REPO / "pipeline" / "starter")
    assert len(bodies) > 10
    for _name, body, line in bodies:
        _assert_same(body, line)


def test_a_generated_benchmark_publication_takes_the_fast_path(tmp_path: Path) -> None:
    from benchmarks.generate import generate

    root = generate(tmp_path / "pub", articles=40, references=80, approved_share=0)
    bodies = _bodies(root)
    assert len(bodies) > 40
    for name, body, line in bodies:
        assert _assert_same(body, line), name


# --- what the fast reader decides itself ------------------------------------------------------

_LONG = " ".join(["word"] * 60)  # past the 200 characters looked at before a bare `@key`
_AIMED = [
    # Brackets that hold no citation.
    "Text [x] and [y z] here.\n",
    "A [ and a ] apart.\n\n- [x]\n- [ ]\n- a]\n",
    "[]\n\n[[x]]\n\n[x] [@a]\n",
    # Near misses of the citation syntax.
    "Dose [@ key].\n",
    "Dose [ @key].\n",
    "Dose [ @key ] and [@key ].\n",
    "Dose @key.\n\n- see @key\n- cf. @a, @b\n- e.g., @a\n- (@a)\n- as in @a\n",
    "Dose [@a, @b] and [@a @b] and [see @a] and [@a; b].\n",
    "Dose [@a; @b] and [@a;@b] and [@a ;@b] and [@a,@b].\n",
    "Dose [@key and more\n\n## Evidence\n- [@key\n- [\n  @key] split\n",
    "Dose [\n   @key and more [  \n @a, @b and [ \n    @c]\n",
    "- Dose [\n     @key and [@a,\n     @b]\n",
    "Mail user@example.org, a@b.c, @, [@], [@]] and @@a.\n",
    "Dose [@a]] and [[@a] and [@a] [@b and [@a][@b].\n",
    f"{_LONG} see @key and {_LONG} @key\n",
    f"{_LONG} [@a] {_LONG}\n{_LONG} cf. @b\n",
    "Many " + " ".join(f"[@k{i}, @j{i}]" for i in range(120)) + "\n",
    "Many " + " ".join(f"see @k{i}" for i in range(120)) + " [@z]\n",
    # Citations, with locators, over lines, next to marks that are emphasis elsewhere.
    "Dose [@a, p. 5] and [@b, ch. 2; @c] and [@a_b] and [@a:b.c] and [@a, see *x*].\n",
    "Dose [@a;\n@b] and [@c;\n   @d]\nnext [@e]\n  and [@f]\n",
    "Dose [@A] and [@a] and [@B; @b].\n",
    "Dose [@a]_x and [@a]*\n",
    "Dose a_b [@a].\n",
    "Dose [@a] and *x*.\n",
    # Nested lists and the sections their bullets are in.
    "## Evidence\n- a\n  - b [@x]\n    - c\n- d\n  - e\n    - f [@y]\n- g\n",
    "## Evidence\n1. a\n   1. b\n      - c [@x]\n2. d\n\n   more of d [@y]\n- e\n",
    "## Evidence\n- a\n\n  more a [@x]\n- b\n\n\n- c\n",
    "## evidence\n- a\n## EVIDENCE \n- b\n## Evidence [@x]\n- c\n## Other\n- d\n",
    "## Recommendations\n- a\n### Diagnostic evaluation\n- b\n#### Other\n- c\n# Other\n- d\n",
    "- a\n## Evidence\n- b\n\n## Evidence\n\n- c\n",
    # Headings of each level, with citations, near misses and the same name twice.
    "# One\n## Two\n### Three\n#### Four\n##### Five\n###### Six\n",
    "## Evidence\n## Evidence\n### Evidence\n## Other [@a]\n## see @a\n##\n## [@a]\n",
    "## Évidence — ≥ 2\n### 1. Start\n## Dose [@a, p. 5] here\n#\n",
    # Line ends: trailing spaces (hard breaks), CRLF, unicode.
    "A line  \nwith a hard break [@a]  \nand another \nsoft.   \n\n- item  \n  more  \n",
    "Text [@a]  \n[@b]   \n  [@c] see @d  \n",
    "## Evidence\r\n- a [@x]\r\n- b\r\n",
    "Text\r\n\r\nmore [@a]\r\n",
    "Dosis für Kinder [@a]. 用量 [@b]. Доза @c. naïve ≥ 65 — \ufffd.\n",
    "## Évaluation\n- Dose élevée [@clé]\n- sans citation\n",
    "Dose [@a]] and [[@a] and [@a] [@b and [@a] [@b].\n",
]
# Of those, what the fast reader leaves to markdown-it: `][` (a link), emphasis marks outside
# citations, CRLF.
_AIMED_NOT_PLAIN = [
    "Dose [@a]] and [[@a] and [@a] [@b and [@a][@b].\n",
    "Dose [@a]_x and [@a]*\n",
    "Dose a_b [@a].\n",
    "Dose [@a] and *x*.\n",
    "## Evidence\r\n- a [@x]\r\n- b\r\n",
    "Text\r\n\r\nmore [@a]\r\n",
]


@pytest.mark.parametrize("text", _AIMED)
def test_cases_aimed_at_the_fast_reader(text: str) -> None:
    for first_line in (1, 9):
        _assert_same(text, first_line)
        _assert_same(text.rstrip("\n"), first_line)
        _assert_same("Intro [@z].\n\n" + text, first_line)
        _assert_same("## Evidence\n- " + text, first_line)


def test_the_aimed_cases_take_the_fast_path() -> None:
    assert [t for t in _AIMED if not _assert_same(t)] == _AIMED_NOT_PLAIN


_PIECES = [
    *_CITES,
    *_NEAR_MISSES,
    "[@ key]",
    "[ @key]",
    "[@a; @b]",
    "[@a;@b]",
    "[@a,@b]",
    "@key",
    "see",
    "cf.",
    "(",
    ")",
    ",",
    "[x",
    "y]",
    "Dose",
    "naïve",
    "≥",
    "用量",
    _LONG,
]
# Emphasis marks outside citations and hostile payloads: each sends a body to markdown-it.
_HOSTILE_PIECES = (
    ["*", "a_b", "[@a]_", "*[@a]"]
    + [p for p, _ in BODY_PAYLOADS.values()]
    + list(FIELD_MARKUP.values())
    + INERT_TEXT
)


@st.composite
def _paragraph(draw: st.DrawFn, hostile: bool, column: int) -> str:
    """Inline text of citations, near misses and brackets (if `hostile`, now and then an
    emphasis mark or a hostile payload), over lines with leading and trailing spaces; lines
    after the first start at `column` (where a list item's content starts), or further."""
    pool = _PIECES * 4 + (_HOSTILE_PIECES if hostile else [])
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        pieces = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=8))
        gaps = draw(st.lists(st.sampled_from(["", "  "] + [" "] * 6), min_size=len(pieces)))
        line = "".join(p + g for p, g in zip(pieces, gaps, strict=False))
        lines.append(" " * column + draw(st.sampled_from(["", "", " ", "  "])) + line)
    return "\n".join(lines)[column:]


@st.composite
def _paragraphs(draw: st.DrawFn) -> str:
    hostile = draw(st.integers(0, 3)) == 0
    starts = ["", "## Evidence\n", "### Other\n", "- ", "1. ", "- a\n  - "]
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.sampled_from(starts))
        column = len(start.rpartition("\n")[2])
        blocks.append(start + draw(_paragraph(hostile, column)))
    return "\n\n".join(blocks) + "\n"


def test_paragraphs_of_citations_and_near_misses_agree() -> None:
    taken: list[bool] = []

    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_paragraphs(), st.integers(1, 40))
    def agree(text: str, first_line: int) -> None:
        taken.append(_assert_same(text, first_line))

    agree()
    assert sum(taken) >= 0.25 * len(taken), f"fast path on {sum(taken)} of {len(taken)}"


def test_analyse_reads_plain_bodies_without_markdown_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check's load of generated bodies never asks markdown-it: the speed-up is kept."""
    from benchmarks.generate import generate

    root = generate(tmp_path / "pub", articles=40, references=80, approved_share=0)
    bodies = _bodies(root)
    expected = [analyse(body, line, EVIDENCE) for _name, body, line in bodies]
    monkeypatch.setattr(citations.PARSER, "parse", lambda *a, **k: pytest.fail("markdown-it"))
    assert [analyse(body, line, EVIDENCE) for _name, body, line in bodies] == expected
    assert sum(len(f.citations) for f in expected) > len(bodies)
