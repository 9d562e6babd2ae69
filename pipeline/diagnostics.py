"""Diagnostics: a stable code (declared in pipeline/codes.py), a file, a line and one plain
sentence."""

from __future__ import annotations

import difflib
import html
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.codes import CODES, Severity

# The version of the JSON reports (`--format json` of check, gate and status). It changes only
# when a key is removed or changes meaning; new keys may appear in any version.
JSON_VERSION = 1


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int | None
    code: str
    message: str
    # A severity the publication chose for this code (e.g. readability as an error).
    level: Severity | None = field(default=None, compare=False)

    @property
    def severity(self) -> Severity:
        return self.level or CODES[self.code].severity

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


def diag(
    code: str, file: str, line: int | None, message: str, severity: Severity | None = None
) -> Diagnostic:
    if code not in CODES:
        raise KeyError(f"unknown diagnostic code {code}: declare it in pipeline/codes.py")
    return Diagnostic(file=file, line=line, code=code, message=message, level=severity)


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


def _where(d: Diagnostic) -> str:
    return f"{d.file}:{d.line}" if d.line else d.file


def totals(errors: list[Diagnostic], warnings: list[Diagnostic], articles: int) -> str:
    return f"{articles} article(s) checked: {len(errors)} error(s), {len(warnings)} warning(s)."


def format_text(errors: list[Diagnostic], warnings: list[Diagnostic], articles: int) -> str:
    lines = [f"{_where(d)}: {d.severity} [{d.code}] {d.message}" for d in errors + warnings]
    lines.append(totals(errors, warnings, articles))
    return "\n".join(lines)


def report(
    errors: list[Diagnostic], warnings: list[Diagnostic], articles: int
) -> dict[str, object]:
    """The JSON report: SPEC 4.1's keys, with its version and each item's severity."""
    return {
        "version": JSON_VERSION,
        "errors": [d.as_json() for d in errors],
        "warnings": [d.as_json() for d in warnings],
        "articles": articles,
    }


def format_json(
    errors: list[Diagnostic], warnings: list[Diagnostic], articles: int, **extra: object
) -> str:
    return json.dumps({**report(errors, warnings, articles), **extra}, indent=2, ensure_ascii=False)


def by_file(diagnostics: list[Diagnostic]) -> list[tuple[str, list[Diagnostic]]]:
    """Diagnostics grouped by file, files in order, each file's by line."""
    ordered = sorted(diagnostics, key=sort_key)
    return [(f, list(items)) for f, items in itertools.groupby(ordered, key=lambda d: d.file)]


_STYLE = {"error": "bold red", "warning": "yellow"}


def format_terminal(errors: list[Diagnostic], warnings: list[Diagnostic], articles: int) -> str:
    """For a person at a terminal: grouped by file, in colour (ANSI), one line per problem."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(force_terminal=True, color_system="standard", width=200, record=False)
    with console.capture() as captured:
        for file, items in by_file(errors + warnings):
            console.print(f"[bold underline]{escape(file)}[/]")
            for d in items:
                line = f"{d.line}" if d.line else "-"
                console.print(
                    f"  [dim]{line:>5}[/]  [{_STYLE[d.severity]}]{d.severity:<7}[/] "
                    f"[cyan]{escape(d.code)}[/]  {escape(d.message)}",
                    soft_wrap=True,
                    highlight=False,
                )
        style = "bold red" if errors else "bold yellow" if warnings else "bold green"
        console.print(f"[{style}]{escape(totals(errors, warnings, articles))}[/]", highlight=False)
    return captured.get().rstrip("\n")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#!~|])")


def md_text(text: str) -> str:
    """Text as one Markdown table cell, never markup (content can be hostile)."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))


def format_markdown(
    errors: list[Diagnostic], warnings: list[Diagnostic], articles: int, title: str
) -> str:
    """A GitHub job summary: a heading with the totals, and a table of every problem."""
    mark = "\u274c" if errors else "\u26a0\ufe0f" if warnings else "\u2705"
    lines = [f"### {mark} {md_text(title)}", "", md_text(totals(errors, warnings, articles))]
    if errors or warnings:
        lines += ["", "| severity | code | where | problem |", "|---|---|---|---|"]
        for d in errors + warnings:
            lines.append(
                f"| {d.severity} | `{d.code}` | {md_text(_where(d))} | {md_text(d.message)} |"
            )
    return "\n".join(lines) + "\n"


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
