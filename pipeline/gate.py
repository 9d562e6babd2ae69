"""The pull-request gate (SPEC section 5): every change between REF and HEAD, judged against Git
history with trust taken from the tip of REF, never from what is being judged.

Roles, keys and policy come from `board.yml` and `publication.yml` at the tip of the base
branch. A review record counts only when its signature verifies against that board, and its
fingerprint equals the article's fingerprint, recomputed here, in the commit that added it."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import gitio, governance, history, paths
from pipeline.approval import judge
from pipeline.diagnostics import Diagnostic, diag
from pipeline.fingerprint import SCHEME, fingerprint
from pipeline.loader import Project, load_settings, parse_yaml, split_front_matter
from pipeline.model import Board, Publication, ReviewRecord
from pipeline.signing import Verdict, review_statement, verify


class GateProblem(Exception):
    """The gate cannot judge at all (no trusted board at the base): one line, exit 2."""


@dataclass
class ArticleReport:
    article_id: str
    verified: list[str] = field(default_factory=list)


@dataclass
class GateResult:
    base: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    reports: list[ArticleReport] = field(default_factory=list)


@dataclass(frozen=True)
class Trust:
    """What the gate believes, read from the tip of the base branch."""

    settings: Publication
    board: Board
    rev: str


def trusted(root: Path, rev: str) -> Trust:
    with tempfile.TemporaryDirectory(prefix="pipeline-trust-") as tmp:
        try:
            gitio.extract(root, rev, [paths.PUBLICATION_FILE, paths.BOARD_FILE], Path(tmp))
        except gitio.GitError as exc:
            raise GateProblem(f"the base revision has no settings to trust ({exc})") from exc
        settings, problems = load_settings(
            Path(tmp), paths.PUBLICATION_FILE, Publication, "The publication settings"
        )
        board, more = load_settings(Path(tmp), paths.BOARD_FILE, Board, "The board list")
    if settings is None or board is None:
        first = (problems + more)[0]
        raise GateProblem(
            f"the base revision's {first.file} is not valid, so nobody can be trusted: "
            f"{first.message}"
        )
    return Trust(settings, board, rev)


# --- one version of an article file ------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """The main file of an article at one commit, as far as it parses."""

    status: str | None
    authors: tuple[str, ...]
    records: tuple[dict[str, Any], ...]


def parse_version(data: bytes | None) -> Version | None:
    if data is None:
        return None
    text, _ = paths.decode_source(data, "article")
    front, _, _ = split_front_matter(text or "")
    try:
        doc = parse_yaml(front, 2) if front is not None else None
    except Exception:  # noqa: BLE001 - any unparseable version is simply not read
        doc = None
    meta = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    reviews = meta.get("reviews") if isinstance(meta.get("reviews"), list) else []
    authors = meta.get("authors") if isinstance(meta.get("authors"), list) else []
    return Version(
        status=meta.get("status") if isinstance(meta.get("status"), str) else None,
        authors=tuple(str(a) for a in authors),
        records=tuple(r for r in reviews if isinstance(r, dict)),
    )


def record_id(record: dict[str, Any]) -> str:
    """A record's identity is all of its fields: editing any of them is removing the record."""
    return json.dumps(record, sort_keys=True, default=str)


def _as_record(record: dict[str, Any]) -> ReviewRecord | None:
    try:
        return ReviewRecord.model_validate(record)
    except Exception:  # noqa: BLE001 - a malformed record is judged as not verifiable
        return None


def _is_subsequence(
    before: tuple[dict[str, Any], ...], after: tuple[dict[str, Any], ...], prefix: bool
) -> bool:
    """Whether `before` is kept in `after`, in order: as its start, or anywhere in order."""
    old, new = [record_id(r) for r in before], [record_id(r) for r in after]
    if prefix:
        return new[: len(old)] == old
    remaining = iter(new)
    return all(any(item == other for other in remaining) for item in old)


# --- the gate -------------------------------------------------------------------------------


def gate(project: Project, base_ref: str) -> GateResult:
    root = project.root
    try:
        tip = gitio.resolve(root, base_ref)
        base = gitio.merge_base(root, tip)
    except gitio.GitError as exc:
        raise gitio.GitError(f"cannot compare with {base_ref}: {exc}") from exc
    trust = trusted(root, tip)
    result = GateResult(base=base)
    changed = gitio.changed_paths(root, base)
    result.diagnostics += _unknown_files(root, changed)
    result.diagnostics += _settings_changes(root, base, changed, trust)
    touched = sorted(
        {
            source.article_id
            for source in map(paths.classify, changed)
            if source.article_id and source.kind in ("article", "variant")
        }
    )
    for article_id in touched:
        report = ArticleReport(article_id)
        result.reports.append(report)
        result.diagnostics += ArticleHistory(root, base, trust, article_id, report).judge()
    result.diagnostics += _approved_under_trust(project, trust)
    return result


def _approved_under_trust(project: Project, trust: Trust) -> list[Diagnostic]:
    """Every article that says approved must be approved by the base branch's board and
    policy, whatever the pull request's own board.yml or publication.yml say."""
    found = []
    required = trust.settings.review.approvals_required
    for article in project.articles.values():
        if article.meta is None or article.meta.status != "approved":
            continue
        state = judge(
            trust.settings,
            trust.board,
            article.id,
            article.meta.authors,
            article.meta.reviews,
            fingerprint(article, project.library),
        )
        if len(state.valid) < required:
            found.append(
                diag(
                    "gate.status-transition",
                    article.file,
                    article.line_of("status"),
                    f"The status is approved, but {len(state.valid)} of {required} required "
                    "approvals verify against the base branch's board for the current text: "
                    "set the status to under_review until reviewers approve it.",
                )
            )
    return found


_OUTPUTS = ("build/", "site/", "site.")


def _unknown_files(root: Path, changed: list[str]) -> list[Diagnostic]:
    """Every file under content/ and references/ is one the gate understands, and no build
    output is committed (a build would otherwise publish it)."""
    found = [
        diag(
            "gate.unknown-file",
            path,
            None,
            "This is build output; it is made by `pipeline build`, never committed. Remove it "
            "from the repository (build/ and site/ are in .gitignore).",
        )
        for path in gitio.tree_entries(root, "HEAD", [])
        if path.startswith(_OUTPUTS) or path == "site"
    ]
    entries = gitio.tree_entries(root, "HEAD", [paths.CONTENT, paths.REFERENCES])
    for path in changed:
        inside = path.startswith((f"{paths.CONTENT}/", f"{paths.REFERENCES}/"))
        if path not in entries or not inside:
            continue
        source = paths.classify(path)
        if source.kind == "unknown":
            found.append(diag("gate.unknown-file", path, None, source.message or ""))
        elif not entries[path].startswith("100"):
            found.append(
                diag(
                    "gate.unknown-file",
                    path,
                    None,
                    "This is a symbolic link (or another special file); the pipeline reads only "
                    "regular files, so commit the file itself.",
                )
            )
    return found


def _settings_changes(root: Path, base: str, changed: list[str], trust: Trust) -> list[Diagnostic]:
    governed = sorted(p for p in changed if governance.is_governed(p))
    if not governed:
        return []
    digest = governance.governed_digest(root, "HEAD")
    # Only approvals added since the merge base count: an old approval of an old state of the
    # settings must not bring that state back (a revoked key, say).
    earlier = set(governance.parse_approvals(gitio.show(root, base, governance.APPROVALS_FILE)))
    added = [
        a
        for a in governance.parse_approvals(gitio.show(root, "HEAD", governance.APPROVALS_FILE))
        if a not in earlier
    ]
    approvers = governance.valid_approvers(added, digest, trust.settings, trust.board)
    required = trust.settings.review.approvals_required
    if len(approvers) >= required:
        return []
    more = f" and {len(governed) - 5} more" if len(governed) > 5 else ""
    shown = ", ".join(governed[:5]) + more
    return [
        diag(
            "gate.settings-unapproved",
            governed[0],
            None,
            f"This change edits governed settings ({shown}), which needs {required} signed "
            f"settings approval(s) by reviewers of the base branch's board; it has "
            f"{len(approvers)}. A reviewer runs `pipeline review approve-settings`.",
        )
    ]


class ArticleHistory:
    """One article's commits in the range, judged with the trusted board."""

    def __init__(
        self, root: Path, base: str, trust: Trust, article_id: str, report: ArticleReport
    ) -> None:
        self.root, self.base, self.trust = root, base, trust
        self.article_id, self.report = article_id, report
        self.main = f"{paths.CONTENT}/{article_id}.md"
        self.out: list[Diagnostic] = []

    def version(self, rev: str) -> Version | None:
        return parse_version(gitio.read_blob(self.root, rev, self.main))

    def fingerprint_at(self, rev: str) -> str | None:
        revision = history.article_at(self.root, rev, self.article_id)
        return revision.fingerprint if revision else None

    def error(self, code: str, message: str) -> None:
        self.out.append(diag(code, self.main, None, message))

    def judge(self) -> list[Diagnostic]:
        head = self.version("HEAD")
        if head is None:
            self.report.verified.append("removed in this change")
            return self.out
        old = self.version(self.base)
        commits = self._range_commits()
        self._append_only(old, head, commits)
        before = {record_id(r) for r in (old.records if old else ())}
        added = [r for r in head.records if record_id(r) not in before]
        counting = self._counting_approvals(head)
        for record in added:
            self._judge_added(record, counting)
        return self.out

    def _range_commits(self) -> list[str]:
        span = f"{self.base}..HEAD"
        return gitio.git(self.root, "rev-list", "--reverse", span, "--", self.main).split()

    def _append_only(self, old: Version | None, head: Version, commits: list[str]) -> None:
        """Records are append-only in every commit: none seen in the range may be missing."""
        kept = {record_id(r) for r in head.records}
        seen: dict[str, str] = {record_id(r): self.base[:12] for r in (old.records if old else ())}
        broken = None  # the first commit that reordered, copied or dropped a record
        if old is not None and not _is_subsequence(old.records, head.records, prefix=True):
            broken = "HEAD"
        for sha in commits:
            version = self.version(sha)
            for record in version.records if version else ():
                seen.setdefault(record_id(record), sha[:12])
            if broken is None and not self._appends_to_parents(sha, version):
                broken = sha[:12]
        lost = [(rid, sha) for rid, sha in seen.items() if rid not in kept]
        if lost or broken:
            where = lost[0][1] if lost else broken
            self.error(
                "gate.review-rewritten",
                f"Review records were removed, altered, reordered or copied (commit {where}); "
                "records are append-only, so add a new record at the end instead.",
            )
            self.report.verified.append("review records: REWRITTEN")
        else:
            self.report.verified.append(f"review records: append-only ({len(seen)} seen, all kept)")

    def _appends_to_parents(self, sha: str, version: Version | None) -> bool:
        """A commit keeps each parent's records in order and only adds new ones after them
        (a merge may interleave its parents' additions); no record appears twice."""
        if version is None:
            return True  # the article was removed or does not parse here
        ids = [record_id(r) for r in version.records]
        if len(set(ids)) != len(ids):
            return False
        parents = gitio.parents(self.root, sha)
        for parent in parents:
            before = self.version(parent)
            if before is not None and not _is_subsequence(
                before.records, version.records, prefix=len(parents) == 1
            ):
                return False
        return True

    def _counting_approvals(self, head: Version) -> set[str]:
        """Ids of the approvals that count at HEAD under the trusted board."""
        records = [r for r in map(_as_record, head.records) if r is not None]
        current = self.fingerprint_at("HEAD")
        if current is None:
            return set()
        state = judge(
            self.trust.settings,
            self.trust.board,
            self.article_id,
            list(head.authors),
            records,
            current,
        )
        return {r.signature or "" for r in state.valid}

    def _judge_added(self, raw: dict[str, Any], counting: set[str]) -> None:
        record = _as_record(raw)
        who = raw.get("reviewer")
        verdict = Verdict.MALFORMED
        if record is not None:
            member = self.trust.board.member(record.reviewer)
            statement = review_statement(
                self.trust.settings.publication_id, self.article_id, record.model_dump(), SCHEME
            )
            keys = member.keys if member is not None and member.role == "reviewer" else []
            verdict = verify(statement, record.signature, keys)
        if record is None or verdict is not Verdict.VALID:
            self.error(
                "gate.forged-review",
                f"The {raw.get('decision')} record for '{who}' does not carry a valid signature "
                f"by '{who}' on the base branch's board ({verdict.value}); only "
                "`pipeline review` run by that reviewer writes one.",
            )
            return
        if record.signature not in counting:
            self.report.verified.append(f"{record.decision} by {who}: signed (does not count now)")
            return
        adding = self._adding_commit(record)
        at_adding = self.fingerprint_at(adding) if adding else None
        if at_adding != record.fingerprint:
            self.error(
                "gate.forged-review",
                f"The approval by '{who}' is for other text than the article had in the commit "
                f"that added it ({(adding or 'unknown')[:12]}): approve the text as committed.",
            )
            return
        editors = self._content_editors(record, adding)
        if record.reviewer in editors or record.reviewer in self._authors_ever():
            self.error(
                "gate.reviewer-edited",
                f"'{who}' wrote or edited this article's content (its text or a reference it "
                "cites) since its last approval, or is one of its authors, and so cannot approve "
                "it; another reviewer must.",
            )
            return
        self.report.verified.append(
            f"approved by {who}: signature verified, fingerprint matches commit {adding[:12]}"
        )

    def _adding_commit(self, record: ReviewRecord) -> str | None:
        """The oldest commit whose version of the article holds the record."""
        out = gitio.git(
            self.root,
            "log",
            "--reverse",
            "--format=%H",
            f"-S{record.signature}",
            "HEAD",
            "--",
            self.main,
        ).split()
        return out[0] if out else None

    def _authors_ever(self) -> set[str]:
        authors: set[str] = set()
        for sha in gitio.git(self.root, "rev-list", "HEAD", "--", self.main).split():
            version = self.version(sha)
            authors |= set(version.authors) if version else set()
        return authors

    def _previous_approval_commit(self, record: ReviewRecord) -> str | None:
        """Where the last valid approval before this one was added, if any."""
        head = self.version("HEAD")
        earlier = []
        for raw in head.records if head else ():
            other = _as_record(raw)
            if other is None or other.signature == record.signature:
                break
            if other.decision == "approved" and self._verifies(other):
                earlier.append(other)
        for other in reversed(earlier):
            commit = self._adding_commit(other)
            if commit:
                return commit
        return None

    def _verifies(self, record: ReviewRecord) -> bool:
        member = self.trust.board.member(record.reviewer)
        statement = review_statement(
            self.trust.settings.publication_id, self.article_id, record.model_dump(), SCHEME
        )
        return verify(statement, record.signature, member.keys if member else []) is Verdict.VALID

    def _content_editors(self, record: ReviewRecord, adding: str) -> set[str]:
        """Board ids of whoever changed what readers see of the article since its previous
        valid approval, up to the commit that added this one. A merge changes content only
        where it differs from every parent."""
        since = self._previous_approval_commit(record)
        topic, slug = self.article_id.split("/", 1)
        specs = [self.main, f"{paths.CONTENT}/{topic}/{slug}.*.md", f"{paths.REFERENCES}/"]
        span = [adding] + ([f"^{since}"] if since else [])
        by_email = {m.git_email.lower(): m.id for m in self.trust.board.members}
        editors = set()
        for sha in gitio.git(self.root, "rev-list", *span, "--", *specs).split():
            after = self.fingerprint_at(sha)
            if after is None:
                continue
            parents = gitio.parents(self.root, sha)
            if len(parents) == 2 and gitio.is_clean_merge(self.root, sha, *parents):
                continue  # a merge git made by itself ("Update branch") edits nothing
            befores = [self.fingerprint_at(p) for p in parents]
            if all(before != after for before in befores) or not befores:
                email = gitio.git(self.root, "log", "-1", "--format=%ae", sha).strip().lower()
                if email in by_email:
                    editors.add(by_email[email])
        return editors
