"""Generates docs/formats.md and schema/*.json from the pydantic models and the declared
diagnostic codes.

Run `python -m pipeline.docsgen` after changing `pipeline/model.py` or `pipeline/codes.py`; a
test keeps them in step."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.codes import CODES, Code
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
        "Generated from `pipeline/model.py` and `pipeline/codes.py` by",
        "`python -m pipeline.docsgen`; do not edit by hand.",
        "Unknown fields are errors. JSON Schemas for editors' tools are in `schema/`.",
        "",
    ]
    for title, model in SECTIONS:
        parts += [f"## {title}", "", field_table(model), ""]
    parts += [
        "## Diagnostic codes",
        "",
        "`pipeline explain CODE` prints the same explanation in a terminal.",
        "",
        "| code | severity | when |",
        "|---|---|---|",
    ]
    parts += [
        f"| [`{c.code}`](#{_anchor(c)}) | {c.severity} | {c.summary} |" for c in CODES.values()
    ]
    for code in CODES.values():
        parts += ["", *code_markdown(code)]
    return "\n".join(parts) + "\n"


def _anchor(code: Code) -> str:
    return code.code.replace(".", "")


def code_markdown(code: Code) -> list[str]:
    parts = [f"### `{code.code}`", "", f"*{code.severity}*: {code.summary}.", ""]
    parts += [code.explanation, "", f"**How to fix.** {code.fix}"]
    if code.bad:
        where = f" (in `{code.where}`)" if code.where else ""
        parts += ["", f"Instead of{where}:", "", "```text", code.bad, "```", ""]
        parts += ["write:", "", "```text", code.good, "```"]
    return parts


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
