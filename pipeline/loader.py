"""Loading: files on disk -> the typed model. Every problem met on the way becomes a diagnostic;
nothing here raises on bad content."""

from __future__ import annotations

import datetime as dt
import functools
import gc
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline import cache, paths, signing
from pipeline.citations import BodyFacts, Citation, analyse
from pipeline.diagnostics import Diagnostic, closest, diag, did_you_mean
from pipeline.model import Board, FrontMatter, Publication, VariantFrontMatter
from pipeline.paths import SourceFile
from pipeline.references import Library, ParsedFile, combine, parse_text

DATE_FORMAT = "write dates as YYYY-MM-DD, for example 2024-03-15"

_FENCE = re.compile(r"^---[ \t]*$")


class EnvironmentProblem(Exception):
    """Not a content error: the root is not a publication (exit code 2)."""


@dataclass
class YamlDoc:
    data: Any
    lines: dict[tuple[Any, ...], int]  # line in the file of every key and item, by path
    text: str = ""  # the YAML text itself

    def line_of(self, loc: tuple[Any, ...]) -> int:
        """The file line of a field: the deepest part of a pydantic error location known."""
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, self.lines[()])


def _node_lines(node: yaml.Node, first_line: int) -> dict[tuple[Any, ...], int]:
    lines: dict[tuple[Any, ...], int] = {(): first_line + node.start_mark.line}
    stack: list[tuple[tuple[Any, ...], yaml.Node]] = [((), node)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[(*path, key.value)] = first_line + key.start_mark.line
                    stack.append(((*path, key.value), value))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines[(*path, index)] = first_line + item.start_mark.line
                stack.append(((*path, index), item))
    return lines


# Limits on what a YAML document may make, so no file can exhaust memory or the stack.
MAX_YAML_DEPTH = 20  # nested lists and mappings
MAX_ALIAS_NODES = 1_000  # values that aliases may add beyond those written out
MAX_INT_DIGITS = 30
_SAFE_COMPOSE_DEPTH = 1_000  # libyaml's composer recurses in C: deeper input is never composed
_NESTING_CHARS = "[{-?:"

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLimit(yaml.YAMLError):
    """A YAML document beyond one of the limits above, or a value no date or number can be."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys, impossible dates and numbers too long to be
    numbers with a located error instead of PyYAML's silence or ValueError."""

    first_line = 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                first = self.first_line + seen[key].start_mark.line
                again = self.first_line + key_node.start_mark.line
                raise YamlLimit(
                    f"the key `{key}` is given twice (lines {first} and {again}); keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise YamlLimit(
                f"a number of {digits} digits is too long (at most {MAX_INT_DIGITS}); "
                "put it in quotes if it is text",
                node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise YamlLimit(
                f"`{node.value}` is not a real date (check the month and the day; {DATE_FORMAT})",
                node.start_mark,
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


class _SiteLoader(_Loader):
    """The loader for mkdocs.yml: MkDocs' own tags (`!ENV`, `!relative`, `!!python/name:...`)
    are read as the plain value they are written with, never run."""

    def construct_tagged(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node)
        return self.construct_scalar(node)


_SiteLoader.add_constructor(None, _SiteLoader.construct_tagged)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_shape(node: yaml.Node) -> None:
    """Refuse nesting beyond MAX_YAML_DEPTH, aliases that refer to their own container, and
    aliases that expand to more than MAX_ALIAS_NODES extra values (a "billion laughs")."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (expanded size, depth)
    open_nodes: set[int] = set()
    cap = 10 * MAX_ALIAS_NODES + 1_000_000  # sizes saturate: a bomb's true size is astronomic
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        if done:
            kids = [sizes[id(k)] for k in _children(current)]
            size = min(cap, 1 + sum(k[0] for k in kids))
            depth = 1 + max((k[1] for k in kids), default=0)
            if depth > MAX_YAML_DEPTH:
                raise YamlLimit(
                    f"lists and mappings are nested more than {MAX_YAML_DEPTH} deep",
                    current.start_mark,
                )
            sizes[key] = (size, depth)
            open_nodes.discard(key)
            if size - len(sizes) > MAX_ALIAS_NODES:  # more values than distinct nodes so far
                raise _alias_limit(current)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlLimit(
                "an alias refers to the list or mapping it is part of", current.start_mark
            )
        open_nodes.add(key)
        stack.append((current, True))
        stack.extend((k, False) for k in _children(current) if id(k) not in sizes)
    if sizes[id(node)][0] - len(sizes) > MAX_ALIAS_NODES:
        raise _alias_limit(node)


def _alias_limit(node: yaml.Node) -> YamlLimit:
    return YamlLimit(
        f"aliases (`*name`) expand to more than {MAX_ALIAS_NODES} values; write the values "
        "out instead",
        node.start_mark,
    )


def _check_depth_before_composing(loader: Any, text: str) -> None:
    """libyaml composes recursively in C, so very deep input would crash the process: count
    the depth from the event stream first, whenever the text could be that deep at all."""
    if sum(text.count(c) for c in _NESTING_CHARS) < _SAFE_COMPOSE_DEPTH:
        return
    probe = _Loader(text)
    try:
        depth = 0
        while probe.check_event():
            event = probe.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise YamlLimit(
                        f"lists and mappings are nested more than {MAX_YAML_DEPTH} deep",
                        event.start_mark,
                    )
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    finally:
        probe.dispose()


def compose_yaml(text: str) -> yaml.Node | None:
    """The node graph of one YAML document within the limits, or a yaml.YAMLError."""
    _check_depth_before_composing(_Loader, text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    # Without an anchor (`&name`) there is no alias: the graph is a tree, and only its depth
    # can break a limit. check_shape then only runs to say where.
    if node is not None and ("&" in text or _deeper_than(node, MAX_YAML_DEPTH)):
        check_shape(node)
    return node


def _deeper_than(node: yaml.Node, limit: int) -> bool:
    """Whether a tree of nodes is nested more than `limit` deep (a scalar counts one)."""
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in current.value)
    return False


def construct_yaml(node: yaml.Node, first_line: int, loader_class: type = _Loader) -> Any:
    """The Python data of a composed document; a located yaml.YAMLError on a bad value."""
    loader = loader_class("")
    loader.first_line = first_line
    try:
        return loader.construct_document(node)
    except (ValueError, OverflowError, RecursionError) as exc:
        raise YamlLimit(f"a value cannot be read ({exc})", node.start_mark) from None
    finally:
        loader.dispose()


def parse_yaml(text: str, first_line: int, loader_class: type = _Loader) -> YamlDoc:
    """Raises yaml.YAMLError (with a mark) on bad YAML or YAML beyond the limits."""
    if loader_class is _Loader:
        doc = plain_yaml(text, first_line)
        if doc is not None:
            return doc
    node = compose_yaml(text)
    data = construct_yaml(node, first_line, loader_class) if node is not None else None
    lines = _node_lines(node, first_line) if node is not None else {(): first_line}
    return YamlDoc(data=data, lines=lines, text=text)


# --- plain front matter without libyaml ---------------------------------------------------------
# Front matter as editors write it (block mappings and lists of plain values) is read in Python,
# to exactly the YamlDoc libyaml and the constructors give; anything else goes to libyaml.

_PLAIN_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,99}):(?: +|$)")
_NOT_FIRST = set("-?:,[]{}#&*!|>'\"%@` ")  # indicators: a plain scalar never starts with one
_FLOW_NOT_IN = set(",[]{}:'\"")
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
}
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_DEPTH = 8  # containers; far below MAX_YAML_DEPTH, so no limit applies


class _NotPlain(Exception):
    """The front matter is outside the plain subset: libyaml reads it."""


def _plain_tag(value: str) -> str:
    """The tag the resolver gives a plain scalar (`BaseResolver.resolve`, without paths)."""
    resolvers = _Loader.yaml_implicit_resolvers
    for tag, regexp in resolvers.get(value[0] if value else "", []) + resolvers.get(None, []):
        if regexp.match(value):
            return tag
    return _STR_TAG


@functools.lru_cache(maxsize=1024)
def _text_key(key: str) -> bool:
    return _plain_tag(key) == _STR_TAG


_VALUES = _Loader("")  # the constructors of plain values read no parser state


class _PlainReader:
    """One front matter's rows (line number, indent, text) read into data and, per container,
    its key and item lines and its child containers, for lines in `_node_lines`' order."""

    def __init__(self, rows: list[tuple[int, int, str]], first_line: int) -> None:
        self.rows = rows
        self.first_line = first_line

    def scalar(self, value: str) -> Any:
        tag = _plain_tag(value)
        if tag == _STR_TAG:
            return value
        if tag not in _PLAIN_TAGS:
            raise _NotPlain
        try:
            return _Loader.yaml_constructors[tag](_VALUES, yaml.ScalarNode(tag, value))
        except Exception:  # the slow path says what is wrong, and where
            raise _NotPlain from None

    def inline(self, text: str, number: int, path: tuple, kids: list) -> Any:
        first = text[0]
        if first == "[":
            if text[-1] != "]" or len(path) >= _PLAIN_DEPTH:
                raise _NotPlain
            inner = text[1:-1].strip(" ")
            if not inner:
                return []
            items = []
            entries = []
            for index, part in enumerate(inner.split(",")):
                item = part.strip(" ")
                if not item or item[0] in _NOT_FIRST or not _FLOW_NOT_IN.isdisjoint(item):
                    raise _NotPlain
                items.append(self.scalar(item))
                entries.append(((*path, index), self.first_line + number))
            kids.append((entries, []))
            return items
        if first == '"' or first == "'":
            inner = text[1:-1]
            if len(text) < 2 or text[-1] != first or first in inner or "\\" in inner:
                raise _NotPlain
            return inner
        if first in _NOT_FIRST or ": " in text or text[-1] == ":":
            raise _NotPlain
        return self.scalar(text)

    def block(self, i: int, indent: int, path: tuple, kids: list) -> tuple[Any, int]:
        """The value of a key written on the lines after it (`indent`: the key's)."""
        if i == len(self.rows) or self.rows[i][1] < indent:
            return self.scalar(""), i
        _, col, text = self.rows[i]
        dash = text.startswith("- ")
        if col == indent and not dash:
            return self.scalar(""), i
        if dash:
            return self.sequence(i, col, path, kids)
        if _PLAIN_KEY.match(text):
            return self.mapping(i, col, path, kids)
        raise _NotPlain

    @staticmethod
    def _opened(path: tuple, kids: list) -> tuple[list, list]:
        """A new container's key or item lines and its child containers, listed in its
        parent's; a container deeper than the subset allows is not plain."""
        if len(path) >= _PLAIN_DEPTH:
            raise _NotPlain
        entries: list = []
        mine: list = []
        kids.append((entries, mine))
        return entries, mine

    def mapping(self, i: int, indent: int, path: tuple, kids: list) -> tuple[dict, int]:
        entries, mine = self._opened(path, kids)
        data: dict[str, Any] = {}
        rows = self.rows
        while i < len(rows):
            number, col, text = rows[i]
            if col < indent:
                break
            match = _PLAIN_KEY.match(text) if col == indent else None
            if match is None:
                raise _NotPlain
            key = match.group(1)
            if key in data or not _text_key(key):
                raise _NotPlain  # a second `key:` (the slow path names both lines), or not text
            here = (*path, key)
            entries.append((here, self.first_line + number))
            rest = text[match.end() :]
            if rest:
                data[key] = self.inline(rest, number, here, mine)
                i += 1
            else:
                data[key], i = self.block(i + 1, indent, here, mine)
        return data, i

    def sequence(self, i: int, indent: int, path: tuple, kids: list) -> tuple[list, int]:
        entries, mine = self._opened(path, kids)
        data: list[Any] = []
        rows = self.rows
        while i < len(rows):
            number, col, text = rows[i]
            if col < indent or (col == indent and not text.startswith("- ")):
                break  # the end of the list (a key after a list written at its key's indent)
            if col > indent:
                raise _NotPlain
            item = text[2:]
            here = (*path, len(data))
            entries.append((here, self.first_line + number))
            if item[0] == " " or item[0] == "-":
                raise _NotPlain
            if _PLAIN_KEY.match(item):
                rows[i] = (number, indent + 2, item)
                value, i = self.mapping(i, indent + 2, here, mine)
            else:
                value = self.inline(item, number, here, mine)
                i += 1
            data.append(value)
        return data, i


def plain_yaml(text: str, first_line: int) -> YamlDoc | None:
    """The YamlDoc `parse_yaml` gives, for front matter in a plain subset of YAML (block
    mappings of simple keys, block lists, one-line lists, plain or simply quoted one-line
    values); None for anything else."""
    if "#" in text or " \n" in text or text.endswith(" "):
        return None  # a comment, or spaces at the end of a line
    rows = []
    for number, line in enumerate(text.split("\n")):
        if not line:
            continue
        if not line.isprintable():
            return None
        stripped = line.lstrip(" ")
        rows.append((number, len(line) - len(stripped), stripped))
    if not rows:
        return YamlDoc(data=None, lines={(): first_line}, text=text)
    if rows[0][1] != 0:
        return None
    top: list = []
    try:
        data, end = _PlainReader(rows, first_line).mapping(0, 0, (), top)
    except _NotPlain:
        return None
    if end != len(rows):
        return None
    lines: dict[tuple[Any, ...], int] = {(): first_line + rows[0][0]}
    stack = top
    while stack:  # `_node_lines`' order: a container's lines, then its last child's first
        entries, kids = stack.pop()
        lines.update(entries)
        stack.extend(kids)
    return YamlDoc(data=data, lines=lines, text=text)


def yaml_error(code: str, file: str, first_line: int, exc: yaml.YAMLError) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = first_line + mark.line if mark is not None else first_line
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return diag(code, file, line, f"This is not valid YAML: {problem}.")


def _plain_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_DATE_ERRORS = ("date_", "datetime_")
_UNION_DATE_TAGS = ("date", "datetime")  # pydantic names the member of `datetime | date`


def _error_loc(err: Any) -> tuple[Any, ...]:
    loc = tuple(p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function"))
    if (
        err["type"].startswith(_DATE_ERRORS)
        and len(loc) > 1
        and loc[-1] in _UNION_DATE_TAGS
        and isinstance(loc[-2], str)
    ):
        loc = loc[:-1]  # one error for the field, not one per member of the union
    return loc


def _value_message(name: str, err: Any) -> str:
    if err["type"].startswith(_DATE_ERRORS):
        return f"`{name}` is not a valid date (`{err['input']}`): {DATE_FORMAT}."
    message = f"`{name}`: {err['msg']}."
    if err["type"] == "literal_error" and isinstance(err.get("input"), str):
        allowed = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        message += did_you_mean(err["input"], allowed)
    return message


def schema_errors(
    model: type[BaseModel], doc: YamlDoc, code: str, file: str, what: str
) -> tuple[Any, list[Diagnostic]]:
    if not isinstance(doc.data, dict):
        return None, [diag(code, file, doc.line_of(()), f"{what} must be a mapping of fields.")]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        errors = [(err, _error_loc(err)) for err in exc.errors()]
    typos = {loc: _typo_of(model, loc) for err, loc in errors if err["type"] == "extra_forbidden"}
    meant = {(*loc[:-1], typo) for loc, typo in typos.items() if typo is not None}
    found: dict[tuple[int, str], Diagnostic] = {}
    for err, loc in errors:
        name = _plain_loc(loc) or "(top level)"
        if err["type"] == "missing":
            if loc in meant:
                continue  # the unknown field that is its typo says so: one typo, one diagnostic
            message = f"{what} has no `{name}` field; it is required."
        elif err["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_fields(model, loc[:-1]))
            message = f"`{name}` is not a known field of {what.lower()} (allowed: {allowed})."
            if typos[loc] is not None:
                message += f" Did you mean `{typos[loc]}`?"
        else:
            message = _value_message(name, err)
        line = doc.line_of(loc)
        found.setdefault((line, message), diag(code, file, line, message))
    return None, list(found.values())


def _typo_of(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    return closest(str(loc[-1]), _allowed_fields(model, loc[:-1]))


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if info is None:
            break
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in args if hasattr(a, "model_fields")), annotation)
    return list(getattr(current, "model_fields", {}))


# --- articles -------------------------------------------------------------------------------


@dataclass
class Body:
    audience: str
    file: str
    title: str | None
    text: str
    first_line: int
    facts: BodyFacts
    title_line: int | None = None  # line of a variant's `title` field
    question: str | None = None  # a variant's own wording of the question


_VALIDATED = "front matter valid: validated again when unpickled"


@dataclass
class Article:
    id: str
    topic: str
    slug: str
    file: str
    meta: FrontMatter | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    yaml: YamlDoc | None = None
    bodies: dict[str, Body] = field(default_factory=dict)
    revision: str | None = None  # the commit, for an article loaded from Git history
    library: Library | None = None  # the references as of that commit

    def cited_keys(self) -> set[str]:
        return {key for body in self.bodies.values() for key in body.facts.numbers}

    def __getstate__(self) -> dict[str, Any]:
        # `meta` is the validation of `raw`, which nothing changes once loaded: it is made
        # again on unpickling (cheaper than pickling and unpickling the model), never kept.
        state = dict(self.__dict__)
        if state["meta"] is not None:
            state["meta"] = _VALIDATED
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["meta"] == _VALIDATED:
            state["meta"] = FrontMatter.model_validate(state["raw"])
        self.__dict__.update(state)

    def line_of(self, *loc: Any) -> int | None:
        return self.yaml.line_of(loc) if self.yaml else None

    def citations(self) -> Iterator[Citation]:
        for body in self.bodies.values():
            yield from body.facts.citations


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter text or None, body, line of the body's first line)."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0].rstrip("\r")):
        return None, text, 1
    for i in range(1, len(lines)):
        if _FENCE.match(lines[i].rstrip("\r")):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return None, text, 1


def load_article(
    root: Path, file: str, topic: str, slug: str, evidence: list[str]
) -> tuple[Article, list[Diagnostic]]:
    data, found = paths.read_source_bytes(root, file)
    if data is None:
        return Article(id=f"{topic}/{slug}", topic=topic, slug=slug, file=file), found
    return article_from_bytes(data, file, topic, slug, evidence)


def article_from_bytes(
    data: bytes, file: str, topic: str, slug: str, evidence: list[str], html: bool = True
) -> tuple[Article, list[Diagnostic]]:
    """An article from the bytes of its file: a pure function of its arguments (the parse
    cache relies on it; `html`, whether its body's HTML is made now, changes only when)."""
    article = Article(id=f"{topic}/{slug}", topic=topic, slug=slug, file=file)
    text, found = paths.decode_source(data, file)
    if text is None:
        return article, found
    front, body, body_line = split_front_matter(text)
    # The body is read even when the front matter is broken, so its citations still count.
    article.bodies["default"] = Body(
        "default", file, None, body, body_line, analyse(body, body_line, evidence, html)
    )
    if front is None:
        return article, [
            diag(
                "frontmatter.syntax",
                file,
                1,
                "The article has no front matter: it must start with a line `---`, then YAML "
                "fields, then another `---` line.",
            )
        ]
    try:
        doc = parse_yaml(front, 2)
    except yaml.YAMLError as exc:
        return article, [yaml_error("frontmatter.syntax", file, 2, exc)]
    article.yaml = doc
    article.raw = doc.data if isinstance(doc.data, dict) else {}
    article.meta, found = schema_errors(
        FrontMatter, doc, "frontmatter.schema", file, "The front matter"
    )
    article.bodies["default"].title = article.meta.title if article.meta else None
    return article, found


def load_variant(
    root: Path, file: str, audience: str, evidence: list[str]
) -> tuple[Body | None, list[Diagnostic]]:
    data, found = paths.read_source_bytes(root, file)
    if data is None:
        return None, found
    return variant_from_bytes(data, file, audience, evidence)


def variant_from_bytes(
    data: bytes, file: str, audience: str, evidence: list[str], html: bool = True
) -> tuple[Body | None, list[Diagnostic]]:
    """An audience variant from the bytes of its file (pure, like `article_from_bytes`)."""
    text, found = paths.decode_source(data, file)
    if text is None:
        return None, found
    front, body, body_line = split_front_matter(text)
    title = title_line = question = None
    if front is not None:
        try:
            doc = parse_yaml(front, 2)
        except yaml.YAMLError as exc:
            return None, [yaml_error("frontmatter.syntax", file, 2, exc)]
        if doc.data is not None:
            meta, found = schema_errors(
                VariantFrontMatter,
                doc,
                "frontmatter.schema",
                file,
                "An audience variant's front matter",
            )
            if meta is None:
                return None, found
            title, question = meta.title, meta.question
            title_line = doc.lines.get(("title",))
    facts = analyse(body, body_line, evidence, html)
    return Body(audience, file, title, body, body_line, facts, title_line, question), []


# --- the whole publication --------------------------------------------------------------------


@dataclass
class Project:
    """A publication repository, loaded."""

    root: Path
    settings: Publication | None
    board: Board | None
    articles: dict[str, Article]
    library: Library
    diagnostics: list[Diagnostic]
    today: dt.date
    memo: dict[str, Any] = field(default_factory=dict)  # per-run results, e.g. approval states
    cache_folder: Path | None = None  # this machine's parse cache, when it is used
    # Each file's parse cache key (its bytes, path, kind, what its parse read, the code).
    source_keys: dict[str, bytes] = field(default_factory=dict)
    # The YAML of publication.yml and board.yml as read (for field lines), by file.
    settings_yaml: dict[str, YamlDoc] = field(default_factory=dict)
    policy: BodyFacts | None = None  # the editorial policy, parsed like a body
    config_failed: bool = False  # a configuration file is invalid, so no content was read
    # What reading and parsing each article and variant file found, by article id and file (in
    # `diagnostics` too): for keeping each article's findings apart (pipeline/checkcache.py).
    source_findings: dict[str, dict[str, list[Diagnostic]]] = field(default_factory=dict)
    surveyed: Survey | None = None  # what a whole load was made of (its scan), for kept parts

    def article(self, article_id: str) -> Article | None:
        return self.articles.get(article_id)


def load_settings(
    root: Path,
    file: str,
    model: type[BaseModel],
    what: str,
    docs: dict[str, YamlDoc] | None = None,
) -> tuple[Any, list[Diagnostic]]:
    settings, found, doc = _read_settings(root, file, model, what)
    if docs is not None and doc is not None:
        docs[file] = doc
    return settings, found


def _read_settings(
    root: Path, file: str, model: type[BaseModel], what: str
) -> tuple[Any, list[Diagnostic], YamlDoc | None]:
    if not os.path.lexists(root / file):
        return None, [diag("config.syntax", file, None, f"{what} is missing: create {file}.")], None
    text, found = paths.read_source(root, file)
    if text is None:
        return None, found, None
    try:
        doc = parse_yaml(text, 1)
    except yaml.YAMLError as exc:
        return None, [yaml_error("config.syntax", file, 1, exc)], None
    settings, found = schema_errors(model, doc, "config.schema", file, what)
    return settings, found, doc


def _audience_disclaimers(settings: Publication, doc: YamlDoc) -> Iterator[Diagnostic]:
    for index, audience in enumerate(settings.audiences):
        if audience.disclaimer not in settings.disclaimers:
            known = ", ".join(sorted(settings.disclaimers)) or "none"
            yield diag(
                "disclaimer.unknown",
                paths.PUBLICATION_FILE,
                doc.line_of(("audiences", index, "disclaimer")),
                f"Audience '{audience.id}' (audiences[{index}]) names the disclaimer "
                f"'{audience.disclaimer}', which is not under `disclaimers` (known: {known})."
                + did_you_mean(audience.disclaimer, settings.disclaimers),
            )


def check_site_config(root: Path) -> list[Diagnostic]:
    """mkdocs.yml is YAML (MkDocs' tags allowed) with a `site_name`; MkDocs checks the rest
    when it builds."""
    file = paths.MKDOCS_FILE
    if not os.path.lexists(root / file):
        message = f"The site configuration is missing: create {file} with a `site_name`."
        return [diag("config.syntax", file, None, message)]
    text, found = paths.read_source(root, file)
    if text is None:
        return found
    try:
        doc = parse_yaml(text, 1, _SiteLoader)
    except yaml.YAMLError as exc:
        return [yaml_error("config.syntax", file, 1, exc)]
    if not isinstance(doc.data, dict):
        message = "The site configuration must be a mapping of settings such as `site_name`."
        return [diag("config.schema", file, doc.line_of(()), message)]
    name = doc.data.get("site_name")
    if "site_name" not in doc.data:
        typo = closest("site_name", [k for k in doc.data if isinstance(k, str)])
        if typo is not None:
            message = f"`{typo}` is not a MkDocs setting. Did you mean `site_name`?"
            return [diag("config.schema", file, doc.line_of((typo,)), message)]
        message = "The site configuration has no `site_name`: add one, e.g. `site_name: Notes`."
        return [diag("config.schema", file, doc.line_of(()), message)]
    if not isinstance(name, str) or not name.strip():
        message = "`site_name` must be text: the name of the site, e.g. `site_name: Notes`."
        return [diag("config.schema", file, doc.line_of(("site_name",)), message)]
    return []


def load_config(
    root: Path, site_config: bool = True, docs: dict[str, YamlDoc] | None = None
) -> tuple[Publication | None, Board | None, list[Diagnostic]]:
    """The settings and the board, and every problem with them or with mkdocs.yml; `docs`
    receives their YAML (for field lines)."""
    settings, found, doc = _read_settings(
        root, paths.PUBLICATION_FILE, Publication, "The publication settings"
    )
    if docs is not None and doc is not None:
        docs[paths.PUBLICATION_FILE] = doc
    if settings is not None and doc is not None:
        found += _audience_disclaimers(settings, doc)
    board, more = load_settings(root, paths.BOARD_FILE, Board, "The board list", docs)
    found += more
    if site_config:
        found += check_site_config(root)
    return settings, board, found


def _policy_facts(settings: Publication | None, doc: YamlDoc | None) -> BodyFacts | None:
    """The editorial policy is Markdown: parsed like a body, lines counted from its field."""
    if settings is None or doc is None:
        return None
    line = doc.lines.get(("editorial_policy",), 1)
    key_line = doc.text.split("\n")[line - 1] if line <= doc.text.count("\n") + 1 else ""
    block = re.search(r":\s*[|>][-+0-9]*\s*(#.*)?$", key_line)
    return analyse(settings.editorial_policy, line + 1 if block else line)


# Below this many files to parse, parsing in one process is faster than starting workers,
# unless they hold this many bytes of references (a reference file is parsed by one worker).
PARALLEL_THRESHOLD = 400
PARALLEL_REFERENCE_BYTES = 512 * 1024
_CHUNK = 250


@dataclass(frozen=True)
class _Job:
    """One source file to make something of: its bytes as read, and its parse cache key."""

    source: SourceFile
    data: bytes
    key: bytes


def _parse(source: SourceFile, data: bytes, evidence: list[str], html: bool = True) -> Any:
    """What the loader makes of one source file's bytes (pure: cacheable by their digest;
    `html` says only whether a body's HTML is made now or when a page asks)."""
    if source.kind == "article":
        topic, slug = (source.article_id or "").split("/")
        return article_from_bytes(data, source.path, topic, slug, evidence, html)
    if source.kind == "variant":
        return variant_from_bytes(data, source.path, source.audience or "", evidence, html)
    text, found = paths.decode_source(data, source.path)
    if text is None:
        return ParsedFile(source.path, [], [], found)
    return parse_text(text, source.path)


def _unread(source: SourceFile, found: list[Diagnostic]) -> Any:
    """What a file that could not be read at all stands for (never cached)."""
    if source.kind == "article":
        topic, slug = (source.article_id or "").split("/")
        return Article(id=source.article_id or "", topic=topic, slug=slug, file=source.path), found
    if source.kind == "variant":
        return None, found
    return ParsedFile(source.path, [], [], found)


def _forget_verdicts() -> None:
    from pipeline.approval import forget_verdicts  # approval builds on this module

    forget_verdicts()


def _verify_reviews(settings: Publication | None, board: Board | None, articles: list) -> None:
    """Verify the signed review records of these articles now, so that the verdicts are known
    (to `signing`) before any check asks: in the worker that parsed them, on every core."""
    if settings is None or board is None:
        return
    from pipeline.approval import record_verdict  # the one decision of what a record's
    # signature must be; imported here because approval builds on this module

    for article in articles:
        if isinstance(article, Article) and article.meta is not None:
            for record in article.meta.reviews:
                record_verdict(settings, board, article.id, record)


def _parse_chunk(
    jobs: list[tuple[SourceFile, bytes]],
    evidence: list[str],
    settings: Publication | None,
    board: Board | None,
    html: bool = True,
) -> tuple[list[bytes], dict[bytes, signing.Verdict]]:
    """In a worker: each file parsed and pickled (for the parent and the cache alike, each
    reference with what fingerprints read of it), and the verdicts on the signatures of the
    articles among them."""
    signing.forget_use()
    results = [_parse(source, data, evidence, html) for source, data in jobs]
    _verify_reviews(settings, board, [r[0] for r in results if isinstance(r, tuple)])
    for result in results:
        if isinstance(result, ParsedFile):  # what fingerprints read of each, made once here
            for reference in result.references:
                reference.shown_json()
    return [cache.dump(result) for result in results], signing.known_verdicts(used_only=True)


def _parse_all(
    root: Path,
    sources: list[SourceFile],
    evidence: list[str],
    settings: Publication | None = None,
    board: Board | None = None,
    where: Path | None = None,
    keys: dict[str, bytes] | None = None,
    read: dict[str, tuple[bytes | None, list[Diagnostic], bytes | None]] | None = None,
    html: bool = True,
    pack: cache.Pack | None = None,
) -> list:
    """What each source file stands for, in order: from the parse cache in `where` when its
    bytes (and the code, and the evidence sections) are unchanged, else parsed, on every core
    for many. `read` holds files a caller read already, with their parse keys (pipeline check,
    pipeline/checkcache.py), taken from it as they are used. `html`: whether bodies' HTML is
    made while parsing (for pages; a check needs none). A cached entry is used either way: it
    holds the HTML or not, and `BodyFacts.html` makes what it lacks. `pack`: the parse
    cache's pack of a caller that saves it itself, used instead of the one in `where`."""
    own = pack is None
    if own and where is not None:
        pack = cache.Pack(where, "sources")
    results: list[Any] = [None] * len(sources)
    workers = min(os.cpu_count() or 1, 8)
    # With nothing to look up, workers start on the first files while the rest are read.
    nothing_cached = pack is None or not pack.entries
    pool = None
    if workers >= 2 and len(sources) >= PARALLEL_THRESHOLD and nothing_cached:
        pool = _Workers(workers, evidence, settings, board, html)
    misses: list[tuple[int, _Job]] = []
    # Reference files first: they are the largest tasks.
    order = sorted(range(len(sources)), key=lambda i: sources[i].kind != "references")
    folders: set[str] = set()
    for index in order:
        source = sources[index]
        known = read.pop(source.path, None) if read is not None else None
        if known is not None:
            data, found, key = known
        else:
            data, found = paths.read_source_bytes(root, source.path, folders)
            key = None
        if data is None:
            results[index] = _unread(source, found)
            continue
        key = key or cache.parse_key(source, data, evidence)
        if keys is not None:
            keys[source.path] = key
        blob = pack.get(key) if pack is not None else None
        if blob is not None:
            try:
                results[index] = cache.load(blob)
                continue
            except Exception:  # noqa: BLE001 - an entry this code cannot read: parse again
                pass
        job = _Job(source, data, key)
        if pool is not None:
            pool.add(job)
            job = _Job(source, b"", key)  # the workers have the bytes: keep no second copy
        misses.append((index, job))
    references = sum(len(job.data) for _, job in misses if job.source.kind == "references")
    many = len(misses) >= PARALLEL_THRESHOLD or (
        len(misses) >= 2 and references >= PARALLEL_REFERENCE_BYTES
    )
    if pool is None and workers >= 2 and many:
        pool = _Workers(workers, evidence, settings, board, html)
        for _, job in misses:
            pool.add(job)
    if pool is not None:
        parsed = pool.results()
    else:
        parsed = [_parse(job.source, job.data, evidence, html) for _, job in misses]
    for (index, job), result in zip(misses, parsed, strict=True):
        if isinstance(result, _Parsed):
            results[index] = result.value
            if pack is not None:
                pack.put(job.key, result.blob)
        else:
            results[index] = result
            if pack is not None:
                pack.put(job.key, cache.dump(result))
    if pack is not None and own:
        pack.save()
    return results


@dataclass(frozen=True)
class _Parsed:
    blob: bytes  # a result pickled by a worker: for the cache
    value: Any  # the same, unpickled here


class _Workers:
    """Worker processes that parse jobs as they are added: each reference file alone, articles
    and variants in chunks."""

    def __init__(
        self,
        workers: int,
        evidence: list[str],
        settings: Publication | None,
        board: Board | None,
        html: bool = True,
    ) -> None:
        import multiprocessing  # imported here: most runs parse too little to start workers
        from concurrent.futures import ProcessPoolExecutor

        cache.code_version()  # computed once, before the workers fork
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self.args = (evidence, settings, board, html)
        self.chunk: list[_Job] = []
        self.added: list[str] = []
        self.submitted: list[tuple[list[_Job], Any]] = []

    def add(self, job: _Job) -> None:
        self.added.append(job.source.path)
        if job.source.kind == "references":
            self._submit([job])
            return
        self.chunk.append(job)
        if len(self.chunk) >= _CHUNK:
            self._submit(self.chunk)
            self.chunk = []

    def _submit(self, jobs: list[_Job]) -> None:
        work = [(job.source, job.data) for job in jobs]
        self.submitted.append((jobs, self.pool.submit(_parse_chunk, work, *self.args)))

    def results(self) -> list[_Parsed]:
        """Every job's result, in the order added; each unpickled as soon as its worker is
        done, while the workers parse the rest."""
        if self.chunk:
            self._submit(self.chunk)
            self.chunk = []
        by_path: dict[str, _Parsed] = {}
        with self.pool:
            for jobs, future in self.submitted:
                blobs, verdicts = future.result()
                signing.remember(verdicts)
                for job, blob in zip(jobs, blobs, strict=True):
                    by_path[job.source.path] = _Parsed(blob, cache.load(blob))
        return [by_path[path] for path in self.added]


def _recall_verdicts(where: Path | None) -> cache.Pack | None:
    """This machine's verdicts on signatures it verified before, made known to `signing`."""
    if where is None:
        return None
    pack = cache.Pack(where, "verdicts")
    known = {}
    for key, value in pack.entries.items():
        try:
            known[key] = signing.Verdict(value.decode("ascii"))
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue
    signing.remember(known)
    return pack


def _keep_verdicts(
    pack: cache.Pack | None, verdicts: dict[bytes, signing.Verdict] | None = None
) -> None:
    """Keep the verdicts this load asked for (or `verdicts`, those its workers asked for),
    and no others, for the next run."""
    if pack is None:
        return
    if verdicts is None:
        verdicts = signing.known_verdicts(used_only=True)
    for key, verdict in verdicts.items():
        if pack.entries.get(key) == verdict.value.encode("ascii"):
            pack.get(key)
        else:
            pack.put(key, verdict.value.encode("ascii"))
    pack.save()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading builds many long-lived objects and no garbage; collecting meanwhile is waste,
    and so is scanning them again and again afterwards: once loaded they are frozen out of the
    collector's view (they are still freed when nothing refers to them any more)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _wanted_variants(
    sources: list[SourceFile], main_ids: set[str], audiences: set[str], default_audience: str
) -> tuple[list[SourceFile], list[Diagnostic]]:
    """The audience variants to load: of a known, non-default audience, with a main article."""
    wanted, found = [], []
    for source in sources:
        if source.kind != "variant":
            continue
        topic, slug = source.article_id.split("/")
        if source.audience not in audiences:
            known = ", ".join(sorted(audiences)) or "none defined"
            message = f"'{source.audience}' is not an audience in publication.yml (known: {known})."
            message += did_you_mean(source.audience, audiences, f"`{slug}.{{}}.md`")
            found.append(diag("audience.unknown", source.path, None, message))
        elif source.audience == default_audience:
            message = (
                f"'{source.audience}' is the default audience: its wording belongs in "
                f"{topic}/{slug}.md."
            )
            found.append(diag("article.duplicate", source.path, None, message))
        elif source.article_id not in main_ids:
            message = f"This audience variant has no main article {topic}/{slug}.md."
            found.append(diag("article.slug", source.path, None, message))
        else:
            wanted.append(source)
    return wanted, found


def _assemble(
    loaded: list,
    mains: list[SourceFile],
    variants: list[SourceFile],
    default_audience: str,
    diagnostics: list[Diagnostic],
    by_file: dict[str, dict[str, list[Diagnostic]]] | None = None,
) -> dict[str, Article]:
    """The articles made of their parsed main files and audience variants (`loaded` in that
    order); each file's findings are added to `diagnostics` (and kept by file in `by_file`)."""
    articles: dict[str, Article] = {}
    by_file = {} if by_file is None else by_file
    for source, (article, found) in zip(mains, loaded[: len(mains)], strict=True):
        if article.bodies:
            article.bodies[default_audience] = article.bodies.pop("default")
            article.bodies[default_audience].audience = default_audience
        articles[article.id] = article
        diagnostics += found
        by_file.setdefault(source.article_id or "", {})[source.path] = found
    parsed_variants = loaded[len(mains) : len(mains) + len(variants)]
    for source, (body, found) in zip(variants, parsed_variants, strict=True):
        article = articles[source.article_id]
        diagnostics += found
        by_file.setdefault(source.article_id or "", {})[source.path] = found
        if body is not None and article.bodies:
            article.bodies[source.audience] = body
    return articles


def load_one(project: Project, article_id: str) -> Project:
    """One article read again from disk, for a live preview that shows a saved edit first:
    the project as `project` loaded it (references, settings, the other articles) but for this
    article's own files, which the caller knows are the only ones changed. The result holds
    the re-read article and the articles it names as related (what its page shows of them),
    with the diagnostics of the scan and of its files; the parse cache is neither read nor
    written (its packs keep what whole loads use)."""
    settings, board = project.settings, project.board
    assert settings is not None and board is not None and not project.config_failed
    sources, diagnostics = paths.scan_sources(project.root)
    mine = [s for s in sources if s.article_id == article_id]
    mains = [s for s in mine if s.kind == "article"]
    if len(mains) != 1:
        raise KeyError(f"{article_id} has no main article file")
    audiences = {a.id for a in settings.audiences}
    variants, found = _wanted_variants(mine, {article_id}, audiences, settings.default_audience.id)
    diagnostics += found
    evidence = list(settings.review.evidence_sections)
    keys = dict(project.source_keys)
    loaded = _parse_all(project.root, [*mains, *variants], evidence, settings, board, None, keys)
    articles = _assemble(loaded, mains, variants, settings.default_audience.id, diagnostics)
    article = articles[article_id]
    related = article.meta.related if article.meta is not None else []
    for other in related:
        if other in project.articles and other not in articles:
            articles[other] = project.articles[other]
    _verify_reviews(settings, board, [article])
    return replace(
        project,
        articles=articles,
        diagnostics=diagnostics,
        memo={k: v for k, v in project.memo.items() if k in ("has_history", "commits_by_file")},
        cache_folder=None,
        source_keys=keys,
    )


def load(
    root: Path,
    today: dt.date | None = None,
    site_config: bool = True,
    use_cache: bool = True,
    surveyed: Survey | None = None,
    html: bool = True,
) -> Project:
    """The publication at `root`. Its configuration comes first: when publication.yml,
    board.yml or (unless `site_config` is false, as for a Git snapshot of one article)
    mkdocs.yml is invalid, no content is read and the project holds only their problems.
    Unchanged files come from the parse cache (pipeline/cache.py) unless `use_cache` is false
    or PIPELINE_NO_CACHE=1. `surveyed` is what `survey` read of it already (with the same
    arguments), so that no file is read twice. `html` false: bodies' HTML is not made while
    parsing (a check reads none; a page still gets it, made when asked)."""
    with _gc_paused():
        return _load(surveyed or survey(root, today, site_config, use_cache), html)


@dataclass
class Survey:
    """What a load reads before it parses anything: the configuration and the scan, and the
    source files a caller has read already."""

    root: Path
    today: dt.date
    settings: Publication | None
    board: Board | None
    diagnostics: list[Diagnostic]  # of the configuration, the scan and the variants' names
    settings_yaml: dict[str, YamlDoc]
    scanned: list[SourceFile] = field(default_factory=list)  # every source file found
    mains: list[SourceFile] = field(default_factory=list)
    variants: list[SourceFile] = field(default_factory=list)  # the variants to load
    bibs: list[SourceFile] = field(default_factory=list)
    where: Path | None = None  # the parse cache folder, when it is used
    scan_problems: list[Diagnostic] = field(default_factory=list)  # the scan's own findings
    # Source files a caller read already (pipeline/checkcache.py), used instead of reading:
    # path -> (bytes or None, problems reading it, parse key or None).
    read: dict[str, tuple[bytes | None, list[Diagnostic], bytes | None]] = field(
        default_factory=dict
    )
    config_failed: bool = False  # a configuration file is invalid: no content is read


def survey(
    root: Path,
    today: dt.date | None = None,
    site_config: bool = True,
    use_cache: bool = True,
    scan: tuple[list[SourceFile], list[Diagnostic]] | None = None,
) -> Survey:
    """The first half of `load`: the configuration and the scan (`scan`, when the caller has
    just made it), nothing parsed but the configuration."""
    root = root.resolve()
    if not root.is_dir():
        raise EnvironmentProblem(f"{root} is not a folder")
    content = root / paths.CONTENT
    if not content.is_dir():
        raise EnvironmentProblem(f"{root} has no content/ folder: is it a publication repository?")
    today = today or dt.datetime.now(dt.UTC).date()
    settings_yaml: dict[str, YamlDoc] = {}
    settings, board, diagnostics = load_config(root, site_config, settings_yaml)
    found = Survey(root, today, settings, board, diagnostics, settings_yaml)
    if settings is None or board is None or diagnostics:
        found.config_failed = True
        return found
    audiences = {a.id for a in settings.audiences}
    sources, problems = scan or paths.scan_sources(root)
    diagnostics += problems
    found.scanned, found.scan_problems = sources, problems
    found.mains = [s for s in sources if s.kind == "article"]
    main_ids = {s.article_id for s in found.mains}
    found.variants, problems = _wanted_variants(
        sources, main_ids, audiences, settings.default_audience.id
    )
    diagnostics += problems
    found.bibs = [s for s in sources if s.kind == "references"]
    found.where = cache.folder(root) if use_cache else None
    return found


def _load(surveyed: Survey, html: bool = True) -> Project:
    root, today, settings, board = surveyed.root, surveyed.today, surveyed.settings, surveyed.board
    diagnostics = list(surveyed.diagnostics)
    if surveyed.config_failed:
        return Project(root, settings, board, {}, Library(), diagnostics, today, config_failed=True)
    assert settings is not None and board is not None
    evidence = list(settings.review.evidence_sections)
    default_audience = settings.default_audience.id
    mains, variants, bibs, where = surveyed.mains, surveyed.variants, surveyed.bibs, surveyed.where
    settings_yaml = surveyed.settings_yaml
    verdicts = _recall_verdicts(where)
    keys: dict[str, bytes] = {}
    sources = [*mains, *variants, *bibs]
    read, surveyed.read = surveyed.read, {}  # emptied as files are parsed: one copy of bytes
    loaded = _parse_all(root, sources, evidence, settings, board, where, keys, read, html)
    by_file: dict[str, dict[str, list[Diagnostic]]] = {}
    articles = _assemble(loaded, mains, variants, default_audience, diagnostics, by_file)
    parsed_bibs = loaded[len(mains) + len(variants) :]
    library = combine(parsed_bibs)
    diagnostics += library.diagnostics
    # Every signature verified now (known already for those parsed in workers or cached), so
    # that the verdicts this run needs are the ones kept.
    signing.forget_use()
    _forget_verdicts()  # the last load's records are asked about no more
    _verify_reviews(settings, board, list(articles.values()))
    _keep_verdicts(verdicts)
    return Project(
        root=root,
        settings=settings,
        board=board,
        articles=articles,
        library=library,
        diagnostics=diagnostics,
        today=today,
        settings_yaml=settings_yaml,
        policy=_policy_facts(settings, settings_yaml.get(paths.PUBLICATION_FILE)),
        cache_folder=where,
        source_keys=keys if where is not None else {},
        source_findings=by_file,
        surveyed=surveyed,
    )


def load_articles(surveyed: Survey, article_ids: set[str]) -> Project:
    """Only these articles of a surveyed publication (their main files and variants, from the
    bytes the survey's caller read where it did), their signatures verified: for a check that
    kept every other article's findings (pipeline/checkcache.py). The project's `diagnostics`
    are only these files' own; its library is empty (the caller gives it the references these
    articles look up). No parsed file is taken from the cache or kept in it; the verdicts on
    signatures are (those of the other articles kept as they are)."""
    settings, board = surveyed.settings, surveyed.board
    assert settings is not None and board is not None and not surveyed.config_failed
    mains = [s for s in surveyed.mains if s.article_id in article_ids]
    variants = [s for s in surveyed.variants if s.article_id in article_ids]
    evidence = list(settings.review.evidence_sections)
    keys: dict[str, bytes] = {}
    read = {s.path: surveyed.read[s.path] for s in [*mains, *variants] if s.path in surveyed.read}
    with _gc_paused():
        loaded = _parse_all(
            surveyed.root, [*mains, *variants], evidence, settings, board, None, keys, read, False
        )
        diagnostics: list[Diagnostic] = []
        by_file: dict[str, dict[str, list[Diagnostic]]] = {}
        default_audience = settings.default_audience.id
        articles = _assemble(loaded, mains, variants, default_audience, diagnostics, by_file)
        verdicts = _recall_verdicts(surveyed.where)
        signing.forget_use()
        _verify_reviews(settings, board, list(articles.values()))
        with cache.keeping_unused():
            _keep_verdicts(verdicts)
    return Project(
        root=surveyed.root,
        settings=settings,
        board=board,
        articles=articles,
        library=Library(),
        diagnostics=diagnostics,
        today=surveyed.today,
        settings_yaml=surveyed.settings_yaml,
        policy=_policy_facts(settings, surveyed.settings_yaml.get(paths.PUBLICATION_FILE)),
        source_keys=keys,
        source_findings=by_file,
    )
