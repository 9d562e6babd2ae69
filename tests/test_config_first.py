"""Configuration first: publication.yml, board.yml and mkdocs.yml are validated before any
content is read; when one is invalid, every command reports only its problems."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import copy_publication, line_of, replace_in, review_cli, run_cli, snapshot

PUBLICATION = "content/publication.yml"
BOARD = "content/board.yml"
ARTICLE = "infectious-disease/acute-cystitis"

TYPOS = [
    (PUBLICATION, "approvals_required: 1", "approvals_required: one", "config.schema"),
    (PUBLICATION, "disclaimer: patient", "disclaimer: patinet", "disclaimer.unknown"),
    (BOARD, "role: reviewer", "role: reveiwer", "config.schema"),
    (BOARD, "  - id: jdoe", "  - idd: jdoe", "config.schema"),
    ("mkdocs.yml", "site_name: Clinical Guideline Notes", "site_nam: Clinical Guideline Notes",
     "config.schema"),
    ("mkdocs.yml", "strict: false", "strict: false: true", "config.syntax"),
]  # fmt: skip


def _only(root: Path, *args: str) -> dict:
    run = run_cli(root, *args, "--format", "json")
    assert run.exit_code == 1, run.output + run.stderr
    report = run.json()
    assert report["warnings"] == [] and report["articles"] == 0
    assert len(report["errors"]) == 1, report["errors"]
    return report["errors"][0]


@pytest.mark.parametrize(("rel", "old", "new", "code"), TYPOS)
def test_one_config_typo_is_exactly_one_diagnostic(
    publication: Path, rel: str, old: str, new: str, code: str
) -> None:
    replace_in(publication, rel, old, new)
    error = _only(publication, "check")
    assert error["code"] == code and error["file"] == rel
    assert error["line"] == line_of(publication, rel, new.strip())


def test_the_approvals_typo_says_what_is_wrong(publication: Path) -> None:
    replace_in(publication, PUBLICATION, "approvals_required: 1", "approvals_required: one")
    error = _only(publication, "check")
    assert "approvals_required" in error["message"] and "integer" in error["message"]


def test_config_typos_suggest_the_fix(publication: Path) -> None:
    replace_in(publication, BOARD, "  - id: jdoe", "  - idd: jdoe")
    assert "Did you mean `id`?" in _only(publication, "check")["message"]
    replace_in(publication, BOARD, "  - idd: jdoe", "  - id: jdoe")
    replace_in(publication, BOARD, "role: reviewer", "role: reveiwer")
    message = _only(publication, "check")["message"]
    assert "'editor' or 'reviewer'" in message and "Did you mean `reviewer`?" in message
    replace_in(publication, BOARD, "role: reveiwer", "role: reviewer")
    replace_in(publication, PUBLICATION, "disclaimer: patient", "disclaimer: patinet")
    assert "Did you mean `patient`?" in _only(publication, "check")["message"]


def test_review_refuses_in_one_line_and_writes_nothing(publication: Path) -> None:
    replace_in(publication, PUBLICATION, "approvals_required: 1", "approvals_required: one")
    before = snapshot(publication)
    for action in ("start", "approve"):
        run = review_cli(publication, action, ARTICLE, "asmith")
        assert run.exit_code == 1
        assert run.stderr.startswith("pipeline: fix content/publication.yml first: "), run.stderr
        assert run.stderr.strip().count("\n") == 0
    run = run_cli(publication, "new", "oncology/new-one", "--author", "jdoe")
    assert run.exit_code == 1 and "fix content/publication.yml first" in run.stderr
    assert snapshot(publication) == before


def test_status_and_build_report_only_the_config_problem(publication: Path) -> None:
    replace_in(publication, BOARD, "role: reviewer", "role: reveiwer")
    status = run_cli(publication, "status")
    assert status.exit_code == 1
    assert f"{BOARD}:" in status.output and "config.schema" in status.output
    assert "review due" not in status.output  # no table of unread articles
    build = run_cli(publication, "build")
    assert build.exit_code == 1
    assert build.stderr.count("error [") == 1 and "config.schema" in build.stderr
    assert not (publication / "site").exists()


def test_gate_reports_only_the_config_problem(tmp_path: Path) -> None:
    root = copy_publication(tmp_path / "repo")
    (root / "pipeline").unlink()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    who = ["-c", "user.email=jordan.doe@example.org", "-c", "user.name=Jordan Doe"]
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git(*who, "commit", "-q", "-m", "main")
    git("checkout", "-q", "-b", "pr")
    replace_in(root, PUBLICATION, "approvals_required: 1", "approvals_required: one")
    git("add", "-A")
    git(*who, "commit", "-q", "-m", "typo")
    error = _only(root, "gate", "--base", "main")
    assert (error["code"], error["file"]) == ("config.schema", PUBLICATION)


def test_mkdocs_tags_are_tolerated(publication: Path) -> None:
    replace_in(
        publication,
        "mkdocs.yml",
        "site_dir: site\n",
        "site_dir: site\nextra:\n  analytics: !ENV [ANALYTICS_ID, none]\n"
        "  emoji: !!python/name:material.extensions.emoji.twemoji\n"
        "  rel: !relative $config_dir\n",
    )
    run = run_cli(publication, "check")
    assert run.exit_code == 0, run.output + run.stderr


def test_a_python_tag_in_mkdocs_yml_is_never_run(publication: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    replace_in(
        publication,
        "mkdocs.yml",
        "site_dir: site\n",
        f"site_dir: site\nextra:\n  x: !!python/object/apply:os.system ['touch {marker}']\n",
    )
    assert run_cli(publication, "check").exit_code == 0
    assert not marker.exists()


def test_a_site_name_that_is_not_text(publication: Path) -> None:
    replace_in(publication, "mkdocs.yml", "site_name: Clinical Guideline Notes", "site_name: [a]")
    error = _only(publication, "check")
    assert error["code"] == "config.schema" and "site_name" in error["message"]


def test_mkdocs_yml_missing(publication: Path) -> None:
    (publication / "mkdocs.yml").unlink()
    error = _only(publication, "check")
    assert (error["code"], error["file"]) == ("config.syntax", "mkdocs.yml")
