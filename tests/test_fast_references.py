"""The fast paths of reading the reference library: plain names, plain entries, values with no
LaTeX markup and the lines of fields are read without pybtex's general code, and `parse_text`
gives exactly the ParsedFile pybtex's own reading gives; anything else goes to pybtex."""

from __future__ import annotations

import ast
import bisect
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pybtex.database import Entry, Person
from pybtex.database.input.bibtex import Parser
from pybtex.textutils import normalize_whitespace
from pybtex.utils import OrderedCaseInsensitiveDict

from benchmarks.generate import reference as generated_reference
from pipeline import references
from pipeline.references import ParsedFile, parse_text
from tests.hostile_payloads import BIB_PAYLOADS

REPO = Path(__file__).resolve().parent.parent
REL = "references/x.bib"


def _field_lines_as_pybtex_era(
    text: str, starts: list[tuple[str, int]]
) -> dict[str, dict[str, int]]:
    """`_field_lines` as it was written before its speed-up: the reference reading."""
    entry_lines = [line for _, line in starts]
    owner: dict[str, int] = {}
    for index, (key, _) in enumerate(starts):
        owner.setdefault(key.lower(), index)
    found: dict[str, dict[str, int]] = {}
    line, pos = 1, 0
    for match in references._FIELD_START.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        index = bisect.bisect_right(entry_lines, line) - 1
        if index < 0 or owner[starts[index][0].lower()] != index:
            continue
        fields = found.setdefault(starts[index][0].lower(), {})
        fields.setdefault(match.group(1).lower(), line)
    return found


@contextmanager
def _pybtex_only(scanner: bool = False) -> Iterator[None]:
    """`parse_text` with every fast path of this file turned off: pybtex's `process_entry` and
    `Person`, `Entry(...)`, every value through the markup patterns, the lines of fields as first
    written; with `scanner`, pybtex's scanner for every file too."""
    patched = {
        "_plain_person": lambda name: None,
        "_plain_entry": lambda kind, fields, person_fields: None,
        "_entry": lambda kind, fields, persons: Entry(kind, fields=fields, persons=persons),
        "_items": lambda made: list(made.items()),
        "latex_markup_to_text": references._markup_to_text,
        "_field_lines": _field_lines_as_pybtex_era,
    }
    if scanner:
        patched["_plain_entries"] = lambda text, macros: None
    saved = {name: getattr(references, name) for name in patched}
    try:
        for name, value in patched.items():
            setattr(references, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(references, name, value)


# --- comparing two readings value by value -------------------------------------------------


def _mapping(made: object) -> tuple:
    assert type(made) is OrderedCaseInsensitiveDict
    assert type(made._keys) is type(OrderedCaseInsensitiveDict()._keys)
    return (list(made.items()), list(made._dict.items()), list(made._keys.items()))


def _person(person: Person) -> tuple:
    assert type(person) is Person
    return (list(person.__dict__.items()), str(person))


def _values(parsed: ParsedFile) -> tuple:
    """Everything a ParsedFile holds, as plain values in order (pybtex's `==` ignores the order
    of fields, the type as written and the form of names)."""
    refs = []
    for ref in parsed.references:
        entry = ref.entry
        fields = _mapping(entry.fields)
        persons = _mapping(entry.persons)
        people = [(role, [_person(p) for p in names]) for role, names in entry.persons.items()]
        refs.append(
            (
                ref.key,
                ref.file,
                ref.line,
                sorted(ref.field_lines.items()),
                list(entry.__dict__),
                entry.type,
                entry.original_type,
                fields,
                persons[2],
                people,
            )
        )
    found = [(d.file, d.line, d.code, d.message, d.level) for d in parsed.diagnostics]
    return (parsed.file, parsed.starts, found, refs)


def _assert_same(text: str) -> ParsedFile:
    fast = parse_text(text, REL)
    with _pybtex_only():
        slow = parse_text(text, REL)
    with _pybtex_only(scanner=True):
        slowest = parse_text(text, REL)
    assert _values(fast) == _values(slow) == _values(slowest), text
    assert fast == slow
    for ref in fast.references:
        again = pickle.loads(pickle.dumps(ref, protocol=pickle.HIGHEST_PROTOCOL))
        assert _values(ParsedFile(REL, [again], [], [])) == _values(ParsedFile(REL, [ref], [], []))
    return fast


# --- (1) every library the repository holds ------------------------------------------------

_ENTRY = re.compile(r"@[A-Za-z]+\s*[{(]")


def _test_literals() -> list[str]:
    """Every string constant of the tests that holds an entry: their fixtures."""
    found = []
    for path in sorted((REPO / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _ENTRY.search(node.value):
                    found.append(node.value)
    return found


def _payload_entries() -> list[str]:
    out = []
    for field, value, _ in BIB_PAYLOADS.values():
        others = {"author": "Doe, Jane", "title": "A trial", "journal": "A Journal", "year": "2020"}
        others[field] = value
        body = "".join(f"  {name} = {{{text}}},\n" for name, text in others.items())
        out.append(f"@article{{payload,\n{body}}}\n")
    return out


def _libraries() -> list[tuple[str, str]]:
    files = [p for p in REPO.rglob("*.bib") if ".git" not in p.parts]
    texts = [(str(p.relative_to(REPO)), p.read_text(encoding="utf-8")) for p in sorted(files)]
    texts += [(f"tests literal {i}", text) for i, text in enumerate(_test_literals())]
    texts += [(f"payload {i}", text) for i, text in enumerate(_payload_entries())]
    generated = "".join(generated_reference(i) for i in range(0, 4000, 7))
    return [*texts, ("benchmarks/generate.py", generated)]


def test_the_repository_has_libraries_to_compare() -> None:
    names = [name for name, _ in _libraries()]
    assert "references/cardiology.bib" in names and "references/oncology.bib" in names
    assert sum(name.startswith("tests literal") for name in names) >= 10


@pytest.mark.parametrize(("name", "text"), _libraries(), ids=lambda value: value[:40])
def test_every_library_reads_as_pybtex_reads_it(name: str, text: str) -> None:
    _assert_same(text)


# --- (2) names and fields built from tricky pieces ------------------------------------------

_NAME_PIECES = [
    "Smith",
    "Smith-Jones",
    "O'Toole",
    "ElSayed",
    "M\u00fcller",
    "\u00d6berg",
    "\u00e9mile",
    "\u0141ukasz",
    "\u738b",
    "John",
    "J.",
    "J.-P.",
    "Y. H.",
    "Jr.",
    "Jr",
    "III",
    "van",
    "der",
    "van der",
    "de la",
    "Van",
    "De",
    "von",
    "d'Artagnan",
    "others",
    "Others",
    "OTHERS",
    "{World Health Organization}",
    "{SPRINT Research Group}",
    '{\\"u}',
    'M{\\"u}ller',
    "\\'e",
    "Jos{\\'e}",
    "{\\O}stergaard",
    "~",
    "Michail~Markovitch",
    "\\ ",
    "{",
    "}",
    "and",
    "AND",
    "{and}",
    ",",
    ", ",
    " , ",
    " ",
    "  ",
    "\t",
    "\n",
    "\u00a0",
    "\u2003",
    "\x1c",
    "1st",
    "3M",
    "-",
    ".",
    "(ed.)",
    "&",
    "",
]
_name = st.lists(st.sampled_from(_NAME_PIECES), max_size=8).map(
    lambda pieces: "".join(
        piece if piece.isspace() or piece.startswith(",") else f" {piece}" for piece in pieces
    ).strip(" ")
)

_CAPITALISED = st.sampled_from(
    ["Smith", "Smith-Jones", "O'Toole", "ElSayed", "M\u00fcller", "John", "J.", "J.-P."]
    + ["Y.", "H.", "Jr.", "III", "Author0", "X", "Van", "De"]
)
_words = st.lists(_CAPITALISED, min_size=1, max_size=3).map(" ".join)
_plain_form = st.one_of(
    _words, st.lists(_words, min_size=2, max_size=3).map(", ".join), _words.map(lambda w: w + ",")
)


@st.composite
def _near_plain(draw: st.DrawFn) -> str:
    """A name in a plain form, with up to two tricky pieces put anywhere in it."""
    name = draw(_plain_form)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(name)))
        name = name[:at] + draw(st.sampled_from(_NAME_PIECES)) + name[at:]
    return name


_any_name = st.one_of(
    _near_plain(), _name, st.lists(st.sampled_from(_NAME_PIECES), max_size=8).map("".join)
)


@settings(max_examples=3000, deadline=None)
@given(_any_name)
def test_a_plain_name_is_read_as_pybtex_reads_it(name: str) -> None:
    fast = references._plain_person(name)
    if fast is not None:
        assert _person(fast) == _person(Person(name)), name


_SEPARATORS = [" and ", " AND ", " and others", " aNd ", "and", " and  ", ",", " "]
_names = st.lists(st.tuples(_any_name, st.sampled_from(_SEPARATORS)), max_size=4).map(
    lambda pairs: "".join(name + separator for name, separator in pairs)
)
_VALUES = [
    "Plain text",
    "A {Protected} word",
    "{\\em emphasised} and \\textbf{bold}",
    "$\\alpha^2_x$ and 5$",
    "$x^2$ and $y_1$",
    "Cost \\$5",
    "\\$x\\$",
    "a\\b",
    "{\\bf x}",
    "50% of {x}",
    "  spaced   out  ",
    "PMID: 12345678",
    "2023-03-16",
    "https://example.org/a_b",
    "",
]
_FIELD_NAMES = [
    "title",
    "Title",
    "journal",
    "journaltitle",
    "shortjournal",
    "date",
    "year",
    "note",
    "eprint",
    "eprinttype",
    "school",
    "url",
    "pmid",
    "evidence",
]


@st.composite
def _entry_text(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["article", "Article", "online", "report", "MISC"]))
    key = draw(st.sampled_from(["k1", "K1", "k2", "a-b:c"]))
    fields = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            role = draw(st.sampled_from(["author", "editor", "Author", "EDITOR"]))
            fields.append((role, draw(_names)))
        else:
            value = draw(st.sampled_from(_VALUES))
            fields.append((draw(st.sampled_from(_FIELD_NAMES)), value))
    body = "".join(
        f",\n  {name} = {{{value}}}" if "{" in value or "}" in value else f',\n  {name} = "{value}"'
        for name, value in fields
    )
    return f"@{kind}{{{key}{body}\n}}\n"


@settings(max_examples=1500, deadline=None)
@given(st.lists(_entry_text(), max_size=3).map("".join))
def test_entries_of_tricky_names_and_fields_read_as_pybtex_reads_them(text: str) -> None:
    _assert_same(text)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "\\textbf{",
                "\\emph {",
                "{\\em ",
                "{\\bf",
                "{",
                "}",
                "\\",
                "$",
                "\\$",
                "^",
                "_",
                "x",
                " ",
                "\n",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_values_without_markup_skip_the_patterns_unchanged(value: str) -> None:
    assert references.latex_markup_to_text(value) == references._markup_to_text(value)


def test_spaces_are_normalised_as_pybtex_normalises_them() -> None:
    every = [chr(code) for code in range(0x110000)]
    pattern = re.compile(r"\s")
    assert [c for c in every if pattern.fullmatch(c)] == [c for c in every if c.isspace()]
    text = "".join(every)
    assert references._spaced(text) == normalize_whitespace(text)
    assert references._spaced(" \t a \u2003\x1c b\n ") == normalize_whitespace(
        " \t a \u2003\x1c b\n "
    )


_LINE_PIECES = st.sampled_from(
    [
        "@article{k1,",
        "@Book{K1,",
        "@misc{k2,",
        "@string{j = {J}}",
        "@comment{x,",
        " @online(k3,",
        "title = {x}",
        "  Title= {y}",
        "\tjournal\t=",
        "x:y.z = 1",
        "year=2000 @misc{k4, pages = 1}",
        "{a = b}",
        "= {c}",
        "",
        "}",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_LINE_PIECES, max_size=14).map("\n".join))
def test_the_lines_of_fields_are_found_as_before(text: str) -> None:
    starts = references._entry_starts(text)
    assert references._field_lines(text, starts) == _field_lines_as_pybtex_era(text, starts)


_KEYS = st.sampled_from(["title", "Year", "journal", "x:y", "author", "AUTHOR2", "note"])


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["article", "Online", "misc"]),
    st.lists(st.tuples(_KEYS, st.text(max_size=3)), max_size=6, unique_by=lambda p: p[0].lower()),
    st.lists(st.tuples(_KEYS, st.just([])), max_size=2, unique_by=lambda p: p[0].lower()),
)
def test_an_entry_is_made_as_pybtex_makes_it(kind: str, fields: list, persons: list) -> None:
    made = references._entry(kind, fields, persons)
    pybtex = Entry(kind, fields=fields, persons=persons)
    assert list(made.__dict__) == list(pybtex.__dict__)
    assert (made.type, made.original_type) == (pybtex.type, pybtex.original_type)
    assert _mapping(made.fields) == _mapping(pybtex.fields)
    assert _mapping(made.persons) == _mapping(pybtex.persons)
    assert references._items(made.fields) == list(pybtex.fields.items())


# --- (3) the fast paths answer for the references the publication writes ----------------------


@pytest.fixture
def pybtex_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of pybtex's general readings called while the fixture is in use."""
    calls: list[str] = []
    real_entry, real_name = Parser.process_entry, Person._parse_string
    real_markup = references._markup_to_text

    def process_entry(self, *args):  # noqa: ANN001, ANN202
        calls.append("process_entry")
        return real_entry(self, *args)

    def parse_name(self, name):  # noqa: ANN001, ANN202
        calls.append(f"Person({name})")
        return real_name(self, name)

    def markup(value):  # noqa: ANN001, ANN202
        calls.append(f"markup({value})")
        return real_markup(value)

    monkeypatch.setattr(Parser, "process_entry", process_entry)
    monkeypatch.setattr(Person, "_parse_string", parse_name)
    monkeypatch.setattr(references, "_markup_to_text", markup)
    return calls


def test_generated_references_take_every_fast_path(pybtex_calls: list[str]) -> None:
    text = "".join(generated_reference(i) for i in range(50))
    parsed = parse_text(text, REL)
    assert len(parsed.references) == 50 and parsed.diagnostics == []
    assert pybtex_calls == []
    first = parsed.references[0].entry.persons["author"]
    assert [str(p) for p in first] == ["Author0, Alex", "Writer0, Sam"]


@pytest.mark.parametrize(
    "rel",
    [
        "references/cardiology.bib",
        "references/endocrinology.bib",
        "references/infectious-disease.bib",
        "pipeline/starter/references/library.bib",
    ],
)
def test_the_example_libraries_skip_pybtex_scanner(rel: str) -> None:
    text = (REPO / rel).read_text(encoding="utf-8")
    assert references._plain_entries(text, Parser().macros) is not None


def test_names_as_guidelines_write_them_take_the_fast_path(pybtex_calls: list[str]) -> None:
    names = "Lip, Gregory Y. H. and Brown-Frandsen, Kirstine and O'Toole, Dermot and John Smith"
    text = f"@article{{a,\n  author = {{{names} and Smith, Jr., John and others}},\n}}\n"
    parsed = parse_text(text, REL)
    assert len(parsed.references[0].entry.persons["author"]) == 6
    assert pybtex_calls == []


@pytest.mark.parametrize(
    "name",
    [
        "van der Eerden, M. M.",
        "Ludwig van Beethoven",
        "{World Health Organization}",
        "Jos{\\'e} Smith",
        "Viktorov, Michail~Markovitch",
        "others,",
        "Smith, J., Jr, John",
        "Smith, ",
        "Smith,  John",
        "d'Artagnan, Charles",
    ],
)
def test_names_outside_the_plain_forms_go_to_pybtex(name: str) -> None:
    assert references._plain_person(name) is None


def test_a_worker_hands_each_reference_over_with_what_fingerprints_read_of_it() -> None:
    # Every process that fingerprints articles reads `shown_json` of the references they cite:
    # the worker that parsed them makes it once and it crosses in the pickle, equal to what
    # the entry gives; a reference whose `shown_json` was never made is pickled without it.
    from pipeline import cache, loader
    from pipeline.fingerprint import canonical_json
    from pipeline.paths import SourceFile

    text = (REPO / "references/cardiology.bib").read_text(encoding="utf-8")
    text += "".join(generated_reference(i) for i in range(20))
    bare = parse_text(text, REL).references[0]
    assert "_shown_json" not in pickle.loads(pickle.dumps(bare)).__dict__
    source = SourceFile(REL, "references")
    blobs, _ = loader._parse_chunk([(source, text.encode())], [], None, None, False)
    handed = cache.load(blobs[0])
    assert isinstance(handed, ParsedFile) and len(handed.references) > 20
    for reference in handed.references:
        carried = reference.__dict__["_shown_json"]
        assert carried == canonical_json(reference._shown())
        again = pickle.loads(pickle.dumps(reference))
        assert again.__dict__["_shown_json"] == carried and again == reference
