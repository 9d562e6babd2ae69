"""The pull-request gate, with real git in temporary repositories: each rule and its genuine
counterpart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import copy_publication, replace_in, run_cli, write

EDITOR = ("jordan.doe@example.org", "Jordan Doe")
REVIEWER = ("a.smith@example.org", "Example Reviewer A. Smith")
APPROVED = "content/oncology/net-imaging.md"
NEW = "content/endocrinology/levothyroxine-timing.md"
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


def commit(repo: Path, who: tuple[str, str], message: str) -> None:
    git(repo, "add", "-A")
    git(
        repo,
        "-c",
        f"user.email={who[0]}",
        "-c",
        f"user.name={who[1]}",
        "commit",
        "-q",
        "-m",
        message,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_publication(tmp_path / "repo")
    (root / "pipeline").unlink()  # the gate needs no theme; keep the repository self-contained
    git(root, "init", "-q", "-b", "main")
    commit(root, EDITOR, "Publication as on main")
    git(root, "checkout", "-q", "-b", "pr")
    return root


def gate(repo: Path) -> tuple[int, set[str], str]:
    run = run_cli(repo, "gate", "--base", "main", "--format", "json")
    report = run.json()
    return run.exit_code, {d["code"] for d in report["errors"]}, run.output


def review(repo: Path, action: str, article: str, reviewer: str = "asmith") -> None:
    run = run_cli(repo, "review", action, article, "--reviewer", reviewer)
    assert run.exit_code == 0, run.output + run.stderr


def reword_as_editor(repo: Path) -> None:
    """The editor changes an approved article and sends it back to review."""
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    replace_in(repo, APPROVED, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Reword")


def test_genuine_submission_and_approval_passes(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted"))
    commit(repo, EDITOR, "Add levothyroxine timing")
    review(repo, "start", "endocrinology/levothyroxine-timing")
    commit(repo, REVIEWER, "Start review")
    review(repo, "approve", "endocrinology/levothyroxine-timing")
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output
    text = run_cli(repo, "gate", "--base", "main").output
    assert "approved by asmith: committed by a.smith@example.org" in text


def test_approval_committed_by_someone_else_is_forged(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted"))
    commit(repo, EDITOR, "Add levothyroxine timing")
    review(repo, "start", "endocrinology/levothyroxine-timing")
    review(repo, "approve", "endocrinology/levothyroxine-timing")
    commit(repo, EDITOR, "Approve on the reviewer's behalf")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"gate.forged-review"}


def test_reviewer_who_edited_the_body_cannot_approve(repo: Path) -> None:
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    review(repo, "start", "oncology/net-imaging")
    commit(repo, REVIEWER, "Reword and restart review")
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"gate.reviewer-edited"}


def test_other_reviewer_may_approve_an_edited_article(repo: Path) -> None:
    reword_as_editor(repo)
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_reviewer_who_edited_a_cited_reference_cannot_approve(repo: Path) -> None:
    reword_as_editor(repo)
    replace_in(repo, "references/oncology.bib", "{159--168}", "{159--169}")
    commit(repo, REVIEWER, "Correct the pages of a cited reference")
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"gate.reviewer-edited"}


def test_reviewer_who_edited_an_uncited_reference_may_approve(repo: Path) -> None:
    reword_as_editor(repo)
    replace_in(repo, "references/oncology.bib", "{203--231}", "{203--232}")  # cited elsewhere
    commit(repo, REVIEWER, "Correct another reference")
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_removed_review_record_is_rewriting(repo: Path) -> None:
    text = (repo / APPROVED).read_text()
    start = text.index("reviews:")
    end = text.index("---", start)
    (repo / APPROVED).write_text(
        text[:start] + text[end:].replace("status: approved", "status: under_review")
    )
    replace_in(repo, APPROVED, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Drop the reviews")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.review-rewritten" in codes


def test_edited_review_record_is_rewriting(repo: Path) -> None:
    replace_in(repo, APPROVED, "note: Checked against", "note: Skimmed")
    commit(repo, EDITOR, "Edit a note")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"gate.review-rewritten"}


def test_body_edit_after_approval_is_stale(repo: Path) -> None:
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    commit(repo, EDITOR, "Reword an approved article")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"review.stale"}


def test_author_approving_is_self_approval(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted").replace("[jdoe]", "[asmith]"))
    commit(repo, REVIEWER, "Add an article as author")
    run = run_cli(
        repo, "review", "approve", "endocrinology/levothyroxine-timing", "--reviewer", "asmith"
    )
    assert run.exit_code == 1 and "author" in run.stderr  # the command refuses
    from pipeline.approval import approval_state
    from pipeline.loader import load

    project = load(repo)
    fingerprint = approval_state(
        project, project.article("endocrinology/levothyroxine-timing")
    ).fingerprint
    replace_in(
        repo,
        NEW,
        "status: submitted",
        f"status: approved\nreviews:\n  - reviewer: asmith\n    decision: approved\n"
        f"    date: 2026-11-02\n    fingerprint: {fingerprint}",
    )
    commit(repo, REVIEWER, "Approve my own article by hand")
    code, codes, _ = gate(repo)
    assert code == 1 and "review.self-approval" in codes


def test_new_article_created_as_approved_fails(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="approved"))
    commit(repo, EDITOR, "Add as approved")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.status-transition" in codes


def test_unknown_base_is_exit_2(repo: Path) -> None:
    run = run_cli(repo, "gate", "--base", "no-such-branch")
    assert run.exit_code == 2 and "no-such-branch" in run.stderr
