"""Quick filters in front of per-line and per-field checks: each may only skip work whose
answer is known. Whatever a filter skips, the findings are those of the full look."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import checks, safety
from pipeline.references import parse_text
from pipeline.template import _INSTRUCTIONS, ARTICLE_TEMPLATE, may_hold_placeholder, placeholder
from tests.hostile_payloads import BIB_PAYLOADS, FIELD_EXTERNAL, FIELD_MARKUP, INERT_TEXT

# Pieces of lines near the template's text: the marker and each instruction in other cases,
# with list and heading marks before them, and letters whose lowercase is ASCII or context
# dependent (the Kelvin sign, a dotted capital I, a capital sigma).
_PIECES = [
    "TODO",
    "todo",
    "xTODO",
    "TODOs",
    "TO DO",
    *_INSTRUCTIONS,
    *(phrase.upper() for phrase in _INSTRUCTIONS),
    *(phrase.title() for phrase in _INSTRUCTIONS),
    "- ",
    "* ",
    "> ",
    "## ",
    "\t",
    " ",
    "\r",
    "\n",
    "\u212a",
    "\u0130",
    "\u03a3",
    "ΟΔΟΣ",
    "word",
    "[@key]",
    ".",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_text_the_placeholder_filter_skips_has_no_placeholder_line(pieces: list[str]) -> None:
    text = "".join(pieces)
    if not may_hold_placeholder(text):
        assert all(placeholder(line) is None for line in text.split("\n")), text


def test_the_placeholder_filter_lets_the_template_through() -> None:
    assert may_hold_placeholder(ARTICLE_TEMPLATE)
    body = ARTICLE_TEMPLATE.split("---\n")[2].replace("TODO ", "")  # instructions without mark
    assert may_hold_placeholder(body)
    assert not may_hold_placeholder("A plain paragraph [@key].\n\n## Recommendations\n- Treat.")


def _bib(field: str, value: str) -> str:
    return (
        "@article{k,\n  author = {Smith, Jane},\n  title = {A trial},\n  journal = {J Med},\n"
        f"  year = {{2020}},\n  {field} = {{{value}}},\n}}\n"
    )


_VALUES = [
    *(value for _, value, _ in BIB_PAYLOADS.values()),
    *FIELD_MARKUP.values(),
    *FIELD_EXTERNAL.values(),
    *INERT_TEXT,
    "script",
    ": x",
    "plain words",
    "https://example.org/guideline",
    "10.1000/xyz123",
    "12345678",
]


@pytest.mark.parametrize("field", ["title", "journal", "url", "doi", "pmid", "note", "author"])
@pytest.mark.parametrize("value", _VALUES)
def test_references_the_markup_filter_skips_have_no_findings(
    field: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = parse_text(_bib(field, value), "references/x.bib")
    for reference in parsed.references:
        filtered = list(checks._markup(reference))
        with monkeypatch.context() as patch:
            patch.setattr(checks, "_worth_judging", lambda values: values)
            assert filtered == list(checks._markup(reference)), (field, value)


def test_the_markup_filter_skips_plain_references() -> None:
    values = [("title", "A trial of plain words"), ("journal", "J Med"), ("url", "https://x.org")]
    assert checks._worth_judging(values) == [("url", "https://x.org")]
    assert checks._worth_judging([*values, ("note", "<b>x</b>")]) == [
        *values,
        ("note", "<b>x</b>"),
    ]


# The quick test as one pattern, as it was first written: `looks_suspicious` takes it apart.
_ONE_PATTERN = re.compile(
    r"[<&%{\\!\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]"
    r"|(?:script|data)\s*:",
    re.IGNORECASE,
)
_SUSPECT_PIECES = ["script", "SCRIPT", "ſcript", "data", "DATA", "dat", ":", " ", "\t", "\n"]
_SUSPECT_PIECES += ["<", "&", "%", "{", "\\", "!", "\x7f", "\u00ad", "\u200b", "\ufeff", "a", "é"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_SUSPECT_PIECES), max_size=10).map("".join) | st.text(max_size=30))
def test_the_quick_markup_test_is_the_one_pattern(value: str) -> None:
    assert safety.looks_suspicious(value) == (_ONE_PATTERN.search(value) is not None), value


def test_the_quick_markup_test_still_flags_a_script_link() -> None:
    assert safety.looks_suspicious("java script :x") and safety.looks_suspicious("DATA:x")
    assert not safety.looks_suspicious("A plain title: with a colon")


def _strings_as_written(value: object, loc: tuple = ()) -> list[tuple[tuple, str]]:
    """Every text of YAML data, depth first, spelled out recursively."""
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _strings_as_written(v, (*loc, k))]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _strings_as_written(v, (*loc, i))]
    return []


_YAML_DATA = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_YAML_DATA)
def test_the_texts_of_yaml_data_come_in_the_order_written(data: object) -> None:
    assert checks._strings(data) == _strings_as_written(data)
