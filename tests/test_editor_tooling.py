"""Editors' tooling: the pre-commit hook refuses a commit that breaks the publication; VS Code
maps the schemas to the settings files and shows check's problems at their lines."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO, line_of, replace_in
from tests.gitrepo import EDITOR, commit, git

HOOKS = REPO / ".pre-commit-hooks.yaml"
HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"


def _hook() -> dict:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    return next(h for h in hooks if h["id"] == "pipeline-check")


def test_the_hook_runs_check_on_publication_files_only() -> None:
    hook = _hook()
    assert hook["entry"] == "pipeline check" and hook["language"] == "python"
    assert hook["pass_filenames"] is False  # the check reads the whole publication
    files = re.compile(hook["files"])
    for path in ("content/oncology/net-imaging.md", "references/a.bib", "mkdocs.yml"):
        assert files.search(path), path
    for path in ("docs/guide.md", "pipeline/cli.py", "README.md"):
        assert not files.search(path), path


def _run_hook(repo: Path) -> subprocess.CompletedProcess:
    """The hook's entry as pre-commit runs it: in the repository, with no file names."""
    command = shlex.split(_hook()["entry"])
    command[0] = str(Path(sys.executable).parent / command[0])  # the installed console script
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)


def test_the_hook_refuses_a_commit_that_breaks_an_article(publication: Path) -> None:
    git(publication, "init", "-q", "-b", "main")
    commit(publication, EDITOR, "Publication")
    assert _run_hook(publication).returncode == 0
    replace_in(publication, HYPO, "[@ata-hypothyroidism-2014]", "[@ata-hypothyroidism-2041]")
    git(publication, "add", "-A")
    done = _run_hook(publication)
    assert done.returncode == 1
    assert f"{HYPO}:" in done.stdout and "citation.unknown-key" in done.stdout


def test_vscode_maps_the_schemas_to_the_settings_files() -> None:
    settings = json.loads((REPO / ".vscode/settings.json").read_text(encoding="utf-8"))
    mapping = settings["yaml.schemas"]
    assert mapping == {
        "./schema/publication.schema.json": ["content/publication.yml"],
        "./schema/board.schema.json": ["content/board.yml"],
    }
    for schema, targets in mapping.items():
        assert json.loads((REPO / schema).read_text())["title"]
        assert all((REPO / target).is_file() for target in targets)
    extensions = json.loads((REPO / ".vscode/extensions.json").read_text(encoding="utf-8"))
    assert "redhat.vscode-yaml" in extensions["recommendations"]


def test_the_vscode_task_reads_every_problem_at_its_line(publication: Path) -> None:
    tasks = json.loads((REPO / ".vscode/tasks.json").read_text(encoding="utf-8"))["tasks"]
    task = next(t for t in tasks if t["label"] == "pipeline check")
    assert task["command"] == "pipeline check"
    pattern = task["problemMatcher"]["pattern"]
    matcher = re.compile(pattern["regexp"])
    replace_in(publication, HYPO, "title: Starting", "colour: blue\ntitle: Starting")
    out = subprocess.run(
        [str(Path(sys.executable).parent / "pipeline"), "check"],
        cwd=publication,
        capture_output=True,
        text=True,
        check=False,
        env={**task["options"]["env"], "PATH": str(Path(sys.executable).parent)},
    ).stdout
    problems = [m for m in map(matcher.match, out.splitlines()) if m]
    assert problems, out
    first = problems[0]
    assert first.group(pattern["file"]) == HYPO
    assert int(first.group(pattern["line"])) == line_of(publication, HYPO, "colour: blue")
    assert first.group(pattern["severity"]) == "error"
    assert first.group(pattern["code"]) == "frontmatter.schema"


def test_the_guide_explains_the_tooling() -> None:
    guide = " ".join((REPO / "docs/guide.md").read_text(encoding="utf-8").split())
    for words in ("pipeline-check", "yaml.schemas", "front matter inside a Markdown file"):
        assert words in guide
