"""The content fingerprint: SHA-256 over everything a reader sees of an article, and nothing else.

Scheme 2 hashes an explicit list of what the page shows: the shown front matter fields, each
audience's title and body, and the shown fields of every cited reference. A field the page does
not show (a new optional schema field, a BibTeX `abstract`) cannot make an approval stale. The
scheme number is part of the hashed payload and of every signed review statement."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.loader import Article
    from pipeline.references import Library

SCHEME = 2
# The front matter fields a reader sees on the article page.
SHOWN_FRONT_MATTER = (
    "question",
    "title",
    "authors",
    "last_updated",
    "tags",
    "related",
    "disclaimer",
)


def normalize_text(text: str) -> str:
    """Line endings and trailing blank lines must not change the fingerprint."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"


def _front_matter(article: Article) -> dict[str, object]:
    assert article.meta is not None
    # Only the shown fields are dumped: the same values as a full dump, without the reviews.
    meta = article.meta.model_dump(mode="json", include=set(SHOWN_FRONT_MATTER))
    return {name: meta.get(name) for name in SHOWN_FRONT_MATTER}


def _bodies(article: Article) -> dict[str, object]:
    return {
        audience: {
            "title": body.title,
            "text": normalize_text(body.text),
            # Only when given, so that fingerprints made before variants had questions hold.
            **({"question": body.question} if body.question is not None else {}),
        }
        for audience, body in sorted(article.bodies.items())
    }


def fingerprint_payload(article: Article, library: Library) -> dict[str, object]:
    references = {}
    for key in sorted(article.cited_keys()):
        reference = library.get(key)
        if reference is not None:
            references[key] = reference.shown()
    return {
        "scheme": SCHEME,
        "front_matter": _front_matter(article),
        "bodies": _bodies(article),
        "references": references,
    }


def canonical_json(value: object) -> str:
    """The one JSON form that is hashed: sorted keys, no spaces, text as it is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_SCHEME_JSON = canonical_json(SCHEME)


def fingerprint(article: Article, library: Library) -> str:
    """SHA-256 of `canonical_json(fingerprint_payload(...))`, written out part by part so that
    each reference's part is made once per run (`Reference.shown_json`), not once per citer."""
    references = []
    for key in sorted(article.cited_keys()):
        reference = library.get(key)
        if reference is not None:
            # A key is a str: its canonical JSON is what `json.dumps` makes of a str.
            references.append(f"{encode_basestring(key)}:{reference.shown_json()}")
    payload = (
        f'{{"bodies":{canonical_json(_bodies(article))}'
        f',"front_matter":{canonical_json(_front_matter(article))}'
        f',"references":{{{",".join(references)}}}'
        f',"scheme":{_SCHEME_JSON}}}'
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()
