"""The pull-request gate (SPEC section 5): every change since REF, checked against git history.

Identity comes from the base revision's board.yml, so a pull request cannot vouch for itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline import gitio, paths
from pipeline.diagnostics import Diagnostic, diag
from pipeline.fingerprint import normalize_text
from pipeline.loader import Project, split_front_matter
from pipeline.model import REVIEW_FIELDS, Board
from pipeline.references import parse_text


@dataclass
class Version:
    """An article file as of one revision."""

    front: dict[str, Any] | None
    body: str

    @property
    def reviews(self) -> list[dict[str, Any]]:
        reviews = (self.front or {}).get("reviews") or []
        return [r for r in reviews if isinstance(r, dict)] if isinstance(reviews, list) else []

    @property
    def status(self) -> str | None:
        return (self.front or {}).get("status")

    def content(self) -> tuple[str, str]:
        front = {k: v for k, v in (self.front or {}).items() if k not in REVIEW_FIELDS}
        return repr(sorted(front.items(), key=lambda kv: str(kv[0]))), normalize_text(self.body)


def parse_version(text: str | None) -> Version | None:
    if text is None:
        return None
    front, body, _ = split_front_matter(text.replace("\r\n", "\n"))
    try:
        data = yaml.safe_load(front) if front is not None else None
    except yaml.YAMLError:
        data = None
    return Version(data if isinstance(data, dict) else None, body)


@dataclass
class ArticleReport:
    article_id: str
    verified: list[str] = field(default_factory=list)


@dataclass
class GateResult:
    base: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    reports: list[ArticleReport] = field(default_factory=list)


def _board_at(root: Path, rev: str) -> Board | None:
    text = gitio.show(root, rev, paths.BOARD_FILE)
    try:
        return Board.model_validate(yaml.safe_load(text)) if text else None
    except Exception:  # noqa: BLE001 - an invalid board at base trusts nobody
        return None


def _article_of(path: str) -> tuple[str, bool] | None:
    """(article id, is the main file) for a content path, else None."""
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != paths.CONTENT or not parts[2].endswith(".md"):
        return None
    stem = parts[2][: -len(".md")].split(".")
    if len(stem) > 2:
        return None
    return f"{parts[1]}/{stem[0]}", len(stem) == 1


def _content_changed_by(root: Path, commit: gitio.Commit, files: list[str]) -> bool:
    parent = gitio.first_parent(root, commit.sha)
    for path in files:
        after = gitio.show(root, commit.sha, path)
        before = gitio.show(root, parent, path) if parent else None
        if after == before:
            continue
        if path.count(".") > 1:  # an audience variant: all of it is content
            return True
        old, new = parse_version(before), parse_version(after)
        if old is None or new is None or old.content() != new.content():
            return True
    return False


def gate(project: Project, base_ref: str) -> GateResult:
    root = project.root
    try:
        gitio.resolve(root, base_ref)
        base = gitio.merge_base(root, base_ref)
    except gitio.GitError as exc:
        raise gitio.GitError(f"cannot compare with {base_ref}: {exc}") from exc
    result = GateResult(base=base)
    board = _board_at(root, base)
    changed: dict[str, list[str]] = {}
    bib_paths = []
    for path in gitio.changed_paths(root, base):
        found = _article_of(path)
        if found:
            changed.setdefault(found[0], []).append(path)
        elif path.startswith(f"{paths.REFERENCES}/") and path.endswith(".bib"):
            bib_paths.append(path)
    reference_edits = _reference_edits(root, base, bib_paths)
    for article_id, files in sorted(changed.items()):
        main = f"{paths.CONTENT}/{article_id}.md"
        report = ArticleReport(article_id)
        result.reports.append(report)
        head = parse_version(gitio.show(root, "HEAD", main))
        if head is None:
            report.verified.append("removed in this change")
            continue
        old = parse_version(gitio.show(root, base, main))
        article = project.article(article_id)
        cited = {c.key.lower() for c in article.citations()} if article else set()
        # Whoever changed an entry this article cites changed what its readers see.
        editors = {email for email, keys in reference_edits if keys & cited}
        _check_history(
            root, base, main, files, old, head, board, result.diagnostics, report, editors
        )
    return result


def _entries(root: Path, rev: str | None, path: str) -> dict[str, object]:
    text = gitio.show(root, rev, path) if rev else None
    if text is None:
        return {}
    parsed = parse_text(text, path)
    return {r.key.lower(): r.normalized() for r in parsed.references}


def _reference_edits(root: Path, base: str, bib_paths: list[str]) -> list[tuple[str, set[str]]]:
    """(author email, keys whose entry the commit changed) for each commit to a .bib file."""
    edits = []
    for path in bib_paths:
        for commit in gitio.commits_touching(root, base, path):
            before = _entries(root, gitio.first_parent(root, commit.sha), path)
            after = _entries(root, commit.sha, path)
            keys = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
            if keys:
                edits.append((commit.author_email, keys))
    return edits


def _check_history(
    root: Path,
    base: str,
    main: str,
    files: list[str],
    old: Version | None,
    head: Version,
    board: Board | None,
    out: list[Diagnostic],
    report: ArticleReport,
    reference_editors: set[str],
) -> None:
    commits = gitio.commits_touching(root, base, main)
    # Review records are append-only.
    base_reviews = old.reviews if old else []
    if head.reviews[: len(base_reviews)] != base_reviews:
        out.append(
            diag(
                "gate.review-rewritten",
                main,
                None,
                "Review records were removed or altered; they are append-only, so add a new "
                "record instead.",
            )
        )
        report.verified.append("review records: REWRITTEN")
    else:
        report.verified.append(f"review records: append-only ({len(base_reviews)} kept)")
    # A new article starts as submitted.
    if old is None:
        first = parse_version(gitio.show(root, commits[0].sha, main)) if commits else head
        if first is None or first.status != "submitted":
            status = first.status if first else "unknown"
            out.append(
                diag(
                    "gate.status-transition",
                    main,
                    None,
                    f"A new article must start as submitted, but it was added as {status}.",
                )
            )
        else:
            report.verified.append("new article added as submitted")
    # Each added record was committed by its reviewer, who did not edit the content.
    added = head.reviews[len(base_reviews) :] if len(head.reviews) >= len(base_reviews) else []
    editors_by_email = {c.author_email for c in commits_editing_content(root, base, files)}
    editors_by_email |= reference_editors
    for record in added:
        reviewer = str(record.get("reviewer"))
        adder = _commit_adding(root, commits, main, record)
        member = board.member(reviewer) if board else None
        email = member.git_email.lower() if member else None
        if adder is None or email is None or adder.author_email != email:
            who = adder.author_email if adder else "an unknown commit"
            why = (
                "is not on the board at the base revision"
                if email is None
                else f"commits as {email}"
            )
            out.append(
                diag(
                    "gate.forged-review",
                    main,
                    None,
                    f"The {record.get('decision')} record for '{reviewer}' was added by {who}, "
                    f"but '{reviewer}' {why}.",
                )
            )
            continue
        if record.get("decision") == "approved" and email in editors_by_email:
            out.append(
                diag(
                    "gate.reviewer-edited",
                    main,
                    None,
                    f"'{reviewer}' changed this article's content (its text or a reference it "
                    "cites) in this pull request and so cannot also approve it; another "
                    "reviewer must.",
                )
            )
            continue
        report.verified.append(f"{record.get('decision')} by {reviewer}: committed by {email}")


def commits_editing_content(root: Path, base: str, files: list[str]) -> list[gitio.Commit]:
    seen: dict[str, gitio.Commit] = {}
    for path in files:
        for commit in gitio.commits_touching(root, base, path):
            seen.setdefault(commit.sha, commit)
    return [c for c in seen.values() if _content_changed_by(root, c, files)]


def _commit_adding(
    root: Path, commits: list[gitio.Commit], main: str, record: dict[str, Any]
) -> gitio.Commit | None:
    """The first commit in the range whose version of the article holds the record."""
    for commit in commits:
        version = parse_version(gitio.show(root, commit.sha, main))
        if version is not None and record in version.reviews:
            return commit
    return None
