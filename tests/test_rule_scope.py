"""Rules marked `references_only` report on reference files and nothing else, so leaving them
out (as a live preview does when it shows one saved article first) loses nothing an article's
page shows."""

from __future__ import annotations

from pathlib import Path

from pipeline.checks import RULES, run_checks
from pipeline.loader import load
from tests.conftest import replace_in, write

HOSTILE = """
@article{unused-example-2020,
  author = {Example, Author},
  title = {An entry no article cites <script>alert(1)</script>},
  url = {javascript:alert(1)},
  doi = {not-a-doi},
}

@article{incomplete-example-2021,
  author = {Example, Author},
  title = {A cited entry without its journal or year},
}
"""
ARTICLE = "content/endocrinology/hypothyroidism-levothyroxine.md"


def test_reference_only_rules_report_on_reference_files_only(publication: Path) -> None:
    path = publication / "references/endocrinology.bib"
    write(publication, "references/endocrinology.bib", path.read_text("utf-8") + HOSTILE)
    replace_in(publication, ARTICLE, "at the same time every day",
               "at the same time every day [@incomplete-example-2021]")  # fmt: skip
    project = load(publication, use_cache=False)
    scoped = [rule for rule in RULES if rule.references_only]
    assert {rule.name for rule in scoped} >= {"unused_references", "markup_in_references"}
    found = [(rule.name, d) for rule in scoped for d in rule(project)]
    names = {name for name, _ in found}
    assert {"unused_references", "incomplete_references", "markup_in_references"} <= names
    assert [d.file for _, d in found if not d.file.startswith("references/")] == []

    everything = run_checks(load(publication, use_cache=False))
    articles = run_checks(load(publication, use_cache=False), articles_only=True)
    left_out = [d for d in everything if d not in articles]
    assert left_out and all(d.file.startswith("references/") for d in left_out)
    assert [d for d in everything if not d.file.startswith("references/")] == [
        d for d in articles if not d.file.startswith("references/")
    ]
