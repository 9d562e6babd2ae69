"""A live preview keeps every article at its address: an article with errors is shown with
them on the page, one that cannot be read at all gets a page that says why (never a 404).
Production never shows either: errors stop its build."""

from __future__ import annotations

from pathlib import Path

from pipeline.build import check_for_build, problems_by_article
from pipeline.loader import load
from pipeline.render import render_site
from tests.conftest import replace_in, run_cli

IMAGING = "content/oncology/net-imaging.md"


def preview_with_problems(root: Path) -> Path:
    project = load(root)
    problems = problems_by_article(project, check_for_build(project))
    out = root / "build/preview"
    render_site(project, out, preview=True, problems=problems)
    return out


def test_an_article_whose_front_matter_breaks_gets_a_page_naming_the_error(
    publication: Path,
) -> None:
    replace_in(publication, IMAGING, "status: approved", "status: [approved")
    page = (preview_with_problems(publication) / "oncology/net-imaging.md").read_text("utf-8")
    assert "This article cannot be shown yet" in page
    assert "frontmatter.syntax" in page and "content/oncology/net-imaging.md" in page


def test_an_article_with_a_broken_citation_shows_its_text_and_the_error(
    publication: Path,
) -> None:
    replace_in(
        publication, IMAGING, "## Recommendations", "See [@no-such-key].\n\n## Recommendations"
    )
    page = (preview_with_problems(publication) / "oncology/net-imaging.md").read_text("utf-8")
    assert "citation.unknown-key" in page and "Staging combines" in page
    assert 'class="gp-problems" role="alert"' in page


def test_hostile_text_in_a_diagnostic_is_escaped_on_the_page(publication: Path) -> None:
    replace_in(publication, IMAGING, "status: approved", "status: <script>alert(1)</script>")
    page = (preview_with_problems(publication) / "oncology/net-imaging.md").read_text("utf-8")
    assert "<script>alert(1)" not in page and "frontmatter.schema" in page


def test_production_refuses_to_build_rather_than_show_errors(publication: Path) -> None:
    replace_in(
        publication, IMAGING, "## Recommendations", "See [@no-such-key].\n\n## Recommendations"
    )
    run = run_cli(publication, "build")
    assert run.exit_code == 1 and "citation.unknown-key" in run.stderr
