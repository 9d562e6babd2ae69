"""Governed settings: the files that decide what every page says and who may approve, their
digest, and the signed settings approvals (`pipeline review approve-settings`) that let a change
to them through the gate."""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline import gitio, paths
from pipeline.model import Board, Publication
from pipeline.signing import Verdict, settings_statement, timestamp, verify

APPROVALS_FILE = "settings-approvals.yml"
# Everything is governed (it can change what readers see, who may approve, or what runs in the
# build: board and policy, mkdocs.yml, code, templates, theme, packaging, workflows) except
# these, which the gate judges as content or which never reach the site or the build.
UNGOVERNED = (
    f"{paths.CONTENT}/*",
    f"{paths.REFERENCES}/*",
    "tests/*",
    "docs/*",
    "benchmarks/*",
    "examples/*",
    "README.md",
    APPROVALS_FILE,
)
# Inside content/, the settings files are governed all the same.
GOVERNED_CONTENT = (paths.BOARD_FILE, paths.PUBLICATION_FILE)
APPROVALS_HEADER = (
    "# Signed approvals of the governed settings (board, policy, site configuration, pipeline\n"
    "# code, templates, theme, workflows), written by `pipeline review approve-settings`.\n"
)


def is_governed(path: str) -> bool:
    if path in GOVERNED_CONTENT:
        return True
    return not any(path == pattern or fnmatch.fnmatchcase(path, pattern) for pattern in UNGOVERNED)


def governed_digest(root: Path, rev: str = "HEAD") -> str:
    """SHA-256 over the path, mode and bytes of every governed file at `rev`."""
    entries = gitio.tree_entries(root, rev, [])
    digest = hashlib.sha256()
    for path in sorted(p for p in entries if is_governed(p)):
        data = gitio.read_blob(root, rev, path) or b""
        mode = entries[path].split(":", 1)[0]
        digest.update(f"{path}\0{mode}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True)
class SettingsApproval:
    reviewer: str
    date: str
    digest: str
    signature: str


def parse_approvals(text: str | None) -> list[SettingsApproval]:
    if not text:
        return []
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return []
    items = data.get("approvals") if isinstance(data, dict) else None
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and all(
            isinstance(item.get(k), str | dt.date) for k in ("reviewer", "digest", "signature")
        ):
            date = item.get("date")
            found.append(
                SettingsApproval(
                    str(item["reviewer"]),
                    timestamp(date) if isinstance(date, dt.date) else str(date),
                    str(item["digest"]),
                    str(item["signature"]),
                )
            )
    return found


def valid_approvers(
    approvals: list[SettingsApproval], digest: str, settings: Publication, board: Board
) -> set[str]:
    """Distinct reviewers of the (trusted) board whose signed approval covers `digest`."""
    approvers = set()
    for approval in approvals:
        member = board.member(approval.reviewer)
        if member is None or member.role != "reviewer" or approval.digest != digest:
            continue
        statement = settings_statement(
            settings.publication_id, approval.digest, approval.reviewer, approval.date
        )
        if verify(statement, approval.signature, member.keys) is Verdict.VALID:
            approvers.add(approval.reviewer)
    return approvers


def approval_entry(reviewer: str, date: str, digest: str, signature: str) -> dict[str, Any]:
    return {"reviewer": reviewer, "date": date, "digest": digest, "signature": signature}


def append_approval(root: Path, entry: dict[str, Any]) -> Path:
    """Add one approval to settings-approvals.yml (atomically; earlier ones are kept)."""
    path = root / APPROVALS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else APPROVALS_HEADER + "approvals:\n"
    if not text.endswith("\n"):
        text += "\n"
    lines = [f"  - reviewer: {entry['reviewer']}"] + [
        f"    {key}: {json.dumps(entry[key])}" for key in ("date", "digest", "signature")
    ]
    if "approvals: []" in text:
        text = text.replace("approvals: []", "approvals:")
    paths.atomic_write(path, text + "\n".join(lines) + "\n")
    return path
