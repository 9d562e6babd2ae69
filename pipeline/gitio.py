"""Every git call the pipeline makes: real `git`, read-only."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


class GitError(Exception):
    """git failed: not a repository, an unknown revision, no git on PATH."""


@dataclass(frozen=True)
class Commit:
    sha: str
    author_email: str
    author_name: str
    subject: str


def git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if done.returncode != 0:
        raise GitError(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "git failed"
        )
    return done.stdout


def resolve(root: Path, rev: str) -> str:
    return git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()


def merge_base(root: Path, base: str, head: str = "HEAD") -> str:
    return git(root, "merge-base", base, head).strip()


def changed_paths(root: Path, base: str, head: str = "HEAD") -> list[str]:
    out = git(root, "diff", "--name-only", "--no-renames", "-z", base, head)
    return [p for p in out.split("\0") if p]


def show(root: Path, rev: str, path: str) -> str | None:
    """A file's text at a revision, or None where it does not exist."""
    try:
        return git(root, "show", f"{rev}:{path}")
    except GitError:
        return None


def is_repository(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except GitError:
        return False


def history(root: Path, path: str, head: str = "HEAD", limit: int = 200) -> list[Commit]:
    """Commits reachable from head that changed `path`, newest first (merges simplified away
    where they took one side's version)."""
    out = git(
        root,
        "log",
        f"--max-count={limit}",
        "--format=%H%x1f%ae%x1f%an%x1f%s%x1e",
        head,
        "--",
        path,
    )
    return _commits(out)


def _commits(out: str) -> list[Commit]:
    commits = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if record:
            sha, email, name, subject = record.split("\x1f")
            commits.append(Commit(sha, email.strip().lower(), name, subject))
    return commits


def extract(root: Path, rev: str, pathspecs: list[str], dest: Path) -> None:
    """The files under `pathspecs` as of `rev`, written below `dest` (regular files only)."""
    import io
    import tarfile

    try:
        done = subprocess.run(
            ["git", "-C", str(root), "archive", "--format=tar", rev, "--", *pathspecs],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else "git archive failed")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        tar.extractall(dest, members=members, filter="data")


def parents(root: Path, sha: str) -> list[str]:
    out = git(root, "rev-list", "--parents", "-n", "1", sha).split()
    return out[1:]


def tree_entries(root: Path, rev: str, pathspecs: list[str]) -> dict[str, str]:
    """path -> blob id of every file under `pathspecs` at `rev`."""
    out = git(root, "ls-tree", "-r", "-z", "--full-tree", rev, "--", *pathspecs)
    entries = {}
    for item in out.split("\0"):
        if not item:
            continue
        meta, _, path = item.partition("\t")
        mode, kind, blob = meta.split()
        entries[path] = f"{mode}:{blob}" if kind == "blob" else f"{kind}:{blob}"
    return entries


def read_blob(root: Path, rev: str, path: str) -> bytes | None:
    """A file's bytes at a revision, or None where it does not exist."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "cat-file", "blob", f"{rev}:{path}"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    return done.stdout if done.returncode == 0 else None


def is_clean_merge(root: Path, sha: str, first: str, second: str) -> bool:
    """Whether a merge commit holds exactly the tree git's own merge of its parents gives."""
    try:
        merged = git(root, "merge-tree", "--write-tree", first, second).split()[0]
        return merged == git(root, "rev-parse", f"{sha}^{{tree}}").strip()
    except (GitError, IndexError):
        return False
