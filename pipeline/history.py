"""Articles as they were at earlier Git revisions, loaded by the same loader as the working tree.

The gate judges every commit of a pull request with them, and production falls back to an
article's last approved revision when its current text is not (yet) approved."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline import gitio, paths
from pipeline.fingerprint import fingerprint
from pipeline.loader import Article, load
from pipeline.references import Library

_SETTINGS = [paths.PUBLICATION_FILE, paths.BOARD_FILE]


@dataclass(frozen=True)
class Revision:
    """One article at one commit: its files and the reference library as they were."""

    commit: str
    article: Article
    library: Library
    fingerprint: str


def article_files(root: Path, rev: str, article_id: str) -> dict[str, str]:
    """path -> mode:blob of everything an article's page is made from at `rev`: the settings,
    its main file and audience variants, and the reference library."""
    topic = article_id.split("/", 1)[0]
    entries = gitio.tree_entries(
        root, rev, [*_SETTINGS, f"{paths.CONTENT}/{topic}/", f"{paths.REFERENCES}/"]
    )
    return {
        path: blob
        for path, blob in entries.items()
        if path in _SETTINGS
        or paths.classify(path).kind == "references"
        or paths.classify(path).article_id == article_id
    }


_cache: dict[tuple[str, str], Revision | None] = {}


def article_at(root: Path, rev: str, article_id: str) -> Revision | None:
    """The article as of `rev`, or None where it did not exist or could not be read there."""
    try:
        entries = article_files(root, rev, article_id)
    except gitio.GitError:
        return None
    key = (article_id, repr(sorted(entries.items())))
    if key in _cache:
        return _cache[key]
    revision = None
    if f"{paths.CONTENT}/{article_id}.md" in entries:
        with tempfile.TemporaryDirectory(prefix="pipeline-rev-") as tmp:
            gitio.extract(root, rev, sorted(entries), Path(tmp))
            (Path(tmp) / paths.CONTENT).mkdir(exist_ok=True)
            project = load(Path(tmp), site_config=False)  # the snapshot holds no mkdocs.yml
        article = project.article(article_id)
        if article is not None and article.meta is not None:
            sha = gitio.resolve(root, rev)
            article.revision = sha
            article.library = project.library
            current = fingerprint(article, project.library)
            revision = Revision(sha, article, project.library, current)
    _cache[key] = revision
    return revision


def exists_at(root: Path, rev: str, article_id: str) -> bool:
    """Whether the article's main file exists at `rev`."""
    main = f"{paths.CONTENT}/{article_id}.md"
    try:
        return main in gitio.tree_entries(root, rev, [main])
    except gitio.GitError:
        return False


def versions(root: Path, article_id: str, head: str = "HEAD") -> list[gitio.Commit]:
    """Commits that changed the article's main file, newest first."""
    return gitio.history(root, f"{paths.CONTENT}/{article_id}.md", head)


@dataclass(frozen=True)
class FileCommit:
    day: str  # ISO date of the commit
    author_email: str
    subject: str


def commits_by_file(root: Path, folder: str = "content") -> dict[str, list[FileCommit]]:
    """Every commit that touched each file under `folder`, newest first: one `git log` for
    the whole publication, so a revision history costs no Git call per article."""
    out = gitio.git(
        root, "log", "--no-renames", "--format=%x00%aI%x1f%ae%x1f%s", "--name-only", "--", folder
    )
    found: dict[str, list[FileCommit]] = {}
    for block in out.split("\0")[1:]:
        header, _, names = block.partition("\n")
        day, email, subject = (header.split("\x1f") + ["", "", ""])[:3]
        commit = FileCommit(day[:10], email.lower(), subject.strip())
        for name in names.split("\n"):
            if name.strip():
                found.setdefault(name.strip(), []).append(commit)
    return found
