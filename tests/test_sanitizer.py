"""The sanitizer is made once and reused: on every hostile and inert fragment it gives what
a sanitizer built for that one call with the same rules gives."""

from __future__ import annotations

import nh3
import pytest

from pipeline import safety
from tests.hostile_payloads import (
    BODY_PAYLOADS,
    CODE_SPAN,
    FIELD_EXTERNAL,
    FIELD_MARKUP,
    INERT_TEXT,
)

_FRAGMENTS = [
    *FIELD_MARKUP.values(),
    *FIELD_EXTERNAL.values(),
    *(text for text, _ in BODY_PAYLOADS.values()),
    *INERT_TEXT,
    CODE_SPAN,
    '<img src="https://evil.example/x.png" alt="x"><img src="figures/local.png" alt="y">',
    '<a href="javascript:alert(1)">x</a><a href="https://example.org" rel="x">y</a>',
    '<td style="text-align: left; color: red">t</td><sup class="gp-cite other">1</sup>',
    "<!-- a comment --><p>text</p><script>window.__pwned=1</script><style>p{}</style>",
    '<span class="bibtex-protected">BMJ</span> <em>N Engl J Med</em>. 2020;1:1\u20139.',
]


def _one_call(fragment: str) -> str:
    return nh3.clean(
        safety.clean_text(fragment),
        tags=set(safety._TAGS),
        attributes={tag: set(names) for tag, names in safety._ATTRIBUTES.items()},
        attribute_filter=safety._filter_attribute,
        allowed_classes={tag: set(names) for tag, names in safety.ALLOWED_CLASSES.items()},
        url_schemes=set(safety.SAFE_SCHEMES),
        filter_style_properties={"text-align"},
        link_rel=None,
        strip_comments=True,
    )


@pytest.mark.parametrize("fragment", _FRAGMENTS)
def test_the_reused_sanitizer_cleans_as_one_made_for_the_call(fragment: str) -> None:
    assert safety.sanitize_html(fragment) == _one_call(fragment)
    assert safety.sanitize_html(fragment) == _one_call(fragment)  # and again, reused


def test_the_sanitizer_still_drops_script_and_foreign_images() -> None:
    cleaned = safety.sanitize_html(_FRAGMENTS[-2] + _FRAGMENTS[-5])
    assert "<script" not in cleaned and "__pwned" not in cleaned and "evil.example" not in cleaned
