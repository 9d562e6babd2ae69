"""Where things live in a publication repository, what each file under content/ and references/
is, and how a source file is read. The loader (files on disk) and the gate (Git blobs) both ask
`classify` and `decode_source`, so they can never disagree on what an article is."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.diagnostics import Diagnostic, diag

CONTENT = "content"
REFERENCES = "references"
PUBLICATION_FILE = "content/publication.yml"
BOARD_FILE = "content/board.yml"
GENERATED_DOCS = "build/docs"
SITE = "site"
MKDOCS_FILE = "mkdocs.yml"
ARTICLE_SUFFIX = ".md"
NAME_PATTERN = r"[a-z0-9][a-z0-9-]*"
NAME = re.compile(NAME_PATTERN)  # use with fullmatch: `$` would let a trailing newline through
BIB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_NAME_LENGTH = 100
MAX_ARTICLE_BYTES = 1_000_000  # an article or an audience variant
MAX_SETTINGS_BYTES = 1_000_000  # publication.yml, board.yml, mkdocs.yml
MAX_BIB_BYTES = 5_000_000  # one .bib file; split a larger library into several files

# Pages and folders the site itself writes, so no topic or slug may take their name:
# the generated pages, MkDocs/Material's own output, and room for the feed and sitemap.
RESERVED_NAMES = frozenset(
    {
        "index",
        "tags",
        "board",
        "search",
        "review-dashboard",
        "editorial-policy",
        "assets",
        "404",
        "sitemap",
        "feed",
        "rss",
        "atom",
        "robots",
        "stylesheets",
        "javascripts",
        "images",
        "site",
    }
)

SourceKind = Literal["article", "variant", "publication", "board", "references", "unknown"]


@dataclass(frozen=True)
class SourceFile:
    """What one root-relative path under content/ or references/ is. An `unknown` file is an
    error: `code` and `message` say why it is not allowed."""

    path: str
    kind: SourceKind
    article_id: str | None = None
    audience: str | None = None
    code: str | None = None
    message: str | None = None

    def diagnostic(self) -> Diagnostic | None:
        """The error for a file that is not allowed where it is, else None."""
        if self.code is None:
            return None
        return diag(self.code, self.path, None, self.message or "")


ALLOWED_FILES = (
    "content/publication.yml, content/board.yml, articles content/<topic>/<slug>.md, "
    "audience wordings content/<topic>/<slug>.<audience>.md and references/<name>.bib"
)
_NAME_RULE = (
    "Articles live at content/<topic>/<slug>.md (audience wordings at "
    "content/<topic>/<slug>.<audience>.md), where topic, slug and audience use only lowercase "
    "letters, digits and hyphens"
)


def _unknown(rel: str, code: str, message: str) -> SourceFile:
    return SourceFile(rel, "unknown", code=code, message=message)


def name_problem(name: str) -> str | None:
    """Why a topic, slug or audience name is not allowed, or None."""
    if not NAME.fullmatch(name):
        return f"'{name}' is not allowed: {_NAME_RULE}."
    if len(name) > MAX_NAME_LENGTH:
        return f"'{name[:20]}...' is longer than {MAX_NAME_LENGTH} characters."
    if name in RESERVED_NAMES:
        taken = ", ".join(sorted(RESERVED_NAMES))
        return (
            f"'{name}' is the name of a page or folder the site itself makes, so an article or "
            f"topic of that name would replace it; choose another name (taken: {taken})."
        )
    return None


def classify(rel: str) -> SourceFile:
    """What a root-relative posix path under content/ or references/ is. Pure: reads no file."""
    if rel == PUBLICATION_FILE:
        return SourceFile(rel, "publication")
    if rel == BOARD_FILE:
        return SourceFile(rel, "board")
    parts = rel.split("/")
    if parts[0] == REFERENCES and len(parts) == 2 and parts[1].endswith(".bib"):
        if BIB_NAME.fullmatch(parts[1][: -len(".bib")]) and len(parts[1]) <= MAX_NAME_LENGTH:
            return SourceFile(rel, "references")
        return _unknown(
            rel,
            "content.unknown-file",
            "A reference file's name uses only letters, digits, '.', '_' and '-', and ends "
            "in .bib.",
        )
    if parts[0] == CONTENT and rel.endswith(ARTICLE_SUFFIX):
        return _classify_article(rel, parts[1:])
    hint = " (rename it to .md)" if rel.endswith(".markdown") else ""
    return _unknown(
        rel,
        "content.unknown-file",
        f"This file is not one the publication knows{hint}. Allowed here: {ALLOWED_FILES}.",
    )


def _classify_article(rel: str, parts: list[str]) -> SourceFile:
    stem = parts[-1][: -len(ARTICLE_SUFFIX)].split(".")
    if len(parts) != 2 or len(stem) > 2:
        return _unknown(rel, "article.slug", f"{_NAME_RULE}.")
    topic, slug = parts[0], stem[0]
    for name in (topic, *stem):
        problem = name_problem(name)
        if problem:
            return _unknown(rel, "article.slug", problem)
    if len(stem) == 2:
        return SourceFile(rel, "variant", f"{topic}/{slug}", stem[1])
    return SourceFile(rel, "article", f"{topic}/{slug}")


def rel(root: Path, path: Path) -> str:
    """A path relative to the publication root, with forward slashes, for diagnostics."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def article_path(root: Path, article_id: str, audience: str | None = None) -> Path:
    topic, slug = article_id.split("/", 1)
    name = f"{slug}.{audience}.md" if audience else f"{slug}.md"
    return root / CONTENT / topic / name


# --- reading a source file ------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _limits(file: str) -> tuple[int, str, str]:
    """(byte limit, code for a file over it, code for text that cannot be read) by kind."""
    if file in (PUBLICATION_FILE, BOARD_FILE, MKDOCS_FILE):
        return MAX_SETTINGS_BYTES, "config.syntax", "config.syntax"
    # Only a path under references/ can be a reference file: others need no classifying.
    if file.startswith(REFERENCES + "/") and classify(file).kind == "references":
        return MAX_BIB_BYTES, "reference.size", "reference.syntax"
    return MAX_ARTICLE_BYTES, "article.size", "frontmatter.syntax"


def _too_large(file: str, size: int) -> Diagnostic:
    limit, size_code, _ = _limits(file)
    advice = {
        "reference.size": "Split the library into several .bib files.",
        "article.size": "Split it into several articles.",
    }.get(size_code, "Settings files are short; remove what does not belong.")
    return diag(
        size_code,
        file,
        1,
        f"This file is {size / 1_000_000:.1f} MB; a file of its kind may be at most "
        f"{limit / 1_000_000:g} MB. {advice}",
    )


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def decode_source(data: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """The one decoding of every source file: within its size limit, UTF-8 (a BOM is dropped),
    no NUL or other control character but tab and line breaks, line endings as `\\n`."""
    limit, _, code = _limits(file)
    if len(data) > limit:
        return None, [_too_large(file, len(data))]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return None, [
            diag(code, file, line, "This is a binary file (it holds NUL bytes), not text.")
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [
            diag(code, file, line, "This file is not UTF-8 text: save it with UTF-8 encoding.")
        ]
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    bad = _CONTROL.search(text)
    if bad:
        return None, [
            diag(
                "content.control-character",
                file,
                _line_at(text, bad.start()),
                f"This line holds the invisible control character U+{ord(bad.group()):04X}; "
                "only tabs and line breaks are allowed. Delete it.",
            )
        ]
    return text, []


_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def special_file(file: str, mode: int) -> Diagnostic | None:
    """The error for anything but a regular file at a source path, from its lstat mode."""
    if stat.S_ISREG(mode):
        return None
    what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return diag(
        "content.special-file",
        file,
        None,
        f"This is {what}, not a regular file; only regular files inside the repository are "
        "read. Replace it with the file itself.",
    )


def _unreadable(file: str, reason: str) -> tuple[None, list[Diagnostic]]:
    return None, [diag("content.special-file", file, None, f"This file cannot be read ({reason}).")]


def read_source(root: Path, rel: str) -> tuple[str | None, list[Diagnostic]]:
    """Read a source file by its root-relative path: `read_source_bytes`, then
    `decode_source`."""
    data, found = read_source_bytes(root, rel)
    if data is None:
        return None, found
    return decode_source(data, rel)


def read_source_bytes(
    root: Path, rel: str, folders: set[str] | None = None
) -> tuple[bytes | None, list[Diagnostic]]:
    """The bytes of a source file by its root-relative path: only a regular file inside the
    repository, judged by lstat before it is opened (a FIFO never blocks, a symlink is never
    followed), within its size limit. `folders` remembers the folders already judged to be
    folders, for a caller that reads many files in one pass."""
    parts = rel.split("/")
    if rel.startswith("/") or ".." in parts or "" in parts:
        return _unreadable(rel, "its path leaves the repository")
    current = str(root)
    for index, part in enumerate(parts):
        current = f"{current}{os.sep}{part}"
        last = index == len(parts) - 1
        if not last and folders is not None and current in folders:
            continue
        try:
            mode = os.lstat(current).st_mode
        except OSError as exc:
            return _unreadable(rel, exc.strerror or str(exc))
        if not last and not stat.S_ISDIR(mode):
            where = "/".join(parts[: index + 1])
            return None, [special_file(where, mode) or _not_a_folder(where)]
        if not last and folders is not None:
            folders.add(current)
        if last and (problem := special_file(rel, mode)) is not None:
            return None, [problem]
    return _read_regular(current, rel)


def _not_a_folder(rel: str) -> Diagnostic:
    return diag("content.special-file", rel, None, "This is a file where a folder should be.")


def _read_regular(path: str, rel: str) -> tuple[bytes | None, list[Diagnostic]]:
    limit, _, _ = _limits(rel)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, [special_file(rel, stat.S_IFLNK)]  # type: ignore[list-item]
        return _unreadable(rel, exc.strerror or str(exc))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for something else since lstat
            return None, [special_file(rel, info.st_mode)]  # type: ignore[list-item]
        if info.st_size > limit:
            return None, [_too_large(rel, info.st_size)]
        chunks, size = [], 0
        while size <= limit:  # bounded even if the file grows meanwhile
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as exc:
        return _unreadable(rel, exc.strerror or str(exc))
    finally:
        os.close(fd)
    if len(data) > limit:
        return None, [_too_large(rel, len(data))]
    return data, []


def scan_sources(root: Path) -> tuple[list[SourceFile], list[Diagnostic]]:
    """Every file under content/ and references/, classified, without following any link;
    what is not a known regular file is a diagnostic."""
    found: list[SourceFile] = []
    problems: list[Diagnostic] = []
    for folder in (CONTENT, REFERENCES):
        top = root / folder
        try:
            mode = os.lstat(top).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(mode):
            problems.append(special_file(folder, mode) or _not_a_folder(folder))
            continue
        _scan(top, folder, found, problems)
    found.sort(key=lambda s: s.path)
    return found, problems


def _scan(folder: Path, prefix: str, found: list[SourceFile], problems: list[Diagnostic]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        problems.append(_unreadable(prefix, exc.strerror or str(exc))[1][0])
        return
    for entry in entries:
        rel_path = f"{prefix}/{entry.name}"
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError:
            continue  # removed while we looked
        if stat.S_ISDIR(mode):
            if classify(rel_path).kind != "unknown":
                problems.append(special_file(rel_path, mode))  # type: ignore[arg-type]
            else:
                _scan(Path(entry.path), rel_path, found, problems)
            continue
        source = classify(rel_path)
        problem = special_file(rel_path, mode) or source.diagnostic()
        if problem is not None:
            problems.append(problem)
        else:
            found.append(source)


# --- writing --------------------------------------------------------------------------------


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file beside the target, fsync it (unless it need not survive a
    crash, like a cache), then rename it over the target: a reader sees the old file or the
    new one, never half of one."""
    atomic_write_chunks(path, [data], durable)


def atomic_write_chunks(path: Path, chunks: list[bytes], durable: bool = True) -> None:
    """`atomic_write_bytes` of the chunks one after another, never joined in memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()  # read once: os.umask can only be read by setting it


def atomic_write(path: Path, data: str) -> None:
    """`atomic_write_bytes` of UTF-8 text, line endings as given."""
    atomic_write_bytes(path, data.encode("utf-8"))


def write_if_changed(path: Path, data: str) -> bool:
    """Generated files are rewritten (atomically) only when their content changes. Not synced
    to disk: a generated file is reused only when it matches the digest its build recorded, so
    one a crash left short is made again (a cold build of thousands of pages would otherwise
    wait for thousands of syncs)."""
    encoded = data.encode("utf-8")
    try:
        if read_unlinked(path) == encoded:
            return False
    except OSError:
        pass
    atomic_write_bytes(path, encoded, durable=False)
    return True


def read_unlinked(path: str | Path) -> bytes:
    """The bytes of the file at `path`, never read through a symbolic link (OSError for one):
    output the pipeline wrote is a file, and the same text behind a link is not that file (its
    target could change later, unseen by the link's own stat)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        return handle.read()
