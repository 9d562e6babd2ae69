"""The review workflow: `pipeline review start|approve|request-changes` and `pipeline new`.

Edits are round-trip (ruamel.yaml keeps the author's comments, key order and layout) and atomic;
only `status` and `reviews` change."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pipeline import paths
from pipeline.approval import approval_state, eligible_reviewer
from pipeline.checks import run_checks
from pipeline.fingerprint import SCHEME
from pipeline.loader import Article, Project, split_front_matter
from pipeline.model import BoardMember
from pipeline.signing import (
    SigningProblem,
    default_key,
    public_key_of,
    review_statement,
    settings_statement,
    sign,
    timestamp,
)

# These codes are what a review settles, so they do not block a review.
REVIEW_OUTCOME_CODES = {"review.stale", "review.insufficient", "review.overdue"}


class ReviewRefused(Exception):
    """The review cannot be recorded; the message is one plain sentence."""


@dataclass(frozen=True)
class ReviewResult:
    article_id: str
    status: str
    valid_approvals: int
    required: int


def _round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the author's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _record_lines(record: dict, indent: str) -> list[str]:
    """The new review record as YAML lines, its dash at `indent`."""
    entry = CommentedMap()
    for key in ("reviewer", "decision", "date", "fingerprint", "note", "signature"):
        if record.get(key) is not None:
            entry[key] = record[key]
    out = io.StringIO()
    _round_trip_yaml().dump([entry], out)
    # The dump puts the dash two spaces in; move it to the article's own indentation.
    return [indent + line[2:] for line in out.getvalue().rstrip("\n").split("\n")]


def _block_end(lines: list[str], start: int, key_lines: list[int]) -> int:
    """Index after the last line that belongs to the top-level key starting at `start`."""
    later = [n for n in key_lines if n > start]
    end = min(later) if later else len(lines)
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    return end


def edit_front_matter(path: Path, status: str, record: dict | None) -> None:
    """Set `status` and append `record` to `reviews`. ruamel.yaml locates the fields; the edit
    is spliced into the original text, so every other byte (comments, quoting, indentation,
    line endings) stays exactly as the author wrote it."""
    original = path.read_bytes().decode("utf-8-sig")
    newline = _newline(original)
    text = original.replace("\r\n", "\n")
    front, body, _ = split_front_matter(text)
    if front is None:
        raise ReviewRefused(f"{path.name} has no front matter")
    data: CommentedMap = _round_trip_yaml().load(front)
    lines = front.split("\n")
    key_lines = [data.lc.key(k)[0] for k in data]
    if "status" in data:
        number = data.lc.key("status")[0]
        lines[number] = re.sub(
            r"^(status\s*:\s*)(['\"]?)[A-Za-z_]+\2", lambda m: m.group(1) + status, lines[number]
        )
    else:
        lines.insert(_block_end(lines, -1, [len(lines)]), f"status: {status}")
    if record is not None:
        reviews = data.get("reviews")
        if isinstance(reviews, CommentedSeq) and len(reviews) and not reviews.fa.flow_style():
            start = data.lc.key("reviews")[0]
            end = _block_end(lines, start, key_lines)
            dash = next(
                (ln for ln in lines[start + 1 : end] if ln.lstrip().startswith("- ")), "  - "
            )
            indent = dash[: len(dash) - len(dash.lstrip())]
            lines[end:end] = _record_lines(record, indent)
        else:
            if "reviews" in data:  # `reviews: []` or an empty key: replace it with a block list
                start = data.lc.key("reviews")[0]
                del lines[start : _block_end(lines, start, key_lines)]
            end = _block_end(lines, -1, [len(lines)])
            lines[end:end] = ["reviews:", *_record_lines(record, "  ")]
    result = "---\n" + "\n".join(lines) + ("" if lines[-1] == "" else "\n") + "---\n" + body
    paths.atomic_write(path, result.replace("\n", newline))


def _article(project: Project, article_id: str) -> Article:
    article = project.article(article_id)
    if article is None:
        raise ReviewRefused(f"there is no article {article_id} (expected content/{article_id}.md)")
    if article.meta is None:
        raise ReviewRefused(f"{article.file} has front matter errors; run `pipeline check`")
    return article


def _blocking_errors(project: Project, article: Article) -> list[str]:
    files = {article.file} | {b.file for b in article.bodies.values()}
    cited = {c.key.lower() for c in article.citations()}
    bib_files = {r.file for k in cited if (r := project.library.get(k)) is not None}
    return [
        f"{d.file}:{d.line or ''} [{d.code}] {d.message}"
        for d in run_checks(project)
        if d.severity == "error"
        and d.code not in REVIEW_OUTCOME_CODES
        and (d.file in files or d.file in bib_files)
    ]


def board_reviewer(project: Project, reviewer: str) -> BoardMember:
    member = project.board.member(reviewer) if project.board else None
    if member is None:
        raise ReviewRefused(f"'{reviewer}' is not in content/board.yml")
    if member.role != "reviewer":
        raise ReviewRefused(f"'{reviewer}' is an {member.role}, not a board reviewer")
    return member


def _check_reviewer(project: Project, article: Article, reviewer: str) -> BoardMember:
    member = board_reviewer(project, reviewer)
    assert article.meta is not None
    if not eligible_reviewer(project.board, article.meta.authors, reviewer):
        raise ReviewRefused(f"'{reviewer}' is an author of {article.id} and cannot review it")
    return member


def signing_key(project: Project, member: BoardMember, key: str | None) -> str:
    """The reviewer's key: `--key`, else Git's `user.signingkey`; it must be the one on the
    board, or the signature would not count."""
    key = key or default_key(project.root)
    if not key:
        raise ReviewRefused(
            "no signing key: pass --key PATH or set `git config user.signingkey` (see the guide)"
        )
    public = public_key_of(key)
    if public is not None and public.split()[:2] != (member.signing_key or "").split()[:2]:
        raise ReviewRefused(
            f"the key {key} is not the signing_key of '{member.id}' in content/board.yml"
        )
    return key


def signed(message: bytes, key: str) -> str:
    try:
        return sign(message, key)
    except SigningProblem as exc:
        raise ReviewRefused(str(exc)) from None


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def review(
    project: Project,
    article_id: str,
    action: str,
    reviewer: str,
    note: str | None = None,
    key: str | None = None,
    when: dt.datetime | None = None,
) -> ReviewResult:
    article = _article(project, article_id)
    member = _check_reviewer(project, article, reviewer)
    errors = _blocking_errors(project, article)
    if errors:
        raise ReviewRefused(
            f"{article_id} has {len(errors)} check error(s); fix them first (first: {errors[0]})"
        )
    state = approval_state(project, article)
    path = project.root / article.file
    if action == "start":
        if article.meta.status == "under_review":
            raise ReviewRefused(f"{article_id} is already under review")
        if article.meta.status == "approved" and state.satisfied:
            raise ReviewRefused(f"{article_id} is approved and unchanged since; nothing to review")
        edit_front_matter(path, "under_review", None)
        return ReviewResult(article_id, "under_review", len(state.valid), state.required)
    if article.meta.status == "submitted":
        raise ReviewRefused(f"{article_id} is submitted; run `pipeline review start` first")
    record = {
        "reviewer": reviewer,
        "decision": "approved" if action == "approve" else "changes_requested",
        "date": when or now_utc(),
        "fingerprint": state.fingerprint,
        "note": note,
    }
    signing = signing_key(project, member, key)
    assert project.settings is not None
    statement = review_statement(project.settings.publication_id, article.id, record, SCHEME)
    if action == "approve":
        if any(r.reviewer == reviewer for r in state.valid):
            raise ReviewRefused(f"'{reviewer}' has already approved this version of {article_id}")
        valid = len(state.valid) + 1
        status = "approved" if valid >= state.required else "under_review"
    else:
        valid = len([r for r in state.valid if r.reviewer != reviewer])
        status = "under_review"
    record["signature"] = signed(statement, signing)
    edit_front_matter(path, status, record)
    return ReviewResult(article_id, status, valid, state.required)


def approve_settings(project: Project, reviewer: str, key: str | None = None) -> tuple[Path, str]:
    """Sign the digest of the governed files as committed at HEAD; append it to
    settings-approvals.yml."""
    from pipeline import gitio, governance

    member = board_reviewer(project, reviewer)
    root = project.root
    try:
        dirty = gitio.git(root, "status", "--porcelain", "--untracked-files=no").splitlines()
        digest = governance.governed_digest(root, "HEAD")
    except gitio.GitError as exc:
        raise ReviewRefused(
            f"the settings can only be approved in a Git repository ({exc})"
        ) from None
    pending = [line[3:] for line in dirty if governance.is_governed(line[3:])]
    if pending:
        raise ReviewRefused(
            f"{pending[0]} has uncommitted changes: commit them first, so that what you sign "
            "is what the pull request holds"
        )
    assert project.settings is not None
    date = timestamp(now_utc())
    statement = settings_statement(project.settings.publication_id, digest, reviewer, date)
    signature = signed(statement, signing_key(project, member, key))
    entry = governance.approval_entry(reviewer, date, digest, signature)
    return governance.append_approval(root, entry), digest


ARTICLE_TEMPLATE = """\
---
# Fill in every field marked TODO, then run `pipeline check`.
question: TODO What clinical question does this article answer?
title: TODO Title of the article
authors: [{author}]
status: submitted
last_updated: {today}
tags: [TODO]
related: []
---
TODO One-paragraph answer to the question, citing its sources like this [@{key}].

## Recommendations
- TODO One recommendation per bullet, each with a citation [@{key}].
"""


def scaffold(project: Project, article_id: str, author: str, today: dt.date | None = None) -> Path:
    """Write a new article from the template; never overwrites."""
    source = paths.classify(f"{paths.CONTENT}/{article_id}{paths.ARTICLE_SUFFIX}")
    if source.kind != "article":
        reason = source.message if source.code == "article.slug" else "not <topic>/<slug>"
        raise ReviewRefused(f"'{article_id}' cannot be an article: {reason}")
    target = paths.article_path(project.root, article_id)
    if target.exists():
        raise ReviewRefused(f"{paths.rel(project.root, target)} already exists")
    if project.board is None or project.board.member(author) is None:
        raise ReviewRefused(f"'{author}' is not in content/board.yml")
    key = next(iter(sorted(project.library.references.values(), key=lambda r: r.key)), None)
    text = ARTICLE_TEMPLATE.format(
        author=author,
        today=(today or project.today).isoformat(),
        key=key.key if key else "TODO-key",
    )
    paths.atomic_write(target, text)
    return target
