"""What "approved" means (SPEC section 3), decided once for the checks, the gate, the site and
`status`: signed records from board reviewers who are not authors, on the current fingerprint."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.fingerprint import SCHEME, fingerprint
from pipeline.loader import Article, Project
from pipeline.model import Board, Publication, ReviewRecord
from pipeline.signing import Verdict, review_statement, verify


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class UnverifiedRecord:
    index: int  # position in the article's `reviews`
    record: ReviewRecord
    verdict: Verdict


@dataclass(frozen=True)
class ApprovalState:
    fingerprint: str
    required: int
    valid: tuple[ReviewRecord, ...]  # current signed approvals by distinct eligible reviewers
    stale: tuple[ReviewRecord, ...]  # a reviewer's latest signed approval, made on other content
    unverified: tuple[UnverifiedRecord, ...]  # records whose signature does not verify
    due: dt.date | None  # when the newest valid approval falls due for review

    @property
    def satisfied(self) -> bool:
        return len(self.valid) >= self.required

    @property
    def approved_on(self) -> dt.date | None:
        return max((r.day for r in self.valid), default=None)


def eligible_reviewer(board: Board | None, authors: list[str], reviewer_id: str) -> bool:
    member = board.member(reviewer_id) if board else None
    return member is not None and member.role == "reviewer" and reviewer_id not in authors


class _Reached(NamedTuple):
    """A verdict, with what it was reached for (held, so that no `id` is reused meanwhile)."""

    settings: Publication
    board: Board
    article_id: str
    record: ReviewRecord
    verdict: Verdict


# This load's verdicts by record (`id`): a load verifies every record (loader._verify_reviews)
# before the checks and the pages ask again, with the same objects. A new load forgets them.
_reached: dict[int, _Reached] = {}


def forget_verdicts() -> None:
    """A new load: the records of the last are no longer asked about."""
    _reached.clear()


def record_verdict(
    settings: Publication, board: Board, article_id: str, record: ReviewRecord
) -> Verdict:
    """Whether the record's signature is its reviewer's, over exactly this record."""
    known = _reached.get(id(record))
    if (
        known is not None
        and known.record is record
        and known.settings is settings
        and known.board is board
        and known.article_id == article_id
    ):
        return known.verdict
    member = board.member(record.reviewer)
    keys = member.keys if member is not None else []
    statement = review_statement(settings.publication_id, article_id, record.model_dump(), SCHEME)
    verdict = verify(statement, record.signature, keys)
    _reached[id(record)] = _Reached(settings, board, article_id, record, verdict)
    return verdict


def judge(
    settings: Publication | None,
    board: Board | None,
    article_id: str,
    authors: list[str],
    reviews: list[ReviewRecord],
    current: str,
) -> ApprovalState:
    """The approval state of one version of an article, judged with the given board: the
    project's own for `check` and the site, the base branch's for the gate."""
    required = settings.review.approvals_required if settings else 1
    latest: dict[str, ReviewRecord] = {}
    unverified = []
    signatures: set[str] = set()
    # Only decisions after the last signed record on other text count for the current text:
    # a revert to an older approved text needs a fresh approval, like any other change.
    since_other_text: set[str] = set()
    for index, record in enumerate(reviews):
        verdict = (
            record_verdict(settings, board, article_id, record)
            if settings and board
            else Verdict.FOREIGN
        )
        if verdict is Verdict.VALID and record.signature in signatures:
            verdict = Verdict.BAD  # a copy of a record already in the list
        if verdict is not Verdict.VALID:
            unverified.append(UnverifiedRecord(index, record, verdict))
            continue
        signatures.add(record.signature or "")
        if record.fingerprint != current:
            since_other_text.clear()
        else:
            since_other_text.add(record.reviewer)
        latest[record.reviewer] = record  # a reviewer's newest decision replaces earlier ones
    valid, stale = [], []
    for record in latest.values():
        if record.decision != "approved" or not eligible_reviewer(board, authors, record.reviewer):
            continue
        current_approval = record.fingerprint == current and record.reviewer in since_other_text
        (valid if current_approval else stale).append(record)
    due = None
    if valid and settings:
        due = add_months(max(r.day for r in valid), settings.review.review_interval_months)
    return ApprovalState(current, required, tuple(valid), tuple(stale), tuple(unverified), due)


# The memo entry of an article's current fingerprint, by id: `run_checks` may fill it from the
# parse cache (pipeline/checks.py `_recall_fingerprints`).
FINGERPRINT_MEMO = "fingerprint:{}@"


def current_fingerprint(project: Project, article: Article) -> str:
    """The content fingerprint of this article (of its revision, for one from history)."""
    key = FINGERPRINT_MEMO.format(article.id) + (article.revision or "")
    if key not in project.memo:
        project.memo[key] = fingerprint(article, article.library or project.library)
    return project.memo[key]


def approval_state(project: Project, article: Article) -> ApprovalState:
    key = f"approval:{article.id}@{article.revision or ''}"
    if key not in project.memo:
        assert article.meta is not None
        project.memo[key] = judge(
            project.settings,
            project.board,
            article.id,
            article.meta.authors,
            article.meta.reviews,
            current_fingerprint(project, article),
        )
    return project.memo[key]


@dataclass(frozen=True)
class ArticleState:
    """An article's public state, decided once: the checks, `status`, the gate, rendering and
    templates all read this (templates only present it)."""

    status: str  # as written in the front matter
    approval: ApprovalState
    approved: bool  # status approved and its approvals hold: the text is approved
    overdue: bool  # approved longer ago than the review interval
    overdue_from: dt.date | None = None  # the first day it is overdue, when approved

    @property
    def approvers(self) -> tuple[str, ...]:
        """Who approved this text; empty unless the approval holds."""
        return tuple(r.reviewer for r in self.approval.valid) if self.approved else ()

    @property
    def approved_on(self) -> dt.date | None:
        return self.approval.approved_on if self.approved else None

    @property
    def due(self) -> dt.date | None:
        """When this text is due for review; None unless it is approved."""
        return self.approval.due if self.approved else None

    @property
    def stale_reviewers(self) -> tuple[str, ...]:
        return tuple(r.reviewer for r in self.approval.stale)

    @property
    def claims_approval_that_fails(self) -> bool:
        return self.status == "approved" and not self.approved

    @property
    def step(self) -> str:
        """The review step readers see: an approval that does not hold is still under review."""
        return "under_review" if self.claims_approval_that_fails else self.status


def article_state(project: Project, article: Article) -> ArticleState:
    assert article.meta is not None
    key = f"state:{article.id}@{article.revision or ''}"
    if key not in project.memo:
        approval = approval_state(project, article)
        approved = article.meta.status == "approved" and approval.satisfied
        overdue_from = None
        if approved and approval.due is not None:
            overdue_from = approval.due + dt.timedelta(days=1)  # overdue once due is past
        overdue = overdue_from is not None and project.today >= overdue_from
        state = ArticleState(article.meta.status, approval, approved, overdue, overdue_from)
        project.memo[key] = state
    return project.memo[key]


def is_approved(project: Project, article: Article) -> bool:
    """The article's current text is approved: status approved and its approvals hold."""
    return article.meta is not None and article_state(project, article).approved


@dataclass(frozen=True)
class Publishing:
    """What a build shows of an article: the version readers get, or why none."""

    article: Article | None  # the current article, or its last approved revision
    reason: str  # why it is shown as it is, or held back
    under_review: bool = False  # a newer revision than the one shown awaits review

    def state(self, project: Project) -> ArticleState | None:
        """The public state of the text shown (of that revision, when it is an older one)."""
        return article_state(project, self.article) if self.article is not None else None


def last_approved_revision(project: Project, article: Article) -> Article | None:
    """The newest revision in Git history whose approval holds, judged with today's board."""
    from pipeline import gitio, history

    if not has_history(project):
        return None
    try:
        commits = history.versions(project.root, article.id)
    except gitio.GitError:
        return None
    for commit in commits:
        if not history.exists_at(project.root, commit.sha, article.id):
            return None  # deleted since: what was withdrawn never comes back
        revision = history.article_at(project.root, commit.sha, article.id)
        if revision is None or not is_approved(project, revision.article):
            continue
        if _changes_requested_since(project, article, revision.fingerprint):
            return None  # a reviewer asked for changes to exactly that text
        return revision.article
    return None


def _changes_requested_since(project: Project, article: Article, shown: str) -> bool:
    """Whether a reviewer's signed request for changes, in today's records, is on `shown`."""
    assert article.meta is not None and project.settings and project.board
    return any(
        record.decision == "changes_requested"
        and record.fingerprint == shown
        and record_verdict(project.settings, project.board, article.id, record) is Verdict.VALID
        for record in article.meta.reviews
    )


def has_history(project: Project) -> bool:
    """Whether the publication is a Git work tree (asked once per run)."""
    from pipeline import gitio

    if "has_history" not in project.memo:
        project.memo["has_history"] = gitio.is_repository(project.root)
    return project.memo["has_history"]


def publishing(project: Project, article: Article, preview: bool = False) -> Publishing:
    """What readers are shown. A preview shows the working text, whatever its state; production
    publishes the current text when its approval holds, else the last approved revision from
    Git history; an article never approved is held back."""
    if article.meta is None:
        return Publishing(None, "front matter errors")
    if preview:
        return Publishing(article, "preview of the working text")
    if is_approved(project, article):
        return Publishing(article, "approved")
    key = f"publishing:{article.id}"
    if key not in project.memo:
        previous = last_approved_revision(project, article)
        if previous is not None:
            result = Publishing(previous, "last approved revision", under_review=True)
        elif not has_history(project):
            result = Publishing(
                None, "not approved, and no Git history to find an approved revision in"
            )
        elif article.meta.status == "approved":
            result = Publishing(None, "status approved, but no approval holds")
        else:
            result = Publishing(None, f"status {article.meta.status}, never approved")
        project.memo[key] = result
    return project.memo[key]


@dataclass(frozen=True)
class ApprovedVersion:
    """One version of an article that the board approved, from its signed records."""

    fingerprint: str
    day: dt.date  # when its last required approval was signed
    first_day: dt.date  # when its first approval was signed
    approvers: tuple[str, ...]
    notes: tuple[str, ...]  # the reviewers' notes on it, if any


def approved_versions(project: Project, article: Article) -> list[ApprovedVersion]:
    """Every version of the article that gathered enough signed approvals, oldest first."""
    assert article.meta is not None
    state = approval_state(project, article)
    rejected = {u.index for u in state.unverified}
    groups: dict[str, list[ReviewRecord]] = {}
    for index, record in enumerate(article.meta.reviews):
        if index in rejected or record.decision != "approved":
            continue
        if eligible_reviewer(project.board, article.meta.authors, record.reviewer):
            groups.setdefault(record.fingerprint, []).append(record)
    versions = []
    for fp, records in groups.items():
        approvers: dict[str, ReviewRecord] = {}
        for record in records:
            approvers.setdefault(record.reviewer, record)
        if len(approvers) < state.required:
            continue
        days = sorted(r.day for r in approvers.values())
        notes = tuple(r.note for r in approvers.values() if r.note)
        versions.append(
            ApprovedVersion(fp, days[state.required - 1], days[0], tuple(approvers), notes)
        )
    versions.sort(key=lambda v: v.day)
    return versions
