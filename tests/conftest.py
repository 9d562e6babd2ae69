"""Shared fixtures: real files in temporary publications, the real CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli

REPO = Path(__file__).resolve().parent.parent

# The browser tests' shared fixtures (`browser`, `sites`) live in tests/browser_env.py.
pytest_plugins = ["tests.browser_env"]


@dataclass
class Run:
    exit_code: int
    output: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.output)


def run_cli(root: Path, *args: str) -> Run:
    result = CliRunner().invoke(cli, ["--root", str(root), *args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def copy_publication(target: Path) -> Path:
    """A copy of the bundled example publication, with the pipeline's theme linked in."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "content", target / "content")
    shutil.copytree(REPO / "references", target / "references")
    shutil.copy(REPO / "mkdocs.yml", target / "mkdocs.yml")
    (target / "pipeline").symlink_to(REPO / "pipeline", target_is_directory=True)
    for article_id in UNREVIEWED:
        _back_to_review(target, article_id)
    return target


# Many tests need articles under review with no approval yet. The example approved its last two
# (issue 13), so every copy puts these two back under review, their review records removed.
UNREVIEWED = ("endocrinology/hypothyroidism-levothyroxine", "infectious-disease/acute-cystitis")


def _back_to_review(root: Path, article_id: str) -> None:
    import re

    path = root / "content" / f"{article_id}.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^reviews:\n(?:[ \t].*\n)*", "", text, count=1, flags=re.M)
    text = re.sub(r"^status: approved$", "status: under_review", text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(autouse=True)
def fresh_mkdocs_plugins() -> None:
    """MkDocs keeps the instances of plugins with `on_startup` for the whole process, across
    configurations (for `mkdocs serve`'s rebuilds): each test starts with new ones, as a new
    `mkdocs` or `pipeline` command does, not with the pages a test before it kept in memory."""
    from mkdocs.config.defaults import MkDocsConfig

    MkDocsConfig.plugins.plugin_cache.clear()


@pytest.fixture
def publication(tmp_path: Path) -> Path:
    return copy_publication(tmp_path / "pub")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under content/ and references/, to prove a command left them untouched."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for folder in ("content", "references")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def replace_in(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(root: Path, rel: str, needle: str) -> int:
    for number, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {rel}")


EXAMPLE_KEYS = REPO / "examples" / "keys"
_KEY_DIR: Path | None = None


def example_key(reviewer: str) -> str:
    """A private copy (mode 600, as ssh-keygen insists) of an example reviewer's example key."""
    import os
    import tempfile

    global _KEY_DIR
    if _KEY_DIR is None:
        _KEY_DIR = Path(tempfile.mkdtemp(prefix="example-keys-"))
    target = _KEY_DIR / reviewer
    if not target.exists():
        source = EXAMPLE_KEYS / reviewer
        target.write_bytes(source.read_bytes())
        os.chmod(target, 0o600)
        (_KEY_DIR / f"{reviewer}.pub").write_bytes((EXAMPLE_KEYS / f"{reviewer}.pub").read_bytes())
    return str(target)


def review_cli(root: Path, action: str, article_id: str, reviewer: str, *extra: str) -> Run:
    """`pipeline review ACTION` as that reviewer, signing with the reviewer's example key."""
    key = ["--key", example_key(reviewer)] if action != "start" else []
    return run_cli(root, "review", action, article_id, "--reviewer", reviewer, *key, *extra)


def signed_record(
    root: Path, article_id: str, reviewer: str, decision: str, fingerprint: str, date: str
) -> str:
    """A review record signed with the reviewer's example key, as YAML lines for `reviews:`,
    made without `pipeline review` (which refuses some of what tests need to forge)."""
    import datetime as dt

    from pipeline.fingerprint import SCHEME
    from pipeline.loader import load
    from pipeline.signing import review_statement, sign

    project = load(root)
    record = {
        "reviewer": reviewer,
        "decision": decision,
        "date": dt.date.fromisoformat(date),
        "fingerprint": fingerprint,
    }
    statement = review_statement(project.settings.publication_id, article_id, record, SCHEME)
    signature = sign(statement, example_key(reviewer))
    return (
        f"  - reviewer: {reviewer}\n    decision: {decision}\n    date: {date}\n"
        f"    fingerprint: {fingerprint}\n    signature: {signature}\n"
    )


def reapprove(root: Path, article_id: str, reviewer: str, when: str) -> None:
    """Replace an article's reviews by one signed approval dated `when` (YYYY-MM-DD)."""
    import re

    from pipeline.approval import approval_state
    from pipeline.loader import load

    rel = f"content/{article_id}.md"
    text = (root / rel).read_text(encoding="utf-8")
    text = re.sub(r"^reviews:\n(?:[ \t].*\n)*", "", text, flags=re.M)
    (root / rel).write_text(text, encoding="utf-8")
    project = load(root)
    current = approval_state(project, project.article(article_id)).fingerprint
    record = signed_record(root, article_id, reviewer, "approved", current, when)
    text = text.replace("\n---\n", "\nreviews:\n" + record + "---\n", 1)
    (root / rel).write_text(text, encoding="utf-8")
