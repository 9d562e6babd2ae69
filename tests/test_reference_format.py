"""Plain entries are formatted without pybtex's rich text (`plain_entry_html`): where that
path answers, its HTML is exactly what `MedicalStyle` renders through rich text, and any value
LaTeX could change goes to rich text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.references import ReferenceFormatter, parse_text, plain_entry_html
from tests.hostile_payloads import BIB_PAYLOADS

REPO = Path(__file__).resolve().parent.parent


def _both(text: str) -> list[tuple[str | None, str, str]]:
    """For each entry of a .bib text: (the plain path's HTML or None, the formatter's HTML, the
    rich text's HTML)."""
    fast, rich = ReferenceFormatter(), ReferenceFormatter()
    rich.plain = False
    return [
        (plain_entry_html(r.entry), fast.html(r), rich.html(r))
        for r in parse_text(text, "references/x.bib").references
    ]


def _bibs() -> list[Path]:
    return sorted(REPO.glob("references/*.bib")) + sorted(REPO.glob("pipeline/starter/**/*.bib"))


@pytest.mark.parametrize("path", _bibs(), ids=lambda p: p.name)
def test_every_reference_of_the_bundled_libraries_is_formatted_the_same(path: Path) -> None:
    results = _both(path.read_text(encoding="utf-8"))
    assert results
    for _, fast, rich in results:
        assert fast == rich


def test_the_plain_path_answers_for_plain_entries() -> None:
    text = (
        "@article{a,\n  author = {Smith, Jane A. and van der Berg, Piet and others},\n"
        "  title = {A trial},\n  journal = {J Med},\n  year = {2020},\n  volume = {5},\n"
        "  number = {2},\n  pages = {101--110},\n  doi = {10.1000/xyz},\n  pmid = {12345678},\n}\n"
    )
    ((plain, fast, rich),) = _both(text)
    assert plain is not None and plain == fast == rich
    expected = "Smith JA, van der Berg P, et al. A trial. J Med. 2020;5(2):101\u2013110."
    assert plain.startswith(expected)


@pytest.mark.parametrize("name", sorted(BIB_PAYLOADS))
def test_hostile_values_are_formatted_the_same(name: str) -> None:
    field, value, _ = BIB_PAYLOADS[name]
    text = (
        "@article{k,\n  author = {Smith, Jane},\n  title = {A trial},\n  journal = {J Med},\n"
        f"  year = {{2020}},\n  {field} = {{{value}}},\n}}\n"
    )
    for _, fast, rich in _both(text):
        assert fast == rich


# Values near the edges of plain text: terminators, hyphens, markup characters, quotes,
# spaces, non-ASCII letters, and characters LaTeX would change (which must leave the path).
_VALUE = st.lists(
    st.sampled_from(list("aZ09 .?!-–,;:()<>'\"/éß") + ["\\'e", "{X}", "~", "%", "&", "$"]),
    max_size=14,
).map("".join)
_NAME = st.lists(
    st.sampled_from(list("aBcé.- ") + ["{Org}", "\\v{s}", "J.-P.", "van"]), max_size=8
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["article", "misc", "book", "online"]),
    values=st.dictionaries(
        st.sampled_from(
            ["title", "journal", "organization", "publisher", "year", "volume", "number"]
            + ["pages", "doi", "pmid", "howpublished"]
        ),
        _VALUE,
        max_size=8,
    ),
    people=st.lists(st.tuples(_NAME, _NAME), max_size=8),
    others=st.booleans(),
)
def test_random_entries_are_formatted_the_same(
    kind: str, values: dict[str, str], people: list[tuple[str, str]], others: bool
) -> None:
    fields = "".join(f"  {name} = {{{value}}},\n" for name, value in values.items())
    names = [f"{last.strip() or 'X'}, {first}" for first, last in people]
    if others:
        names.append("others")
    if names:
        fields += "  author = {" + " and ".join(names) + "},\n"
    text = f"@{kind}{{k,\n{fields}}}\n"
    for _, fast, rich in _both(text):
        assert fast == rich, text


@given(st.text(alphabet=st.sampled_from(list("&<>;a #\"'")), max_size=20))
def test_text_is_escaped_as_pybtexs_html_backend_escapes_it(text: str) -> None:
    from xml.sax.saxutils import escape as backend_escape

    from pipeline.references import escape

    assert escape(text) == backend_escape(text)
