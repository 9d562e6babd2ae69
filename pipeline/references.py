"""The reference library: every ``references/*.bib`` parsed with pybtex, BibTeX and biblatex alike,
normalised, labelled (Guideline, Research, ...) and formatted by the ``medical`` pybtex style."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from string import digits
from typing import Any

import pybtex.errors
from pybtex.bibtex.utils import split_name_list
from pybtex.database import BibliographyData, Entry, Person
from pybtex.database.input.bibtex import NAME_CHARS, LowLevelParser, Parser
from pybtex.exceptions import PybtexError
from pybtex.richtext import HRef, Text
from pybtex.scanner import PybtexSyntaxError
from pybtex.style.formatting import BaseStyle
from pybtex.utils import CaseInsensitiveDict, OrderedCaseInsensitiveDict

from pipeline import paths
from pipeline.diagnostics import Diagnostic, diag
from pipeline.fingerprint import canonical_json
from pipeline.safety import doi_url, pubmed_url, sanitize_html

SOURCE_FIELDS = ("journal", "organization", "institution", "publisher", "howpublished")
# Every field the reference list, the type label or the JSON-LD shows: the formatter reads no
# other, so an edit to any other field (abstract, file, keywords, urldate) changes no page.
SHOWN_FIELDS = frozenset(
    {"title", "year", "volume", "number", "pages", "doi", "pmid", "evidence", *SOURCE_FIELDS}
)
SHOWN_PERSONS = frozenset({"author"})
_SHOWN_ORDER = sorted(SHOWN_FIELDS)

# The type label shown before each reference; an `evidence` field overrides it.
TYPE_LABELS = {
    "article": "Research",
    "inproceedings": "Research",
    "thesis": "Research",
    "phdthesis": "Research",
    "mastersthesis": "Research",
    "book": "Book",
    "inbook": "Book",
    "incollection": "Book",
    "report": "Report",
    "techreport": "Report",
    "manual": "Guideline",
    "online": "Web resource",
    "misc": "Other",
}

_ENTRY_START = re.compile(r"^[ \t]*@([A-Za-z]+)[ \t]*[{(][ \t]*([^,\s]+)[ \t]*,", re.MULTILINE)
_YEAR = re.compile(r"(\d{4})")
_FIELD_START = re.compile(r"^[ \t]*([A-Za-z][\w:.+\-]*)[ \t]*=", re.MULTILINE)
_NEEDS_LATEX = re.compile(r"[\\{}$~%&]")
# Zotero (Better BibTeX) keeps a PubMed id in `note` ("PMID: 26551272", one line of several).
_NOTE_PMID = re.compile(r"(?i)\bPMID:\s*(\d+)\b")


def latex_text(value: str) -> Text:
    """LaTeX to rich text; plain values skip the decoder, which otherwise dominates builds."""
    return Text.from_latex(value) if _NEEDS_LATEX.search(value) else Text(value)


@dataclass(frozen=True)
class Reference:
    key: str
    file: str
    line: int
    entry: Entry  # normalised: biblatex fields mapped to their BibTeX names
    # The line of each field as written (lower-case names), for diagnostics.
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name.lower(), self.line)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled as plain values (20,000 of them cross from the workers and are kept in the
        # cache): pybtex's dictionaries and persons are made again, not unpickled one by one.
        # Of what is worked out from them, only `shown_json` is kept, when it was made (a
        # worker makes it: every process that fingerprints articles would otherwise make it).
        entry = self.entry
        plain = type(entry.fields) is type(entry.persons) is OrderedCaseInsensitiveDict
        if not plain or set(entry.__dict__) != _ENTRY_STATE:
            return (Reference, (self.key, self.file, self.line, entry, self.field_lines))
        persons = [
            (role, [_person_parts(p) for p in people]) for role, people in _items(entry.persons)
        ]
        fields = _items(entry.fields)
        state = (self.key, self.file, self.line, entry.original_type, fields, persons)
        return (_reference, (*state, self.field_lines, self.__dict__.get("_shown_json")))

    @property
    def type_label(self) -> str:
        evidence = self.entry.fields.get("evidence")
        if evidence:
            return str(latex_text(evidence)).strip().capitalize()
        return TYPE_LABELS.get(self.entry.type.lower(), "Other")

    def missing_fields(self) -> list[str]:
        fields = self.entry.fields
        missing = [name for name in ("title", "year") if not fields.get(name, "").strip()]
        if not any(fields.get(name, "").strip() for name in SOURCE_FIELDS):
            missing.append(
                "a source (journal, organization, institution, publisher or howpublished)"
            )
        return missing

    def plain(self, name: str) -> str:
        value = self.entry.fields.get(name, "")
        return str(latex_text(value)) if value else ""

    def normalized(self) -> dict[str, object]:
        """Every field, independent of field order, case of names and spacing."""
        return {
            "type": self.entry.type.lower(),
            "fields": {
                k.lower(): " ".join(v.split()) for k, v in sorted(self.entry.fields.items())
            },
            "persons": {
                role.lower(): [str(p) for p in people]
                for role, people in sorted(self.entry.persons.items())
            },
        }

    def shown(self) -> dict[str, object]:
        """What a reader sees of this entry, for the fingerprint: the entry type (it gives the
        label), the shown fields and the authors. Worked out once per entry (an entry does not
        change once loaded), however many articles cite it; callers must not change it."""
        known = self.__dict__.get("_shown")
        if known is None:
            known = self._shown()
            self.__dict__["_shown"] = known  # a frozen dataclass: set beside its fields
        return known

    def shown_json(self) -> str:
        """`shown()` in the fingerprint's canonical JSON, made once per entry."""
        known = self.__dict__.get("_shown_json")
        if known is None:
            known = canonical_json(self.shown())
            self.__dict__["_shown_json"] = known
        return known

    def _shown(self) -> dict[str, object]:
        """`normalized()` with only the shown fields and persons, looked up by name rather
        than every field normalized and then left out (the same values: names are matched
        without case either way; callers hash it with sorted keys)."""
        fields, persons = self.entry.fields, self.entry.persons
        return {
            "type": self.entry.type.lower(),
            "fields": {
                name: " ".join(fields[name].split()) for name in _SHOWN_ORDER if name in fields
            },
            "persons": {
                name: [str(p) for p in persons[name]] for name in SHOWN_PERSONS if name in persons
            },
        }


_ENTRY_STATE = {"type", "original_type", "fields", "persons"}
_PERSON_STATE = ("first_names", "middle_names", "prelast_names", "last_names", "lineage_names")


def _person_parts(person: Person) -> tuple[list[str], ...] | Person:
    """A person's names, part by part (a person with any other state is pickled whole)."""
    if tuple(person.__dict__) != _PERSON_STATE:
        return person
    return tuple(person.__dict__.values())


def _person(parts: tuple[list[str], ...] | Person) -> Person:
    if isinstance(parts, Person):
        return parts
    person = Person.__new__(Person)
    person.__dict__.update(zip(_PERSON_STATE, parts, strict=True))
    return person


def _reference(
    key: str,
    file: str,
    line: int,
    kind: str,
    fields: list[tuple[str, str]],
    persons: list[tuple[str, list]],
    field_lines: dict[str, int],
    shown_json: str | None = None,
) -> Reference:
    """A Reference as `Reference.__reduce__` pickled it: its entry made as `Entry.__init__`
    makes it, from the values it held."""
    people = [(role, [_person(parts) for parts in names]) for role, names in persons]
    made = Reference(key, file, line, _entry(kind, fields, people), field_lines)
    if shown_json is not None:
        made.__dict__["_shown_json"] = shown_json
    return made


def _entry(kind: str, fields: list[tuple[str, str]], persons: list[tuple[str, list]]) -> Entry:
    """`Entry(kind, fields, persons)` for names that differ in more than case, made without
    `Entry.__init__`'s copies (tests/test_fast_references.py compares the two)."""
    entry = Entry.__new__(Entry)
    entry.__dict__.update(
        type=kind.lower(), original_type=kind, fields=_ordered(fields), persons=_ordered(persons)
    )
    return entry


def _ordered(pairs: list[tuple[str, Any]]) -> OrderedCaseInsensitiveDict:
    """`OrderedCaseInsensitiveDict(pairs)` for pairs whose keys differ in more than case."""
    made = OrderedCaseInsensitiveDict.__new__(OrderedCaseInsensitiveDict)
    made._dict = values = {}
    made._keys = keys = OrderedDict()
    for key, value in pairs:
        lower = key.lower()
        values[lower] = value
        keys[lower] = key
    return made


def _items(made: CaseInsensitiveDict) -> list[tuple[str, Any]]:
    """`list(made.items())`, read from pybtex's own two dictionaries when `made` is exactly an
    OrderedCaseInsensitiveDict (its `items()` looks each key up again)."""
    if type(made) is not OrderedCaseInsensitiveDict:
        return list(made.items())
    values = made._dict
    return [(key, values[lower]) for lower, key in made._keys.items()]


@dataclass
class Library:
    references: dict[str, Reference] = field(default_factory=dict)  # lower-case key -> Reference
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # For a part of a library (the entries some articles look up): every key of the whole, as
    # written and in order, so that suggestions are made from all of them.
    every_key: list[str] | None = None

    def get(self, key: str) -> Reference | None:
        return self.references.get(key.lower())

    def keys(self) -> list[str]:
        """Every entry's key as written, in library order."""
        if self.every_key is not None:
            return self.every_key
        return [reference.key for reference in self.references.values()]


_MARKUP_COMMANDS = re.compile(
    r"\\(?:textbf|textit|emph|textsc|texttt|textrm|textsf|textsuperscript|textsubscript|mbox|textup|textnormal)\s*\{"
)
_MARKUP_SWITCHES = re.compile(r"\{\\(?:em|bf|it|sc|tt|rm|sf|sl|small|footnotesize)\s+")


def latex_markup_to_text(value: str) -> str:
    """Font commands and math shifts become plain text; accents are left to pybtex's decoder."""
    # Each pattern needs a backslash or a dollar sign to match; "{" is checked as well, to spare
    # a proof that the patterns can do nothing without the other two.
    if "\\" not in value and "$" not in value and "{" not in value:
        return value
    return _markup_to_text(value)


def _markup_to_text(value: str) -> str:
    value = _MARKUP_COMMANDS.sub("{", value)
    value = _MARKUP_SWITCHES.sub("{", value)
    value = re.sub(r"(?<!\\)\$([^$]*)(?<!\\)\$", lambda m: re.sub(r"[\^_]", "", m.group(1)), value)
    return value


def _normalize_entry(entry: Entry) -> Entry:
    fields = {k: latex_markup_to_text(v) for k, v in _items(entry.fields)}
    lower = {k.lower(): k for k in fields}
    if "year" not in lower and "date" in lower:
        year = _YEAR.search(fields[lower["date"]])
        if year:
            fields["year"] = year.group(1)
    # The reference list is Vancouver-like: a journal's abbreviation (Zotero's `shortjournal`,
    # e.g. "N Engl J Med") is shown in preference to its full title.
    if "shortjournal" in lower and fields[lower["shortjournal"]].strip():
        fields[lower.get("journal", "journal")] = fields[lower["shortjournal"]]
    elif "journal" not in lower and "journaltitle" in lower:
        fields["journal"] = fields[lower["journaltitle"]]
    if "pmid" not in lower:
        kind = fields.get(lower.get("eprinttype", ""), "").strip().lower()
        if kind in ("pmid", "pubmed") and fields.get(lower.get("eprint", ""), "").strip():
            fields["pmid"] = fields[lower["eprint"]].strip()
        elif "note" in lower:
            found = _NOTE_PMID.search(fields[lower["note"]])
            if found:
                fields["pmid"] = found.group(1)
    if "institution" not in lower and "school" in lower:
        fields["institution"] = fields[lower["school"]]
    if "howpublished" not in lower and "url" in lower and entry.type.lower() == "online":
        fields["howpublished"] = fields[lower["url"]]
    # The names of `fields` differ in more than case: those of `entry.fields`, then only
    # names absent from them in any case.
    canonical = [(k.lower(), v) for k, v in fields.items()]
    persons = [(role.lower(), list(people)) for role, people in _items(entry.persons)]
    return _entry(entry.type.lower(), canonical, persons)


def _syntax_message(error: PybtexError) -> str:
    text = str(error)
    text = re.sub(r"^syntax error in line \d+: ", "", text)
    return f"This reference file is not valid BibTeX ({text})."


def _entry_starts(text: str) -> list[tuple[str, int]]:
    """Every (key, line) of an entry in file order, repeats included (pybtex keeps only one)."""
    found = []
    line, pos = 1, 0
    for match in _ENTRY_START.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        if match.group(1).lower() not in ("string", "preamble", "comment"):
            found.append((match.group(2), line))
    return found


# What `@string` macros may add to one file, in characters: a chain of macros that each double
# the last would otherwise fill the memory.
MAX_MACRO_EXPANSION = 1_000_000


class MacroLimit(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _BoundedScanner(LowLevelParser):
    expanded = 0

    def substitute_macro(self, name: str) -> str:
        value = super().substitute_macro(name)
        self.expanded += len(value)
        if self.expanded > MAX_MACRO_EXPANSION:
            raise MacroLimit(self.lineno)
        return value


# The plain form of an entry, read without pybtex's scanner: `@type{key, name = value, ...}`
# with values in braces (one level of inner braces), in quotes, digits or a known macro. Any
# other text (a @string, @comment or @preamble, `#`, `(...)` bodies, deeper braces, an unknown
# macro, anything pybtex would report) sends the whole file to pybtex's own scanner.
_NAME = rf"[{re.escape(NAME_CHARS)}][{re.escape(NAME_CHARS + digits)}]*"
# Text with braces one level deep, and quoted text likewise, each written as a loop unrolled
# (the same text as `(?:[^{}]|\{[^{}]*\})*`, matched without a step per character).
_BRACED = r"[^{}]*(?:\{[^{}]*\}[^{}]*)*"
_QUOTED = r'[^"{}]*(?:\{[^{}]*\}[^"{}]*)*'
_PLAIN_HEAD = re.compile(rf"\s*({_NAME})\s*\{{\s*([^\s,}}]+)\s*")
_PLAIN_FIELD = re.compile(
    rf'\s*,\s*({_NAME})\s*=\s*(?:\{{({_BRACED})\}}|"({_QUOTED})"|([0-9]+)|({_NAME}))'
)
_PLAIN_END = re.compile(r"\s*,?\s*\}")
_COMMANDS = {"string", "preamble", "comment"}


def _plain_entries(
    text: str, macros: CaseInsensitiveDict
) -> list[tuple[str, str, list[tuple[str, list[str]]]]] | None:
    """What pybtex's scanner yields for a file of plain entries only, as (type, key, fields);
    None for any other file. A pure speed-up: where it answers, pybtex's scanner gives the
    same tokens (tests/test_references.py compares them)."""
    entries = []
    expanded = 0
    pos = text.find("@")
    while pos != -1:
        head = _PLAIN_HEAD.match(text, pos + 1)
        if head is None or head.group(1).lower() in _COMMANDS:
            return None
        fields = []
        at = head.end()
        while (found := _PLAIN_FIELD.match(text, at)) is not None:
            name, braced, quoted, number, macro = found.groups()
            if macro is not None:
                if macro not in macros:
                    return None
                value = macros[macro]
                expanded += len(value)
            else:
                value = braced if braced is not None else quoted if quoted is not None else number
            fields.append((name, [value]))
            at = found.end()
        end = _PLAIN_END.match(text, at)
        if end is None or expanded > MAX_MACRO_EXPANSION:
            return None
        entries.append((head.group(1), head.group(2), fields))
        pos = text.find("@", end.end())
    return entries


# A plain name: words that each start with a capital A-Z and hold no space, comma, brace,
# backslash or tie, one space apart, in one to three comma-separated parts, none empty.
_NAME_WORDS = r"[A-Z][^\s,{}\\~]*(?: [A-Z][^\s,{}\\~]*)*"
_PLAIN_NAME = re.compile(rf"{_NAME_WORDS}(?: ?, ?{_NAME_WORDS}){{0,2}}")
_AND = re.compile(" [Aa][Nn][Dd] ")  # how pybtex's split_name_list separates names


def _plain_person(name: str) -> Person | None:
    """`Person(name)` for a plain name ("Last, First M.", "First M. Last", "Last, Jr, First",
    "others"); None for any other name. A pure speed-up: with every word capitalised pybtex
    finds no von part, and tests/test_fast_references.py compares the two."""
    if name == "others":  # "and others": one von-like word, which pybtex makes the last name
        parts = [["others"]]
    elif _PLAIN_NAME.fullmatch(name) is None:
        return None
    else:
        parts = [part.split() for part in name.split(",")]
    if len(parts) == 1:
        last, lineage, first = parts[0][-1:], [], parts[0][:-1]
    else:
        last, lineage, first = parts[0], parts[1] if len(parts) == 3 else [], parts[-1]
    person = Person.__new__(Person)  # its state set in the order Person.__init__ sets it
    person.first_names = first[:1]
    person.middle_names = first[1:]
    person.prelast_names = []
    person.last_names = last
    person.lineage_names = lineage
    return person


def _names(value: str) -> list[str]:
    """`split_name_list(value)`: with no brace in `value`, a plain split."""
    if "{" in value or "}" in value:
        return split_name_list(value)
    return [name.strip() for name in _AND.split(value)] if value else []


def _spaced(value: str) -> str:
    """pybtex's `normalize_whitespace(value)`: its pattern `\\s+` and `str.split()` know the
    same spaces (tests/test_fast_references.py tries every character)."""
    return " ".join(value.split())


def _plain_entry(
    kind: str, fields: list[tuple[str, list[str]]], person_fields: object
) -> Entry | None:
    """The entry `Parser.process_entry` makes of these fields when no name repeats (in any
    case); None otherwise (pybtex reports the repeat). Names go through `_plain_person`."""
    lower = [name.lower() for name, _ in fields]
    if len(set(lower)) != len(lower):
        return None
    values, persons = [], []
    for name, value_list in fields:
        value = _spaced("".join(value_list))
        if name in person_fields:
            people = [_plain_person(n) or Person(n) for n in _names(value)]
            if people:
                persons.append((name, people))
        else:
            values.append((name, value))
    return _entry(kind, values, persons)


class _BoundedParser(Parser):
    """pybtex's parser with macro expansion bounded by MAX_MACRO_EXPANSION."""

    def process_entry(self, entry_type: str, key: str | None, fields: list) -> None:
        entry = _plain_entry(entry_type, fields, self.person_fields) if key is not None else None
        if entry is None:
            super().process_entry(entry_type, key, fields)
        else:
            self.data.add_entry(key, entry)

    def parse_string(self, text: str) -> BibliographyData:
        self.unnamed_entry_counter = 1
        self.command_start = 0
        plain = _plain_entries(text, self.macros)
        if plain is not None:
            for entry_type, key, fields in plain:
                self.process_entry(entry_type, key, fields)
            return self.data
        scanner = _BoundedScanner(
            text,
            keyless_entries=self.keyless_entries,
            handle_error=self.handle_error,
            want_entry=self.data.want_entry,
            filename=self.filename,
            macros=self.macros,
        )
        for entry_type, body in scanner:
            kind = entry_type.lower()
            if kind == "preamble":
                self.process_preamble(*body)
            elif kind != "string":
                self.process_entry(entry_type, *body)
        return self.data


def _macro_limit(rel: str, line: int) -> Diagnostic:
    return diag(
        "reference.syntax",
        rel,
        line,
        f"The @string macros of this file expand to more than {MAX_MACRO_EXPANSION:,} "
        "characters; a reference library never needs that many. Write the values out.",
    )


@dataclass
class ParsedFile:
    file: str
    references: list[Reference]
    starts: list[tuple[str, int]]
    diagnostics: list[Diagnostic]


def parse_file(root: Path, rel: str) -> ParsedFile:
    """Parse one .bib file by its root-relative path; every error is collected, none stops the
    parse."""
    text, found = paths.read_source(root, rel)
    if text is None:
        return ParsedFile(rel, [], [], found)
    return parse_text(text, rel)


def parse_text(text: str, rel: str) -> ParsedFile:
    """Parse BibTeX text that `rel` names (a file, or a file at some revision)."""
    starts = _entry_starts(text)
    lines: dict[str, int] = {}
    for key, line in starts:
        lines.setdefault(key.lower(), line)
    diagnostics = []
    with pybtex.errors.capture() as errors:
        try:
            data: BibliographyData = _BoundedParser(filename=rel).parse_string(text)
        except MacroLimit as exc:
            return ParsedFile(rel, [], starts, [_macro_limit(rel, exc.line)])
        except (PybtexError, ValueError, RecursionError) as exc:
            message = f"This reference file cannot be read ({exc})."
            return ParsedFile(rel, [], starts, [diag("reference.syntax", rel, None, message)])
    for error in errors:
        if isinstance(error, PybtexSyntaxError):
            diagnostics.append(diag("reference.syntax", rel, error.lineno, _syntax_message(error)))
        elif "repeated bibliography entry" not in str(error):
            # A repeated entry is reported once, as reference.duplicate-key, by the caller.
            key = re.search(r"key (\S+)", str(error))
            line = lines.get(key.group(1).lower()) if key else None
            diagnostics.append(diag("reference.syntax", rel, line, f"{error}."))
    # An entry cut short by a syntax error is not a usable reference, whatever pybtex kept of it.
    broken = set()
    for d in diagnostics:
        before = [(line, key.lower()) for key, line in starts if d.line and line <= d.line]
        if before:
            broken.add(max(before)[1])
    field_lines = _field_lines(text, starts)
    references = [
        Reference(
            key=key,
            file=rel,
            line=lines.get(key.lower(), 1),
            entry=_normalize_entry(entry),
            field_lines=field_lines.get(key.lower(), {}),
        )
        for key, entry in _items(data.entries)
        if key.lower() not in broken
    ]
    return ParsedFile(rel, references, starts, diagnostics)


def _field_lines(text: str, starts: list[tuple[str, int]]) -> dict[str, dict[str, int]]:
    """Entry key -> field name -> line, from the lines `name =` between one entry's start and
    the next (the first entry of a key wins, as in pybtex's reading)."""
    found: dict[str, dict[str, int]] = {}
    # Of each entry, in file order: its key's fields, or None for a key already seen.
    targets = [
        None if key.lower() in found else found.setdefault(key.lower(), {}) for key, _ in starts
    ]
    entry_lines = [line for _, line in starts]
    index, last = -1, len(starts) - 1
    line, pos = 1, 0
    for match in _FIELD_START.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        while index < last and entry_lines[index + 1] <= line:  # the last entry begun by `line`
            index += 1
        target = targets[index] if index >= 0 else None
        if target is not None:
            target.setdefault(match.group(1).lower(), line)
    return {key: fields for key, fields in found.items() if fields}


def bib_files(root: Path) -> list[str]:
    """The root-relative paths of the reference files (the others are reported by the loader)."""
    sources, _ = paths.scan_sources(root)
    return [s.path for s in sources if s.kind == "references"]


def combine(parsed: list[ParsedFile]) -> Library:
    """One library from the parsed files, with keys duplicated across or within files reported."""
    library = Library()
    seen: dict[str, tuple[str, int]] = {}
    for part in parsed:
        library.diagnostics.extend(part.diagnostics)
        for key, line in part.starts:
            first = seen.get(key.lower())
            if first is None:
                seen[key.lower()] = (part.file, line)
                continue
            library.diagnostics.append(
                diag(
                    "reference.duplicate-key",
                    part.file,
                    line,
                    f"The reference key '{key}' is already defined in {first[0]} line "
                    f"{first[1]} (keys are compared without regard to case).",
                )
            )
        for reference in part.references:
            library.references.setdefault(reference.key.lower(), reference)
    return library


def load_library(root: Path) -> Library:
    return combine([parse_file(root, rel) for rel in bib_files(root)])


# --- the `medical` pybtex style: Vancouver/AMA-like numeric references -----------------------


def _initials(person: Person) -> str:
    parts = person.first_names + person.middle_names
    letters = []
    for part in parts:
        for piece in str(latex_text(part)).split("-"):
            piece = piece.strip(".{} ")
            if piece:
                letters.append(piece[0].upper())
    return "".join(letters)


def vancouver_name(person: Person) -> Text:
    last = " ".join(str(latex_text(p)) for p in person.prelast_names + person.last_names)
    lineage = " ".join(str(latex_text(p)) for p in person.lineage_names)
    initials = _initials(person)
    return Text(" ".join(x for x in (last, initials, lineage) if x))


def vancouver_names(persons: list[Person], limit: int = 6) -> Text:
    """Up to six authors, then 'et al' (ICMJE / Vancouver)."""
    named = [p for p in persons if str(p) != "others"]
    names = [vancouver_name(p) for p in named[:limit]]
    if len(named) > limit or len(named) < len(persons):
        names.append(Text("et al"))
    return Text(", ").join(names)


def _pages(text: Text) -> Text:
    return Text("\u2013").join(text.split(re.compile(r"-+")))


def _join(sep: str, parts: list) -> Text:
    return Text(sep).join([p for p in parts if p])


def _link(label: str, url: str | None, value: str) -> Text:
    """A DOI or PubMed link; an identifier that failed validation stays plain text."""
    return Text(label, HRef(url, value)) if url else Text(label, value)


class MedicalStyle(BaseStyle):
    """A pybtex formatting style in a medical numeric (Vancouver/AMA-like) convention:
    authors. Title. Source. Year;volume(issue):pages. doi. PMID.

    Written as plain Python over pybtex's rich text rather than its template language: the
    output is the same and formatting a large library is several times faster."""

    default_sorting_style = "none"

    def format_entries(self, entries, bib_data=None):
        # Order is the page's citation order, never re-sorted.
        for entry in entries:
            yield self.format_entry(entry.key, entry, bib_data=bib_data)

    def format_entry(self, label, entry, bib_data=None):
        from pybtex.style import FormattedEntry

        fields = entry.fields

        def text(name: str) -> Text:
            value = fields.get(name)
            return latex_text(value) if value else Text()

        source = next((text(n) for n in SOURCE_FIELDS if fields.get(n)), Text())
        if entry.type == "article":
            issue = Text(text("year"))
            if fields.get("volume"):
                issue = Text(issue, ";", text("volume"))
            if fields.get("number"):
                issue = Text(issue, "(", text("number"), ")")
            if fields.get("pages"):
                issue = Text(issue, ":", _pages(text("pages")))
            where = _join(". ", [source, issue])
        else:
            where = _join("; ", [source, text("year")])
        links = []
        if fields.get("doi"):
            doi = fields["doi"]
            links.append(_link("doi: ", doi_url(doi), doi))
        if fields.get("pmid"):
            pmid = fields["pmid"]
            links.append(_link("PMID: ", pubmed_url(pmid), pmid))
        persons = entry.persons.get("author")
        parts = [
            vancouver_names(persons).add_period() if persons else None,
            text("title").add_period(),
            where.add_period(),
            _join(". ", links).add_period(),
        ]
        return FormattedEntry(entry.key, _join(" ", parts), label)


_PROTECTED = re.compile(r'<span class="bibtex-protected">((?:(?!<span).)*?)</span>', re.DOTALL)
_TERMINATORS = (".", "?", "!")


def escape(text: str) -> str:
    """`xml.sax.saxutils.escape`, as pybtex's HTML backend escapes text (that module imports
    urllib's HTTP client and ssl, which a check never needs)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


_FORMATTED_FIELDS = ("title", "year", "volume", "number", "pages", "doi", "pmid", *SOURCE_FIELDS)


def _plain_names(persons: list[Person]) -> str | None:
    """`vancouver_names` for persons whose every name part is plain text, as plain text."""
    named = [p for p in persons if str(p) != "others"]
    names = []
    for person in named[:6]:
        parts = [
            *person.first_names,
            *person.middle_names,
            *person.prelast_names,
            *person.last_names,
            *person.lineage_names,
        ]
        if any(_NEEDS_LATEX.search(part) for part in parts):
            return None
        last = " ".join(person.prelast_names + person.last_names)
        initials = "".join(
            piece[0].upper()
            for part in person.first_names + person.middle_names
            for piece in (p.strip(".{} ") for p in part.split("-"))
            if piece
        )
        names.append(" ".join(x for x in (last, initials, " ".join(person.lineage_names)) if x))
    if len(named) > 6 or len(named) < len(persons):
        names.append("et al")
    return ", ".join(names)


def _period(html: str, plain: str) -> str:
    """Text.add_period on text rendered as `html` that reads `plain`."""
    return html + "." if plain and not plain.endswith(_TERMINATORS) else html


def plain_entry_html(entry: Entry) -> str | None:
    """What `MedicalStyle` renders in HTML for an entry whose every value it shows is plain
    text (nothing LaTeX could change: `latex_text` makes each a plain string), without
    building pybtex's rich text; None for any other entry. A pure speed-up: where it answers,
    the rich text gives the same (tests/test_references.py compares them)."""
    fields = entry.fields
    used = {name: fields.get(name) for name in _FORMATTED_FIELDS}
    if any(value and _NEEDS_LATEX.search(value) for value in used.values()):
        return None
    persons = entry.persons.get("author")
    names = _plain_names(persons) if persons else ""
    if names is None:
        return None

    def piece(name: str) -> tuple[str, str]:  # (html, plain) of one field's text
        value = used[name] or ""
        return escape(value), value

    def joined(sep: str, pieces: list[tuple[str, str]]) -> tuple[str, str]:
        kept = [p for p in pieces if p[1]]
        return escape(sep).join(h for h, _ in kept), sep.join(t for _, t in kept)

    source = next((piece(n) for n in SOURCE_FIELDS if used[n]), ("", ""))
    if entry.type == "article":
        issue_html, issue = piece("year")
        if used["volume"]:
            issue_html, issue = f"{issue_html};{piece('volume')[0]}", f"{issue};{used['volume']}"
        if used["number"]:
            h, t = piece("number")
            issue_html, issue = f"{issue_html}({h})", f"{issue}({t})"
        if used["pages"]:
            pages = "\u2013".join(re.split(r"-+", used["pages"] or ""))
            issue_html, issue = f"{issue_html}:{escape(pages)}", f"{issue}:{pages}"
        where = joined(". ", [source, (issue_html, issue)])
    else:
        where = joined("; ", [source, piece("year")])
    links = []
    for label, name, url_of in (("doi: ", "doi", doi_url), ("PMID: ", "pmid", pubmed_url)):
        value = used[name]
        if value:
            url = url_of(value)
            shown = f'<a href="{url}">{escape(value)}</a>' if url else escape(value)
            links.append((escape(label) + shown, label + value))
    link_html, link_text = joined(". ", links)
    parts = [
        (_period(escape(names), names), names),
        (_period(*piece("title")), used["title"] or ""),
        (_period(*where), where[1]),
        (_period(link_html, link_text), link_text),
    ]
    return " ".join(h for h, t in parts if t)


class ReferenceFormatter:
    """Formats each entry once per build, however many articles cite it, in the publication's
    one style (`MedicalStyle`)."""

    def __init__(self) -> None:
        from pybtex.backends.html import Backend
        from pybtex.style.labels.number import LabelStyle
        from pybtex.style.names.plain import NameStyle
        from pybtex.style.sorting.none import SortingStyle

        # pybtex's default helper styles, given as classes: looked up by name, each would
        # search every installed package's entry points (some 0.1 s a build).
        self.style = MedicalStyle(
            label_style=LabelStyle, name_style=NameStyle, sorting_style=SortingStyle
        )
        self.backend = Backend()  # pybtex's render_as() would search the plugins on each call
        self._cache: dict[str, str] = {}
        self.formatted_count = 0
        self.plain = True  # plain entries without rich text (`plain_entry_html`)

    def html(self, reference: Reference) -> str:
        key = reference.key.lower()
        if key not in self._cache:
            entry = reference.entry
            entry.key = reference.key
            html = plain_entry_html(entry) if self.plain else None
            if html is None:
                formatted = next(iter(self.style.format_entries([entry])))
                html = formatted.text.render(self.backend)
            # Case-protection braces mean nothing to a reader: drop pybtex's marker spans.
            while _PROTECTED.search(html):
                html = _PROTECTED.sub(r"\1", html)
            self._cache[key] = sanitize_html(html)
            self.formatted_count += 1
        return self._cache[key]

    def preload(self, formatted: dict[str, str]) -> None:
        """Entries formatted elsewhere (by parallel workers), each once."""
        self._cache.update(formatted)
        self.formatted_count += len(formatted)
