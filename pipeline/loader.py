"""Loading: files on disk -> the typed model. Every problem met on the way becomes a diagnostic;
nothing here raises on bad content."""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline import paths
from pipeline.citations import BodyFacts, Citation, analyse
from pipeline.diagnostics import Diagnostic, diag
from pipeline.model import Board, FrontMatter, Publication, VariantFrontMatter
from pipeline.references import Library, ParsedFile, bib_files, combine, parse_file

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


def parse_yaml(text: str, first_line: int) -> YamlDoc:
    """Raises yaml.YAMLError (with a mark) on bad YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines = _node_lines(node, first_line) if node is not None else {(): first_line}
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


def schema_errors(
    model: type[BaseModel], doc: YamlDoc, code: str, file: str, what: str
) -> tuple[Any, list[Diagnostic]]:
    if not isinstance(doc.data, dict):
        return None, [diag(code, file, doc.line_of(()), f"{what} must be a mapping of fields.")]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        found = []
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function")
            )
            name = _plain_loc(loc) or "(top level)"
            if err["type"] == "missing":
                message = f"{what} has no `{name}` field; it is required."
            elif err["type"] == "extra_forbidden":
                allowed = ", ".join(_allowed_fields(model, loc[:-1]))
                message = f"`{name}` is not a known field of {what.lower()} (allowed: {allowed})."
            else:
                message = f"`{name}`: {err['msg']}."
            found.append(diag(code, file, doc.line_of(loc), message))
        return None, found


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


def read_text(path: Path, file: str) -> tuple[str | None, list[Diagnostic]]:
    try:
        size = path.stat().st_size
        if size > paths.MAX_ARTICLE_BYTES:
            return None, [
                diag(
                    "article.size",
                    file,
                    None,
                    f"This file is {size / 1_000_000:.1f} MB; an article may be at most "
                    f"{paths.MAX_ARTICLE_BYTES // 1_000_000} MB. Split it into several articles.",
                )
            ]
        data = path.read_bytes()
    except OSError as exc:
        return None, [
            diag("frontmatter.syntax", file, None, f"This file cannot be read ({exc.strerror}).")
        ]
    if b"\x00" in data:
        return None, [
            diag(
                "frontmatter.syntax", file, None, "This is a binary file, not a Markdown text file."
            )
        ]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return None, [diag("frontmatter.syntax", file, None, "This file is not UTF-8 text.")]


def load_article(
    path: Path, file: str, topic: str, slug: str, evidence: list[str]
) -> tuple[Article, list[Diagnostic]]:
    article = Article(id=f"{topic}/{slug}", topic=topic, slug=slug, file=file)
    text, found = read_text(path, file)
    if text is None:
        return article, found
    front, body, body_line = split_front_matter(text)
    # The body is read even when the front matter is broken, so its citations still count.
    article.bodies["default"] = Body(
        "default", file, None, body, body_line, analyse(body, body_line, evidence)
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
    path: Path, file: str, audience: str, evidence: list[str]
) -> tuple[Body | None, list[Diagnostic]]:
    text, found = read_text(path, file)
    if text is None:
        return None, found
    front, body, body_line = split_front_matter(text)
    title = title_line = None
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
            title = meta.title
            title_line = doc.lines.get(("title",))
    facts = analyse(body, body_line, evidence)
    return Body(audience, file, title, body, body_line, facts, title_line), []


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
    # The YAML of publication.yml and board.yml as read (for field lines), by file.
    settings_yaml: dict[str, YamlDoc] = field(default_factory=dict)
    policy: BodyFacts | None = None  # the editorial policy, parsed like a body

    def article(self, article_id: str) -> Article | None:
        return self.articles.get(article_id)


def load_settings(
    root: Path,
    file: str,
    model: type[BaseModel],
    what: str,
    docs: dict[str, YamlDoc] | None = None,
) -> tuple[Any, list[Diagnostic]]:
    path = root / file
    if not path.is_file():
        return None, [diag("config.syntax", file, None, f"{what} is missing: create {file}.")]
    text, found = read_text(path, file)
    if text is None:
        return None, [diag("config.syntax", d.file, d.line, d.message) for d in found]
    try:
        doc = parse_yaml(text, 1)
    except yaml.YAMLError as exc:
        return None, [yaml_error("config.syntax", file, 1, exc)]
    if docs is not None:
        docs[file] = doc
    return schema_errors(model, doc, "config.schema", file, what)


def _policy_facts(settings: Publication | None, doc: YamlDoc | None) -> BodyFacts | None:
    """The editorial policy is Markdown: parsed like a body, lines counted from its field."""
    if settings is None or doc is None:
        return None
    line = doc.lines.get(("editorial_policy",), 1)
    key_line = doc.text.split("\n")[line - 1] if line <= doc.text.count("\n") + 1 else ""
    block = re.search(r":\s*[|>][-+0-9]*\s*(#.*)?$", key_line)
    return analyse(settings.editorial_policy, line + 1 if block else line)


def _candidate_files(content: Path) -> Iterator[Path]:
    for path in sorted(content.rglob("*")):
        if path.suffix in paths.ARTICLE_SUFFIXES and (path.is_file() or path.is_symlink()):
            yield path


# Below this many files, parsing in one process is faster than starting workers.
PARALLEL_THRESHOLD = 400
_CHUNK = 250


def _load_mains(tasks: list[tuple[Path, str, str, str]], evidence: list[str]) -> list:
    return [load_article(path, file, topic, slug, evidence) for path, file, topic, slug in tasks]


def _load_variants(tasks: list[tuple[Path, str, str, str, str]], evidence: list[str]) -> list:
    return [load_variant(path, file, audience, evidence) for path, file, _, _, audience in tasks]


def _parse_all(
    mains: list[tuple[Path, str, str, str]],
    variants: list[tuple[Path, str, str, str, str]],
    bibs: list[tuple[Path, str]],
    evidence: list[str],
) -> tuple[list, list, list[ParsedFile]]:
    """Articles, variants and reference files, parsed on every core for large publications."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or len(mains) + len(variants) < PARALLEL_THRESHOLD:
        return (
            _load_mains(mains, evidence),
            _load_variants(variants, evidence),
            [parse_file(path, rel) for path, rel in bibs],
        )
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        bib_jobs = [pool.submit(parse_file, path, rel) for path, rel in bibs]
        main_jobs = [
            pool.submit(_load_mains, mains[i : i + _CHUNK], evidence)
            for i in range(0, len(mains), _CHUNK)
        ]
        variant_jobs = [
            pool.submit(_load_variants, variants[i : i + _CHUNK], evidence)
            for i in range(0, len(variants), _CHUNK)
        ]
        loaded_mains = [item for job in main_jobs for item in job.result()]
        loaded_variants = [item for job in variant_jobs for item in job.result()]
        parsed = [job.result() for job in bib_jobs]
    return loaded_mains, loaded_variants, parsed


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading builds many long-lived objects and no garbage; collecting meanwhile is waste."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(root: Path, today: dt.date | None = None) -> Project:
    with _gc_paused():
        return _load(root, today)


def _load(root: Path, today: dt.date | None) -> Project:
    root = root.resolve()
    if not root.is_dir():
        raise EnvironmentProblem(f"{root} is not a folder")
    content = root / paths.CONTENT
    if not content.is_dir():
        raise EnvironmentProblem(f"{root} has no content/ folder: is it a publication repository?")
    diagnostics: list[Diagnostic] = []
    settings_yaml: dict[str, YamlDoc] = {}
    settings, found = load_settings(
        root, paths.PUBLICATION_FILE, Publication, "The publication settings", settings_yaml
    )
    diagnostics += found
    board, found = load_settings(root, paths.BOARD_FILE, Board, "The board list", settings_yaml)
    diagnostics += found
    evidence = list(settings.review.evidence_sections) if settings else []
    audiences = {a.id for a in settings.audiences} if settings else set()
    default_audience = settings.default_audience.id if settings else "default"

    articles: dict[str, Article] = {}
    mains: list[tuple[Path, str, str, str]] = []
    seen_ids: dict[str, str] = {}
    variants: list[tuple[Path, str, str, str, str]] = []
    content_real = content.resolve()
    for path in _candidate_files(content):
        file = paths.rel(root, path)
        parts = path.relative_to(content).parts
        try:
            escapes = not path.resolve().is_relative_to(content_real)
        except OSError:
            escapes = True
        if escapes:
            diagnostics.append(
                diag(
                    "article.slug",
                    file,
                    None,
                    "This file links to a place outside content/; articles must live inside "
                    "content/.",
                )
            )
            continue
        stem_parts = path.name[: -len(path.suffix)].split(".")
        if (
            len(parts) != 2
            or not paths.NAME.match(parts[0])
            or not all(paths.NAME.match(p) for p in stem_parts)
            or len(stem_parts) > 2
        ):
            diagnostics.append(
                diag(
                    "article.slug",
                    file,
                    None,
                    "Articles live at content/<topic>/<slug>.md, where topic and slug use only "
                    "lowercase letters, digits and hyphens.",
                )
            )
            continue
        topic, slug = parts[0], stem_parts[0]
        if len(stem_parts) == 2:
            variants.append((path, file, topic, slug, stem_parts[1]))
            continue
        article_id = f"{topic}/{slug}"
        if article_id.lower() in seen_ids:
            diagnostics.append(
                diag(
                    "article.duplicate",
                    file,
                    None,
                    f"This article and {seen_ids[article_id.lower()]} both resolve to "
                    f"{article_id}.",
                )
            )
            continue
        seen_ids[article_id.lower()] = file
        mains.append((path, file, topic, slug))

    wanted_variants = []
    for path, file, topic, slug, audience in variants:
        if audience not in audiences:
            known = ", ".join(sorted(audiences)) or "none defined"
            diagnostics.append(
                diag(
                    "audience.unknown",
                    file,
                    None,
                    f"'{audience}' is not an audience in publication.yml (known: {known}).",
                )
            )
            continue
        if audience == default_audience:
            diagnostics.append(
                diag(
                    "article.duplicate",
                    file,
                    None,
                    f"'{audience}' is the default audience: its wording belongs in "
                    f"{topic}/{slug}.md.",
                )
            )
            continue
        if f"{topic}/{slug}".lower() not in seen_ids:
            diagnostics.append(
                diag(
                    "article.slug",
                    file,
                    None,
                    f"This audience variant has no main article {topic}/{slug}.md.",
                )
            )
            continue
        wanted_variants.append((path, file, topic, slug, audience))

    bibs = [(p, p.relative_to(root).as_posix()) for p in bib_files(root)]
    loaded_mains, loaded_variants, parsed_bibs = _parse_all(mains, wanted_variants, bibs, evidence)
    for article, found in loaded_mains:
        if article.bodies:
            article.bodies[default_audience] = article.bodies.pop("default")
            article.bodies[default_audience].audience = default_audience
        articles[article.id] = article
        diagnostics += found
    for (_, _file, topic, slug, audience), (body, found) in zip(
        wanted_variants, loaded_variants, strict=True
    ):
        article = articles[f"{topic}/{slug}"]
        diagnostics += found
        if body is not None and article.bodies:
            article.bodies[audience] = body

    library = combine(parsed_bibs)
    diagnostics += library.diagnostics
    return Project(
        root=root,
        settings=settings,
        board=board,
        articles=articles,
        library=library,
        diagnostics=diagnostics,
        today=today or dt.date.today(),
        settings_yaml=settings_yaml,
        policy=_policy_facts(settings, settings_yaml.get(paths.PUBLICATION_FILE)),
    )
