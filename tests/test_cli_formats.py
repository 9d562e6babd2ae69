"""`pipeline check` output formats and the docs generated from the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.docsgen import outputs
from tests.conftest import REPO, line_of, replace_in, run_cli

HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"


def _break(root: Path) -> None:
    replace_in(
        root,
        HYPO,
        "## Follow-up recommendations\n",
        "## Follow-up recommendations\n- Uncited, with a comma: and colon.\n",
    )


def test_json_format(publication: Path) -> None:
    _break(publication)
    run = run_cli(publication, "check", "--format", "json")
    report = run.json()
    assert set(report) == {"version", "errors", "warnings", "articles"}
    assert report["errors"][0].keys() == {"code", "severity", "file", "line", "message"}
    assert run.exit_code == 1


def test_github_format(publication: Path) -> None:
    _break(publication)
    run = run_cli(publication, "check", "--format", "github")
    first = run.output.splitlines()[0]
    line = line_of(publication, HYPO, "Uncited, with a comma")
    assert first.startswith(f"::error file={HYPO},line={line},title=citation.missing::")
    assert run.exit_code == 1


def test_text_format(publication: Path) -> None:
    _break(publication)
    run = run_cli(publication, "check")
    line = line_of(publication, HYPO, "Uncited, with a comma")
    assert f"{HYPO}:{line}: error [citation.missing]" in run.output


def test_python_dash_m_entry_point(publication: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(publication), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s)" in done.stdout


def test_generated_docs_and_schemas_match_the_models() -> None:
    for rel, text in outputs().items():
        assert (REPO / rel).read_text(encoding="utf-8") == text, (
            f"{rel} is out of date: run `python -m pipeline.docsgen`"
        )
