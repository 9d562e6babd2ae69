"""The pull-request gate, with real git and real SSH keys in temporary repositories: each attack
is refused with its code, and each genuine path passes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import (
    copy_publication,
    example_key,
    replace_in,
    review_cli,
    run_cli,
    signed_record,
    write,
)
from tests.gitrepo import (
    EDITOR,
    NEW,
    NEW_ARTICLE,
    NEW_ID,
    REVIEWER,
    SECOND,
    commit,
    git,
    pull_request_repo,
    run_gate,
)

APPROVED = "content/oncology/net-imaging.md"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_publication(tmp_path / "repo")
    (root / "pipeline").unlink()  # the gate needs no theme; keep the repository self-contained
    return pull_request_repo(root)


gate = run_gate


def review(repo: Path, action: str, article: str, reviewer: str = "asmith") -> None:
    run = review_cli(repo, action, article, reviewer)
    assert run.exit_code == 0, run.output + run.stderr


def add_new_article(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted"))
    commit(repo, EDITOR, "Add levothyroxine timing")
    review(repo, "start", NEW_ID)
    commit(repo, REVIEWER, "Start review")


def reword_as_editor(repo: Path) -> None:
    """The editor changes an approved article and sends it back to review."""
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    replace_in(repo, APPROVED, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Reword")


def current_fingerprint(repo: Path, article_id: str) -> str:
    from pipeline.approval import approval_state
    from pipeline.loader import load

    project = load(repo)
    return approval_state(project, project.article(article_id)).fingerprint


def attacker_key(tmp: Path) -> str:
    key = tmp / "attacker"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "EXAMPLE-attacker", "-f", str(key)],
        check=True,
    )
    return str(key)


def promote_editor_with_own_key(repo: Path, tmp: Path) -> str:
    """The editor jdoe makes himself a reviewer in board.yml, with a key of his own."""
    key = attacker_key(tmp)
    public = Path(key + ".pub").read_text().strip()
    replace_in(
        repo,
        "content/board.yml",
        "    role: editor\n    git_email: jordan.doe@example.org\n",
        f"    role: reviewer\n    git_email: jordan.doe@example.org\n    signing_key: {public}\n",
    )
    return key


# --- genuine paths ---------------------------------------------------------------------------


def test_genuine_submission_and_approval_passes(repo: Path) -> None:
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output
    text = run_cli(repo, "gate", "--base", "main").output
    assert "approved by asmith: signature verified, fingerprint matches commit" in text


def test_approval_committed_by_anyone_counts_when_signed(repo: Path) -> None:
    """Who pushes the commit does not matter; the signature does (squash, rebase, bots)."""
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, EDITOR, "The editor commits the reviewer's signed approval")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_other_reviewer_may_approve_an_edited_article(repo: Path) -> None:
    reword_as_editor(repo)
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_reviewer_who_edited_an_uncited_reference_may_approve(repo: Path) -> None:
    reword_as_editor(repo)
    # An entry only an unapproved article cites.
    replace_in(repo, "references/endocrinology.bib", "{1670--1751}", "{1670--1752}")
    commit(repo, REVIEWER, "Correct another reference")
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_two_approvals_required_by_the_base_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    replace_in(repo, "content/publication.yml", "approvals_required: 1", "approvals_required: 2")
    commit(repo, EDITOR, "Policy: two approvals")  # on main, outside any pull request
    git(repo, "checkout", "-q", "-b", "pr2")
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "First approval")
    # The article stays under review after one approval; claiming approved is refused.
    replace_in(repo, NEW, "status: under_review", "status: approved")
    commit(repo, EDITOR, "Claim approved too early")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.status-transition" in codes
    replace_in(repo, NEW, "status: approved", "status: under_review")
    review(repo, "approve", NEW_ID, "bjones")
    commit(repo, SECOND, "Second approval")
    report = run_cli(repo, "gate", "--base", "main", "--format", "json").json()
    # The other approved articles now lack their second approval; this one has both.
    assert [d for d in report["errors"] if d["file"] == NEW] == []
    assert any(d["code"] == "gate.status-transition" for d in report["errors"])


def test_merge_of_main_into_the_pull_request_is_not_an_edit(repo: Path) -> None:
    add_new_article(repo)
    git(repo, "checkout", "-q", "main")
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    replace_in(repo, APPROVED, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Reword on main")
    git(repo, "checkout", "-q", "pr")
    git(
        repo,
        "-c",
        f"user.email={REVIEWER[0]}",
        "-c",
        "user.name=R",
        "merge",
        "-q",
        "--no-edit",
        "main",
    )
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_approval_on_a_side_branch_merged_in(repo: Path) -> None:
    add_new_article(repo)
    git(repo, "checkout", "-q", "-b", "reviewer-side")
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve on my branch")
    git(repo, "checkout", "-q", "pr")
    git(
        repo,
        "-c",
        f"user.email={EDITOR[0]}",
        "-c",
        "user.name=E",
        "merge",
        "-q",
        "--no-ff",
        "--no-edit",
        "reviewer-side",
    )
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_squash_merge_and_direct_push_keep_the_evidence(repo: Path) -> None:
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--squash", "pr")
    commit(repo, EDITOR, "Levothyroxine timing (#1)")
    code, codes, output = gate(repo, "main~1")  # the deploy's check of the pushed range
    assert (code, codes) == (0, set()), output


def test_reviewer_a_day_ahead_of_utc_is_not_in_the_future(repo: Path) -> None:
    import datetime as dt

    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    later = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).isoformat()
    add_new_article(repo)
    fp = current_fingerprint(repo, NEW_ID)
    record = signed_record(repo, NEW_ID, "asmith", "approved", fp, tomorrow)
    replace_in(repo, NEW, "status: under_review", f"status: approved\nreviews:\n{record.rstrip()}")
    run = run_cli(repo, "check", "--format", "json")
    assert run.exit_code == 0, run.output
    replace_in(repo, NEW, f"date: {tomorrow}", f"date: {later}")
    codes = {d["code"] for d in run_cli(repo, "check", "--format", "json").json()["errors"]}
    assert "date.future" in codes


# --- attacks ---------------------------------------------------------------------------------


def test_hand_written_record_with_the_reviewers_git_identity_is_forged(repo: Path) -> None:
    add_new_article(repo)
    fp = current_fingerprint(repo, NEW_ID)
    replace_in(
        repo,
        NEW,
        "status: under_review",
        "status: approved\nreviews:\n  - reviewer: asmith\n    decision: approved\n"
        f"    date: 2026-11-02\n    fingerprint: {fp}",
    )
    commit(repo, REVIEWER, "Approve")  # committed with the reviewer's email
    code, codes, _ = gate(repo)
    assert code == 1 and {"gate.forged-review", "review.unsigned"} <= codes


def test_record_signed_with_another_key_is_forged(repo: Path, tmp_path: Path) -> None:
    from pipeline.fingerprint import SCHEME
    from pipeline.signing import review_statement, sign

    add_new_article(repo)
    fp = current_fingerprint(repo, NEW_ID)
    record = {"reviewer": "asmith", "decision": "approved", "date": "2026-11-02", "fingerprint": fp}
    statement = review_statement("clinical-guideline-notes", NEW_ID, record, SCHEME)
    signature = sign(statement, attacker_key(tmp_path))
    replace_in(
        repo,
        NEW,
        "status: under_review",
        "status: approved\nreviews:\n  - reviewer: asmith\n    decision: approved\n"
        f"    date: 2026-11-02\n    fingerprint: {fp}\n    signature: {signature}",
    )
    commit(repo, EDITOR, "Approve")
    code, codes, _ = gate(repo)
    assert code == 1 and {"gate.forged-review", "review.foreign-key"} <= codes


def test_signed_record_replayed_onto_another_article_is_forged(repo: Path) -> None:
    add_new_article(repo)
    imaging = (repo / APPROVED).read_text()
    copied = imaging[imaging.index("reviews:") : imaging.index("\n---", imaging.index("reviews:"))]
    fp = current_fingerprint(repo, NEW_ID)
    copied = re.sub(r"fingerprint: sha256:[0-9a-f]+", f"fingerprint: {fp}", copied)
    replace_in(repo, NEW, "status: under_review", "status: approved\n" + copied)
    commit(repo, EDITOR, "Reuse an approval")
    code, codes, _ = gate(repo)
    assert code == 1 and {"gate.forged-review", "review.bad-signature"} <= codes


def test_promoting_yourself_in_board_yml_needs_settings_approval(
    repo: Path, tmp_path: Path
) -> None:
    key = promote_editor_with_own_key(repo, tmp_path)
    write(repo, NEW, NEW_ARTICLE.format(status="under_review").replace("[jdoe]", "[mroe]"))
    commit(repo, EDITOR, "Make me a reviewer, add an article")
    run = run_cli(repo, "review", "approve", NEW_ID, "--reviewer", "jdoe", "--key", key)
    assert run.exit_code == 0, run.stderr  # the pull request's own board accepts it...
    commit(repo, EDITOR, "Approve as my new self")
    code, codes, _ = gate(repo)
    # ...the base branch's board does not, and the board change itself is unapproved.
    assert code == 1 and {"gate.settings-unapproved", "gate.forged-review"} <= codes


@pytest.mark.parametrize(
    "path, old, new",
    [
        ("content/publication.yml", "approvals_required: 1", "approvals_required: 1 # x"),
        (
            "content/publication.yml",
            "question_intake_url: https://",
            "question_intake_url: https://evil.",
        ),
        ("mkdocs.yml", "site_name: Clinical Guideline Notes", "site_name: Notes"),
    ],
)
def test_governed_settings_need_signed_approval(repo: Path, path: str, old: str, new: str) -> None:
    replace_in(repo, path, old, new)
    commit(repo, EDITOR, "Change a setting")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes
    # A trusted reviewer signs off the change as committed: it passes.
    run = run_cli(
        repo, "review", "approve-settings", "--reviewer", "asmith", "--key", example_key("asmith")
    )
    assert run.exit_code == 0, run.stderr
    commit(repo, REVIEWER, "Approve the settings change")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output
    # A later change to a governed file makes that approval stale.
    replace_in(repo, "mkdocs.yml", "site_dir: site", "site_dir: site  # moved")
    commit(repo, EDITOR, "Another change after the approval")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes


def test_pipeline_code_change_needs_settings_approval(repo: Path) -> None:
    write(repo, "pipeline/gate.py", "def gate(*args):\n    return None\n")
    commit(repo, EDITOR, "Simplify the gate")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes


def test_settings_approval_by_a_reviewer_added_in_the_same_pull_request_does_not_count(
    repo: Path, tmp_path: Path
) -> None:
    key = promote_editor_with_own_key(repo, tmp_path)
    commit(repo, EDITOR, "Promote")
    assert (
        run_cli(repo, "review", "approve-settings", "--reviewer", "jdoe", "--key", key).exit_code
        == 0
    )
    commit(repo, EDITOR, "Approve my own promotion")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes


def test_revoked_key_on_the_base_branch_wins_over_the_merge_base(
    repo: Path, tmp_path: Path
) -> None:
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    git(repo, "checkout", "-q", "main")
    key = attacker_key(tmp_path)  # asmith's example key is revoked and replaced on main
    public = Path(key + ".pub").read_text().strip()
    board = (repo / "content/board.yml").read_text()
    board = re.sub(
        r"(id: asmith\n(?:    .*\n)*?    signing_key: ).*", lambda m: m.group(1) + public, board
    )
    (repo / "content/board.yml").write_text(board)
    commit(repo, EDITOR, "Revoke asmith's old key")
    git(repo, "checkout", "-q", "pr")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.forged-review" in codes


def test_deleting_a_later_request_for_changes_is_rewriting(repo: Path) -> None:
    add_new_article(repo)
    review(repo, "request-changes", NEW_ID)
    commit(repo, REVIEWER, "Request changes")
    text = (repo / NEW).read_text()
    (repo / NEW).write_text(re.sub(r"reviews:\n(?:  .*\n)*", "", text))
    commit(repo, EDITOR, "Drop the request")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.review-rewritten" in codes


def test_edited_review_record_is_rewriting(repo: Path) -> None:
    # Edit the note of the approval that counts now (the last record).
    text = (repo / APPROVED).read_text(encoding="utf-8")
    last = text.rindex("    note: ") + len("    note: ")
    (repo / APPROVED).write_text(text[:last] + "Skimmed. " + text[last:], encoding="utf-8")
    commit(repo, EDITOR, "Edit a note")
    code, codes, _ = gate(repo)
    assert code == 1 and {"gate.review-rewritten", "review.bad-signature"} <= codes


def test_reviewer_who_edited_the_body_cannot_approve(repo: Path) -> None:
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    review(repo, "start", "oncology/net-imaging")
    commit(repo, REVIEWER, "Reword and restart review")
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"gate.reviewer-edited"}


def test_reviewer_who_edited_a_cited_reference_cannot_approve(repo: Path) -> None:
    reword_as_editor(repo)
    replace_in(repo, "references/oncology.bib", "{159--168}", "{159--169}")
    commit(repo, REVIEWER, "Correct the pages of a cited reference")
    review(repo, "approve", "oncology/net-imaging")
    commit(repo, REVIEWER, "Approve")
    code, codes, _ = gate(repo)
    assert code == 1 and codes == {"gate.reviewer-edited"}


def test_former_author_cannot_approve(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted").replace("[jdoe]", "[jdoe, asmith]"))
    commit(repo, EDITOR, "Add with a co-author")
    replace_in(repo, NEW, "[jdoe, asmith]", "[jdoe]")
    commit(repo, EDITOR, "Drop the co-author")
    review(repo, "start", NEW_ID)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.reviewer-edited" in codes


def test_approval_of_other_text_than_committed_is_forged(repo: Path) -> None:
    """The reviewer approved one text; the commit that adds the record holds another."""
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    replace_in(repo, NEW, "30 to 60 minutes", "5 minutes")
    commit(repo, EDITOR, "Approve (and a small change)")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.status-transition" in codes


def test_body_edit_after_approval_is_stale(repo: Path) -> None:
    replace_in(repo, APPROVED, "FDG PET adds", "FDG PET often adds")
    commit(repo, EDITOR, "Reword an approved article")
    code, codes, _ = gate(repo)
    assert code == 1 and {"review.stale", "gate.status-transition"} <= codes


def test_author_approving_is_self_approval(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted").replace("[jdoe]", "[asmith]"))
    commit(repo, REVIEWER, "Add an article as author")
    run = review_cli(repo, "approve", NEW_ID, "asmith")
    assert run.exit_code == 1 and "author" in run.stderr  # the command refuses
    fp = current_fingerprint(repo, NEW_ID)
    record = signed_record(repo, NEW_ID, "asmith", "approved", fp, "2026-11-02")
    replace_in(repo, NEW, "status: submitted", f"status: approved\nreviews:\n{record.rstrip()}")
    commit(repo, REVIEWER, "Approve my own article by hand")
    code, codes, _ = gate(repo)
    assert code == 1 and {"review.self-approval", "gate.status-transition"} <= codes


def test_new_article_created_as_approved_fails(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="approved"))
    commit(repo, EDITOR, "Add as approved")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.status-transition" in codes


def test_direct_push_with_a_forged_record_is_caught_by_the_deploy_gate(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    write(repo, NEW, NEW_ARTICLE.format(status="approved"))
    commit(repo, EDITOR, "Push straight to main")
    code, codes, _ = gate(repo, "HEAD~1")
    assert code == 1 and "gate.status-transition" in codes


@pytest.mark.parametrize("name", ["levothyroxine-timing.markdown", "notes.txt"])
def test_files_the_pipeline_does_not_read_are_refused(repo: Path, name: str) -> None:
    write(repo, f"content/endocrinology/{name}", NEW_ARTICLE.format(status="approved"))
    commit(repo, EDITOR, "Add a file")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.unknown-file" in codes


def test_symlinked_article_is_refused(repo: Path) -> None:
    (repo / NEW).symlink_to(repo / APPROVED)
    commit(repo, EDITOR, "Link an article")
    code, codes, _ = gate(repo)
    assert code == 1 and "gate.unknown-file" in codes


def test_unknown_base_is_exit_2(repo: Path) -> None:
    run = run_cli(repo, "gate", "--base", "no-such-branch")
    assert run.exit_code == 2 and "no-such-branch" in run.stderr
