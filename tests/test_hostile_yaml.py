"""Hostile YAML and BibTeX: impossible values, duplicate keys and expansion bombs are each one
located diagnostic, within a time bound, never a traceback or an exhausted memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import line_of, replace_in, run_cli, snapshot, write

ARTICLE = "content/endocrinology/hypothyroidism-levothyroxine.md"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def findings(root: Path) -> list[tuple[str, str, int | None, str]]:
    before = snapshot(root)
    started = time.monotonic()
    run = run_cli(root, "check", "--format", "json")
    assert time.monotonic() - started < 30
    assert run.exit_code in (0, 1), run.output + run.stderr
    assert snapshot(root) == before
    report = run.json()
    return [(d["code"], d["file"], d["line"], d["message"]) for d in report["errors"]]


def located(root: Path, file: str) -> set[tuple[str, int | None]]:
    return {(code, line) for code, f, line, _ in findings(root) if f == file}


def _set_field(root: Path, old: str, new: str) -> int:
    replace_in(root, ARTICLE, old, new)
    return line_of(root, ARTICLE, new.splitlines()[0])


@pytest.mark.parametrize("date", ["2026-02-30", "2026-13-01", "0000-01-01"])
def test_an_impossible_date_in_an_article(publication: Path, date: str) -> None:
    text = (publication / ARTICLE).read_text()
    old = next(line for line in text.splitlines() if line.startswith("last_updated:"))
    line = _set_field(publication, old, f"last_updated: {date}")
    assert ("frontmatter.syntax", line) in located(publication, ARTICLE)


def test_an_impossible_date_in_a_review_record(publication: Path) -> None:
    reviewed = "content/cardiology/af-anticoagulation.md"
    text = (publication / reviewed).read_text()
    old = next(line for line in text.splitlines() if line.strip().startswith("date:"))
    replace_in(publication, reviewed, old, old.split("date:")[0] + "date: 2025-02-29")
    line = line_of(publication, reviewed, "date: 2025-02-29")
    assert ("frontmatter.syntax", line) in located(publication, reviewed)


def test_a_five_thousand_digit_integer(publication: Path) -> None:
    line = _set_field(publication, "status:", "extra: " + "7" * 5000 + "\nstatus:")
    found = [f for f in findings(publication) if f[1] == ARTICLE]
    assert ("frontmatter.syntax", line) in {(c, n) for c, _, n, _ in found}
    assert any("digits" in message for *_, message in found)


def test_duplicate_keys_name_both_lines(publication: Path) -> None:
    text = (publication / ARTICLE).read_text()
    first = line_of(publication, ARTICLE, "status:")
    status = next(line for line in text.splitlines() if line.startswith("status:"))
    replace_in(publication, ARTICLE, "\n---\n", f"\n{status}\n---\n")
    second = len(text.split("\n---\n")[0].splitlines()) + 1
    found = [f for f in findings(publication) if f[1] == ARTICLE]
    assert [(c, n) for c, _, n, _ in found] == [("frontmatter.syntax", second)]
    assert f"lines {first} and {second}" in found[0][3]


@pytest.mark.parametrize(
    "rel",
    [ARTICLE, "content/publication.yml", "content/board.yml"],
    ids=["article", "pub", "board"],
)
def test_an_alias_bomb(publication: Path, rel: str) -> None:
    if rel == ARTICLE:
        replace_in(publication, rel, "status:", BOMB + "status:")
    else:
        path = publication / rel
        path.write_text(BOMB + path.read_text())
    line = line_of(publication, rel, "d: &d")  # where the expansion passes the budget
    code = "frontmatter.syntax" if rel == ARTICLE else "config.syntax"
    found = [f for f in findings(publication) if f[1] == rel]
    assert (code, line) in {(c, n) for c, _, n, _ in found}
    assert any("aliases" in message for *_, message in found)


def test_an_alias_to_its_own_container(publication: Path) -> None:
    replace_in(publication, ARTICLE, "status:", "loop: &x [*x]\nstatus:")
    line = line_of(publication, ARTICLE, "loop:")
    assert ("frontmatter.syntax", line) in located(publication, ARTICLE)


@pytest.mark.parametrize("depth", [25, 100_000])
def test_deep_nesting(publication: Path, depth: int) -> None:
    replace_in(publication, ARTICLE, "status:", "deep: " + "[" * depth + "]" * depth + "\nstatus:")
    line = line_of(publication, ARTICLE, "deep:")
    assert ("frontmatter.syntax", line) in located(publication, ARTICLE)


def test_deep_block_nesting_in_settings(publication: Path) -> None:
    write(publication, "content/board.yml", "- " * 200_000 + "x\n")
    assert ("config.syntax", 1) in located(publication, "content/board.yml")


def test_a_tab_in_front_matter_is_located(publication: Path) -> None:
    replace_in(publication, ARTICLE, "status:", "\tstatus:")
    line = line_of(publication, ARTICLE, "\tstatus:")
    assert ("frontmatter.syntax", line) in located(publication, ARTICLE)


# --- BibTeX ---------------------------------------------------------------------------------


def test_a_doubling_string_chain(publication: Path) -> None:
    chain = '@string{a0 = "xy"}\n' + "".join(
        f"@string{{a{i + 1} = a{i} # a{i}}}\n" for i in range(64)
    )
    write(publication, "references/zz.bib", chain + "@misc{k, title = a64}\n")
    found = [f for f in findings(publication) if f[1] == "references/zz.bib"]
    assert [c for c, *_ in found] == ["reference.syntax"] and found[0][2] is not None
    assert "macros" in found[0][3]


def test_many_references_to_one_large_macro(publication: Path) -> None:
    big = "x" * 50_000
    uses = " # ".join(["big"] * 100)
    write(
        publication, "references/zz.bib", f'@string{{big = "{big}"}}\n@misc{{k, title = {uses}}}\n'
    )
    assert ("reference.syntax", 2) in located(publication, "references/zz.bib")


# --- templates ------------------------------------------------------------------------------


def test_a_broken_theme_template_is_one_diagnostic(publication: Path) -> None:
    theme = publication / "theme-custom"
    theme.mkdir()
    (theme / "main.html").write_text('{% extends "base.html" %}\n{% block content %}\n{% if %}\n')
    replace_in(publication, "mkdocs.yml", "custom_dir: pipeline/theme", "custom_dir: theme-custom")
    run = run_cli(publication, "build")
    assert run.exit_code in (1, 2)
    assert "build.template" in run.stderr and "theme-custom/main.html:3" in run.stderr
    assert not (publication / "site").exists()


def test_a_template_failing_at_render_time(publication: Path, monkeypatch, tmp_path: Path) -> None:
    import shutil

    from pipeline import render

    templates = tmp_path / "templates"
    shutil.copytree(render.TEMPLATES, templates)
    (templates / "tags.md.j2").write_text("# Tags\n\n{{ no_such_value.attribute }}\n")
    monkeypatch.setattr(render, "TEMPLATES", templates)
    run = run_cli(publication, "build")
    assert run.exit_code == 1
    assert "build.template" in run.stderr and "tags.md.j2" in run.stderr


# --- properties: any text gives a model or diagnostics, never an exception ------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.loader import load_article  # noqa: E402
from pipeline.references import parse_text  # noqa: E402

_yamlish = st.lists(
    st.sampled_from([*"ab:-[]{}&*!|>'\"#?,%@`~ \t\n\r019.é", "2026-02-30", "status: ", "- "])
).map("".join)
_bibish = st.lists(
    st.sampled_from([*'@{}()=#,"\\% \nabk19', "string", "misc", "title", "jan", " = "])
).map("".join)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(front=_yamlish, body=_yamlish)
def test_any_front_matter_text_is_a_model_or_diagnostics(
    tmp_path_factory, front: str, body: str
) -> None:
    root = tmp_path_factory.mktemp("fm")
    rel = "content/fuzz/case.md"
    path = root / rel
    path.parent.mkdir(parents=True)
    path.write_bytes(f"---\n{front}\n---\n{body}".encode())
    article, found = load_article(root, rel, "fuzz", "case", ["Recommendations"])
    assert article.meta is not None or found
    assert all(d.file == rel for d in found)


@settings(max_examples=400, deadline=None)
@given(text=_bibish)
def test_any_bibtex_text_is_references_or_diagnostics(text: str) -> None:
    parsed = parse_text(text, "references/fuzz.bib")
    assert all(d.file == "references/fuzz.bib" for d in parsed.diagnostics)


_nested = st.recursive(
    st.sampled_from(["x", "1", "''"]),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(inner, max_size=3).map(
            lambda items: "{" + ", ".join(f"k{i}: {v}" for i, v in enumerate(items)) + "}"
        ),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=_nested, wrap=st.integers(0, 24), anchored=st.booleans())
def test_a_tree_is_judged_as_the_full_shape_check_judges_it(
    value: str, wrap: int, anchored: bool
) -> None:
    # Without an anchor the full walk (sizes of aliases) is skipped: the outcome, and the line
    # of a depth error, must be the full walk's.
    import yaml

    from pipeline import loader

    value = "[" * wrap + value + ",\n  x" * (wrap > 0) + "]" * wrap
    text = f"a: 1\nb: {'&n ' if anchored else ''}{value}\n"
    node = yaml.compose(text, Loader=loader._Loader)
    try:
        loader.check_shape(node)
        expected = None
    except loader.YamlLimit as exc:
        expected = (exc.problem, exc.problem_mark.line)
    try:
        loader.compose_yaml(text)
        got = None
    except loader.YamlLimit as exc:
        got = (exc.problem, exc.problem_mark.line)
    assert got == expected


def test_a_front_matter_without_anchors_skips_the_alias_walk(monkeypatch) -> None:  # noqa: ANN001
    from pipeline import loader

    walked = []
    monkeypatch.setattr(loader, "check_shape", walked.append)
    loader.compose_yaml("title: T\ntags: [a, b]\nreviews:\n  - reviewer: x\n")
    assert walked == []
    loader.compose_yaml("title: &t T\nother: *t\n")
    assert len(walked) == 1
