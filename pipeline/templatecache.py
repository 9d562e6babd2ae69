"""Compiled templates kept between runs: Jinja compiles every template of the pipeline and of
the theme on each build (about a second), so their compiled code is kept in the parse cache.

Each template's entry is keyed by Jinja (its name and file) and holds the digest of the source
it was compiled from, so an edited template is compiled again. Entries live in a `cache.Pack`:
the same trust rules as the parse cache (an HMAC with this user's key and the code version,
nothing under a tracked build/ folder, off with PIPELINE_NO_CACHE=1), so compiled code is only
ever loaded from a file this pipeline wrote on this machine."""

from __future__ import annotations

from pathlib import Path

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from pipeline import cache


class TemplateCache(BytecodeCache):
    """One pack of compiled templates (`name`: "templates" for the pipeline's own, "theme" for
    MkDocs' environment); `save` keeps what this run used and compiled."""

    def __init__(self, root: Path, name: str) -> None:
        self.pack = cache.Pack(cache.folder(root.resolve()), name)

    def load_bytecode(self, bucket: Bucket) -> None:
        blob = self.pack.get(bucket.key.encode())
        if blob is not None:
            bucket.bytecode_from_string(blob)  # Jinja resets it if the source's digest differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.pack.put(bucket.key.encode(), bucket.bytecode_to_string())

    def save(self) -> None:
        """Write the pack when this run compiled a template (an environment kept by a live
        preview compiles each template once, and loads nothing afterwards)."""
        if self.pack.changed:
            self.pack.save()
