"""Rules that explain themselves: every diagnostic code the package can report is declared once,
with a summary, an explanation and a fix, and `pipeline explain` prints it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline.checks import RULES
from pipeline.codes import CODES
from tests.conftest import REPO, run_cli

PACKAGE = REPO / "pipeline"
_CODE_LIKE = re.compile(r"[a-z]+\.[a-z]+(?:-[a-z]+)*")
_FILE_SUFFIXES = {"py", "md", "yml", "yaml", "bib", "html", "j2", "xml", "json", "toml", "txt"}
FAMILIES = {c.family for c in CODES.values()}


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _code_literals() -> dict[str, set[str]]:
    """Every string literal in the package shaped like a code of a known family, by module."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "codes.py":
            continue
        for value in _string_literals(path):
            family, _, name = value.partition(".")
            if _CODE_LIKE.fullmatch(value) and family in FAMILIES and name not in _FILE_SUFFIXES:
                found.setdefault(value, set()).add(path.name)
    return found


def test_every_code_the_package_uses_is_declared() -> None:
    undeclared = {code: files for code, files in _code_literals().items() if code not in CODES}
    assert not undeclared, f"declare these in pipeline/codes.py: {undeclared}"


def test_every_code_given_to_diag_is_declared() -> None:
    """A code of a new family, which the scan above cannot recognise, still passes diag()."""
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name == "diag" and isinstance(first, ast.Constant):
                assert first.value in CODES, f"{path.name}:{node.lineno}: {first.value}"


def test_every_declared_code_is_used_somewhere() -> None:
    unused = set(CODES) - set(_code_literals())
    assert not unused, f"declared but never reported: {sorted(unused)}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_explains_itself(code: str) -> None:
    declared = CODES[code]
    assert declared.severity in ("error", "warning")
    assert declared.summary and "\n" not in declared.summary
    assert len(declared.explanation) > 60, "say what it means and why it matters"
    assert declared.fix
    assert bool(declared.bad) == bool(declared.good)
    assert declared.bad != declared.good or not declared.bad


def test_each_rule_declares_registered_codes() -> None:
    assert RULES
    for rule in RULES:
        assert rule.codes, rule.name
        assert set(rule.codes) <= set(CODES), rule.name


def test_a_rule_may_not_report_a_code_it_does_not_declare(publication: Path) -> None:
    from pipeline.checks import Rule
    from pipeline.diagnostics import diag
    from pipeline.loader import load

    def sneaky(project):  # noqa: ANN001, ANN202
        yield diag("date.future", "x", None, "x")

    with pytest.raises(KeyError, match="does not declare"):
        list(Rule(sneaky, ("citation.missing",))(load(publication)))


@pytest.mark.parametrize("code", sorted(CODES))
def test_pipeline_explain_covers_every_code(tmp_path: Path, code: str) -> None:
    declared = CODES[code]
    run = run_cli(tmp_path, "explain", code)
    assert run.exit_code == 0, run.stderr
    assert run.output.startswith(f"{code} ({declared.severity}): {declared.summary}\n")
    flat = " ".join(run.output.split())
    assert declared.explanation in flat and declared.fix in flat
    for line in (declared.bad + "\n" + declared.good).strip().splitlines():
        assert line in run.output


def test_pipeline_explain_without_a_code_lists_every_code(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "explain")
    assert run.exit_code == 0
    lines = run.output.splitlines()
    assert len(lines) == len(CODES)
    for line, declared in zip(lines, CODES.values(), strict=True):
        assert line.split()[0] == declared.code and line.endswith(declared.summary)


def test_pipeline_explain_a_family(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "explain", "gate")
    assert run.exit_code == 0
    assert {line.split()[0] for line in run.output.splitlines()} == {
        c for c in CODES if c.startswith("gate.")
    }


def test_pipeline_explain_an_unknown_code_suggests_close_ones(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "explain", "citation.unkown-key")
    assert run.exit_code == 2
    assert run.stderr.startswith("pipeline: there is no diagnostic code 'citation.unkown-key': ")
    assert "did you mean citation.unknown-key" in run.stderr
    assert run.stderr.strip().count("\n") == 0
    nothing = run_cli(tmp_path, "explain", "zzz")
    assert nothing.exit_code == 2 and "run `pipeline explain` for the list" in nothing.stderr


def test_the_codes_table_of_the_docs_comes_from_the_declarations() -> None:
    docs = (REPO / "docs/formats.md").read_text(encoding="utf-8")
    for declared in CODES.values():
        assert f"| [`{declared.code}`]" in docs and f"### `{declared.code}`" in docs
        assert declared.explanation in docs
