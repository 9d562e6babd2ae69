"""Hostile markup: every payload in every string field of every file is named by `pipeline check`
with its code, file and line; and whatever text gets through renders inert (SPEC 6a)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import markdown
import pytest
import yaml
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pybtex.database import parse_string

from pipeline import htmlpages, safety
from pipeline.loader import load
from pipeline.render import TEMPLATES, SiteRenderer
from tests.conftest import copy_publication, line_of, replace_in, run_cli, snapshot, write
from tests.hostile_payloads import (
    BIB_PAYLOADS,
    BODY_PAYLOADS,
    FIELD_EXTERNAL,
    FIELD_MARKUP,
    INERT_TEXT,
)

HYPO = "content/endocrinology/hypothyroidism-levothyroxine.md"
HYPO_PATIENT = "content/endocrinology/hypothyroidism-levothyroxine.patient.md"
IMAGING = "content/oncology/net-imaging.md"
PUBLICATION = "content/publication.yml"
BOARD = "content/board.yml"


def set_yaml_field(root: Path, rel: str, start: str, value: str) -> int:
    """Replace the field whose line starts with `start` (indentation included), and any lines
    continuing it, by one double-quoted value; return its line number."""
    path = root / rel
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith(start))
    indent = len(start) - len(start.lstrip())
    end = index + 1
    while (
        end < len(lines)
        and lines[end].strip()
        and len(lines[end]) - len(lines[end].lstrip())
        > indent + (2 if start.lstrip().startswith("- ") else 0)
    ):
        end += 1
    key = start.split(":")[0]
    lines[index:end] = [f"{key}: {json.dumps(value)}"]
    path.write_text("\n".join(lines), encoding="utf-8")
    return index + 1


# Where a field payload goes: (file, the line the field starts with).
FIELDS: dict[str, tuple[str, str]] = {
    "article.question": (HYPO, "question:"),
    "article.title": (HYPO, "title:"),
    "article.review-note": (IMAGING, "    note:"),
    "variant.title": (HYPO_PATIENT, "title:"),
    "publication.name": (PUBLICATION, "name:"),
    "publication.description": (PUBLICATION, "description:"),
    "publication.audience-label": (PUBLICATION, "    label: Clinician"),
    "publication.audience-description": (PUBLICATION, "    description: Physicians"),
    "publication.disclaimer-title": (PUBLICATION, "    title: Professional"),
    "publication.disclaimer-text": (PUBLICATION, "    text:"),
    "publication.evidence-section": (PUBLICATION, "    - Diagnostic evaluation"),
    "board.name": (BOARD, "    name: Jordan Doe"),
    "board.credentials": (BOARD, "    credentials: MPH"),
    "board.bio": (BOARD, "    bio: Example editor for oncology"),
}


def _set_field(root: Path, where: str, value: str) -> tuple[str, int]:
    rel, start = FIELDS[where]
    if start.lstrip().startswith("- "):
        indent = start[: len(start) - len(start.lstrip())]
        replace_in(root, rel, start, f"{indent}- {json.dumps(value)}")
        return rel, line_of(root, rel, json.dumps(value)[:20])
    return rel, set_yaml_field(root, rel, start, value)


def _tag(root: Path, value: str) -> tuple[str, int]:
    replace_in(root, HYPO, "tags: [hypothyroidism", f"tags: [{json.dumps(value)}")
    return HYPO, line_of(root, HYPO, "tags:")


def _check(root: Path) -> list[dict]:
    before = snapshot(root)
    run = run_cli(root, "check", "--format", "json")
    assert snapshot(root) == before
    report = run.json()
    assert run.exit_code == (1 if report["errors"] else 0), run.output
    return report["errors"] + report["warnings"]


def _named(found: list[dict], code: str, file: str, line: int | None) -> bool:
    return any(d["code"] == code and d["file"] == file and d["line"] == line for d in found)


@pytest.fixture
def pub(tmp_path: Path) -> Path:
    return copy_publication(tmp_path / "pub")


FIELD_CASES = [
    (where, name, value, "content.raw-html")
    for where in [*FIELDS, "article.tag"]
    for name, value in FIELD_MARKUP.items()
] + [
    (where, name, value, "content.external-resource")
    for where in ("article.question", "article.title", "variant.title", "board.bio")
    for name, value in FIELD_EXTERNAL.items()
]


@pytest.mark.parametrize(
    ("where", "name", "value", "code"),
    FIELD_CASES,
    ids=[f"{w}-{n}" for w, n, _, _ in FIELD_CASES],
)
def test_markup_in_a_field_is_named(
    pub: Path, where: str, name: str, value: str, code: str
) -> None:
    file, line = _tag(pub, value) if where == "article.tag" else _set_field(pub, where, value)
    found = _check(pub)
    assert _named(found, code, file, line), found


@pytest.mark.parametrize(
    "value",
    [
        'https://example.org/ask"><svg/onload=window.__pwned=1>',
        "https://example.org/<script>",
    ],
)
def test_markup_in_the_intake_url_is_named(pub: Path, value: str) -> None:
    line = set_yaml_field(pub, PUBLICATION, "question_intake_url:", value)
    assert _named(_check(pub), "content.raw-html", PUBLICATION, line)


@pytest.mark.parametrize(
    "value", ["javascript:window.__pwned=1", "java\nscript:alert(1)", "data:text/html,x"]
)
def test_a_script_site_url_is_named(pub: Path, value: str) -> None:
    replace_in(
        pub,
        PUBLICATION,
        "site_url: https://example-org.github.io/clinical-guideline-notes/\n",
        f"site_url: {json.dumps(value)}\n",
    )
    assert _named(
        _check(pub), "content.raw-html", PUBLICATION, line_of(pub, PUBLICATION, "site_url:")
    )


@pytest.mark.parametrize(("name", "payload"), sorted(BODY_PAYLOADS.items()))
@pytest.mark.parametrize("rel", [HYPO, HYPO_PATIENT])
def test_markup_in_a_body_is_named(pub: Path, rel: str, name: str, payload: tuple) -> None:
    text, code = payload
    path = pub / rel
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")
    line = len(path.read_text(encoding="utf-8").split("\n")) - len(text.split("\n"))
    assert _named(_check(pub), code, rel, line)


@pytest.mark.parametrize(("name", "payload"), sorted(BODY_PAYLOADS.items()))
def test_markup_in_the_editorial_policy_is_named(pub: Path, name: str, payload: tuple) -> None:
    text, code = payload
    marker = "  **Corrections.**"
    indented = "\n".join(f"  {line}" if line else "" for line in text.split("\n"))
    replace_in(pub, PUBLICATION, marker, f"{indented}\n\n{marker}")
    line = line_of(pub, PUBLICATION, text.split("\n")[0][:30])
    assert _named(_check(pub), code, PUBLICATION, line)


@pytest.mark.parametrize(("name", "payload"), sorted(BIB_PAYLOADS.items()))
def test_markup_in_a_reference_field_is_named(pub: Path, name: str, payload: tuple) -> None:
    field, value, code = payload
    others = {
        "author": "Doe, Jane",
        "title": "A trial",
        "journal": "A Journal",
        "year": "2020",
    }
    others.pop(field, None)
    lines = ["% hostile", "@article{hostile-2020,"]
    lines += [f"  {k} = {{{v}}}," for k, v in others.items()]
    lines.append(f"  {field} = {{{value}}},")
    lines.append("}")
    write(pub, "references/zz-hostile.bib", "\n".join(lines) + "\n")
    line = len(lines) - 1
    found = _check(pub)
    assert _named(found, code, "references/zz-hostile.bib", line), found


@pytest.mark.parametrize("text", INERT_TEXT)
def test_text_that_only_looks_like_markup_is_accepted(pub: Path, text: str) -> None:
    _set_field(pub, "article.title", text)
    _set_field(pub, "board.bio", text)
    _set_field(pub, "publication.description", text)
    found = [d for d in _check(pub) if d["code"].startswith("content.")]
    assert found == []


# --- whatever the text, the pages hold only allowed markup ----------------------------------------

ALLOWED_PAGE_TAGS = {
    *safety.ALLOWED_TAGS,
    *{
        t
        for path in TEMPLATES.glob("*.j2")
        for t in re.findall(r"<([a-z][a-z0-9]*)", path.read_text())
    },
}
ALLOWED_PAGE_ATTRIBUTES = {
    *{a for names in safety.ALLOWED_ATTRIBUTES.values() for a in names},
    *{a for path in TEMPLATES.glob("*.j2") for a in re.findall(r" ([a-z-]+)=\"", path.read_text())},
    "hidden",
    "download",  # the citation downloads
    "reversed",  # the revision history, newest first
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    return load(copy_publication(tmp_path_factory.mktemp("loaded") / "pub"))


def _pages_with(project, title: str, question: str, tag: str, bio: str) -> dict[str, str]:
    article = project.articles["endocrinology/hypothyroidism-levothyroxine"]
    meta = article.meta.model_copy(update={"title": title, "question": question, "tags": [tag]})
    changed = dataclasses.replace(article, meta=meta)
    board = project.board.model_copy(
        update={"members": [m.model_copy(update={"bio": bio}) for m in project.board.members]}
    )
    project = dataclasses.replace(
        project, articles={**project.articles, article.id: changed}, board=board, memo={}
    )
    renderer = SiteRenderer(project, preview=True, problems={})
    pages = dict(renderer.site_files())
    return {**pages, f"{article.id}.md": renderer.article_page(renderer.shown[article.id])}


def _as_mkdocs_renders(page: str) -> tuple[dict, BeautifulSoup]:
    """Front matter and the HTML Python-Markdown makes of a generated page, as in MkDocs."""
    _, front, body = page.split("---\n", 2)
    converter = markdown.Markdown(extensions=["toc", "tables", "fenced_code", "admonition"])
    html = converter.convert(body)
    if htmlpages.html_only(body):  # the plugin hands this body over as it is: the same HTML
        assert html == body.strip()
    return yaml.safe_load(front), BeautifulSoup(html, "html.parser")


TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
    st.sampled_from([*FIELD_MARKUP.values(), *FIELD_EXTERNAL.values(), *INERT_TEXT]),
    st.lists(
        st.sampled_from(list("<>&\"'`{}[]()*_!#:=\\/\n;") + ["javascript:", "on", "img", " "]),
        min_size=1,
        max_size=30,
    ).map("".join),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=TEXT, question=TEXT, tag=TEXT, bio=TEXT)
def test_any_text_renders_only_allowed_markup(loaded, title, question, tag, bio) -> None:
    for rel, page in _pages_with(loaded, title, question, tag, bio).items():
        if rel.endswith(".bib"):
            # A citation download stays one well-formed BibTeX entry whatever the title says.
            entries = parse_string(page, "bibtex").entries
            assert len(entries) == 1, (rel, page)
            continue
        if not rel.endswith(".md"):
            continue
        front, soup = _as_mkdocs_renders(page)
        for name in ("title", "description"):
            if name in front:
                assert not set(front[name]) & set("<>\"'"), (rel, front[name])
        for element in soup.find_all(True):
            assert element.name in ALLOWED_PAGE_TAGS, (rel, element.name)
            for attribute, value in element.attrs.items():
                assert attribute in ALLOWED_PAGE_ATTRIBUTES, (rel, element.name, attribute)
                if attribute in ("href", "src"):
                    assert not safety.is_unsafe_url(value), (rel, value)
            if element.name == "script":
                assert element.get("type") == "application/ld+json", rel
        if rel == "endocrinology/hypothyroidism-levothyroxine.md":
            shown = soup.select_one("h1.gp-question").get_text()
            # HTML shows a tab as a space: compare the text a reader sees.
            assert shown.split() == safety.clean_text(question).split(), rel


@pytest.mark.parametrize("args", [["build"], ["build", "--preview"]])
def test_every_page_has_the_policy_and_no_inline_script(pub: Path, args: list[str]) -> None:
    assert run_cli(pub, *args).exit_code == 0
    pages = sorted((pub / "site").rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert policy is not None, page
        assert "script-src 'self';" in policy["content"], page
        for script in soup.find_all("script"):
            assert script.get("src") or script.get("type") in (
                "application/json",
                "application/ld+json",
            ), (page, str(script)[:80])
