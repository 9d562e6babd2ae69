"""A whole `pipeline check`, remembered: when every input of a check is what the last check on
this machine read, its diagnostics are reported again without parsing or unpickling any source
file or running any rule.

The inputs are the date (review dates fall due), the root, the settings, board and mkdocs.yml
bytes, the code (`cache.code_version`: every pipeline file, Python and the libraries it calls),
the scanned paths and the scan's own findings, and every article, variant and reference file's
parse cache key. The checks read nothing else: no Git, no environment. The result lives in the
parse cache (`checks.pack`), under the same trust rules, and is off with PIPELINE_NO_CACHE=1.
This module imports neither the loader nor the rules, so that an unchanged check does not pay
for their imports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import cache, paths

if TYPE_CHECKING:
    from pipeline.diagnostics import Diagnostic

_LAYOUT = "check-result-1"  # the layout of a stored result
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
    config = _config_bytes(root)
    remembered = _Remembered(root, today, config) if use_cache else None
    if remembered is not None and remembered.result is not None:
        return remembered.result
    from pipeline import loader
    from pipeline.checks import run_checks

    scan = remembered.scan if remembered is not None else None
    surveyed = loader.survey(root, today, use_cache=use_cache, scan=scan)
    if surveyed.config_failed:
        project = loader.load(root, today, use_cache=use_cache, surveyed=surveyed)
        return CheckResult(list(project.diagnostics), 0, config_failed=True)
    assert surveyed.settings is not None
    evidence = list(surveyed.settings.review.evidence_sections)
    if remembered is not None and remembered.evidence == evidence:
        # What was read to look the result up is parsed (its keys made with these settings).
        surveyed.read = remembered.read
    project = loader.load(root, today, use_cache=use_cache, surveyed=surveyed)
    found = run_checks(project)
    result = CheckResult(found, len(project.articles))
    if surveyed.where is None:
        return result
    keys = dict(project.source_keys)
    _read_keys(root, surveyed.scanned, evidence, keys)  # files the load leaves out, if any
    key = _check_key(root, today, config, evidence, surveyed.scanned, surveyed.scan_problems, keys)
    if key is not None and _config_bytes(root) == config:  # no edit to them meanwhile
        pack = cache.Pack(surveyed.where, "checks")
        settings_key = _config_key(config)
        # The latest results are kept, oldest first: a change undone is answered again.
        pack.kept = {k: v for k, v in pack.entries.items() if k not in (key, settings_key)}
        while len(pack.kept) > 2 * (KEPT_RESULTS - 1):
            del pack.kept[next(iter(pack.kept))]
        pack.put(settings_key, cache.dump(evidence))
        pack.put(key, cache.dump((found, result.articles)))
        pack.save()
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
        self.scan = scanned, problems = paths.scan_sources(root)
        _read_keys(root, scanned, evidence, self.keys, self.read)
        key = _check_key(root, today, config, evidence, scanned, problems, self.keys)
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
) -> None:
    """The parse key of every scanned source file that `keys` lacks, its bytes kept in `read`."""
    folders: set[str] = set()
    for source in scanned:
        if source.kind in _READ and source.path not in keys:
            data, found = paths.read_source_bytes(root, source.path, folders)
            key = cache.parse_key(source, data, evidence) if data is not None else None
            if key is not None:
                keys[source.path] = key
            if read is not None:
                read[source.path] = (data, found, key)


def _config_bytes(root: Path) -> list[bytes | None]:
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
    for source in scanned:
        parts.append(source.path)
        if source.kind in _READ:
            key = keys.get(source.path)
            if key is None:
                return None
            parts.append(key)
    return cache.entry_key(*parts)
