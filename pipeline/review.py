"""The review workflow: `pipeline review start|approve|request-changes` and `pipeline new`.

Edits are spliced into the author's text at the places the YAML parser locates, verified by
parsing the result again, and written atomically; only `status` and `reviews` change."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from pipeline import paths
from pipeline.approval import approval_state, eligible_reviewer
from pipeline.checks import run_checks
from pipeline.fingerprint import SCHEME
from pipeline.loader import Article, Project, compose_yaml, construct_yaml
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


MAX_NOTE_CHARS = 2_000
_RECORD_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_FENCE_LINE = re.compile(r"---[ \t]*(?:\r\n|\r|\n|$)")


def check_record(record: dict) -> None:
    """A review record's text is held to the rules of any field: valid UTF-8, no control
    characters but tab and newline, and a note of bounded length."""
    for key, value in record.items():
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ReviewRefused(f"the {key} is not valid UTF-8 text") from None
        if _RECORD_CONTROL.search(value):
            raise ReviewRefused(f"the {key} holds a control character; only tabs and newlines")
    note = record.get("note")
    if isinstance(note, str) and len(note) > MAX_NOTE_CHARS:
        raise ReviewRefused(f"the note is {len(note)} characters long; at most {MAX_NOTE_CHARS}")


def _record_lines(record: dict, indent: str) -> list[str]:
    """The new review record as block YAML lines, its dash at `indent`; its keys in the
    record's own order (None values left out)."""
    entry = CommentedMap()
    for key, value in record.items():
        if value is not None:
            entry[key] = value
    out = io.StringIO()
    _round_trip_yaml().dump([entry], out)
    # The dump puts the dash two spaces in; move it to the article's own indentation.
    return [indent + line[2:] for line in out.getvalue().rstrip("\n").split("\n")]


def _flow_value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML quoted scalar
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value)


def _record_flow(record: dict) -> str:
    """The new review record as one flow mapping, for front matter written in flow style."""
    items = [f"{key}: {_flow_value(v)}" for key, v in record.items() if v is not None]
    return "{" + ", ".join(items) + "}"


@dataclass
class _Front:
    """An article's text split for editing; offsets are into `text` (BOM removed)."""

    bom: str
    text: str
    start: int  # first character of the YAML
    end: int  # first character of the closing fence line


def _split(original: str, name: str) -> _Front:
    bom = "\ufeff" if original.startswith("\ufeff") else ""
    text = original[len(bom) :]
    lines = [m for m in _LINE.finditer(text) if m.group()]
    if not lines or not _FENCE_LINE.fullmatch(lines[0].group()):
        raise ReviewRefused(f"{name} has no front matter")
    for line in lines[1:]:
        if _FENCE_LINE.fullmatch(line.group()):
            return _Front(bom, text, lines[0].end(), line.start())
    raise ReviewRefused(f"{name} has no end to its front matter (a line `---`)")


def _parse(front: str, name: str) -> tuple[yaml.MappingNode, dict]:
    try:
        node = compose_yaml(front)
        data = construct_yaml(node, 2) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 2}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ReviewRefused(f"{where}: the front matter is not valid YAML: {problem}") from None
    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        raise ReviewRefused(f"{name}: the front matter is not a mapping of fields")
    return node, data


def _eol(text: str, pos: int) -> int:
    """The index just after the line break that ends the line holding `pos`."""
    line = _LINE.match(text, _line_start(text, pos))
    return line.end() if line else len(text)


def _line_start(text: str, pos: int) -> int:
    cr = text.rfind("\r", 0, pos)
    while cr >= 0 and text.startswith("\n", cr + 1):  # the CR of a CRLF: look for a lone one
        cr = text.rfind("\r", 0, cr)
    return max(text.rfind("\n", 0, pos), cr) + 1


def _newline_at(text: str, pos: int) -> str:
    """The line break the line holding `pos` ends with (the file's own, where it has one)."""
    line = _LINE.match(text, _line_start(text, pos))
    ending = line.group()[len(line.group().rstrip("\r\n")) :] if line else ""
    return ending or ("\r\n" if "\r\n" in text else "\n")


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends: block collections' marks run on over comments."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return node.end_mark.index
    children = (
        [p for pair in node.value for p in pair]
        if isinstance(node, yaml.MappingNode)
        else node.value
    )
    return max((_content_end(c) for c in children), default=node.start_mark.index)


def _last_line_end(front: str, node: yaml.Node) -> int:
    pos = _content_end(node)
    while pos > 0 and front[pos - 1] in " \t\r\n":
        pos -= 1
    return _eol(front, max(pos - 1, 0))


def _uses(root: yaml.Node) -> dict[int, int]:
    """How many times each node is reached: more than once means it is anchored and aliased."""
    counts: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        counts[id(node)] = counts.get(id(node), 0) + 1
        if counts[id(node)] == 1:
            if isinstance(node, yaml.MappingNode):
                stack += [p for pair in node.value for p in pair]
            elif isinstance(node, yaml.SequenceNode):
                stack += node.value
    return counts


_PREFIX = re.compile(r"(?:[&!]\S*\s+)*")


def _status_edit(front: str, value: yaml.Node, status: str, name: str) -> tuple[int, int, str]:
    if not isinstance(value, yaml.ScalarNode):
        raise ReviewRefused(f"{name}: `status` is not a single word; set it by hand")
    token_start = value.start_mark.index
    token_start += _PREFIX.match(front, token_start, value.end_mark.index).end() - token_start
    token = front[token_start : value.end_mark.index]
    if token[:1] in ("|", ">"):
        raise ReviewRefused(f"{name}: `status` is a block of text; write it as one word")
    quote = token[0] if token[:1] in ("'", '"') else ""
    return token_start, value.end_mark.index, f"{quote}{status}{quote}"


def _insert_field(
    front: str, root: yaml.MappingNode, block: list[str], flow: str
) -> tuple[int, int, str]:
    """An edit adding a top-level field: `block` lines after the last one, or `, flow` before
    the closing brace of a flow mapping."""
    if root.flow_style:
        close = root.end_mark.index - 1
        sep = ", " if root.value else ""
        return close, close, f"{sep}{flow}"
    if not root.value:
        raise ReviewRefused("the front matter is empty")
    at = _last_line_end(front, root)
    newline = _newline_at(front, max(at - 1, 0))
    indent = " " * root.value[0][0].start_mark.column
    return at, at, "".join(indent + line + newline for line in block)


def _append_record(
    front: str, root: yaml.MappingNode, value: yaml.Node | None, record: dict, name: str
) -> list[tuple[int, int, str]]:
    flow = _record_flow(record)
    if value is None:
        lines = ["reviews:", *_record_lines(record, "  ")]
        return [_insert_field(front, root, lines, f"reviews: [{flow}]")]
    if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null":
        if root.flow_style:
            return [(value.start_mark.index, value.end_mark.index, f"[{flow}]")]
        at = _eol(front, value.end_mark.index)
        newline = _newline_at(front, value.end_mark.index)
        key_column = next(k.start_mark.column for k, v in root.value if v is value)
        indent = " " * (key_column + 2)
        lines = "".join(line + newline for line in _record_lines(record, indent))
        return [(value.start_mark.index, value.end_mark.index, ""), (at, at, lines)]
    if not isinstance(value, yaml.SequenceNode):
        raise ReviewRefused(f"{name}: `reviews` is not a list; fix it by hand")
    if value.flow_style:
        close = value.end_mark.index - 1
        before = front[value.start_mark.index + 1 : close].rstrip()
        sep = ", " if value.value and not before.endswith(",") else ""
        return [(close, close, f"{sep}{flow}")]
    at = _last_line_end(front, value)
    newline = _newline_at(front, max(at - 1, 0))
    indent = " " * value.start_mark.column
    return [(at, at, "".join(line + newline for line in _record_lines(record, indent)))]


def _expected(data: dict, status: str, record: dict | None) -> dict:
    expected = dict(data)
    expected["status"] = status
    if record is not None:
        old = data.get("reviews") or []
        expected["reviews"] = [*old, {k: v for k, v in record.items() if v is not None}]
    return expected


def _edited_text(front: _Front, status: str, record: dict | None, name: str) -> str:
    yaml_text = front.text[front.start : front.end]
    root, data = _parse(yaml_text, name)
    fields = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    uses = _uses(root)
    for key in ("status", "reviews"):
        node = fields.get(key)
        if node is not None and uses[id(node)] > 1:
            raise ReviewRefused(f"{name}: `{key}` is shared through a YAML alias; write it out")
    edits = []
    if "status" in fields:
        edits.append(_status_edit(yaml_text, fields["status"], status, name))
    else:
        edits.append(_insert_field(yaml_text, root, [f"status: {status}"], f"status: {status}"))
    if record is not None:
        edits += _append_record(yaml_text, root, fields.get("reviews"), record, name)
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        yaml_text = yaml_text[:start] + replacement + yaml_text[end:]
    edited = front.text[: front.start] + yaml_text + front.text[front.end :]
    _verify(edited, _expected(data, status, record), name)
    return front.bom + edited


def _verify(edited: str, expected: dict, name: str) -> None:
    """The edit must leave exactly the expected fields, or nothing is written."""
    try:
        front = _split(edited, name)
        _, data = _parse(front.text[front.start : front.end], name)
    except ReviewRefused:
        data = None
    if data != expected:
        raise ReviewRefused(
            f"{name}: its front matter is laid out in a way `pipeline review` cannot edit "
            "safely; set `status` and add the review record by hand"
        )


def edit_front_matter(path: Path, status: str, record: dict | None) -> None:
    """Set `status` and append `record` to `reviews`. The YAML parser locates the fields; the
    edit is spliced into the original text, so every other byte (comments, quoting,
    indentation, line endings, a BOM) stays exactly as the author wrote it. The result is
    parsed again before it is written: an edit is correct, or refused, never silent."""
    name = path.name
    if record is not None:
        check_record(record)
    raw = path.read_bytes()
    try:
        original = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReviewRefused(f"{name} is not UTF-8 text") from None
    result = _edited_text(_split(original, name), status, record, name).encode("utf-8")
    paths.atomic_write_bytes(path, result)
    if path.read_bytes() != result:  # written, but not as meant: put the original back
        paths.atomic_write_bytes(path, raw)
        raise ReviewRefused(f"{name} could not be written as meant; it was left unchanged")


def require_config(project: Project) -> None:
    """Nothing is recorded under an invalid configuration: who may review and how many
    approvals count both come from it."""
    if not project.config_failed:
        return
    first = project.diagnostics[0]
    where = f"line {first.line}: " if first.line else ""
    more = len(project.diagnostics) - 1
    also = f" ({more} more problem(s): run `pipeline check`)" if more else ""
    raise ReviewRefused(f"fix {first.file} first: {where}{first.message}{also}")


def _article(project: Project, article_id: str) -> Article:
    article = project.article(article_id)
    if article is None:
        raise ReviewRefused(f"there is no article {article_id} (expected content/{article_id}.md)")
    if article.meta is None:
        first = min(
            (d for d in project.diagnostics if d.file == article.file),
            key=lambda d: d.line or 0,
            default=None,
        )
        detail = f" (line {first.line}: [{first.code}] {first.message})" if first else ""
        raise ReviewRefused(f"{article.file} has front matter errors{detail}; run `pipeline check`")
    return article


def _blocking_errors(project: Project, article: Article) -> list[str]:
    files = {article.file} | {b.file for b in article.bodies.values()}
    cited = article.cited_keys()
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
    # The current key or one listed as previous: while a rotation is under review, the base
    # branch's board still knows only the old key, and that is the one that must sign.
    known = [k.split()[:2] for k in member.keys]
    if public is not None and public.split()[:2] not in known:
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
    require_config(project)
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
    check_record(record)  # a bad note is refused before anything is signed
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

    require_config(project)
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
    require_config(project)
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
