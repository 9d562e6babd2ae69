"""Generated pages are handed to MkDocs as the HTML they are (pipeline/htmlpages.py): exactly
what MkDocs' own conversion would make of them, on every page, on any text, on the whole site."""

from __future__ import annotations

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mkdocs.config import load_config
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from pipeline import build as build_mod
from pipeline import htmlpages
from tests.conftest import copy_publication
from tests.test_incremental_build import fixed_build_date, tree  # noqa: F401 - a fixture

EXTENSIONS = ["toc", "tables", "fenced_code", "admonition"]  # the example's, as MkDocs has them


def _both_ways(config, path, files: Files) -> tuple[dict, dict]:  # noqa: ANN001
    """What MkDocs' own render and the hand-over set on a page of that generated file."""
    seen = []
    for hand_over in (False, True):
        file = File(path.name, str(path.parent), config.site_dir, config.use_directory_urls)
        page = Page(None, file, config)
        page.read_source(config)
        if hand_over:
            htmlpages.hand_over(page)
        page.render(config, files)
        seen.append(
            {
                "content": page.content,
                "toc": [(i.id, i.title, i.level) for i in page.toc],
                "title": page.title,
                "anchors": set(page.present_anchor_ids or ()),
                "links": page.links_to_anchors or {},
            }
        )
    return seen[0], seen[1]


@pytest.mark.parametrize("mode", ["production", "preview"])
def test_every_example_page_is_handed_over_as_mkdocs_converts_it(tmp_path, mode: str) -> None:
    root = copy_publication(tmp_path / "pub")
    build_mod.build(root, preview=mode == "preview")
    config = load_config(str(root / "mkdocs.yml"))
    assert htmlpages.applies(config)
    pages = sorted((root / "build" / mode).rglob("*.md"))
    assert len(pages) > 10
    for path in pages:
        body = path.read_text(encoding="utf-8").split("---\n", 2)[2]
        assert htmlpages.html_only(body), path  # the fast way is the one taken
        converted, handed = _both_ways(config, path, Files([]))
        assert handed == converted, path


def test_a_page_with_markdown_in_it_is_still_converted(tmp_path) -> None:
    root = copy_publication(tmp_path / "pub")
    config = load_config(str(root / "mkdocs.yml"))
    path = tmp_path / "page.md"
    path.write_text("---\ntitle: T\n---\n<div>a</div>\n\nSome *text*.\n\n## Heading\n")
    converted, handed = _both_ways(config, path, Files([]))
    assert handed == converted
    assert "<em>text</em>" in handed["content"] and handed["toc"]


def test_an_extension_that_may_rewrite_html_turns_the_hand_over_off(tmp_path) -> None:
    root = copy_publication(tmp_path / "pub")
    text = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(text.replace("  - admonition\n", "  - md_in_html\n"))
    assert not htmlpages.applies(load_config(str(root / "mkdocs.yml")))


# Pieces of pages: raw blocks, text, Markdown syntax, what Python-Markdown normalises.
PIECES = st.sampled_from(
    [
        "<div>", "</div>", "<p>", "</p>", "<section id=\"s\">", "</section>", "<span>",
        "</span>", "<br>", "<hr>", "<img src=\"a.png\">", "<pre>", "</pre>", "<ul>", "<li>",
        "</li>", "</ul>", "<!-- c -->", "<x-y>", "</x-y>", "text", "*em*", "`code`", "# ",
        "- ", "1. ", "> ", "&amp;", "&", "<", ">", "\n", "\n\n", "\n\n\n", "    ", " ", "\t",
        "\r\n", "\x02", "[a](b)", "<div class=\"a\">x</div>", "<p>para</p>", "|a|b|\n|-|-|",
        "!!! note\n", "```\n", "~~~py\n", "<script>var a = 1;</script>", "<h2 id=\"h\">H</h2>",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, min_size=1, max_size=14).map("".join))
def test_what_is_handed_over_is_what_python_markdown_makes(body: str) -> None:
    if htmlpages.html_only(body):
        assert markdown.Markdown(extensions=EXTENSIONS).convert(body) == body.strip()


def test_the_property_above_covers_both_answers() -> None:
    # The generated pieces reach both branches: the property is not vacuous.
    assert htmlpages.html_only('<div class="a">\n\n<p>x</p>\n\n</div>\n<hr>\n')
    assert not htmlpages.html_only("<div>a</div>\n\ntext at the margin")
    assert not htmlpages.html_only("<span>inline at the margin</span>")
    assert not htmlpages.html_only("<div>a\tb</div>")


def test_the_site_is_the_same_byte_for_byte_as_with_mkdocs_converting(tmp_path, monkeypatch):
    fast = copy_publication(tmp_path / "fast")
    slow = copy_publication(tmp_path / "slow")
    build_mod.build(fast)
    monkeypatch.setattr(htmlpages, "applies", lambda config: False)
    build_mod.build(slow)
    assert tree(fast / "site") == tree(slow / "site")
