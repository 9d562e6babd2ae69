"""`pipeline init DIR`: a new publication that checks and builds at once.

The files come from `pipeline/starter/` (settings, an example board, one real example article
with its reference, mkdocs.yml, workflows, a README); the docs placeholder is the package's own
`docs_stub/`, and `schema/*.json` is generated from the installed models. Nothing secret is
written: the example reviewer's signing key is a fresh public key whose private half is never
kept, so nobody can approve with it until it is replaced."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pipeline import __version__, paths

PACKAGE = Path(__file__).resolve().parent
STARTER = PACKAGE / "starter"
DOCS_STUB = PACKAGE / "docs_stub"
# Starter files whose name in the package differs from their name in a publication (a
# `.github` or `.gitignore` inside the package would be hidden from packaging tools).
RENAMED = {"gitignore": ".gitignore", "github": ".github"}


class InitRefused(Exception):
    """The folder already holds something `init` would overwrite."""


def publication_id(name: str) -> str:
    """`My Notes` -> `my-notes`: the publication's id in signed review statements."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "guideline-publication"


def placeholder_key() -> str:
    """An OpenSSH public key line nobody holds the private half of."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.generate().public_key()
    line = public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return f"{line} PLACEHOLDER-replace-with-the-reviewers-own-key"


def starter_files(name: str, today: dt.date | None = None) -> dict[str, str]:
    """Every file of a new publication, by its path relative to the publication's root."""
    from pipeline.docsgen import schema_files

    values = {
        "__PUBLICATION_NAME__": name,
        "__PUBLICATION_ID__": publication_id(name),
        "__TODAY__": (today or dt.date.today()).isoformat(),
        "__SIGNING_KEY__": placeholder_key(),
        "__VERSION__": __version__,
    }
    files: dict[str, str] = {}
    for path in sorted(STARTER.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(STARTER).parts)
        parts[0] = RENAMED.get(parts[0], parts[0])
        rel = "/".join(parts)
        text = path.read_text(encoding="utf-8")
        for token, value in values.items():
            text = text.replace(token, value)
        files[rel] = text
    for path in sorted(DOCS_STUB.iterdir()):
        if path.is_file():
            files[f"docs_stub/{path.name}"] = path.read_text(encoding="utf-8")
    files.update(schema_files())
    return files


def init(target: Path, name: str, today: dt.date | None = None) -> list[str]:
    """Write a new publication into `target` (created if need be; an empty folder or one
    without any of the files is fine). Returns the paths written."""
    files = starter_files(name, today)
    existing = [rel for rel in files if (target / rel).exists()]
    if existing:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise InitRefused(f"{target} already holds {shown}; `init` never overwrites a file")
    for rel, text in files.items():
        paths.atomic_write(target / rel, text)
    return list(files)
