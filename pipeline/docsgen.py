"""Generates docs/formats.md and schema/*.json from the pydantic models.

Run `python -m pipeline.docsgen` after changing `pipeline/model.py`; a test keeps them in step."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.diagnostics import SEVERITY
from pipeline.model import (
    Audience,
    Board,
    BoardMember,
    Disclaimer,
    FrontMatter,
    Publication,
    ReviewPolicy,
    ReviewRecord,
    VariantFrontMatter,
    field_table,
    json_schemas,
)

SECTIONS = [
    ("Article front matter (`content/<topic>/<slug>.md`)", FrontMatter),
    ("Review record (an item of `reviews`)", ReviewRecord),
    ("Audience variant front matter (`<slug>.<audience>.md`)", VariantFrontMatter),
    ("Publication settings (`content/publication.yml`)", Publication),
    ("Audience (an item of `audiences`)", Audience),
    ("Disclaimer (a value of `disclaimers`)", Disclaimer),
    ("Review policy (`review`)", ReviewPolicy),
    ("Board (`content/board.yml`)", Board),
    ("Board member (an item of `members`)", BoardMember),
]


def formats_markdown() -> str:
    parts = [
        "# File formats",
        "",
        "Generated from `pipeline/model.py` by `python -m pipeline.docsgen`; do not edit by hand.",
        "Unknown fields are errors. JSON Schemas for editors' tools are in `schema/`.",
        "",
    ]
    for title, model in SECTIONS:
        parts += [f"## {title}", "", field_table(model), ""]
    parts += ["## Diagnostic codes", "", "| code | severity |", "|---|---|"]
    parts += [f"| `{code}` | {severity} |" for code, severity in SEVERITY.items()]
    return "\n".join(parts) + "\n"


def schema_files() -> dict[str, str]:
    return {
        f"schema/{name}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in json_schemas().items()
    }


def outputs() -> dict[str, str]:
    return {"docs/formats.md": formats_markdown(), **schema_files()}


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    for rel, text in outputs().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {rel}")


if __name__ == "__main__":
    main()
