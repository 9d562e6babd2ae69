"""The content fingerprint: SHA-256 over everything a reader sees of an article."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.loader import Article
    from pipeline.references import Library


def normalize_text(text: str) -> str:
    """Line endings and trailing blank lines must not change the fingerprint."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"


def fingerprint_payload(article: Article, library: Library) -> dict[str, object]:
    assert article.meta is not None
    front = article.meta.model_dump(mode="json", exclude={"status", "reviews", "last_updated"})
    bodies = {
        audience: {"title": body.title, "text": normalize_text(body.text)}
        for audience, body in sorted(article.bodies.items())
    }
    references = {}
    for key in sorted({c.key.lower() for c in article.citations()}):
        reference = library.get(key)
        if reference is not None:
            references[key] = reference.normalized()
    return {"front_matter": front, "bodies": bodies, "references": references}


def fingerprint(article: Article, library: Library) -> str:
    payload = json.dumps(
        fingerprint_payload(article, library),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()
