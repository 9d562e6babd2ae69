"""Real git repositories for the gate and history tests: the example people and commits."""

from __future__ import annotations

import subprocess
from pathlib import Path

EDITOR = ("jordan.doe@example.org", "Jordan Doe")
REVIEWER = ("a.smith@example.org", "Example Reviewer A. Smith")
SECOND = ("b.jones@example.org", "Example Reviewer B. Jones")
NEW_ID = "endocrinology/levothyroxine-timing"
NEW = f"content/{NEW_ID}.md"
NEW_ARTICLE = """---
question: When should levothyroxine be taken?
title: Timing of levothyroxine doses
authors: [jdoe]
status: {status}
last_updated: 2026-11-01
tags: [hypothyroidism]
---
Levothyroxine is absorbed best on an empty stomach [@ata-hypothyroidism-2014].

## Recommendations
- Take it 30 to 60 minutes before breakfast, or at bedtime [@ata-hypothyroidism-2014].
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def commit(
    repo: Path, who: tuple[str, str], message: str, *paths: str, date: str | None = None
) -> None:
    """Commit everything (or `paths`) as `who`: (email, name); `date`: the author date."""
    git(repo, "add", "-A", *paths)
    git(
        repo,
        "-c",
        f"user.email={who[0]}",
        "-c",
        f"user.name={who[1]}",
        "commit",
        "-q",
        "--allow-empty",
        *(["--date", date] if date else []),
        "-m",
        message,
    )


def pull_request_repo(root: Path) -> Path:
    """`root` (a copy of the publication) as a repository: all of it on `main`, and a pull
    request branch `pr` checked out."""
    git(root, "init", "-q", "-b", "main")
    commit(root, EDITOR, "Publication as on main")
    git(root, "checkout", "-q", "-b", "pr")
    return root


def run_gate(repo: Path, base: str = "main") -> tuple[int, set[str], str]:
    """`pipeline gate --base BASE`: exit code, error codes, and everything it printed."""
    from tests.conftest import run_cli

    run = run_cli(repo, "gate", "--base", base, "--format", "json")
    report = run.json()
    return run.exit_code, {d["code"] for d in report["errors"]}, run.output + run.stderr
