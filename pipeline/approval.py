"""What "approved" means (SPEC section 3), decided once for the checks, the site and `status`."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from pipeline.fingerprint import fingerprint
from pipeline.loader import Article, Project
from pipeline.model import ReviewRecord


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ApprovalState:
    fingerprint: str
    required: int
    valid: tuple[ReviewRecord, ...]  # current approvals by distinct eligible reviewers
    stale: tuple[ReviewRecord, ...]  # a reviewer's latest approval, made on other content
    due: dt.date | None  # when the newest valid approval falls due for review

    @property
    def satisfied(self) -> bool:
        return len(self.valid) >= self.required


def eligible_reviewer(project: Project, article: Article, reviewer_id: str) -> bool:
    member = project.board.member(reviewer_id) if project.board else None
    authors = article.meta.authors if article.meta else []
    return member is not None and member.role == "reviewer" and reviewer_id not in authors


def approval_state(project: Project, article: Article) -> ApprovalState:
    key = f"approval:{article.id}"
    if key not in project.memo:
        project.memo[key] = _approval_state(project, article)
    return project.memo[key]


def _approval_state(project: Project, article: Article) -> ApprovalState:
    assert article.meta is not None
    current = fingerprint(article, project.library)
    latest: dict[str, ReviewRecord] = {}
    for record in article.meta.reviews:
        latest[record.reviewer] = record  # a reviewer's newest decision replaces their earlier ones
    valid, stale = [], []
    for record in latest.values():
        if record.decision != "approved" or not eligible_reviewer(
            project, article, record.reviewer
        ):
            continue
        (valid if record.fingerprint == current else stale).append(record)
    policy = project.settings.review if project.settings else None
    required = policy.approvals_required if policy else 1
    due = None
    if valid and policy:
        due = add_months(max(r.date for r in valid), policy.review_interval_months)
    return ApprovalState(current, required, tuple(valid), tuple(stale), due)


def is_published(project: Project, article: Article) -> bool:
    """Production publishes an article only when its approval genuinely holds."""
    return (
        article.meta is not None
        and article.meta.status == "approved"
        and approval_state(project, article).satisfied
    )
