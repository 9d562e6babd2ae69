"""Where things live in a publication repository, and how article ids are made from paths."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CONTENT = "content"
REFERENCES = "references"
PUBLICATION_FILE = "content/publication.yml"
BOARD_FILE = "content/board.yml"
GENERATED_DOCS = "build/docs"
SITE = "site"
MKDOCS_FILE = "mkdocs.yml"
ARTICLE_SUFFIXES = (".md", ".markdown")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_ARTICLE_BYTES = 1_000_000


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


def atomic_write(path: Path, data: str) -> None:
    """Write to a temporary file beside the target, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, data: str) -> bool:
    """Generated files are rewritten only when their content changes (incremental builds)."""
    encoded = data.encode("utf-8")
    try:
        if path.read_bytes() == encoded:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded)
    return True


@dataclass(frozen=True)
class SourceFile:
    """What a file under content/ or references/ is, decided from its path alone."""

    path: str
    kind: Literal["article", "variant", "publication", "board", "references", "unknown"]
    article_id: str | None = None
    audience: str | None = None


def classify(rel_path: str) -> SourceFile:
    parts = rel_path.split("/")
    if rel_path == PUBLICATION_FILE:
        return SourceFile(rel_path, "publication")
    if rel_path == BOARD_FILE:
        return SourceFile(rel_path, "board")
    if len(parts) == 2 and parts[0] == REFERENCES and parts[1].endswith(".bib"):
        return SourceFile(rel_path, "references")
    if len(parts) == 3 and parts[0] == CONTENT and parts[2].endswith(".md"):
        stem = parts[2][: -len(".md")].split(".")
        names = [parts[1], *stem]
        if len(stem) <= 2 and all(NAME.fullmatch(n) for n in names):
            article_id = f"{parts[1]}/{stem[0]}"
            if len(stem) == 1:
                return SourceFile(rel_path, "article", article_id)
            return SourceFile(rel_path, "variant", article_id, stem[1])
    return SourceFile(rel_path, "unknown")
