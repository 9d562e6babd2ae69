"""A whole `pipeline check`, remembered: when every input of a check is what the last check on
this machine read, its diagnostics are reported again without parsing or unpickling any source
file or running any rule.

The inputs are the date (review dates fall due), the root, the settings, board and mkdocs.yml
bytes, the code (`cache.code_version`: every pipeline file, Python and the libraries it calls),
the scanned paths and the scan's own findings, and every article, variant and reference file's
parse cache key. The checks read nothing else: no Git, no environment. The result lives in the
parse cache (`checks.pack`), under the same trust rules, and is off with PIPELINE_NO_CACHE=1.
This module imports neither the loader nor the rules, so that an unchanged check does not pay
for their imports.

When some input changed, the check is made of parts kept by what each was made of
(`articles.pack`, `library.pack`): each article's judgement (pipeline/checks.py `Judgement`:
what the rules that read one article and the references it cites found in it), keyed by the
parse keys of its files, the configuration, the code and the whole library's parse keys; and
the library's facts (what the rules that join articles to references read), with each
reference pickled on its own, keyed by the reference files' parse keys. A judgement holds from
the day it was made on: the rules that read the date keep each finding with the days it is
reported on (checks.py `Dated`). Only the articles without a kept judgement are loaded and
judged, with just the references they look up; the rules that join articles (unused
references, related links) run on every article's links. A changed reference file or
configuration, or new code, loads and judges everything, as a check without these parts
would."""

from __future__ import annotations

import datetime as dt
import gc
import os
import stat
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import cache, paths

if TYPE_CHECKING:
    from pipeline import checks, judging, loader
    from pipeline.diagnostics import Diagnostic
    from pipeline.references import Library

_LAYOUT = "check-result-1"  # the layout of a stored result
_PARTS = "check-parts-1"  # the layout of a kept judgement or library facts
# Above this many articles to judge, loading everything (from the parse cache) is cheaper.
MOST_JUDGED_ALONE = 200
_CONFIG_FILES = (paths.PUBLICATION_FILE, paths.BOARD_FILE, paths.MKDOCS_FILE)
_READ = {"article", "variant", "references"}  # the kinds of source file a load reads
KEPT_RESULTS = 3  # results (and the settings they were made with) kept in checks.pack


@dataclass(frozen=True)
class CheckResult:
    """What `pipeline check` reports: every diagnostic, and how many articles were read."""

    diagnostics: list[Diagnostic]
    articles: int
    config_failed: bool = False  # an invalid configuration: no content was read


def check_publication(
    root: Path, today: dt.date | None = None, use_cache: bool = True
) -> CheckResult:
    """`pipeline check` of the publication at `root`: the stored result when nothing it reads
    changed, else every rule run (and its result kept for the next check)."""
    root = root.resolve()
    today = today or dt.datetime.now(dt.UTC).date()
    config = config_bytes(root)
    remembered = _Remembered(root, today, config) if use_cache else None
    if remembered is not None and remembered.result is not None:
        if remembered.stats is not None:
            remembered.stats.save()
        return remembered.result
    from pipeline import loader
    from pipeline.checks import run_checks

    scan = remembered.scan if remembered is not None else None
    surveyed = loader.survey(root, today, use_cache=use_cache, scan=scan)
    if surveyed.config_failed:
        project = loader.load(root, today, use_cache=use_cache, surveyed=surveyed, html=False)
        return CheckResult(list(project.diagnostics), 0, config_failed=True)
    assert surveyed.settings is not None
    evidence = list(surveyed.settings.review.evidence_sections)
    if remembered is not None and remembered.evidence == evidence:
        # What was read to look the result up is parsed (its keys made with these settings).
        surveyed.read = remembered.read
    if surveyed.where is None:
        project = loader.load(root, today, use_cache=use_cache, surveyed=surveyed, html=False)
        return CheckResult(run_checks(project), len(project.articles))
    same = remembered is not None and remembered.evidence == evidence
    keys = dict(remembered.keys) if remembered is not None and same else {}
    stats = remembered.stats if remembered is not None and same else None
    stats = stats or FileStats(root, surveyed.where, evidence)
    _read_keys(root, surveyed.scanned, evidence, keys, surveyed.read, stats)  # what is not read
    parts = _Parts(root, today, config, evidence, surveyed, keys)
    found = parts.check()
    result = CheckResult(found, len(surveyed.mains))
    if same and remembered is not None and len(keys) == len(remembered.keys):
        key = remembered.key  # the same inputs as looked up: nothing read since
    else:
        scanned, problems = surveyed.scanned, surveyed.scan_problems
        key = _check_key(root, today, config, evidence, scanned, problems, keys)
    unedited = config_bytes(root) == config and parsed_from(surveyed, config)
    if key is not None and unedited:  # no edit to them meanwhile, nor one undone since
        pack = cache.Pack(surveyed.where, "checks")
        settings_key = _config_key(config)
        # The latest results are kept, oldest first: a change undone is answered again.
        pack.kept = {k: v for k, v in pack.entries.items() if k not in (key, settings_key)}
        while len(pack.kept) > 2 * (KEPT_RESULTS - 1):
            del pack.kept[next(iter(pack.kept))]
        pack.put(settings_key, cache.dump(evidence))
        pack.put(key, cache.dump((found, result.articles)))
        pack.save()
    stats.save()
    return result


class _Remembered:
    """The stored result of a check with exactly these inputs, if there is one; and the
    source files read to find out, for the load that follows when there is none."""

    def __init__(self, root: Path, today: dt.date, config: list[bytes | None]) -> None:
        self.result: CheckResult | None = None
        self.read: dict[str, tuple[bytes | None, list[Diagnostic], bytes | None]] = {}
        self.keys: dict[str, bytes] = {}  # parse key, by source file read
        self.scan: tuple[list[paths.SourceFile], list[Diagnostic]] | None = None
        self.evidence: list[str] | None = None  # the evidence sections the keys were made with
        self.stats: FileStats | None = None
        self.key: bytes | None = None  # of the whole result looked up
        if not (root / paths.CONTENT).is_dir() or None in config:
            return  # not a publication, or not a valid one: the full check says why
        where = cache.folder(root)
        pack = cache.Pack(where, "checks") if where is not None else None
        blob = pack.get(_config_key(config)) if pack is not None else None
        if pack is None or blob is None:
            return  # no check stored for these settings: a first run reads while it parses
        try:
            self.evidence = evidence = list(cache.load(blob))  # type: ignore[call-overload]
        except Exception:  # noqa: BLE001 - an entry this code cannot read: check again
            return
        self.stats = FileStats(root, where, evidence)
        self.scan = scanned, problems = self.stats.scan()
        _read_keys(root, scanned, evidence, self.keys, self.read, self.stats)
        self.key = key = _check_key(root, today, config, evidence, scanned, problems, self.keys)
        blob = pack.get(key) if key is not None else None
        if blob is None:
            return
        try:
            diagnostics, articles = cache.load(blob)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - an entry this code cannot read: check again
            return
        self.result = CheckResult(list(diagnostics), articles)


def _read_keys(
    root: Path,
    scanned: list[paths.SourceFile],
    evidence: list[str],
    keys: dict[str, bytes],
    read: dict[str, tuple[bytes | None, list[Diagnostic], bytes | None]] | None = None,
    stats: FileStats | None = None,
) -> None:
    """The parse key of every scanned source file that `keys` lacks, its bytes kept in `read`;
    from `stats` without reading it when the file is exactly the one read before."""
    folders: set[str] = set()
    for source in scanned:
        if source.kind in _READ and source.path not in keys:
            known = stats.key(source.path, folders) if stats is not None else None
            if known is not None:
                keys[source.path] = known
                continue
            seen = stats.stat(source.path) if stats is not None else None
            data, found = paths.read_source_bytes(root, source.path, folders)
            key = cache.parse_key(source, data, evidence) if data is not None else None
            if key is not None:
                keys[source.path] = key
                if stats is not None and seen is not None:
                    stats.record(source.path, seen, key)
            if read is not None:
                read[source.path] = (data, found, key)


# A file changed within this long of being read is read again next time: a write in the same
# tick of the file system's clock would not change its times (Git's "racy" entries).
_RACY_NS = 2_000_000_000


class FileStats:
    """The parse key of each source file as last read, by what `lstat` says of it: device,
    inode, size, modification and change times (the change time cannot be set by a user, and
    any write or rename moves it). A file whose lstat is the same is not read and hashed
    again. Kept in `stats.pack` (HMAC, like every pack), by root and evidence sections, in
    two entries: the files (packed: thousands are read back on every check) and the scan."""

    def __init__(self, root: Path, where: Path | None, evidence: list[str]) -> None:
        self.root = str(root)
        self.pack = cache.Pack(where, "stats") if where is not None else None
        self.entry = cache.entry_key(_LAYOUT, "stats", self.root, "\0".join(evidence))
        self.scan_entry = cache.entry_key(_LAYOUT, "scan", self.root)
        self.known: dict[str, tuple[bytes, bytes]] = {}  # path -> (packed lstat, parse key)
        self.known_scan: Any = None  # (folders and their lstat, scanned, problems)
        if self.pack is not None:
            try:
                self.known = _unpack_stats(self.pack.get(self.entry))
                blob = self.pack.get(self.scan_entry)
                self.known_scan = cache.load(blob) if blob is not None else None
            except Exception:  # noqa: BLE001 - an entry this code cannot read: read files
                self.known, self.known_scan = {}, None
        self.kept_scan: Any = None
        self.now = time.time_ns()
        self.kept: dict[str, tuple[bytes, bytes]] = {}
        self.changed = self.scan_changed = False

    def stat(self, rel: str) -> bytes | None:
        """What lstat says of a regular file, packed, or None (not one, or changed lately)."""
        try:
            info = os.lstat(f"{self.root}{os.sep}{rel}")
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode) or info.st_ctime_ns > self.now - _RACY_NS:
            return None
        return _STAT.pack(
            info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns
        )

    def key(self, rel: str, folders: set[str]) -> bytes | None:
        """The parse key of the file when it is exactly the one read before, inside folders
        that are folders (as `paths.read_source_bytes` judges them), else None."""
        known = self.known.get(rel)
        if known is None:
            return None
        current = self.root
        for part in rel.split("/")[:-1]:
            current = f"{current}{os.sep}{part}"
            if current in folders:
                continue
            try:
                if not stat.S_ISDIR(os.lstat(current).st_mode):
                    return None
            except OSError:
                return None
            folders.add(current)
        if self.stat(rel) != known[0]:
            return None
        self.kept[rel] = known
        return known[1]

    def scan(self) -> tuple[list[paths.SourceFile], list[Diagnostic]]:
        """`paths.scan_sources`, or what it found last time when no folder under content/ and
        references/ changed: the scan reads only names and file types, and adding, removing,
        renaming or replacing an entry moves its folder's modification time."""
        kept = self.known_scan
        if kept is not None and all(self._folder(rel) == seen for rel, seen in kept[0]):
            self.kept_scan = kept
            return list(kept[1]), list(kept[2])
        folders = []  # every folder, judged before the scan: a change meanwhile moves its times
        for top in (paths.CONTENT, paths.REFERENCES):
            folders.append((top, self._folder(top)))  # even when missing: made later
            for where, _names, _files in os.walk(f"{self.root}{os.sep}{top}"):
                rel = os.path.relpath(where, self.root)
                folders.append((rel, self._folder(rel)))
        scanned, problems = paths.scan_sources(Path(self.root))
        if all(seen is not None for _, seen in folders):
            self.kept_scan = (folders, scanned, problems)
            self.scan_changed = True
        return scanned, problems

    def _folder(self, rel: str) -> tuple[int, ...] | None:
        """What lstat says of a folder, or None (not one, or changed too lately)."""
        try:
            info = os.lstat(f"{self.root}{os.sep}{rel}")
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode) or info.st_ctime_ns > self.now - _RACY_NS:
            return None
        return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)

    def record(self, rel: str, seen: bytes, key: bytes) -> None:
        self.kept[rel] = (seen, key)
        self.changed = self.changed or self.known.get(rel) != (seen, key)

    def save(self) -> None:
        """Keep what this run used or learnt (of the files it scanned, and its scan)."""
        if self.pack is None:
            return
        if self.changed or len(self.kept) != len(self.known):
            self.pack.put(self.entry, _pack_stats(self.kept))
        if self.scan_changed:
            self.pack.put(self.scan_entry, cache.dump(self.kept_scan))
        elif self.kept_scan is None:
            self.pack.kept.pop(self.scan_entry, None)  # no scan of this run to keep
        self.pack.kept = {
            k: v for k, v in self.pack.kept.items() if k in (self.entry, self.scan_entry)
        }
        self.pack.save()


_STAT = struct.Struct("<QQqqq")  # device, inode, size, modification and change time (ns)


def _pack_stats(files: dict[str, tuple[bytes, bytes]]) -> bytes:
    """The files' paths, packed lstats and parse keys, as three strings (no NUL in a path)."""
    return cache.dump(
        (
            "\0".join(files),
            b"".join(seen for seen, _ in files.values()),
            b"".join(key for _, key in files.values()),
        )
    )


def _unpack_stats(blob: bytes | None) -> dict[str, tuple[bytes, bytes]]:
    if blob is None:
        return {}
    names, seen, keys = cache.load(blob)  # type: ignore[misc]
    if not names:
        return {}
    size, files = _STAT.size, names.split("\0")
    if len(seen) != size * len(files) or len(keys) != 32 * len(files):
        return {}
    return {
        name: (seen[i * size : (i + 1) * size], keys[i * 32 : (i + 1) * 32])
        for i, name in enumerate(files)
    }


def config_bytes(root: Path) -> list[bytes | None]:
    """The configuration files as they are on disk (read before they are parsed, and again
    before a result is kept, so that an edit meanwhile is never stored under the old bytes)."""
    return [paths.read_source_bytes(root, file)[0] for file in _CONFIG_FILES]


def _config_key(config: list[bytes | None]) -> bytes:
    """The key of what the parse keys need from the settings (the evidence sections)."""
    return cache.entry_key(_LAYOUT, "settings", *(part or b"" for part in config))


def _check_key(
    root: Path,
    today: dt.date,
    config: list[bytes | None],
    evidence: list[str],
    scanned: list[paths.SourceFile],
    problems: list[Diagnostic],
    keys: dict[str, bytes],
) -> bytes | None:
    """The key of a whole check's result; None when a configuration file is missing or a
    source file could not be read (such a problem is not worth remembering)."""
    if None in config:
        return None
    parts: list[bytes | str] = [_LAYOUT, str(root), today.isoformat(), "\0".join(evidence)]
    parts += [part for part in config if part is not None]
    parts.append(repr(problems))
    # Every scanned path (none holds a NUL), then the parse key (32 bytes) of each that is
    # read, in the same order: two parts rather than two per file.
    read = [source.path for source in scanned if source.kind in _READ]
    if any(path not in keys for path in read):
        return None
    parts.append("\0".join(source.path for source in scanned))
    parts.append(b"".join([keys[path] for path in read]))
    return cache.entry_key(*parts)


def part_keys(
    root: Path,
    config: list[bytes | None],
    evidence: list[str],
    surveyed: loader.Survey,
    keys: dict[str, bytes],
) -> tuple[bytes | None, dict[str, bytes]]:
    """The key of the library's kept facts, and of each article's kept judgement (by id): none
    when a file is unreadable, a configuration file missing or an article id is there twice."""
    sources = [*surveyed.mains, *surveyed.variants, *surveyed.bibs]
    ids = {main.article_id for main in surveyed.mains}
    if None in config or len(ids) != len(surveyed.mains) or not parsed_from(surveyed, config):
        return None, {}
    if any(source.path not in keys for source in sources):
        return None, {}
    library_parts = [part for bib in surveyed.bibs for part in (bib.path, keys[bib.path])]
    library_key = cache.entry_key(_PARTS, "library", *library_parts)
    context = cache.entry_key(
        _PARTS,
        "context",
        str(root),
        "\0".join(evidence),
        *(part for part in config if part is not None),
        library_key,
    )
    # An article's key: the context and its files' parse keys, each 32 bytes and each made of
    # its kind, path and audience too, so that joining them is as good as hashing them.
    variants: dict[str, list[bytes]] = {}
    for variant in surveyed.variants:
        variants.setdefault(variant.article_id or "", []).append(keys[variant.path])
    article_keys = {}
    for main in surveyed.mains:
        article_id = main.article_id or ""
        parts = [context, keys[main.path], *variants.get(article_id, ())]
        article_keys[article_id] = b"".join(parts)
    return library_key, article_keys


def parsed_from(surveyed: loader.Survey, config: list[bytes | None]) -> bool:
    """Whether the settings and board the survey parsed are the ones in `config` (read before
    it): an edit in between, even one undone since, would key what was judged with other
    settings by these."""
    for file, data in zip(_CONFIG_FILES, config, strict=True):
        if file == paths.MKDOCS_FILE:
            continue  # read by no rule of an article: its findings are the survey's own
        doc = surveyed.settings_yaml.get(file)
        if data is None or doc is None or paths.decode_source(data, file)[0] != doc.text:
            return False
    return True


class _Parts:
    """A check made of kept parts: each article's judgement and the library's facts, made
    again (and kept) for what changed. See the module's docstring."""

    def __init__(
        self,
        root: Path,
        today: dt.date,
        config: list[bytes | None],
        evidence: list[str],
        surveyed: loader.Survey,
        keys: dict[str, bytes],
    ) -> None:
        self.surveyed = surveyed
        self.today = today
        self.where = surveyed.where
        self.keys = keys
        self.library_key, self.article_keys = part_keys(root, config, evidence, surveyed, keys)

    def check(self) -> list[Diagnostic]:
        """Every diagnostic of the check, in the order `run_checks` reports them."""

        assert self.where is not None
        with _gc_paused():
            return self._check()

    def _check(self) -> list[Diagnostic]:

        assert self.where is not None
        library_pack = cache.Pack(self.where, "library")
        articles_pack = cache.Pack(self.where, "articles")
        kept = _load_entry(library_pack, self.library_key) if self.library_key else None
        judged: dict[str, checks.Judgement] = {}
        if self.article_keys:
            mains = self.surveyed.mains
            judged = _judgements(articles_pack, self.article_keys, mains, self.today)
        alone = [main.article_id for main in self.surveyed.mains if main.article_id not in judged]
        found = None
        if self.article_keys and kept is not None and len(alone) <= MOST_JUDGED_ALONE:
            found = self._judge_alone(set(alone), judged, kept, articles_pack)
        if found is None:
            found = self._judge_all(library_pack, articles_pack)
        library_pack.save()
        articles_pack.save()
        return found

    def _judge_alone(
        self,
        alone: set[str],
        judged: dict[str, checks.Judgement],
        kept: object,
        articles_pack: cache.Pack,
    ) -> list[Diagnostic] | None:
        """The articles without a kept judgement loaded and judged alone, with the references
        they look up; the others' kept judgements; the joins run on all. None when that
        cannot be done (a finding on a file of no article)."""
        from pipeline import checks, loader
        from pipeline.references import Library

        facts, blobs = kept  # type: ignore[misc]
        project = loader.load_articles(self.surveyed, alone)
        wanted = set()
        for article in project.articles.values():
            for body in article.bodies.values():
                wanted.update(key.lower() for key in body.facts.numbers)
                wanted.update(citation.key.lower() for citation in body.facts.citations)
                wanted.update(key.lower() for miss in body.facts.near_misses for key in miss.keys)
        references = {key: cache.load(blobs[key]) for key in sorted(wanted) if key in blobs}
        every_key = [written for _, written, _, _ in facts.entries]
        project.library = Library(references, every_key=every_key)  # type: ignore[arg-type]
        project.cache_folder = self.where  # for the readability measure of unchanged texts
        with cache.keeping_unused():
            made = checks.judge(project, whole_library=False)
        if made is None:
            return None
        new, settings_found = made
        judged.update(new)
        _keep_judgements(articles_pack, self.article_keys, new)
        return self._assemble(judged, settings_found, facts)

    def _judge_all(self, library_pack: cache.Pack, articles_pack: cache.Pack) -> list[Diagnostic]:
        """Everything loaded and judged (from the parse cache where files are unchanged), and
        every article's judgement and the library's facts kept: on every core, each article
        judged where it was parsed, when there are many (pipeline/judging.py)."""
        from pipeline import checks, judging, loader

        if self.article_keys and judging.can_judge_on_cores(self.surveyed):
            made = judging.judge_on_cores(self.surveyed, self.keys)
            if made is not None:
                return self._keep_judged(made, library_pack, articles_pack)
        project = loader.load(
            self.surveyed.root, use_cache=True, surveyed=self.surveyed, html=False
        )
        made = checks.judge(project) if self.article_keys else None
        if made is None:
            return checks.run_checks(project)
        judged, settings_found = made
        facts = checks.library_facts(project)
        ordered = list(judged.values())
        found = checks.assemble(project.diagnostics, ordered, settings_found, facts, self.today)
        if self.library_key is not None:
            _keep_library(library_pack, self.library_key, facts, kept_references(project.library))
        _keep_judgements(articles_pack, self.article_keys, judged)
        return found

    def _keep_judged(
        self, made: judging.Judged, library_pack: cache.Pack, articles_pack: cache.Pack
    ) -> list[Diagnostic]:
        """The check made of judgements made on every core, each kept as it was handed back
        and read back here as a later check reads it."""
        files = {main.article_id or "": main.path for main in self.surveyed.mains}
        judged = {}
        for article_id, blob in made.kept.items():
            articles_pack.put(self.article_keys[article_id], blob)
            judged[article_id] = _unkept(article_id, files[article_id], blob)
        if self.library_key is not None:
            _keep_library(library_pack, self.library_key, made.facts, made.references)
        return self._assemble(judged, made.settings_found, made.facts)

    def _assemble(
        self,
        judged: dict[str, checks.Judgement],
        settings_found: dict[int, list[Diagnostic]],
        facts: checks.LibraryFacts,
    ) -> list[Diagnostic]:
        """The loader's findings (the survey's, then each file's, then the library's) and the
        rules', as a whole load and `run_checks` would report them."""
        from pipeline import checks

        surveyed = self.surveyed
        found = list(surveyed.diagnostics)
        for source in [*surveyed.mains, *surveyed.variants]:
            found += judged[source.article_id or ""].parsed.get(source.path, [])
        found += facts.diagnostics
        ordered = [judged[main.article_id or ""] for main in surveyed.mains]
        return checks.assemble(found, ordered, settings_found, facts, self.today)


def check_loaded(project: loader.Project, config: list[bytes | None]) -> list[Diagnostic]:
    """`run_checks` of a whole loaded publication (a build's check), made of kept parts as a
    check's are: the kept judgement of each unchanged article, the others judged (and kept),
    the join rules run on all, and the parse cache's fingerprints made known for the pages.
    `config`: the configuration files' bytes as read before the load. When they are not what
    they are after the check, the load may have read other settings: every rule runs on what
    was loaded and nothing is kept."""
    from pipeline import checks

    surveyed, where, settings = project.surveyed, project.cache_folder, project.settings
    if where is None or surveyed is None or settings is None or project.config_failed:
        return checks.run_checks(project)
    evidence = list(settings.review.evidence_sections)
    library_key, article_keys = part_keys(
        project.root, config, evidence, surveyed, project.source_keys
    )
    if library_key is None or article_keys.keys() != project.articles.keys():
        return checks.run_checks(project)
    library_pack = cache.Pack(where, "library")
    articles_pack = cache.Pack(where, "articles")
    with _gc_paused():
        kept = _load_entry(library_pack, library_key)
        made = _judged_loaded(project, surveyed, kept, articles_pack, article_keys)
        if made is None or config_bytes(project.root) != config:
            return checks.run_checks(project)
        found, new, facts = made
        _keep_judgements(articles_pack, article_keys, new)
        if facts is not None:
            _keep_library(library_pack, library_key, facts, kept_references(project.library))
    library_pack.save()
    articles_pack.save()
    return found


def _judged_loaded(
    project: loader.Project,
    surveyed: loader.Survey,
    kept_facts: object,
    articles_pack: cache.Pack,
    article_keys: dict[str, bytes],
) -> tuple[list[Diagnostic], dict[str, checks.Judgement], checks.LibraryFacts | None] | None:
    """`check_loaded`'s diagnostics, the judgements it made, and the library's facts when it
    worked them out (None when `kept_facts` held them); None when a rule reported on a file
    of no article. Many articles to judge are judged as a whole load's check judges them."""
    from pipeline import checks

    today = project.today
    judged = _judgements(articles_pack, article_keys, surveyed.mains, today)
    alone = {article_id for article_id in project.articles if article_id not in judged}
    facts = kept_facts[0] if kept_facts is not None else None  # type: ignore[index]
    if len(alone) > MOST_JUDGED_ALONE or facts is None:
        made = checks.judge(project)
        alone = set(project.articles)
    else:
        with checks.caches(project):  # fingerprints for the pages, findings of unchanged files
            # A copy of the memo: what the rules work out of these articles alone (their
            # links, say) must not stand for the whole publication's.
            these = {article_id: project.articles[article_id] for article_id in alone}
            subset = replace(project, articles=these, memo=dict(project.memo))
            made = checks.judge(subset, whole_library=False)
    if made is None:
        return None
    new, settings_found = made
    judged.update(new)
    if any(check.by_audience for check in checks.RULES):  # places among all articles' audiences
        ranks = checks.audience_ranks(project)
        for judgement in judged.values():
            judgement.ranks = {file: ranks.get(file, 0) for file in judgement.ranks}
    made_facts = None
    if facts is None:
        facts = made_facts = checks.library_facts(project)
    ordered = [judged[main.article_id or ""] for main in surveyed.mains]
    found = checks.assemble(project.diagnostics, ordered, settings_found, facts, today)
    return found, {article_id: judged[article_id] for article_id in alone}, made_facts


def _keep_judgements(
    pack: cache.Pack, keys: dict[str, bytes], judged: dict[str, checks.Judgement]
) -> None:
    for article_id, judgement in judged.items():
        pack.put(keys[article_id], kept_judgement(judgement))


def _keep_library(
    pack: cache.Pack, key: bytes, facts: checks.LibraryFacts, references: dict[str, bytes]
) -> None:
    """The library's facts, with its references as `kept_references` made them."""
    pack.put(key, cache.dump((facts, references)))


def kept_references(library: Library) -> dict[str, bytes]:
    """Each reference pickled on its own, by key (a check judging a few articles alone
    unpickles only the references they look up)."""
    return {name: cache.dump(reference) for name, reference in library.references.items()}


def kept_judgement(judgement: checks.Judgement) -> bytes:
    """A judgement as kept: plain values, empty parts left out, the article's id and file
    left to the scan (10,000 of them are read back in every check after an edit)."""
    links = judgement.links
    parsed = {file: found for file, found in judgement.parsed.items() if found} or None
    found, ranks = judgement.found or None, judgement.ranks or None
    since = judgement.since.toordinal()
    return cache.dump((links.readable, links.cited, links.related, parsed, found, ranks, since))


def _judgements(
    pack: cache.Pack,
    keys: dict[str, bytes],
    mains: list[paths.SourceFile],
    today: dt.date,
) -> dict[str, checks.Judgement]:
    """The kept judgement of each article that has one for `today`, as `kept_judgement` wrote it."""
    judged = {}
    day = today.toordinal()
    for main in mains:
        article_id = main.article_id or ""
        blob = pack.get(keys[article_id])
        if blob is None:
            continue
        try:
            kept = _unkept(article_id, main.path, blob)
        except Exception:  # noqa: BLE001 - an entry this code cannot read: judged again
            continue
        if kept.since.toordinal() > day:
            continue  # made for later days: what it left out may be reported today
        judged[article_id] = kept
    return judged


def _unkept(article_id: str, file: str, blob: bytes) -> checks.Judgement:
    """A judgement as `kept_judgement` wrote it, of the article with this id and main file."""
    from pipeline import checks

    readable, cited, related, parsed, found, ranks, since = cache.load(blob)  # type: ignore[misc]
    links = checks.Links(article_id, file, readable, cited, related)
    made = dt.date.fromordinal(since)
    return checks.Judgement(links, parsed or {}, found or {}, ranks or {}, made)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Kept parts are many small objects and no garbage: collecting while they are read back
    only costs time (a whole load pauses collection in the loader)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_entry(pack: cache.Pack, key: bytes) -> object:
    """The kept value under `key`, or None when there is none this code can read."""
    blob = pack.get(key)
    if blob is None:
        return None
    try:
        return cache.load(blob)
    except Exception:  # noqa: BLE001 - an entry this code cannot read: made again
        return None
