"""The no-op build: when nothing a build reads has changed and `site/` is still exactly the
site the last build made, `pipeline build` loads no article, renders nothing and runs no MkDocs.

What the inputs digest covers, and why that is all a build reads:
- every file under `content/` and `references/` (articles, variants, publication.yml, board.yml
  and its keys, .bib files), by path and bytes, symbolic links by their target too: the loader
  and the checks read nothing else of the publication;
- mkdocs.yml, and the docs and theme folders it names; a configuration that inherits another
  file or reads the environment (`INHERIT`, `!ENV`) is never taken as unchanged;
- the pipeline's own files (code, templates, theme, wherever it is installed), its version, the
  Python version and every installed package and version (MkDocs, Material, Markdown, pybtex...);
- the Git HEAD commit (and the shallow and replace records that change what history Git shows):
  production shows an article's last approved revision from history, and a commit id names all
  of its history;
- today's date (UTC, as the loader takes it): overdue reviews and future dates depend on it;
  and SOURCE_DATE_EPOCH, which MkDocs reads for the sitemap's dates;
- the mode (production or preview).
A repository that tracks build output (build/ or site/ committed) never gets a no-op: output that
came with the repository is never trusted (see build.py).

`site/` must still be the build the stamp names, file for file: same paths, and each file with
the size, modification and change times and inode recorded when the build finished. The
modification time is set by the kernel on every write, so a file edited since has another; a
file written within two seconds of the stamp (a filesystem with coarse times could not tell) is
compared by content instead. Any difference, or any doubt, means a full build.

A build is recorded only if its inputs are, after it, what they were before it, file for file
by stat as well as by bytes (build.py): an edit made and undone while it built leaves the same
bytes but not the same change time, and the site it built from the edit is not recorded as the
site of the inputs as they are now. (A file's write between its stat before the build and its
reading within one coarse clock tick of both is the one case stat cannot tell; the load reads
a file long after the walk that took its stat.)"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import paths
from pipeline.outputs import page_digest as _sha

STAMP_FILE = Path("build") / ".last-build.json"
VERSION = 1
RACY_NS = 2_000_000_000  # coarser file times than this exist nowhere the pipeline runs


Memo = dict[str, tuple[tuple[int, ...], str]]  # path -> (what stat said, digest of the bytes)


def _file_digest(path: str, info: os.stat_result, memo: Memo | None) -> str:
    """The digest of the bytes of the file at `path`, whose stat (following links) is `info`;
    read again unless `memo` holds it for the same stat.

    A memo starts with the last build's digests of files whose change time was at least
    `RACY_NS` older than its record (`known_digests`), as Git's index does: every write since
    sets another change time. Within one build, the digest taken after the build is compared
    with the one taken before; a change that kept every stat field (within one clock tick) is
    left out of the record, so the next build reads that file again."""
    if memo is None:
        return _sha(_read(path))
    seen = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    known = memo.get(path)
    if known is not None and known[0] == seen:
        return known[1]
    digest = _sha(_read(path))
    memo[path] = (seen, digest)
    return digest


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _entries(folder: str, rel: str) -> Iterator[tuple[str, os.DirEntry]]:
    """Every entry under a folder (never into `__pycache__` or a linked folder), by path
    relative to the tree's root, in the order of `sorted()` over their `Path`s: each folder's
    names sorted, a folder's own entries right after it."""
    try:
        with os.scandir(folder) as listing:
            found = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    for entry in found:
        name = rel + entry.name
        if entry.is_dir(follow_symlinks=False):
            if entry.name == "__pycache__":
                continue
            yield name, entry
            yield from _entries(entry.path, name + "/")
        else:
            yield name, entry


def _tree(hashed: hashlib._Hash, root: Path, folder: Path, memo: Memo | None = None) -> None:
    """Every entry under a folder, by path, kind and bytes (symbolic links by target too)."""
    if not os.path.lexists(folder):
        hashed.update(b"missing:" + folder.as_posix().encode() + b"\0")
        return
    if folder == root:
        prefix = ""
    else:
        prefix = (folder.relative_to(root) if folder.is_relative_to(root) else folder).as_posix()
        prefix += "/"
    for rel, entry in _entries(str(folder), prefix):
        hashed.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        try:
            if entry.is_symlink():
                hashed.update(b"link:" + os.fsencode(os.readlink(entry.path)) + b"\0")
                info = os.stat(entry.path)  # what the link leads to
            else:
                info = entry.stat(follow_symlinks=False)
        except OSError:  # a link that leads nowhere
            hashed.update(b"other")
            continue
        if stat.S_ISREG(info.st_mode):
            hashed.update(_file_digest(entry.path, info, memo).encode())
        elif stat.S_ISDIR(info.st_mode):
            hashed.update(b"dir")
        else:
            hashed.update(b"other")


def _named_folders(config: bytes) -> list[str] | None:
    """The docs and theme folders mkdocs.yml names; None when it may read other files."""
    if b"INHERIT" in config or b"!ENV" in config:
        return None
    text = config.decode("utf-8", "replace")
    return re.findall(r"(?:custom_dir|docs_dir)\s*:\s*['\"]?([^'\"\s,}#]+)", text)


def _git(root: Path) -> tuple[str | None, bool] | None:
    """(HEAD and the records that change history, whether build/ or site/ is tracked); None
    when Git fails in a way that leaves the answer unknown."""
    import subprocess

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=False, timeout=60
        )

    try:
        head = run("rev-parse", "HEAD", "--absolute-git-dir")
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        inside = run("rev-parse", "--is-inside-work-tree")
        return (None, False) if inside.returncode != 0 else None  # not a repository: no history
    sha, git_dir = head.stdout.decode().split()[:2]
    extra = []
    for name in ("shallow", "packed-refs"):
        try:
            data = Path(git_dir, name).read_bytes()
        except OSError:
            continue
        if name == "shallow":
            extra.append(data)
        else:
            extra += [line for line in data.splitlines() if b"refs/replace/" in line]
    replace = Path(git_dir, "refs", "replace")
    if replace.is_dir():
        extra += sorted(p.name.encode() + p.read_bytes() for p in replace.rglob("*") if p.is_file())
    tracked = run("ls-files", "-z", "--", "build", "site")
    if tracked.returncode != 0:
        return None
    return sha + _sha(b"\0".join(extra)), bool(tracked.stdout.strip(b"\0"))


def inputs_digest(root: Path, preview: bool, memo: Memo | None = None) -> str | None:
    """Everything a build of `root` reads (see the module's docstring); None when unknowable.
    `memo`: file digests of this build's earlier call, reused for files whose stat is the same."""
    from pipeline import __version__

    root = root.resolve()
    try:
        config = (root / paths.MKDOCS_FILE).read_bytes()
    except OSError:
        return None
    folders = _named_folders(config)
    git = _git(root)
    if folders is None or git is None or git[1]:
        return None
    hashed = hashlib.sha256()
    hashed.update(json.dumps([VERSION, __version__, sys.version, preview]).encode())
    hashed.update(_sha(config).encode())
    for folder in [paths.CONTENT, "references", *folders]:
        _tree(hashed, root, root / folder, memo)
    hashed.update(pipeline_digest(memo).encode())
    today = _today()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    hashed.update(json.dumps([packages_digest(), git[0], today, epoch]).encode())
    return hashed.hexdigest()


def _outputs(root: Path, build_dir: Path, preview: bool) -> dict[str, list[int]]:
    """Every file of the site and of the generated pages it was built from, with its times."""
    generated = root.resolve() / "build" / ("preview" if preview else "production")
    files = {f"site/{rel}": info for rel, info in file_stats(build_dir).items()}
    files.update({f"generated/{rel}": info for rel, info in file_stats(generated).items()})
    return files


def _file_of(root: Path, build_dir: Path, preview: bool, key: str) -> Path:
    kind, _, rel = key.partition("/")
    if kind == "site":
        return build_dir / rel
    return root.resolve() / "build" / ("preview" if preview else "production") / rel


def pipeline_digest(memo: Memo | None = None) -> str:
    """The pipeline that builds: every file of the installed package (code, templates, theme)."""
    hashed = hashlib.sha256()
    package = Path(__file__).resolve().parent
    _tree(hashed, package, package, memo)
    return hashed.hexdigest()


@functools.cache  # packages do not change while the pipeline runs
def packages_digest() -> str:
    """Every installed distribution and its version (theme, Markdown extensions, MkDocs...),
    by the names of the `*.dist-info` and `*.egg-info` entries on the import path, as
    importlib.metadata finds them, without reading each one's metadata."""
    names = set()
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        names.update(name for name in listing if name.endswith((".dist-info", ".egg-info")))
    return _sha("\n".join(sorted(names)).encode())


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()  # as the loader takes it


def file_stats(build_dir: Path) -> dict[str, list[int]]:
    """Every file under a folder (links to folders too, never followed), by relative path:
    mode, size, modification and change times, inode. A write changes the change time."""
    files: dict[str, list[int]] = {}
    folders = [(os.fspath(build_dir), "")]
    while folders:
        folder, rel = folders.pop()
        try:
            listing = os.scandir(folder)
        except OSError:
            continue
        with listing:
            for entry in listing:
                if entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, rel + entry.name + "/"))
                    continue
                info = entry.stat(follow_symlinks=False)
                files[rel + entry.name] = [
                    info.st_mode,
                    info.st_size,
                    info.st_mtime_ns,
                    info.st_ctime_ns,
                    info.st_ino,
                ]
    return files


@dataclass
class Unchanged:
    """What `pipeline build` reports when it did nothing: the last build's summary."""

    published: list[str]
    last_approved: list[str]
    held_back: list[tuple[str, str]]
    pages: list[str]
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    why: dict[str, list[str]] = field(default_factory=dict)
    nothing_changed: bool = True

    @property
    def unchanged(self) -> int:
        return len(self.pages)

    @property
    def skipped_renders(self) -> int:
        return len(self.published)


def record(
    root: Path,
    site: Path,
    preview: bool,
    inputs: str | None,
    result,  # noqa: ANN001 - a render.RenderResult
    written: dict[str, str] | None = None,
    memo: Memo | None = None,
) -> None:
    """After a build swapped `site` into place: what it was made from and what it wrote.
    `written`: the digests of pages as the build wrote them, by path in the site (the page
    cache's record): a just-written file is compared by content at the next build, and these
    spare reading it back now. A file changed since it was written differs from its digest
    either way, and the next build is a full one."""
    path = root.resolve() / STAMP_FILE
    build_dir = _current(site)
    if inputs is None or build_dir is None:
        path.unlink(missing_ok=True)
        return
    files = _outputs(root, build_dir, preview)
    written = written or {}
    now = time.time_ns()
    racy = {}
    for key, info in files.items():
        # Written well before now (its modification time): any later write sets another, and
        # the stat compared at the next build differs. A link made since (the reused pages and
        # static files are links) changes only the change time, which the stat holds as well.
        if info[2] < now - RACY_NS:
            continue
        kind, _, rel = key.partition("/")
        digests = written if kind == "site" else result.digests
        if rel in digests:  # the digest of what was just written or verified
            racy[key] = digests[rel]
            continue
        file = _file_of(root, build_dir, preview, key)
        if file.is_file() and not file.is_symlink():
            racy[key] = _sha(file.read_bytes())
    data = {
        "version": VERSION,
        "preview": preview,
        "inputs": inputs,
        "site": str(build_dir),
        "recorded": now,
        "files": files,
        "racy": racy,
        "digests": _settled(memo or {}, now),
        "summary": {
            "published": list(result.published),
            "last_approved": list(result.last_approved),
            "held_back": [list(item) for item in result.held_back],
            "pages": list(result.pages),
        },
    }
    paths.atomic_write(path, json.dumps(data, separators=(",", ":")))


def read(root: Path) -> dict | None:
    """The last build's record (`record`), or None when there is none this pipeline reads."""
    try:
        data = json.loads((root.resolve() / STAMP_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    return data


def known_digests(previous: dict | None) -> Memo:
    """The input files' digests the last build recorded (`read`), by path and stat (see
    `_file_digest`)."""
    try:
        digests = previous["digests"]  # type: ignore[index]
        return {path: (tuple(item[:-1]), item[-1]) for path, item in digests.items()}
    except (KeyError, TypeError, AttributeError, IndexError):
        return {}


def _settled(memo: Memo, now: int) -> dict[str, list]:
    """The memo's entries of files last changed well before `now`: safe to trust by stat."""
    return {
        path: [*seen, digest] for path, (seen, digest) in memo.items() if seen[4] < now - RACY_NS
    }


def forget(root: Path) -> None:
    (root.resolve() / STAMP_FILE).unlink(missing_ok=True)


def _current(site: Path) -> Path | None:
    if not site.is_symlink():
        return None
    target = (site.parent / os.readlink(site)).resolve()
    return target if target.is_dir() else None


def unchanged(
    previous: dict | None, root: Path, site: Path, preview: bool, inputs: str | None
) -> Unchanged | None:
    """The last build's summary when `inputs` are the inputs of the build `previous` records
    (`read`) and `site` is still its site."""
    if inputs is None or previous is None:
        return None
    data = previous
    build_dir = _current(site)
    if data.get("inputs") != inputs or build_dir is None or data.get("site") != str(build_dir):
        return None
    if data.get("preview") != preview or _outputs(root, build_dir, preview) != data.get("files"):
        return None
    for key, digest in (data.get("racy") or {}).items():
        try:
            if _sha(_file_of(root, build_dir, preview, key).read_bytes()) != digest:
                return None
        except OSError:
            return None
    summary = data["summary"]
    return Unchanged(
        published=summary["published"],
        last_approved=summary["last_approved"],
        held_back=[tuple(item) for item in summary["held_back"]],
        pages=summary["pages"],
    )
