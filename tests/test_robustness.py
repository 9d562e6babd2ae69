"""Bad input of every kind gives a diagnostic, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.checks import run_checks
from pipeline.loader import load
from tests.conftest import copy_publication, run_cli, write

ARTICLE = "content/endocrinology/hypothyroidism-levothyroxine.md"


def codes(root: Path) -> list[tuple[str, str]]:
    run = run_cli(root, "check", "--format", "json")
    assert run.exit_code in (0, 1), run.output
    report = run.json()
    return [(d["code"], d["file"]) for d in report["errors"] + report["warnings"]]


def test_malformed_yaml(publication: Path) -> None:
    write(publication, ARTICLE, "---\nquestion: [unclosed\ntitle: x\n---\nBody\n")
    assert ("frontmatter.syntax", ARTICLE) in codes(publication)


def test_missing_front_matter(publication: Path) -> None:
    write(publication, ARTICLE, "Just a body [@ata-hypothyroidism-2014].\n")
    assert ("frontmatter.syntax", ARTICLE) in codes(publication)


def test_bib_with_unbalanced_brace(publication: Path) -> None:
    write(
        publication,
        "references/zz.bib",
        "@article{x,\n  title = {Unbalanced {brace},\n  year = {2020},\n}\n",
    )
    assert ("reference.syntax", "references/zz.bib") in codes(publication)


def test_binary_file_named_md(publication: Path) -> None:
    (publication / ARTICLE).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert ("frontmatter.syntax", ARTICLE) in codes(publication)


def test_empty_file(publication: Path) -> None:
    write(publication, ARTICLE, "")
    assert ("frontmatter.syntax", ARTICLE) in codes(publication)


def test_ten_megabyte_article(publication: Path) -> None:
    head = (publication / ARTICLE).read_text()
    write(publication, ARTICLE, head + ("- filler line [@ata-hypothyroidism-2014]\n" * 250_000))
    assert (publication / ARTICLE).stat().st_size > 10_000_000
    assert ("article.size", ARTICLE) in codes(publication)


def test_front_matter_that_is_a_list(publication: Path) -> None:
    write(publication, ARTICLE, "---\n- a\n- b\n---\nBody\n")
    assert ("frontmatter.schema", ARTICLE) in codes(publication)


def test_invalid_publication_settings(publication: Path) -> None:
    write(publication, "content/publication.yml", "name: [\n")
    found = codes(publication)
    assert ("config.syntax", "content/publication.yml") in found


def test_not_a_publication_is_exit_2_in_one_line(tmp_path: Path) -> None:
    run = run_cli(tmp_path, "check")
    assert run.exit_code == 2
    assert run.stderr.strip().count("\n") == 0 and "content/" in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_root_is_exit_2(tmp_path: Path) -> None:
    run = run_cli(tmp_path / "nope", "check")
    assert run.exit_code == 2 and "Traceback" not in run.stderr


def test_unknown_format_is_exit_2(publication: Path) -> None:
    run = run_cli(publication, "check", "--format", "xml")
    assert run.exit_code == 2


_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200)
_yaml_value = st.recursive(
    st.none() | st.booleans() | st.integers() | _text | st.dates().map(str),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    front=st.dictionaries(
        st.sampled_from(
            [
                "question",
                "title",
                "authors",
                "status",
                "last_updated",
                "tags",
                "related",
                "reviews",
                "disclaimer",
                "other",
            ]
        ),
        _yaml_value,
        max_size=8,
    ),
    body=_text,
    raw=_text,
)
def test_random_articles_never_crash_the_loader(
    tmp_path_factory, front: dict, body: str, raw: str
) -> None:
    import yaml

    root = copy_publication(tmp_path_factory.mktemp("fuzz") / "pub")
    front_text = yaml.safe_dump(front, allow_unicode=True)
    write(root, "content/fuzz/structured.md", f"---\n{front_text}---\n{body}\n")
    write(root, "content/fuzz/raw.md", raw)
    project = load(root)
    found = run_checks(project)
    for article_id in ("fuzz/structured", "fuzz/raw"):
        article = project.article(article_id)
        assert article is not None
        has_diagnostic = any(d.file == article.file for d in found)
        assert article.meta is not None or has_diagnostic
