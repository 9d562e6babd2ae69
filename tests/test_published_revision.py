"""Production keeps the last approved text online while a revision is under review, taken from
Git history and verified again; what was never genuinely approved is held back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.conftest import copy_publication, replace_in, run_cli

EDITOR = ("jordan.doe@example.org", "Jordan Doe")
ARTICLE = "content/oncology/net-imaging.md"
PAGE = "site/oncology/net-imaging/index.html"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(
        repo,
        "-c",
        f"user.email={EDITOR[0]}",
        "-c",
        f"user.name={EDITOR[1]}",
        "commit",
        "-qm",
        message,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_publication(tmp_path / "repo")
    git(root, "init", "-q", "-b", "main")
    commit(root, "Publication")
    return root


def page_text(root: Path) -> str:
    html = (root / PAGE).read_text(encoding="utf-8")
    return BeautifulSoup(html, "html.parser").select_one("article.gp-article").get_text(" ")


def test_edited_approved_article_shows_its_last_approved_text(repo: Path) -> None:
    replace_in(repo, ARTICLE, "FDG PET adds prognostic", "FDG PET REVISED adds prognostic")
    replace_in(repo, "references/oncology.bib", "{159--168}", "{159--170}")  # a cited entry
    replace_in(repo, ARTICLE, "status: approved", "status: under_review")
    commit(repo, "Revise the imaging article")
    run = run_cli(repo, "build")
    assert run.exit_code == 0, run.output + run.stderr
    text = page_text(repo)
    assert "FDG PET adds prognostic" in text and "REVISED" not in text
    assert "159–168" in text and "159–170" not in text  # the references as approved
    assert "A revised version of this article is under review" in text
    # The preview shows the revision itself.
    assert run_cli(repo, "build", "--preview").exit_code == 0
    assert "REVISED" in page_text(repo)


def test_forged_approval_in_history_is_not_published(repo: Path) -> None:
    new = "content/oncology/net-forged.md"
    text = (repo / ARTICLE).read_text(encoding="utf-8")
    # An approved revision whose record was copied from another article: it does not verify.
    (repo / new).write_text(text.replace("title: Imaging for", "title: Forged imaging for"))
    commit(repo, "Sneak in an approved copy")
    replace_in(repo, new, "status: approved", "status: under_review")
    commit(repo, "Back to review")
    run = run_cli(repo, "build")
    assert run.exit_code == 0, run.output + run.stderr
    assert not (repo / "site/oncology/net-forged/index.html").exists()
    assert (repo / PAGE).is_file()
    assert "never approved" in run.output


def test_without_git_history_the_article_is_held_back_with_the_reason(tmp_path: Path) -> None:
    root = copy_publication(tmp_path / "plain")
    replace_in(root, ARTICLE, "FDG PET adds", "FDG PET often adds")
    replace_in(root, ARTICLE, "status: approved", "status: under_review")
    run = run_cli(root, "build")
    assert run.exit_code == 0, run.output + run.stderr
    assert not (root / PAGE).exists()
    assert "no Git history" in run.output
