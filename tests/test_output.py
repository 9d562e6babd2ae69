"""What people and tools read: versioned JSON with severities from check, gate and status; the
GitHub job summary; colours grouped by file only at a terminal; `--version`; the licence."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO, copy_publication, line_of, replace_in, run_cli
from tests.gitrepo import EDITOR, NEW, NEW_ARTICLE, commit, pull_request_repo

HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _break(root: Path) -> None:
    replace_in(
        root,
        HYPO,
        "## Follow-up recommendations\n",
        "## Follow-up recommendations\n- Uncited | with *markup* <b>x</b>.\n",
    )
    # A warning too: an entry nobody cites.
    with (root / "references/cardiology.bib").open("a", encoding="utf-8") as bib:
        bib.write("\n@misc{nobody-cites, title = {T}, year = {2020}, howpublished = {Web}}\n")


def test_check_json_is_versioned_with_a_severity_on_every_item(publication: Path) -> None:
    _break(publication)
    report = run_cli(publication, "check", "--format", "json").json()
    assert report["version"] == 1 and report["articles"] == 8
    assert {"errors", "warnings", "articles"} <= set(report)
    for severity, items in (("error", report["errors"]), ("warning", report["warnings"])):
        assert items
        for item in items:
            assert set(item) == {"code", "severity", "file", "line", "message"}
            assert item["severity"] == severity
    assert any(d["code"] == "reference.unused" for d in report["warnings"])


def test_status_json(publication: Path) -> None:
    run = run_cli(publication, "status", "--format", "json")
    assert run.exit_code == 0
    report = run.json()
    assert report["version"] == 1
    rows = {row["article"]: row for row in report["articles"]}
    assert len(rows) == 8
    hypo = rows["endocrinology/hypothyroidism-levothyroxine"]
    assert hypo["status"] == "under_review" and hypo["approvals"] == 0 and hypo["required"] == 1
    imaging = rows["oncology/net-imaging"]
    assert imaging["status"] == "approved" and imaging["approval_holds"] is True
    assert imaging["approvers"] and imaging["review_due"] and imaging["overdue"] is False
    assert imaging["file"] == "content/oncology/net-imaging.md"


def test_status_json_shows_a_stale_approval(publication: Path) -> None:
    rel = "content/oncology/net-imaging.md"
    text = (publication / rel).read_text()
    (publication / rel).write_text(text.replace("\n## ", "\nOne more sentence.\n\n## ", 1))
    row = next(
        r
        for r in run_cli(publication, "status", "--format", "json").json()["articles"]
        if r["article"] == "oncology/net-imaging"
    )
    assert row["approval_holds"] is False and row["stale"]


def _repo(tmp_path: Path) -> Path:
    root = copy_publication(tmp_path / "repo")
    (root / "pipeline").unlink()
    return pull_request_repo(root)


def test_gate_json_reports_what_it_verified(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / NEW).write_text(NEW_ARTICLE.format(status="approved"), encoding="utf-8")
    commit(repo, EDITOR, "Add an article that says approved")
    run = run_cli(repo, "gate", "--base", "main", "--format", "json")
    assert run.exit_code == 1
    report = run.json()
    assert report["version"] == 1 and len(report["base"]) == 40
    assert [c["article"] for c in report["changed"]] == ["endocrinology/levothyroxine-timing"]
    assert all(d["severity"] == "error" for d in report["errors"])
    assert "gate.status-transition" in {d["code"] for d in report["errors"]}


def test_github_format_writes_the_job_summary(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    _break(publication)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = run_cli(publication, "check", "--format", "github")
    assert run.exit_code == 1 and run.output.startswith("::error ")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")  # appended, never replaced
    assert "### \u274c pipeline check" in text
    line = line_of(publication, HYPO, "Uncited |")
    row = next(r for r in text.splitlines() if f"{HYPO}:{line}" in r)
    assert row.startswith("| error | `citation.missing` |")
    # Text from content is never markup in the summary.
    assert "<b>" not in text and "\\*markup\\*" not in row
    assert "| warning | `reference.unused` |" in text
    # Text and JSON never write a summary.
    before = summary.read_text(encoding="utf-8")
    run_cli(publication, "check", "--format", "json")
    run_cli(publication, "check")
    assert summary.read_text(encoding="utf-8") == before


def test_gate_summary_lists_the_changes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    repo = _repo(tmp_path)
    (repo / NEW).write_text(NEW_ARTICLE.format(status="submitted"), encoding="utf-8")
    commit(repo, EDITOR, "Add an article")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run_cli(repo, "gate", "--base", "main", "--format", "github")
    text = summary.read_text(encoding="utf-8")
    assert "### " in text and "pipeline gate" in text
    assert "**endocrinology/levothyroxine-timing**" in text


def _in_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run the real command with its output on a pseudo-terminal, as a person would."""
    main, child = pty.openpty()
    proc = subprocess.Popen(args, stdout=child, stderr=subprocess.DEVNULL, env=env, close_fds=True)
    os.close(child)
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(main)
    return out.decode("utf-8", "replace")


def test_colours_and_grouping_at_a_terminal_only(publication: Path) -> None:
    _break(publication)
    command = [sys.executable, "-m", "pipeline", "--root", str(publication), "check"]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    shown = _in_a_terminal(command, env)
    assert ANSI.search(shown), shown
    plain = ANSI.sub("", shown).replace("\r", "")
    # One heading per file, then its problems by line.
    assert f"\n{HYPO}\n" in "\n" + plain
    assert re.search(
        rf"\s{line_of(publication, HYPO, 'Uncited |')}\s+error\s+citation\.missing", plain
    )
    # In CI, and in a pipe, the same command prints plain `file:line:` lines.
    ci = _in_a_terminal(command, {**env, "CI": "true"})
    assert not ANSI.search(ci) and f"{HYPO}:" in ci
    piped = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert not ANSI.search(piped.stdout) and f"{HYPO}:" in piped.stdout


def test_version(publication: Path) -> None:
    run = run_cli(publication, "--version")
    assert run.exit_code == 0
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert run.output.strip() == f"pipeline {version}"


def test_mit_licence_is_shipped_and_declared() -> None:
    licence = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in licence
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and "LICENSE" in project["license-files"]
