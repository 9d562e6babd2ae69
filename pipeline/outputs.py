"""What a build writes into the generated folder, and what each file was made from.

- `Dependencies` records, where the renderer reads something, what an output was made from
  (as Sphinx's and Lektor's builders do): an incremental build re-renders an output only when
  one of its recorded inputs changed, and can say which.
- `OUTPUTS` is the registry of site-wide outputs (listing pages, feeds, ...): a new output is
  one function decorated with `@output`, in its own module.
- `Writer` refuses to write one path twice in a build (as Pelican's writer does), writes only
  what changed, keeps the manifest, and removes whatever the previous build wrote and this one
  did not."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import paths

if TYPE_CHECKING:
    from pipeline.render import SiteRenderer

MANIFEST = ".pipeline-manifest.json"
STAMP = ".made-here"  # this machine made the folder (see build.py); never published
BOOKKEEPING = frozenset({MANIFEST, STAMP})


def digest(value: Any) -> str:
    """A stable digest of JSON-like data or bytes."""
    data = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


class Dependencies:
    """The inputs each output was made from, recorded where they are read.

    A key names one input (`article:<id>`, `reference:<key>`, `settings`, `code`, ...); its
    digest comes from `resolve`, the one function that knows what each kind of input is."""

    def __init__(self, resolve: Callable[[str], str]) -> None:
        self._resolve = resolve
        self._digests: dict[str, str] = {}
        self._current: dict[str, str] | None = None

    def digest_of(self, key: str) -> str:
        if key not in self._digests:
            self._digests[key] = self._resolve(key)
        return self._digests[key]

    def use(self, key: str) -> None:
        """The output being made reads this input."""
        if self._current is not None:
            self._current[key] = self.digest_of(key)

    @contextmanager
    def recording(self) -> Iterator[dict[str, str]]:
        outer, self._current = self._current, {}
        try:
            yield self._current
        finally:
            self._current = outer

    def changed(self, recorded: dict[str, str]) -> list[str]:
        """The recorded inputs whose digest is not what it was: why an output is outdated."""
        return sorted(key for key, old in recorded.items() if self.digest_of(key) != old)


# --- site-wide outputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """A file an output makes only when its inputs changed (the Writer keeps the previous one
    otherwise): `make` must be a function of `inputs` alone."""

    rel: str
    inputs: dict[str, str]
    make: Callable[[], str]


Produced = Iterable["tuple[str, str] | Made"]  # (path in the generated folder, text), or Made
OUTPUTS: list[Callable[[SiteRenderer], Produced]] = []


def output(function: Callable[[SiteRenderer], Produced]) -> Callable[[SiteRenderer], Produced]:
    """Register a site-wide output: a function of the renderer yielding (path, text)."""
    OUTPUTS.append(function)
    return function


# Files made beside each article page from that article alone: its text and review state, the
# settings and the site's address (the inputs below). Each is made again only when one changed.
ArticleOutput = Callable[["SiteRenderer", Any], str]  # (renderer, render.Shown) -> text
ARTICLE_OUTPUTS: list[tuple[str, ArticleOutput]] = []
ARTICLE_OUTPUT_INPUTS = ("settings", "site", "code")  # besides `article:<id>`


def article_output(suffix: str) -> Callable[[ArticleOutput], ArticleOutput]:
    """Register a file `<article id>.<suffix>` made beside every article page."""

    def register(function: ArticleOutput) -> ArticleOutput:
        ARTICLE_OUTPUTS.append((suffix, function))
        return function

    return register


# --- writing ----------------------------------------------------------------------------------


class DuplicatePage(Exception):
    """Two outputs of one build would be written to one path."""

    def __init__(self, rel_md: str) -> None:
        super().__init__(rel_md)
        self.rel_md = rel_md


@dataclass
class Entry:
    """One file of the last build, in the manifest."""

    digest: str
    inputs: dict[str, str] = field(default_factory=dict)  # recorded dependency -> digest
    stat: list[int] | None = None  # inode, size, modification and change times, once written


def _stat(path: str | Path) -> list[int] | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def page_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


MANIFEST_VERSION = 3


Known = dict[str, list[str]]  # input -> [what it was worked out from, its digest]


def read_manifest(path: Path) -> tuple[dict[str, Entry], int, Known]:
    """What each generated file was made from, its digest and stat, when that was recorded,
    and the digests of inputs by what they were worked out from; ({}, 0, {}) when unreadable
    or old."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}, 0, {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}, 0, {}
    entries = {}
    for name, item in (data.get("files") or {}).items():
        if isinstance(item, dict) and isinstance(item.get("digest"), str):
            inputs, stat = item.get("inputs"), item.get("stat")
            entries[name] = Entry(
                item["digest"],
                inputs if isinstance(inputs, dict) else {},
                stat if isinstance(stat, list) else None,
            )
    recorded = data.get("recorded")
    known = data.get("known")
    known = {
        k: v
        for k, v in (known.items() if isinstance(known, dict) else [])
        if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
    }
    return entries, recorded if isinstance(recorded, int) else 0, known


class Writer:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.previous, self.recorded, self.known = read_manifest(out_dir / MANIFEST)
        self.learned: dict[str, list[str]] = {}  # input -> [its basis, its digest], for the next
        self.entries: dict[str, Entry] = {}
        self.written: list[str] = []
        self.unchanged = 0
        self.stat_seen: set[str] = set()  # kept files whose stat was just read and matched

    def claim(self, rel: str) -> None:
        if rel in self.entries or rel in BOOKKEEPING:
            raise DuplicatePage(rel)
        self.entries[rel] = Entry("")

    def reusable(self, rel: str) -> Entry | None:
        """The previous build's entry, when the file on disk is still exactly what it wrote:
        by its stat when its modification time was well before the record (as Git's index
        trusts a file: any write since sets another), else by its digest."""
        from pipeline.stamp import RACY_NS

        old = self.previous.get(rel)
        if old is None:
            return None
        path = f"{self.out_dir}{os.sep}{rel}"
        if old.stat is not None and old.stat[2] < self.recorded - RACY_NS:
            if _stat(path) == old.stat:
                self.stat_seen.add(rel)  # the file's stat now: the manifest need not ask again
                return old
        try:
            intact = page_digest(paths.read_unlinked(path)) == old.digest
        except OSError:
            return None
        return old if intact else None

    def keep(self, rel: str, entry: Entry) -> None:
        """The file is left as the previous build wrote it."""
        self.entries[rel] = entry
        self.unchanged += 1

    def record(self, rel: str, changed: bool, file_digest: str, inputs: dict[str, str]) -> None:
        """A file was written (or found identical) by a renderer, possibly in a worker."""
        self.entries[rel] = Entry(file_digest, inputs)
        self.stat_seen.discard(rel)  # written (or checked) anew: its stat is read at the end
        if changed:
            self.written.append(rel)
        else:
            self.unchanged += 1

    def write(self, rel: str, text: str, inputs: dict[str, str] | None = None) -> None:
        self.claim(rel)
        changed = paths.write_if_changed(self.out_dir / rel, text)
        self.record(rel, changed, page_digest(text.encode("utf-8")), inputs or {})

    def write_unless_kept(self, rel: str, inputs: dict[str, str], make: Callable[[], str]) -> None:
        """Keep the previous build's file when it is intact and was made from these very
        inputs; else make and write it."""
        self.claim(rel)
        old = self.reusable(rel)
        if old is not None and old.inputs == inputs:
            self.keep(rel, old)
            return
        text = make()
        changed = paths.write_if_changed(self.out_dir / rel, text)
        self.record(rel, changed, page_digest(text.encode("utf-8")), inputs)

    def finish(self) -> list[str]:
        """Remove whatever this build did not write, whatever its kind (MkDocs would publish
        any file left in the folder), and save the manifest. Returns the removed paths."""
        removed = []
        top = str(self.out_dir)
        emptied: set[str] = set()  # folders removed, links to folders unlinked
        for folder, folders, names in os.walk(top, topdown=False):  # never through a link
            prefix = os.path.relpath(folder, top).replace(os.sep, "/") + "/"
            prefix = "" if prefix == "./" else prefix
            links = [n for n in folders if os.path.islink(os.path.join(folder, n))]
            left = len(names) + len(folders)
            for name in names + links:
                rel = prefix + name
                if rel not in self.entries and rel not in BOOKKEEPING:
                    os.unlink(os.path.join(folder, name))
                    removed.append(rel)
                    left -= 1
            left -= sum(os.path.join(folder, n) in emptied for n in folders if n not in links)
            if prefix and left == 0:
                os.rmdir(folder)
                emptied.add(folder)
        removed.sort(reverse=True)
        recorded = time.time_ns()
        files = {}
        for rel, e in self.entries.items():
            stat = e.stat if rel in self.stat_seen else _stat(f"{top}{os.sep}{rel}")
            files[rel] = {"digest": e.digest, "inputs": e.inputs, "stat": stat}
        manifest = {
            "version": MANIFEST_VERSION,
            "recorded": recorded,
            "files": files,
            "known": self.learned,
        }
        # Compact: json's C encoder does not indent (the indented form took half a second).
        paths.write_if_changed(self.out_dir / MANIFEST, json.dumps(manifest, separators=(",", ":")))
        return removed
