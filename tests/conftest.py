"""Shared fixtures: real files in temporary publications, the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.loader import load
from pipeline.review import review

REPO = Path(__file__).resolve().parent.parent


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


# The articles the tests treat as approved, each with an example reviewer who did not write it.
# The bundled example sends edited articles back to review; a copy gets these approvals through
# the same review path `pipeline review approve` takes, on a fixed date so assertions are stable.
APPROVED_IN_TESTS = {
    "oncology/net-imaging": "asmith",
    "cardiology/af-anticoagulation": "bjones",
    "cardiology/hypertension-initial-therapy": "bjones",
    "endocrinology/type-2-diabetes-initial-therapy": "bjones",
    "infectious-disease/community-acquired-pneumonia": "cnguyen",
}
APPROVAL_DATE = dt.date(2026, 12, 2)
NEXT_REVIEW = "2028-12-02"  # APPROVAL_DATE plus the 24-month review interval


def approve_examples(root: Path) -> None:
    """Approve the APPROVED_IN_TESTS articles of a copy that are not approved already."""
    for article_id, reviewer in APPROVED_IN_TESTS.items():
        project = load(root)
        if project.article(article_id).meta.status == "approved":
            continue
        if project.article(article_id).meta.status == "submitted":
            review(project, article_id, "start", reviewer, today=APPROVAL_DATE)
            project = load(root)
        review(project, article_id, "approve", reviewer, today=APPROVAL_DATE)


def copy_publication(target: Path) -> Path:
    """A copy of the bundled example publication, with the pipeline's theme linked in."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "content", target / "content")
    shutil.copytree(REPO / "references", target / "references")
    shutil.copy(REPO / "mkdocs.yml", target / "mkdocs.yml")
    (target / "pipeline").symlink_to(REPO / "pipeline", target_is_directory=True)
    approve_examples(target)
    return target


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
