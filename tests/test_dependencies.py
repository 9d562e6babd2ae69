"""Dependencies are recorded where the renderer reads them: an incremental build re-renders
exactly the pages whose inputs changed, says why, and never misses one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import render, stamp
from pipeline.loader import load
from pipeline.render import render_site
from tests.conftest import replace_in, run_cli

IMAGING = "content/oncology/net-imaging.md"


def rerender(root: Path) -> render.RenderResult:
    return render_site(load(root), root / "build/preview", preview=True)


def test_an_unchanged_publication_renders_no_article_page(publication: Path) -> None:
    first = rerender(publication)
    assert first.why and all(w == ["not built before"] for w in first.why.values())
    second = rerender(publication)
    assert second.why == {} and second.skipped_renders == len(first.published)


def change_a_cited_reference(root: Path) -> tuple[str, list[str]]:
    """Edit the title of one cited entry in its .bib file; (its key, the pages citing it)."""
    project = load(root)
    key = sorted(project.articles["oncology/net-imaging"].cited_keys())[0]
    citing = sorted(f"{a.id}.md" for a in project.articles.values() if key in a.cited_keys())
    reference = project.library.get(key)
    bib = root / reference.file
    text = bib.read_text(encoding="utf-8")
    start = text.lower().index("{" + key + ",")
    brace = text.index("{", text.index("title", start)) + 1
    bib.write_text(text[:brace] + "Changed: " + text[brace:], encoding="utf-8")
    return key, citing


def test_a_changed_reference_re_renders_only_the_pages_that_cite_it(publication: Path) -> None:
    rerender(publication)
    key, citing = change_a_cited_reference(publication)
    assert citing and len(citing) < len(load(publication).articles)
    result = rerender(publication)
    assert sorted(result.why) == citing
    assert all(f"the reference {key} changed" in why for why in result.why.values())


def test_any_change_to_the_pipeline_code_re_renders_every_page(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rerender(publication)
    monkeypatch.setattr(render, "code_digest", lambda: "a different pipeline")
    result = rerender(publication)
    assert sorted(result.why) == sorted(first.why)
    assert all(why == ["the pipeline's code or templates changed"] for why in result.why.values())


def test_the_code_digest_covers_every_module_and_template() -> None:
    digest_sources = {p.name for p in render.PACKAGE.rglob("*.py")} | {
        p.name for p in render.TEMPLATES.glob("*")
    }
    assert {"approval.py", "model.py", "render.py", "article.md.j2"} <= digest_sources


def test_a_related_article_withdrawn_re_renders_the_page_that_links_it(publication: Path) -> None:
    rerender(publication)
    replace_in(
        publication, "content/oncology/net-skin-lesions.md", "status: approved", "status: submitted"
    )
    result = render_site(load(publication), publication / "build/preview", preview=False)
    assert "the related article oncology/net-skin-lesions changed or was withdrawn" in " ".join(
        result.why.get("oncology/net-imaging.md", [])
    )


def test_build_verbose_says_why_each_page_was_rendered(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(publication, "build").exit_code == 0
    unchanged = run_cli(publication, "build", "-v")
    assert unchanged.exit_code == 0 and "rendered " not in unchanged.output
    monkeypatch.setattr(render, "code_digest", lambda: "a different pipeline")
    # Another pipeline: no no-op.
    monkeypatch.setattr(stamp, "pipeline_digest", lambda memo=None: "a different pipeline")
    run = run_cli(publication, "build", "-v")
    assert run.exit_code == 0
    assert (
        "rendered oncology/net-imaging.md: the pipeline's code or templates changed" in run.output
    )


def test_outputs_from_the_previous_build_that_this_one_did_not_write_are_removed(
    publication: Path,
) -> None:
    out = publication / "build/preview"
    rerender(publication)
    (out / "feed.xml").write_text("<feed/>", encoding="utf-8")  # e.g. an output since dropped
    (out / "notes").mkdir()
    (out / "notes/old.json").write_text("{}", encoding="utf-8")
    result = rerender(publication)
    assert {"feed.xml", "notes/old.json"} <= set(result.removed)
    assert not (out / "feed.xml").exists() and not (out / "notes").exists()
