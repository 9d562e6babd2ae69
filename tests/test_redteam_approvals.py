"""Red-team review of the approval chain: real git repositories, real ssh-keygen signatures,
the real CLI. Every test asserts the SAFE outcome; a test marked `xfail(strict=True)` with a
reason starting "HOLE" (or "FALSE REJECTION") is an open problem found by this review, kept in
the suite so that fixing it turns the suite red until the marker is removed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from tests.conftest import (
    REPO,
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

IMAGING_ID = "oncology/net-imaging"
IMAGING = f"content/{IMAGING_ID}.md"
IMAGING_PAGE = "site/oncology/net-imaging/index.html"
ORIGINAL = "FDG PET adds prognostic"


# --- helpers ---------------------------------------------------------------------------------


def as_user(who: tuple[str, str]) -> list[str]:
    return ["-c", f"user.email={who[0]}", "-c", f"user.name={who[1]}"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example publication on `main`, a pull request branch `pr`. The `pipeline` symlink
    (the theme MkDocs needs) is committed as a link: never write below it."""
    root = copy_publication(tmp_path / "repo")
    return pull_request_repo(root)


gate = run_gate


def check_codes(repo: Path) -> tuple[int, set[str]]:
    run = run_cli(repo, "check", "--format", "json")
    return run.exit_code, {d["code"] for d in run.json()["errors"]}


def review(repo: Path, action: str, article: str, reviewer: str = "asmith") -> None:
    run = review_cli(repo, action, article, reviewer)
    assert run.exit_code == 0, run.output + run.stderr


def approve_settings(repo: Path, reviewer: str = "asmith") -> None:
    run = run_cli(
        repo, "review", "approve-settings", "--reviewer", reviewer, "--key", example_key(reviewer)
    )
    assert run.exit_code == 0, run.output + run.stderr


def add_new_article(repo: Path) -> None:
    write(repo, NEW, NEW_ARTICLE.format(status="submitted"))
    commit(repo, EDITOR, "Add levothyroxine timing")
    review(repo, "start", NEW_ID)
    commit(repo, REVIEWER, "Start review")


def current_fingerprint(repo: Path, article_id: str) -> str:
    from pipeline.approval import approval_state
    from pipeline.loader import load

    project = load(repo)
    return approval_state(project, project.article(article_id)).fingerprint


def page_text(root: Path, page: str = IMAGING_PAGE) -> str:
    html = (root / page).read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser").select_one("article.gp-article").get_text(" ")


def build(root: Path, *args: str) -> None:
    run = run_cli(root, "build", *args)
    assert run.exit_code == 0, run.output + run.stderr


def records_block(text: str) -> tuple[int, int, list[str]]:
    """(start, end, record texts) of the block-style `reviews:` list in an article."""
    start = text.index("reviews:\n") + len("reviews:\n")
    end = text.index("\n---\n", start) + 1
    block = text[start:end]
    items = re.split(r"(?m)^(?=  - )", block)
    return start, end, [i for i in items if i]


# --- review records: order, duplicates, aliases ------------------------------------------------


def _request_changes_on_imaging(repo: Path) -> None:
    """asmith withdraws her approval of the published imaging text (same fingerprint)."""
    review(repo, "request-changes", IMAGING_ID)
    commit(repo, REVIEWER, "asmith requests changes")
    text = (repo / IMAGING).read_text(encoding="utf-8")
    assert "decision: changes_requested" in text and "status: under_review" in text


def test_reordering_records_to_hide_a_later_request_for_changes(repo: Path) -> None:
    _request_changes_on_imaging(repo)
    text = (repo / IMAGING).read_text(encoding="utf-8")
    start, end, items = records_block(text)
    items[-1], items[-2] = items[-2], items[-1]  # the request for changes before the approval
    text = text[:start] + "".join(items) + text[end:]
    text = text.replace("status: under_review", "status: approved")
    (repo / IMAGING).write_text(text, encoding="utf-8")
    commit(repo, EDITOR, "Tidy the review list")
    code, codes, output = gate(repo)
    assert code == 1 and codes & {"gate.review-rewritten", "gate.status-transition"}, output


@pytest.mark.parametrize("form", ["copy", "yaml-alias"])
def test_replaying_an_earlier_approval_after_a_request_for_changes(repo: Path, form: str) -> None:
    _request_changes_on_imaging(repo)
    text = (repo / IMAGING).read_text(encoding="utf-8")
    start, end, items = records_block(text)
    approval = items[-2]
    assert "decision: approved" in approval
    if form == "copy":
        replay = approval
    else:  # an anchor on the approval and an alias to it after the request for changes
        items[-2] = approval.replace("  - reviewer:", "  - &ok\n    reviewer:", 1)
        replay = "  - *ok\n"
    text = text[:start] + "".join(items) + replay + text[end:]
    text = text.replace("status: under_review", "status: approved")
    (repo / IMAGING).write_text(text, encoding="utf-8")
    commit(repo, EDITOR, "Restore the approval")
    code, codes, output = gate(repo)
    assert code == 1 and codes & {"gate.review-rewritten", "gate.status-transition"}, output


def test_request_for_changes_on_the_published_text_withdraws_it(repo: Path) -> None:
    _request_changes_on_imaging(repo)
    build(repo)
    assert not (repo / IMAGING_PAGE).exists() or ORIGINAL not in page_text(repo)


# --- rollbacks ---------------------------------------------------------------------------------


def test_rolling_back_to_an_older_approved_text(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    replace_in(repo, IMAGING, "FDG PET adds", "FDG PET CORRECTED adds")
    replace_in(repo, IMAGING, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Correct the imaging article")
    review(repo, "approve", IMAGING_ID, "bjones")
    commit(repo, SECOND, "bjones approves the correction")
    assert "status: approved" in (repo / IMAGING).read_text()
    git(repo, "checkout", "-q", "-b", "rollback")
    replace_in(repo, IMAGING, "FDG PET CORRECTED adds", "FDG PET adds")
    commit(repo, EDITOR, "Undo the correction, keep status approved")
    assert "review.stale" in check_codes(repo)[1]
    code, codes, output = gate(repo)
    assert code == 1 and codes & {"review.stale", "gate.status-transition"}, output


def test_reverting_governed_settings_replays_an_old_settings_approval(
    repo: Path, tmp_path: Path
) -> None:
    git(repo, "checkout", "-q", "main")
    # Settings change 1, approved and merged: a harmless bio edit.
    replace_in(
        repo, "content/board.yml", "reviews infectious disease articles.", "reviews ID articles."
    )
    commit(repo, EDITOR, "Board: shorter bio")
    approve_settings(repo)
    commit(repo, REVIEWER, "asmith approves the board change")
    approved_board = (repo / "content/board.yml").read_text()
    # Settings change 2, approved and merged: cnguyen's key is compromised and replaced.
    new_key = tmp_path / "cnguyen-new"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "new", "-f", str(new_key)],
        check=True,
    )
    public = Path(str(new_key) + ".pub").read_text().strip()
    board = re.sub(
        r"(id: cnguyen\n(?:    .*\n)*?    signing_key: ).*",
        lambda m: m.group(1) + public,
        approved_board,
    )
    (repo / "content/board.yml").write_text(board)
    # The article cnguyen approved goes back to review until someone re-approves it.
    replace_in(
        repo,
        "content/infectious-disease/community-acquired-pneumonia.md",
        "status: approved",
        "status: under_review",
    )
    commit(repo, EDITOR, "Board: revoke cnguyen's compromised key")
    approve_settings(repo)
    commit(repo, REVIEWER, "asmith approves the revocation")
    # The attack: put the compromised key back by restoring the earlier approved board.
    git(repo, "checkout", "-q", "-b", "restore")
    (repo / "content/board.yml").write_text(approved_board)
    commit(repo, EDITOR, "Board: restore")
    code, codes, output = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes, output


def test_deleted_article_does_not_come_back_through_a_new_stub(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    old_phrase = "Merkel cell carcinoma"
    assert old_phrase in (repo / "content/oncology/net-skin-lesions.md").read_text()
    (repo / "content/oncology/net-skin-lesions.md").unlink()
    (repo / "content/oncology/net-skin-lesions.patient.md").unlink()
    replace_in(repo, IMAGING, "related: [oncology/net-skin-lesions]\n", "")
    replace_in(repo, IMAGING, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Retract the skin-lesion article")
    git(repo, "checkout", "-q", "-b", "stub")
    stub = NEW_ARTICLE.format(status="submitted").replace(
        "question: When should levothyroxine be taken?",
        "question: What about skin lesions in neuroendocrine tumors?",
    )
    write(repo, "content/oncology/net-skin-lesions.md", stub)
    commit(repo, EDITOR, "Placeholder for a future rewrite")
    code, codes, output = gate(repo)
    assert code == 0, output  # a new submitted article is fine in itself
    build(repo)
    page = repo / "site/oncology/net-skin-lesions/index.html"
    assert not page.exists() or old_phrase not in page.read_text()


# --- generated files committed into the build folder --------------------------------------------


def _forge_generated_page(repo: Path, mode: str) -> None:
    """Build once, then edit a generated page and its digest in the manifest, and commit both
    (build/ is in .gitignore, which `git add -f` ignores)."""
    build(repo, *(["--preview"] if mode == "preview" else []))
    out = repo / "build" / mode
    page = out / "oncology/net-imaging.md"
    text = page.read_text(encoding="utf-8")
    assert ORIGINAL in text
    forged = text.replace(ORIGINAL, "ATTACKER: double every dose, FDG PET adds prognostic")
    page.write_text(forged, encoding="utf-8")
    manifest = json.loads((out / ".pipeline-manifest.json").read_text())
    entry = manifest["files"]["oncology/net-imaging.md"]
    entry["digest"] = hashlib.sha256(forged.encode()).hexdigest()
    (out / ".pipeline-manifest.json").write_text(json.dumps(manifest, indent=0, sort_keys=True))
    git(repo, "add", "-f", f"build/{mode}/oncology/net-imaging.md")
    git(repo, "add", "-f", f"build/{mode}/.pipeline-manifest.json")
    commit(repo, EDITOR, "Commit the build cache")


def _fresh_clone(repo: Path, tmp_path: Path, branch: str) -> Path:
    clone = tmp_path / f"clone-{branch}"
    subprocess.run(["git", "clone", "-q", "-b", branch, str(repo), str(clone)], check=True)
    return clone


def test_gate_refuses_committed_build_files(repo: Path) -> None:
    _forge_generated_page(repo, "production")
    code, codes, output = gate(repo)
    assert code == 1, output


def test_committed_generated_page_is_not_published(repo: Path, tmp_path: Path) -> None:
    _forge_generated_page(repo, "production")
    clone = _fresh_clone(repo, tmp_path, "pr")  # what CI checks out after the merge
    build(clone)
    text = page_text(clone)
    assert "ATTACKER" not in text and ORIGINAL in text


def test_committed_preview_page_does_not_deceive_the_reviewer(repo: Path, tmp_path: Path) -> None:
    _forge_generated_page(repo, "preview")
    clone = _fresh_clone(repo, tmp_path, "pr")
    build(clone, "--preview")
    assert "ATTACKER" not in page_text(clone)


def test_committed_static_files_in_the_build_folder_are_not_published(
    repo: Path, tmp_path: Path
) -> None:
    write(repo, "build/production/assets/audience.js", "/* ATTACKER script */\n")
    write(repo, "build/production/oncology/miracle-cure.html", "<p>ATTACKER page</p>\n")
    git(repo, "add", "-f", "build/production")
    commit(repo, EDITOR, "Assets")
    clone = _fresh_clone(repo, tmp_path, "pr")
    build(clone)
    assert "ATTACKER" not in (clone / "site/assets/audience.js").read_text()
    assert not (clone / "site/oncology/miracle-cure.html").exists()


# --- code outside the governed set ---------------------------------------------------------------


def test_setup_py_is_governed(repo: Path) -> None:
    write(repo, "setup.py", "import setuptools\nsetuptools.setup()\n")
    commit(repo, EDITOR, "Add setup.py")
    code, codes, output = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes, output


def test_preview_of_a_pull_request_does_not_run_its_hooks(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    write(
        repo,
        "evil_hook.py",
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('pwned')\n",
    )
    replace_in(repo, "mkdocs.yml", "  - guideline\n", "  - guideline\n\nhooks:\n  - evil_hook.py\n")
    commit(repo, EDITOR, "Add a hook")
    assert gate(repo)[0] == 1  # the gate refuses the change...
    run_cli(repo, "build", "--preview")  # ...but the reviewer previews it first
    assert not marker.exists()


def test_deploy_never_trusts_the_previous_commit_of_what_it_deploys() -> None:
    workflow = yaml.safe_load((REPO / ".github/workflows/deploy.yml").read_text())
    text = (REPO / ".github/workflows/deploy.yml").read_text()
    triggers = workflow.get(True, workflow.get("on"))
    assert "workflow_dispatch" not in triggers or "HEAD~1" not in text


# --- what the fingerprint and the signature cover (safe behaviour expected) -----------------------


@pytest.mark.parametrize(
    "path, old, new",
    [
        ("content/oncology/net-imaging.patient.md", " ", "  ATTACKER "),  # a variant
        (IMAGING, "last_updated: 2026-12-02", "last_updated: 2026-12-01"),
        (IMAGING, "authors: [jdoe]", "authors: [jdoe, mroe]"),
        (IMAGING, "tags: [neuroendocrine", "tags: [cure, neuroendocrine"),
        (IMAGING, "related: [oncology/net-skin-lesions]", "related: []"),
        (IMAGING, "status: approved", "status: approved\ndisclaimer: patient"),
        ("references/oncology.bib", "{159--168}", "{159--169}"),  # a cited entry's pages
    ],
)
def test_anything_a_reader_sees_changed_after_approval_is_refused(
    repo: Path, path: str, old: str, new: str
) -> None:
    replace_in(repo, path, old, new)
    commit(repo, EDITOR, "Small change, status left approved")
    code, codes, output = gate(repo)
    assert code == 1 and codes & {"review.stale", "gate.status-transition"}, output
    run = run_cli(repo, "build")  # refused outright (check errors), or the approved text
    assert run.exit_code != 0 or "ATTACKER" not in page_text(repo)


def test_unshown_bibtex_field_changes_nothing(repo: Path) -> None:
    bib = (repo / "references/oncology.bib").read_text()
    bib = bib.replace("  pages   = {159--168},", "  pages   = {159--168},\n  abstract = {New.},", 1)
    (repo / "references/oncology.bib").write_text(bib)
    commit(repo, EDITOR, "Add an abstract")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_confusable_reviewer_id_is_refused(repo: Path) -> None:
    add_new_article(repo)
    fp = current_fingerprint(repo, NEW_ID)
    record = signed_record(repo, NEW_ID, "asmith", "approved", fp, "2026-12-01")
    record = record.replace("reviewer: asmith", "reviewer: \u0430smith")  # Cyrillic a
    replace_in(repo, NEW, "status: under_review", f"status: approved\nreviews:\n{record.rstrip()}")
    commit(repo, EDITOR, "Approve")
    assert check_codes(repo)[0] == 1
    code, codes, output = gate(repo)
    assert code == 1 and "gate.forged-review" in codes, output


@pytest.mark.parametrize("trick", ["block-signature", "extra-field", "flow-mapping-edit"])
def test_record_yaml_tricks(repo: Path, trick: str) -> None:
    add_new_article(repo)
    fp = current_fingerprint(repo, NEW_ID)
    record = signed_record(repo, NEW_ID, "asmith", "approved", fp, "2026-12-01")
    sig = re.search(r"signature: (\S+)", record).group(1)
    if trick == "block-signature":
        record = record.replace(f"signature: {sig}", f"signature: |\n      {sig}\n")
    elif trick == "extra-field":
        record += "    shown_text: Approved by the whole board\n"
    else:  # genuine record, then an edit of its fingerprint in flow style
        record = (
            f"  - {{reviewer: asmith, decision: approved, date: 2026-12-01, "
            f"fingerprint: 'sha256:{'0' * 64}', signature: {sig}}}\n"
        )
    replace_in(repo, NEW, "status: under_review", f"status: approved\nreviews:\n{record.rstrip()}")
    commit(repo, EDITOR, "Approve")
    code, codes, output = gate(repo)
    assert code == 1, output


def test_equivalent_timestamp_form_does_not_forge_and_is_seen_as_rewriting(repo: Path) -> None:
    replace_in(repo, IMAGING, "date: 2026-12-02 10:09:08+00:00", "date: 2026-12-02T12:09:08+02:00")
    commit(repo, EDITOR, "Local time")
    code, codes, output = gate(repo)
    assert code == 1 and "gate.review-rewritten" in codes, output


def test_evil_merge_commit_that_changes_the_text_is_refused(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "side")
    write(repo, "NOTES.txt", "side branch\n")
    commit(repo, EDITOR, "Side change")
    git(repo, "checkout", "-q", "pr")
    git(repo, *as_user(EDITOR), "merge", "-q", "--no-ff", "--no-commit", "side")
    replace_in(repo, IMAGING, "FDG PET adds", "FDG PET EVIL adds")
    git(repo, "add", "-A")
    git(repo, *as_user(EDITOR), "commit", "-q", "-m", "Merge side")
    code, codes, output = gate(repo)
    assert code == 1 and codes & {"review.stale", "gate.status-transition"}, output


def test_publication_id_change_needs_settings_approval(repo: Path) -> None:
    replace_in(repo, "content/publication.yml", "id: clinical-guideline-notes", "id: other-pub")
    commit(repo, EDITOR, "Rename the publication")
    code, codes, output = gate(repo)
    assert code == 1 and "gate.settings-unapproved" in codes, output


def test_approvals_that_hold_only_under_the_pull_requests_policy_are_refused(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    replace_in(repo, "content/publication.yml", "approvals_required: 1", "approvals_required: 2")
    commit(repo, EDITOR, "Two approvals")
    git(repo, "checkout", "-q", "-b", "lower")
    replace_in(repo, "content/publication.yml", "approvals_required: 2", "approvals_required: 1")
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "One approval")
    assert "status: approved" in (repo / NEW).read_text()  # under the PR's own policy
    code, codes, output = gate(repo)
    assert code == 1 and {"gate.settings-unapproved", "gate.status-transition"} <= codes, output


def test_history_revision_whose_references_differ_is_not_published(repo: Path) -> None:
    # A commit that keeps the approved main file (a comment only) but changes a cited entry.
    replace_in(repo, IMAGING, "status: approved", "# touched\nstatus: approved")
    replace_in(repo, "references/oncology.bib", "{159--168}", "{159--199}")
    commit(repo, EDITOR, "Reference tweak")
    replace_in(repo, IMAGING, "status: approved", "status: under_review")
    commit(repo, EDITOR, "Back to review")
    build(repo)
    text = page_text(repo)
    assert "159–168" in text and "159–199" not in text


# --- genuine reviewer work that must pass ---------------------------------------------------------


def test_reviewer_update_branch_merge_bringing_a_reference_fix_is_not_her_edit(
    repo: Path,
) -> None:
    add_new_article(repo)
    git(repo, "checkout", "-q", "main")
    bib = "references/endocrinology.bib"
    text = (repo / bib).read_text()
    entry = text[text.index("ata-hypothyroidism-2014") :]
    pages = re.search(r"pages\s*=\s*\{([^}]*)\}", entry).group(1)
    replace_in(repo, bib, "{" + pages + "}", "{" + pages + "x}")
    commit(repo, EDITOR, "Fix a page range on main")
    git(repo, "checkout", "-q", "pr")
    git(repo, *as_user(REVIEWER), "merge", "-q", "--no-edit", "main")  # "Update branch"
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_rebase_after_approval_passes(repo: Path) -> None:
    add_new_article(repo)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    git(repo, "checkout", "-q", "main")
    write(repo, "NOTES.txt", "unrelated change on main\n")
    commit(repo, EDITOR, "Unrelated change on main")
    git(repo, "checkout", "-q", "pr")
    git(repo, *as_user(EDITOR), "rebase", "-q", "main")
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_reviewer_in_utc_plus_14_passes(repo: Path) -> None:
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    write(repo, NEW, NEW_ARTICLE.format(status="submitted").replace("2026-11-01", tomorrow))
    commit(repo, EDITOR, "Written in Kiribati")
    review(repo, "start", NEW_ID)
    review(repo, "approve", NEW_ID)
    commit(repo, REVIEWER, "Approve")
    assert check_codes(repo) == (0, set())
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output


def test_two_approvals_on_two_side_branches_pass(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    replace_in(repo, "content/publication.yml", "approvals_required: 1", "approvals_required: 2")
    for article in (
        "cardiology/af-anticoagulation",
        "cardiology/hypertension-initial-therapy",
        "endocrinology/type-2-diabetes-initial-therapy",
        "infectious-disease/community-acquired-pneumonia",
        IMAGING_ID,
        "oncology/net-skin-lesions",
    ):
        replace_in(repo, f"content/{article}.md", "status: approved", "status: under_review")
    commit(repo, EDITOR, "Two approvals from now on")
    git(repo, "checkout", "-q", "-b", "two")
    add_new_article(repo)
    git(repo, "checkout", "-q", "-b", "side-a")
    review(repo, "approve", NEW_ID, "asmith")
    commit(repo, REVIEWER, "asmith approves")
    git(repo, "checkout", "-q", "two")
    git(repo, *as_user(EDITOR), "merge", "-q", "--no-ff", "--no-edit", "side-a")
    review(repo, "approve", NEW_ID, "bjones")
    commit(repo, SECOND, "bjones approves")
    assert "status: approved" in (repo / NEW).read_text()
    code, codes, output = gate(repo)
    assert (code, codes) == (0, set()), output
    git(repo, "checkout", "-q", "main")
    git(repo, *as_user(EDITOR), "merge", "-q", "--no-ff", "--no-edit", "two")
    build(repo)
    assert "Take it 30 to 60 minutes" in page_text(repo, f"site/{NEW_ID}/index.html")


def test_reviewer_can_approve_her_own_key_rotation(repo: Path, tmp_path: Path) -> None:
    new_key = tmp_path / "asmith-new"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "new", "-f", str(new_key)],
        check=True,
    )
    public = Path(str(new_key) + ".pub").read_text().strip()
    board = (repo / "content/board.yml").read_text()
    old = re.search(r"id: asmith\n(?:    .*\n)*?    signing_key: (.*)\n", board).group(1)
    board = board.replace(
        f"    signing_key: {old}\n",
        f"    signing_key: {public}\n    previous_signing_keys:\n      - {old}\n",
    )
    (repo / "content/board.yml").write_text(board)
    commit(repo, EDITOR, "Rotate asmith's key (the guide's procedure)")
    for key in (str(new_key), example_key("asmith")):
        run_cli(repo, "review", "approve-settings", "--reviewer", "asmith", "--key", key)
    commit(repo, REVIEWER, "asmith signs off her rotation")
    code, codes, output = gate(repo)
    assert "gate.settings-unapproved" not in codes, output
