"""Citations: found by the Markdown parser, never inside code; numbered by first citation;
ranges compressed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.citations import analyse, compress_ranges, format_ranges, number_citations

BODY = """Summary [@a].

## Evidence
- One [@b; @c].
- Parent:
  - child [@d]
- `inline [@code-span]` and none
- \\[@escaped]

```
[@fenced]
```

    [@indented]
"""


def test_citations_with_lines_and_never_inside_code() -> None:
    facts = analyse(BODY, first_line=10, evidence_sections=["Evidence"])
    assert [(c.key, c.line) for c in facts.citations] == [
        ("a", 10),
        ("b", 13),
        ("c", 13),
        ("d", 15),
    ]


def test_bullets_in_evidence_sections_must_cite() -> None:
    facts = analyse(BODY, first_line=10, evidence_sections=["evidence"])
    # "Parent" counts through its cited child; the code-span bullet and the escaped one do not.
    assert [line for line, _ in facts.uncited_bullets] == [16, 17]


def test_sections_that_do_not_require_evidence_are_free() -> None:
    assert analyse(BODY, 1, evidence_sections=[]).uncited_bullets == []


def test_numbering_by_first_citation() -> None:
    assert number_citations(["b", "A", "b", "c", "a"]) == {"b": 1, "a": 2, "c": 3}


def test_compressed_ranges() -> None:
    assert format_ranges([1, 3, 4, 5]) == "1,3-5"
    assert format_ranges([5, 1, 2]) == "1,2,5"
    assert format_ranges([7, 8, 9, 9, 2]) == "2,7-9"
    assert format_ranges([]) == ""


@given(st.sets(st.integers(min_value=1, max_value=60)))
def test_ranges_cover_exactly_the_numbers(numbers: set[int]) -> None:
    runs = compress_ranges(numbers)
    covered = {n for start, end in runs for n in range(start, end + 1)}
    assert covered == numbers
    assert all(runs[i][1] + 1 < runs[i + 1][0] for i in range(len(runs) - 1))


def test_raw_html_and_script_links_are_found() -> None:
    facts = analyse("Text <span>x</span>\n\n[bad](javascript:alert(1))\n\n<div>\n</div>\n", 1)
    assert facts.raw_html == [1, 5]
    assert facts.unsafe_links == [(3, "javascript:alert(1)")]


def test_a_check_never_renders_a_body_and_a_page_gets_the_same_html(monkeypatch) -> None:  # noqa: ANN001
    # What a check asks of a body (citations, bullets, markup) needs no HTML: rendering and
    # sanitising wait until a page asks, and give what rendering at once gave.
    import pipeline.citations as citations

    rendered = []
    real = citations.sanitize_html
    monkeypatch.setattr(
        citations, "sanitize_html", lambda html: rendered.append(html) or real(html)
    )
    facts = analyse(BODY + "\n## Evidence\n- Again [@a].\n", 10, evidence_sections=["Evidence"])
    assert rendered == []
    assert [hid for hid, _, _ in facts.toc] == [f"{citations.AUDIENCE}-evidence"] * 1 + [
        f"{citations.AUDIENCE}-evidence-x"
    ]
    html = facts.html
    assert len(rendered) == 1 and facts.html is html and len(rendered) == 1
    assert f'id="{citations.AUDIENCE}-evidence-x"' in html
    assert '<sup class="gp-cite"><a href="#ref-' in html and "[@fenced]" in html
