"""The plain front matter fast path of a check's load: `loader.plain_yaml` reads front matter in
a plain subset of YAML without libyaml, and gives exactly the YamlDoc libyaml and our
constructors give (the same values of the same types, the same lines); anything outside the
subset, and anything the slow path refuses, goes to libyaml."""

from __future__ import annotations

import ast
import datetime as dt
import io
import json
import random
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import generate
from pipeline import loader
from pipeline.loader import parse_yaml, plain_yaml, split_front_matter
from pipeline.review import _record_lines
from tests.hostile_payloads import CODE_SPAN, FIELD_EXTERNAL, FIELD_MARKUP, INERT_TEXT

REPO = Path(__file__).resolve().parent.parent

TYPICAL = """\
question: What is the approach to synthetic question 0?
title: Synthetic article 0
authors: [jdoe]
status: approved
last_updated: 2026-01-01
tags: [topic-00, tag-0]
related: [topic-01/article-00001]
reviews:
  - reviewer: asmith
    decision: approved
    date: 2026-02-01 09:30:00+00:00
    fingerprint: sha256:984153f148ef41b5a595a2200fac3f316fdef573ecde0fc4281517eeb6c67417
    signature: U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgiRnNCXQvciLSNYBkTZB0smAKJau1U5C+/=="""


def _typed(value: object) -> object:
    """A value with the type of every part spelt out (1 == True == 1.0; a datetime's zone)."""
    if isinstance(value, dict):
        return (dict, [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (list, [_typed(v) for v in value])
    if isinstance(value, dt.datetime):
        return (dt.datetime, value, value.tzinfo, value.utcoffset())
    if isinstance(value, float) and value != value:
        return (float, "nan")
    return (type(value), value)


def _slow(text: str, first_line: int) -> loader.YamlDoc:
    """`parse_yaml` without the fast path: libyaml, the resolver and our constructors."""
    with mock.patch.object(loader, "plain_yaml", lambda text, first_line: None):
        return parse_yaml(text, first_line)


def _assert_same(text: str, first_line: int = 2) -> bool:
    """The fast path agrees with the slow path, or declines; it declines whenever the slow path
    raises. True if the fast path answered."""
    fast = plain_yaml(text, first_line)
    try:
        slow = _slow(text, first_line)
    except yaml.YAMLError:
        assert fast is None, text
        return False
    if fast is None:
        return False
    assert _typed(fast.data) == _typed(slow.data), text
    assert list(fast.lines.items()) == list(slow.lines.items()), text
    assert fast.text == slow.text == text
    assert parse_yaml(text, first_line) == fast
    return True


# --- the front matter in the repository ---------------------------------------------------------


def _files_front_matter() -> list[str]:
    found = []
    for path in sorted([*REPO.glob("content/**/*.md"), *REPO.glob("examples/**/*.md")]):
        front, _, _ = split_front_matter(path.read_text(encoding="utf-8"))
        if front is not None:
            found.append(front)
    return found


def _tests_front_matter() -> list[str]:
    """Every string in the tests that is a whole article (the fixtures written into files)."""
    found = []
    for path in sorted((REPO / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                front, _, _ = split_front_matter(node.value)
                if front is not None:
                    found.append(front)
    return found


def _generated_front_matter() -> list[str]:
    """The benchmark publication's articles, before and after their signed approval."""
    rng = random.Random(7)
    found = []
    for i in range(0, 400, 7):
        related = f"topic-01/article-{i + 1:05d}" if i % 2 else None
        front, _, _ = split_front_matter(generate.article(i, "topic-00", 20000, rng, related))
        found.append(front)
        record = {
            "reviewer": "asmith",
            "decision": "approved",
            "date": dt.datetime(2026, 2, 1, 9, 30, i % 60, tzinfo=dt.UTC),
            "fingerprint": f"sha256:{i:064x}",
            "note": None,
            "signature": "U1NIU0lH" + "AAAA" * (i % 40) + "+/=",
        }
        reviewed = front.replace("under_review", "approved")
        found.append(reviewed + "\nreviews:\n" + "\n".join(_record_lines(record, "  ")))
    return found


def test_the_repository_front_matter_reads_alike() -> None:
    files = _files_front_matter()
    assert len(files) >= 10
    taken = [_assert_same(front, first_line) for front in files for first_line in (1, 2, 7)]
    assert sum(taken) >= 0.8 * len(taken), f"fast path on {sum(taken)} of {len(taken)}"


def test_the_repository_articles_load_alike() -> None:
    """Whole articles and variants: the same diagnostics, fields and YamlDoc either way."""
    for path in sorted(REPO.glob("content/**/*.md")):
        data = path.read_bytes()
        rel = path.relative_to(REPO).as_posix()
        topic, slug = path.parent.name, path.name.removesuffix(".md")
        fast, fast_found = loader.article_from_bytes(data, rel, topic, slug, [], html=False)
        with mock.patch.object(loader, "plain_yaml", lambda text, first_line: None):
            slow, slow_found = loader.article_from_bytes(data, rel, topic, slug, [], html=False)
            slow_variant = loader.variant_from_bytes(data, rel, "patient", [], html=False)
        assert fast_found == slow_found
        assert (fast.meta, fast.raw, fast.yaml) == (slow.meta, slow.raw, slow.yaml)
        assert loader.variant_from_bytes(data, rel, "patient", [], html=False) == slow_variant


def test_the_tests_fixtures_read_alike() -> None:
    fronts = _tests_front_matter()
    assert len(fronts) >= 10
    for front in fronts:
        _assert_same(front)


def test_the_benchmark_articles_read_alike_and_fast() -> None:
    for front in _generated_front_matter():
        assert _assert_same(front), front


# --- (3) the speed-up cannot silently vanish ---------------------------------------------------


def test_typical_front_matter_takes_the_fast_path() -> None:
    doc = plain_yaml(TYPICAL, 2)
    assert doc is not None
    assert doc.data["last_updated"] == dt.date(2026, 1, 1)
    assert doc.data["reviews"][0]["date"] == dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC)
    assert doc.lines[("reviews", 0)] == doc.lines[("reviews", 0, "reviewer")] == 10
    assert doc.lines[("tags", 1)] == 7
    assert _assert_same(TYPICAL)
    # parse_yaml answers without libyaml.
    with mock.patch.object(loader, "compose_yaml", side_effect=AssertionError("libyaml")):
        assert parse_yaml(TYPICAL, 2) == doc
    # The bundled examples, all but one with a comment, are read fast as well.
    assert sum(plain_yaml(front, 2) is not None for front in _files_front_matter()) >= 10


def test_other_loaders_keep_the_slow_path() -> None:
    with mock.patch.object(loader, "plain_yaml", side_effect=AssertionError("fast path")):
        assert parse_yaml("a: 1\n", 1, loader._SiteLoader).data == {"a": 1}


# --- outside the subset: libyaml reads it -------------------------------------------------------

OUTSIDE = [
    "# a comment\ntitle: T",
    "title: T # a comment",
    "title: C#",
    "\ttitle: T",
    "title:\tT",
    "title: T\r\nstatus: draft",
    "\ufefftitle: T",
    "title: T ",
    "title: T\n  \nstatus: draft",
    "title: &t T\nquestion: *t",
    "title: !!str 1",
    "title: !x T",
    "? title\n: T",
    "title: T\n  continued",
    "title:\n  T",
    "title: |\n  T",
    "title: >\n  T",
    'title: "a\\"b"',
    'title: "a\\nb"',
    "title: 'it''s'",
    'title: "a"b"',
    "title: a: b",
    "title: a:",
    "title: T\ntitle: U",
    "reviews:\n  - reviewer: x\n    reviewer: y",
    "extra: " + "7" * 31,
    "last_updated: 2026-02-30",
    "last_updated: 2026-13-01",
    "<<: {a: 1}",
    "title: =",
    "title: {a: 1}",
    "tags: [a, [b]]",
    "tags: [a: b]",
    "tags: [a,]",
    "tags: [a, , b]",
    'tags: ["a, b"]',
    "tags: [a\n  , b]",
    "- a\n- b",
    "  title: T",
    "title:  T\n status: draft",
    "---\ntitle: T",
    "title: T\n...",
    "%YAML 1.1\n---\ntitle: T",
    "yes: T",
    "null: T",
    "1: T",
    "title : T",
    "title:T",
    "-title: T",
    '"title": T',
    "title: -",
    "title: - x",
    "title: `x",
    "title: @x",
    "title: %x",
    "title: |x",
    "title: ?x",
    "tags:\n  - - a",
    "tags:\n  -   a",
    "tags:\n  -\n    a",
    "tags:\n  - a\n   - b",
    "tags:\n  - a\n - b",
    "tags:\n  - a\n  b: c",
    "title: a\u00a0b",
    "title: a\u2028b",
    "title: a\x85b",
    "title: a\x00b",
    "a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n        i: x",
    "".join(f"{' ' * i}k{i}:\n" for i in range(25)) + " " * 25 + "leaf: x",
]


@pytest.mark.parametrize("text", OUTSIDE)
def test_front_matter_outside_the_subset_goes_to_libyaml(text: str) -> None:
    assert plain_yaml(text, 2) is None
    _assert_same(text)


INSIDE = [
    "",
    "\n\n",
    "\n\ntitle: T\n\nstatus: draft\n",
    "title: T\nstatus:\ntags: []",
    "tags: [ ]",
    "tags: [ a b ,  c ]",
    "reviews:\n- reviewer: x\n  decision: approved\nstatus: draft",
    "a:\n  b:\n    - c\n    - d: 1\n      e: [2026-01-01, yes, ~, 0x1f]\n  f: g",
    "a:\n  - [x, y]\n  - 'q'\n  - \"dq\"",
    "a: yes\nb: No\nc: ~\nd: null\ne: 1:30\nf: 0x1f\ng: 1_000\nh: 1e3\ni: .inf\nj: 1.5",
    "a: 2024-01-01 10:00\nb: 2001-12-14t21:59:43.10-05:00\nc: 2026-01-01\nd: 017\ne: 08",
    'a: x [y] {z}, w\nb: it\'s "x"\nc: a&b*c!d|e>f%g@h`i\nd: a - b\ne: a:b\nf: ...',
    "title: 'Text: with : and \"'\nother: \"Text: with : and '\"",
    "title: naïve ≥ 65 — é 😀",
    "a:     spaced\nb:  [x]",
]


@pytest.mark.parametrize("text", INSIDE)
def test_front_matter_inside_the_subset_reads_alike(text: str) -> None:
    assert plain_yaml(text, 2) is not None
    assert _assert_same(text)
    assert _assert_same(text, 40)


# --- hostile field values -------------------------------------------------------------------


def _styles(value: str) -> list[str]:
    """A field's value as an editor or the review command writes it."""
    single = "'" + value.replace("'", "''") + "'"
    return [value, single, json.dumps(value), json.dumps(value, ensure_ascii=False)]


@pytest.mark.parametrize(
    "value",
    [*FIELD_MARKUP.values(), *FIELD_EXTERNAL.values(), *INERT_TEXT, CODE_SPAN],
)
def test_hostile_field_values_read_alike(value: str) -> None:
    for written in _styles(value):
        _assert_same(f"title: {written}\nstatus: draft")
        _assert_same(f"tags: [{written}]\n")
        _assert_same(f"reviews:\n  - reviewer: x\n    note: {written}\n")
    record = {"reviewer": "x", "decision": "approved", "note": value}
    _assert_same("status: approved\nreviews:\n" + "\n".join(_record_lines(record, "  ")))


# --- hypothesis: YAML in and near the subset --------------------------------------------------

_KEYS = [
    "title",
    "status",
    "tags",
    "reviews",
    "note",
    "a",
    "b-c",
    "x_1",
    "_k",
    "title",  # twice in the pool: duplicate keys
    "yes",
    "No",
    "null",
    "on",
    "y",
    "true",
    "1",
    "a b",
    "a:b",
    "-a",
    "'q'",
    '"k"',
    "ü",
    "<<",
    "k" * 101,
]
_SCALARS = [
    "yes",
    "No",
    "TRUE",
    "off",
    "On",
    "y",
    "n",
    "~",
    "null",
    "Null",
    "NULL",
    "",
    "1:30",
    "-1:30",
    "1:30.5",
    "0x1f",
    "0o17",
    "017",
    "08",
    "0b101",
    "1_000",
    "+12",
    "-3",
    "7" * 30,
    "7" * 31,
    "1e3",
    "1.0e+3",
    "1.5",
    "1.",
    ".5",
    ".inf",
    "-.Inf",
    ".NaN",
    "2024-02-30",
    "2024-01-01",
    "2024-1-1",
    "2024-01-01 10:00",
    "2024-01-01 10:00:00",
    "2026-02-01 09:30:00+00:00",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "a: b",
    "a:b",
    "a :b",
    "a:",
    "a #b",
    "C#",
    "'q'",
    '"q"',
    "it's",
    'a"b',
    "a\\b",
    "\\n",
    "\\x41",
    "\\u00e9",
    "\\\\",
    "a\\",
    "-",
    "- x",
    "-x",
    "--- x",
    "...",
    "?",
    "? x",
    ":x",
    "[",
    "]",
    "x]",
    "x[y",
    ",",
    "x,y",
    "{",
    "{a: 1}",
    "&a",
    "*a",
    "!tag",
    "!!str",
    "%",
    "%YAML",
    "@",
    "`",
    "|",
    ">",
    "<<",
    "=",
    "a b",
    "a  b",
    " x",
    "x ",
    "sha256:9841",
    "topic-01/article-00001",
    "U1NIU0lH+/=",
    "é",
    "naïve",
    "≥ 65",
    "😀",
    "\ufffd",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "\x85",
    "\x00",
    "\t",
    "\r",
]
_WORDS = ["Assess", "the", "dose", "approved", "asmith", "x", "2%", "(a)", "A & B", "and/or"]

_words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
_scalar_text = st.one_of(
    st.sampled_from(_SCALARS),
    st.lists(st.sampled_from(_WORDS + _SCALARS), min_size=1, max_size=4).map(" ".join),
    *[_words] * 6,
)
_FIELDS = ["question", "authors", "last_updated", "related", "reviewer", "decision", "date"]
_key = st.one_of(st.sampled_from(_KEYS), *[st.sampled_from(_KEYS[:9] + _FIELDS)] * 4)


@st.composite
def _value(draw: st.DrawFn) -> str:
    """One value as written after `key: ` or `- `: plain, quoted, or a one-line list."""
    text = draw(_scalar_text)
    style = draw(st.sampled_from(["plain"] * 6 + ["single", "double", "json", "flow", "flow"]))
    if style == "single":
        return "'" + text + "'"
    if style == "double":
        return '"' + text + '"'
    if style == "json":
        return json.dumps(text, ensure_ascii=draw(st.booleans()))
    if style == "flow":
        items = draw(st.lists(_scalar_text, max_size=4))
        sep = draw(st.sampled_from([", ", ",", " , ", ",  "]))
        pad = draw(st.sampled_from(["", "", " "]))
        return "[" + pad + sep.join(items) + pad + "]"
    return text


@st.composite
def _block(draw: st.DrawFn, indent: int, depth: int) -> list[str]:
    """A block mapping at `indent`: keys with values on their line, nested mappings and lists
    (dashes indented or at the key's own indent), sometimes indented off by one."""
    lines = []
    unique = draw(st.integers(0, 5)) > 0  # else now and then a key twice
    for key in draw(st.lists(_key, min_size=1, max_size=4, unique=unique)):
        sep = draw(st.sampled_from([" "] * 8 + ["  ", ""]))
        kind = draw(st.sampled_from(["value"] * 4 + ["empty", "map", "list"]))
        pad = " " * indent
        if kind == "value" or depth >= 3:
            lines.append(f"{pad}{key}:{sep}{draw(_value())}")
        elif kind == "empty":
            lines.append(f"{pad}{key}:")
        elif kind == "map":
            lines.append(f"{pad}{key}:")
            lines += draw(_block(indent + draw(st.sampled_from([2, 2, 4, 1])), depth + 1))
        else:
            lines.append(f"{pad}{key}:")
            dash = indent + draw(st.sampled_from([2, 2, 2, 0, 0, 4, 1]))
            for _ in range(draw(st.integers(1, 3))):
                if draw(st.booleans()):
                    lines.append(" " * dash + "- " + draw(_value()))
                else:
                    item = draw(_block(dash + 2, depth + 1))
                    lines.append(" " * dash + "- " + item[0][dash + 2 :])
                    lines += item[1:]
    return lines


_NOISE = ["", " ", "  ", "\t", "\r", "#", " # c", ":", ": ", "- ", "&a ", "*a", "!", "?", "'"]


@st.composite
def _front_matter(draw: st.DrawFn) -> str:
    """A block of front matter, now and then with a line changed, put in or made hostile."""
    lines = draw(_block(0, 0))
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 1, 1, 2]))):
        at = draw(st.integers(0, len(lines)))
        change = draw(st.sampled_from(["insert", "noise", "indent"]))
        if change == "insert" or at == len(lines):
            lines.insert(at, draw(st.sampled_from(["", "", "  ", "---", "...", "# c"])))
        elif change == "noise":
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(st.sampled_from(_NOISE)) + lines[at][cut:]
        else:
            lines[at] = draw(st.sampled_from(["", " ", "  ", "   "])) + lines[at].lstrip(" ")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def test_fast_path_agrees_with_libyaml() -> None:
    """Every generated front matter: the same YamlDoc, or the slow path; the fast path answers
    for a fair share of them, and declines for a fair share too."""
    taken: list[bool] = []

    @settings(
        max_examples=2000,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_front_matter(), st.integers(1, 40))
    def agree(text: str, first_line: int) -> None:
        taken.append(_assert_same(text, first_line))

    agree()
    assert sum(taken) >= 0.1 * len(taken), f"fast path on {sum(taken)} of {len(taken)}"
    assert sum(taken) <= 0.9 * len(taken), f"fast path on {sum(taken)} of {len(taken)}"


_PLACES = [
    "k: {}",
    "k:  {}\nj: y",
    "k: [{}]",
    "k: [a, {}]",
    "k: [ {} , b ]",
    "k:\n  - {}",
    "k:\n- {}\nj: y",
    "{}: x",
    "k:\n  {}: x",
    "k:\n  - {}: x",
    "k:\n  - a: {}\n    b: c",
    "k: '{}'",
    'k: "{}"',
    "k: x\n{}",
    "k: x{}",
    "k: x {}",
    "k:\n  - x\n  {}",
]


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(_PLACES),
    st.sampled_from(_SCALARS),
    st.sampled_from(["", " ", "  ", "x", "x ", " x"]),
    st.sampled_from(["", "", " ", "x", "1"]),
    st.integers(1, 40),
)
def test_one_tricky_value_in_every_place(
    place: str, value: str, after: str, before: str, first_line: int
) -> None:
    """A single value outside or at the edge of the subset, where a key, an item or a value
    goes: the fast path must read it as libyaml does or decline."""
    _assert_same(place.format(before + value + after), first_line)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS[:9]), _scalar_text, min_size=1))
def test_review_records_as_the_review_command_writes_them(record: dict[str, str]) -> None:
    lines = _record_lines(record, "  ")
    _assert_same("status: approved\nreviews:\n" + "\n".join(lines))


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=12), st.sampled_from(["'", '"', ""]))
def test_any_text_as_a_value(text: str, quote: str) -> None:
    _assert_same(f"title: {quote}{text}{quote}\ntags: [{text}]\nreviews:\n  - note: {text}")


def test_a_dump_of_the_data_reads_alike() -> None:
    """What yaml.safe_dump writes of values of every type reads alike."""
    data = {
        "title": "T",
        "n": 12,
        "f": 1.5,
        "b": True,
        "z": None,
        "d": dt.date(2026, 1, 1),
        "t": dt.datetime(2026, 2, 1, 9, 30, tzinfo=dt.UTC),
        "tags": ["a", "yes", "1:30", "", "x y"],
        "reviews": [{"reviewer": "x", "note": "a: b"}],
    }
    out = io.StringIO()
    yaml.safe_dump(data, out, sort_keys=False)
    assert _assert_same(out.getvalue())
    flow = io.StringIO()
    yaml.safe_dump(data, flow, sort_keys=False, default_flow_style=True)
    _assert_same(flow.getvalue())
