"""The article template `pipeline new` writes, and what counts as its text left untouched (the
`content.placeholder` check reads the same template, so the two never drift)."""

from __future__ import annotations

import re

MARK = "TODO"

ARTICLE_TEMPLATE = """\
---
# Fill in every field marked TODO, then run `pipeline check`.
question: TODO What clinical question does this article answer?
title: TODO Title of the article
authors: [{author}]
status: submitted
last_updated: {today}
tags: [TODO]
related: []
---
TODO One-paragraph answer to the question, citing its sources like this [@{key}].

## Recommendations
- TODO One recommendation per bullet, each with a citation [@{key}].
"""

_MARK = re.compile(rf"\b{MARK}\b")
# The template's instructions, found even after an editor deleted only the word TODO.
_INSTRUCTIONS = tuple(
    phrase.strip().rstrip(".,").lower()
    for phrase in re.findall(rf"{MARK} ([^\[\n]+)", ARTICLE_TEMPLATE)
)


def placeholder(text: str) -> str | None:
    """The template text `text` still holds (a TODO marker or an instruction), else None."""
    if "\n" in text:
        return next(filter(None, map(placeholder, text.split("\n"))), None)
    if MARK in text and _MARK.search(text):
        return text.strip()
    # An instruction as the start of a field, a paragraph or a bullet (not inside a sentence).
    lowered = text.lstrip(" \t-*+>#").lower()
    if lowered.startswith(_INSTRUCTIONS):
        return text.strip()
    return None


def may_hold_placeholder(text: str) -> bool:
    """Whether any line of `text` may hold template text (`placeholder`): False when neither
    the marker nor an instruction appears anywhere in it. Exact as a filter: a line's match is
    a match in the whole text (the instructions are ASCII, and lowercasing gives ASCII letters
    regardless of what surrounds them)."""
    if MARK in text and _MARK.search(text):
        return True
    lowered = text.lower()
    return any(phrase in lowered for phrase in _INSTRUCTIONS)
