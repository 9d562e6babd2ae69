"""Diagnostics: a stable code (declared in pipeline/codes.py), a file, a line and one plain
sentence."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from pipeline.codes import CODES, Severity


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int | None
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        return {k: data[k] for k in ("code", "file", "line", "message")}


def diag(code: str, file: str, line: int | None, message: str) -> Diagnostic:
    if code not in CODES:
        raise KeyError(f"unknown diagnostic code {code}: declare it in pipeline/codes.py")
    return Diagnostic(file=file, line=line, code=code, message=message)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word` (ignoring case), if one is close enough to be a typo."""
    by_lower = {choice.lower(): choice for choice in choices}
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str], form: str = "`{}`") -> str:
    """ " Did you mean `x`?" for a likely typo of one of `choices`, else ""."""
    match = closest(word, choices)
    return f" Did you mean {form.format(match)}?" if match is not None else ""


def sort_key(d: Diagnostic) -> tuple[str, int, str, str]:
    return (d.file, d.line or 0, d.code, d.message)


def split(diagnostics: Iterable[Diagnostic]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    unique = sorted(set(diagnostics), key=sort_key)
    errors = [d for d in unique if d.severity == "error"]
    warnings = [d for d in unique if d.severity == "warning"]
    return errors, warnings


def format_text(errors: list[Diagnostic], warnings: list[Diagnostic], articles: int) -> str:
    lines = []
    for d in errors + warnings:
        where = f"{d.file}:{d.line}" if d.line else d.file
        lines.append(f"{where}: {d.severity} [{d.code}] {d.message}")
    lines.append(
        f"{articles} article(s) checked: {len(errors)} error(s), {len(warnings)} warning(s)."
    )
    return "\n".join(lines)


def format_json(errors: list[Diagnostic], warnings: list[Diagnostic], articles: int) -> str:
    return json.dumps(
        {
            "errors": [d.as_json() for d in errors],
            "warnings": [d.as_json() for d in warnings],
            "articles": articles,
        },
        indent=2,
        ensure_ascii=False,
    )


def _escape_property(value: str) -> str:
    return (
        value.replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace(":", "%3A")
        .replace(",", "%2C")
    )


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_github(errors: list[Diagnostic], warnings: list[Diagnostic], articles: int) -> str:
    lines = []
    for d in errors + warnings:
        props = f"file={_escape_property(d.file)}"
        if d.line:
            props += f",line={d.line}"
        props += f",title={_escape_property(d.code)}"
        lines.append(f"::{d.severity} {props}::{_escape_data(d.message)}")
    lines.append(
        f"{articles} article(s) checked: {len(errors)} error(s), {len(warnings)} warning(s)."
    )
    return "\n".join(lines)


FORMATTERS = {"text": format_text, "json": format_json, "github": format_github}
