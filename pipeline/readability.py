"""Plain language: the Flesch-Kincaid grade of what a reader sees of a body, measured offline
with textstat (its syllables come from pyphen's bundled dictionaries; nothing is downloaded)."""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from pipeline.citations import AUDIENCE, PARSER

# A sentence ends at . ! or ? followed by a space and what starts a new one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
# Parts of a body that are not prose a reader reads as sentences.
_SKIPPED = {"table_open": "table_close", "heading_open": "heading_close"}


@dataclass(frozen=True)
class Sentence:
    line: int  # 1-based, in the file
    text: str

    @property
    def words(self) -> int:
        return len(_WORD.findall(self.text))


@dataclass(frozen=True)
class Readability:
    grade: float  # Flesch-Kincaid grade level
    sentences: tuple[Sentence, ...]

    def longest(self, count: int = 3) -> list[Sentence]:
        ranked = sorted(self.sentences, key=lambda s: (-s.words, s.line))
        return ranked[:count]


def visible_sentences(text: str, first_line: int) -> list[Sentence]:
    """The sentences of paragraphs and bullets as a reader sees them: no headings, tables or
    code, citations and link addresses dropped, emphasis kept as its words. A bullet or
    paragraph without a full stop still ends its sentence."""
    tokens = PARSER.parse(text.replace(AUDIENCE, "\ufffd"))
    sentences: list[Sentence] = []
    closing: str | None = None
    for token in tokens:
        if closing is not None:
            if token.type == closing:
                closing = None
            continue
        if token.type in _SKIPPED:
            closing = _SKIPPED[token.type]
            continue
        if token.type != "inline" or not token.map:
            continue
        parts = []
        for child in token.children or []:
            if child.type in ("text", "text_special"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append("\n")
        block = re.sub(r"[ \t]+", " ", "".join(parts)).strip()
        if not _WORD.search(block):
            continue
        line = first_line + token.map[0]
        pos = 0
        for piece in _SENTENCE_END.split(block):
            start = block.find(piece, pos)
            pos = start + len(piece)
            sentence = " ".join(piece.split())
            if _WORD.search(sentence):
                sentences.append(Sentence(line + block.count("\n", 0, max(start, 0)), sentence))
    return sentences


@cache
def _textstat():  # noqa: ANN202 - the textstat module
    """textstat 0.7.3 imports setuptools' pkg_resources (slow, deprecated, absent from new
    environments) only to open its word lists: it gets a stand-in that opens package files,
    for the import alone, so nobody else sees it."""
    shim = types.ModuleType("pkg_resources")
    shim.resource_stream = lambda package, name: (  # type: ignore[attr-defined]
        resources.files(package).joinpath(name).open("rb")
    )
    saved = sys.modules.get("pkg_resources")
    sys.modules["pkg_resources"] = shim
    try:
        import textstat
    finally:
        if saved is None:
            del sys.modules["pkg_resources"]
        else:
            sys.modules["pkg_resources"] = saved
    return textstat


def prepare() -> None:
    """Load textstat now: before forking processes that will measure new texts, so that it
    is loaded once (its hyphenation dictionary takes a tenth of a second)."""
    _textstat()


def measure(text: str, first_line: int = 1) -> Readability | None:
    """The grade of a body, or None when it has no prose to measure."""
    sentences = visible_sentences(text, first_line)
    if not sentences:
        return None
    prose = " ".join(s.text if s.text[-1] in ".!?" else s.text + "." for s in sentences)
    grade = float(_textstat().flesch_kincaid_grade(prose))
    return Readability(grade, tuple(sentences))


def measure_all(bodies: list[tuple[str, int]], where: Path | None) -> list[Readability | None]:
    """The grade of each (text, first line), remembered in the parse cache in `where` by the
    text's digest, so that a check of unchanged bodies need not load textstat at all."""
    from importlib.metadata import version

    from pipeline import cache

    scorer = f"textstat={version('textstat')}"  # a new textstat may grade differently
    pack = cache.Pack(where, "readability") if where is not None else None
    measured: list[Readability | None] = []
    for text, first_line in bodies:
        key = cache.entry_key("readability", scorer, text, str(first_line))
        blob = pack.get(key) if pack is not None else None
        if blob is not None:
            result = cache.load(blob)
            assert result is None or isinstance(result, Readability)
        else:
            result = measure(text, first_line)
            if pack is not None:
                pack.put(key, cache.dump(result))
        measured.append(result)
    if pack is not None:
        pack.save()
    return measured
