"""The reference library: BibTeX and biblatex, LaTeX to text, labels, the `medical` style."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from pybtex.plugin import find_plugin

from pipeline.references import MedicalStyle, ReferenceFormatter, load_library, parse_file

BIBLATEX = r"""
@string{nejm = {New England Journal of Medicine}}
@online{who-2024,
  title = {Hypertension fact sheet},
  organization = {World Health Organization},
  date = {2023-03-16},
  url = {https://www.who.int/news-room/fact-sheets/detail/hypertension},
}
@article{accented,
  author = {M{\"u}ller, J{\"o}rg and {\O}stergaard, S{\o}ren and Garc{\'\i}a, Mar{\'\i}a},
  title = {The {\em emphasised} effect of \textbf{bold} therapy},
  journaltitle = nejm,
  date = {2019-04},
  month = apr,
  volume = {380},
  pages = {1--10},
  pmid = {12345678},
}
@report{guideline-no-author,
  title = {National guideline},
  institution = {Example Institute},
  year = {2021},
  evidence = {guideline},
}
@article{seven-authors,
  author = {A, Alpha and B, Beta and C, Gamma and D, Delta and E, Epsilon and F, Zeta and G, Eta},
  title = {Many authors},
  journal = {J},
  year = {2000},
}
"""


def _library(tmp_path: Path, text: str = BIBLATEX):
    (tmp_path / "references").mkdir()
    (tmp_path / "references" / "lib.bib").write_text(text, encoding="utf-8")
    return load_library(tmp_path)


def test_biblatex_fields_are_understood(tmp_path: Path) -> None:
    library = _library(tmp_path)
    assert library.diagnostics == []
    online = library.get("WHO-2024")
    assert online is not None and online.missing_fields() == []
    assert online.entry.fields["year"] == "2023"
    accented = library.get("accented")
    assert accented.entry.fields["journal"] == "New England Journal of Medicine"
    assert accented.missing_fields() == []


def test_type_labels_from_entry_type_or_evidence(tmp_path: Path) -> None:
    library = _library(tmp_path)
    assert library.get("accented").type_label == "Research"
    assert library.get("guideline-no-author").type_label == "Guideline"
    assert library.get("who-2024").type_label == "Web resource"


def test_medical_style_is_a_registered_pybtex_plugin() -> None:
    assert find_plugin("pybtex.style.formatting", "medical") is MedicalStyle


def test_latex_is_rendered_as_readable_text(tmp_path: Path) -> None:
    html = ReferenceFormatter().html(_library(tmp_path).get("accented"))
    assert "Müller J, Østergaard S, García M." in html
    assert "The emphasised effect of bold therapy." in html
    assert "New England Journal of Medicine. 2019;380:1–10." in html
    assert '<a href="https://pubmed.ncbi.nlm.nih.gov/12345678/">12345678</a>' in html
    assert "\\" not in html and "{" not in html


def test_six_authors_then_et_al(tmp_path: Path) -> None:
    html = ReferenceFormatter().html(_library(tmp_path).get("seven-authors"))
    assert html.startswith("A A, B B, C G, D D, E E, F Z, et al. Many authors.")


def test_guideline_without_authors(tmp_path: Path) -> None:
    html = ReferenceFormatter().html(_library(tmp_path).get("guideline-no-author"))
    assert html == "National guideline. Example Institute; 2021."


def test_each_entry_is_formatted_once(tmp_path: Path) -> None:
    library = _library(tmp_path)
    formatter = ReferenceFormatter()
    for _ in range(5):
        formatter.html(library.get("accented"))
    assert formatter.formatted_count == 1


def test_all_syntax_errors_are_collected(tmp_path: Path) -> None:
    text = (
        "@article{a,\n title = {ok}, year = 2000, journal = {J}}\n"
        "@article{b,\n title = undefinedmacro # {x}}\n"
        "@article{c,\n title = {y} year = 2001}\n"
        "@article{d, title = {ok}, year = 2001, journal = {J}}\n"
    )
    path = tmp_path / "references" / "x.bib"
    path.parent.mkdir()
    path.write_text(text)
    parsed = parse_file(tmp_path, "references/x.bib")
    references, diagnostics = parsed.references, parsed.diagnostics
    assert len(diagnostics) >= 2
    assert all(d.code == "reference.syntax" and d.line for d in diagnostics)
    assert {r.key for r in references} >= {"a", "d"}


# Entries near the plain form that `parse_text` reads without pybtex's scanner, and every way
# of leaving it: the result must be pybtex's own, diagnostics and lines included.
_piece = st.sampled_from(
    [
        "@article{k1,",
        "@Book{K1,",
        "@misc{k2 ,",
        "@string{j = {J}}",
        "@comment{x}",
        "@preamble{x}",
        "@online(k3,",
        "@ article{k4,",
        "@article{k5}",
        "@{",
        "@article{k6 author = {x}",
        " title = {A {B} c}",
        ' title = "A {"} b"',
        " title = {A {B {C}} d}",
        " year = 2020",
        " year = 2020a",
        " month = jan",
        " month = foo",
        " journal = j",
        ' note = "a" # {b}',
        " author = {Doe, J. and Roe, R.}",
        " editor = {E, F}",
        " TITLE = {Dup}",
        " pages = {1--2}",
        ",",
        ",,",
        "}",
        ")",
        "\n",
        "  ",
        "\t",
        "{",
        '"',
        "=",
        "#",
        "%",
        "x",
        "mail@host",
        "\r\n",
        "title",
        " = ",
    ]
)


_space = st.sampled_from(["", " ", "\n  ", "\t", "\r\n"])
_value = st.sampled_from(
    ["{A b}", "{A {B} c}", "{}", '"q {"} r"', '""', "1990", "jan", "DEC", "nejm", "{x {y {z}}}"]
)
_field = st.tuples(st.sampled_from(["title", "Author", "journal", "year", "x:y.z"]), _space, _value)
_entry = st.builds(
    lambda kind, key, fields, gap, trail: (
        f"@{kind}{{{gap}{key}{gap}"
        + "".join(f",{gap}{name}{sp}={sp}{value}" for name, sp, value in fields)
        + f"{trail}{gap}}}\n"
    ),
    st.sampled_from(["article", "Online", "misc"]),
    st.sampled_from(["k1", "K1", "a-b:c", "k2"]),
    st.lists(_field, max_size=5),
    _space,
    st.sampled_from(["", ","]),
)
_bib = st.one_of(
    st.lists(_piece, max_size=40).map("".join),
    st.lists(st.one_of(_entry, _entry, _entry, _piece), max_size=6).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(_bib)
def test_plain_entries_are_read_as_pybtex_reads_them(text: str) -> None:
    from pybtex.database.input.bibtex import LowLevelParser, month_names
    from pybtex.utils import CaseInsensitiveDict

    from pipeline import references

    plain = references._plain_entries(text, CaseInsensitiveDict(month_names))
    fast = references.parse_text(text, "references/x.bib")
    original = references._plain_entries
    try:
        references._plain_entries = lambda text, macros: None
        slow = references.parse_text(text, "references/x.bib")
    finally:
        references._plain_entries = original
    assert fast == slow
    if plain is not None:
        errors: list = []
        scanner = LowLevelParser(
            text, macros=CaseInsensitiveDict(month_names), handle_error=errors.append
        )
        assert [(kind, key, fields) for kind, (key, fields) in scanner] == plain
        assert errors == []


def test_a_library_of_plain_entries_skips_the_scanner(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from pybtex.database.input import bibtex

    from pipeline import references

    scanned = []
    real = bibtex.LowLevelParser.parse_bibliography
    monkeypatch.setattr(
        bibtex.LowLevelParser,
        "parse_bibliography",
        lambda self: scanned.append(1) or real(self),
    )
    plain = "@article{a,\n  title = {T {X}},\n  journal = {J},\n  year = 2020,\n  month = jan,\n}\n"
    parsed = references.parse_text(plain, "references/a.bib")
    assert scanned == [] and [r.key for r in parsed.references] == ["a"]
    assert parsed.references[0].entry.fields["title"] == "T {X}"
    references.parse_text("@string{j = {J}}\n" + plain, "references/a.bib")
    assert scanned == [1]


def test_a_reference_pickles_as_plain_values_and_comes_back_the_same(tmp_path: Path) -> None:
    # 20,000 references cross from the workers and are kept in the cache: they are pickled
    # as plain values and made again exactly as pybtex holds them.
    import pickle

    library = _library(tmp_path, BIBLATEX + (Path("references") / "cardiology.bib").read_text())
    assert len(library.references) > 5
    for reference in library.references.values():
        reference.shown_json()  # worked out from it: left out of the pickle
        blob = pickle.dumps(reference, protocol=pickle.HIGHEST_PROTOCOL)
        assert b"OrderedCaseInsensitiveDict" not in blob and b"_shown" not in blob
        again = pickle.loads(blob)
        assert again == reference and again.field_lines == reference.field_lines
        assert again.shown_json() == reference.shown_json()
        for name in ("fields", "persons"):
            made, held = getattr(again.entry, name), getattr(reference.entry, name)
            assert type(made) is type(held) and made.__dict__ == held.__dict__
        assert again.entry.__dict__.keys() == reference.entry.__dict__.keys()
        assert again.entry.original_type == reference.entry.original_type
        for role, people in reference.entry.persons.items():
            assert [p.__dict__ for p in again.entry.persons[role]] == [p.__dict__ for p in people]
