"""The command line: `pipeline check|build|merge|serve|new|review|gate|status|explain`.

Exit codes: 0 no errors, 1 content errors, 2 usage or environment error (one line, no traceback).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline import diagnostics as diagnostics_mod

# Loading and checking are imported where a command uses them: `pipeline build` with nothing
# changed must not pay for them (pipeline/stamp.py).
if TYPE_CHECKING:
    from pipeline.loader import Project


class Failure(click.ClickException):
    """A usage or environment problem: one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"pipeline: {self.message}", err=True)


class Refusal(Failure):
    """A request refused because of the content (exit code 1)."""

    exit_code = 1


def working(message: str):  # noqa: ANN201 - a context manager
    """A spinner on stderr for a person at a terminal; nothing in CI or in a pipe."""
    from contextlib import nullcontext

    if not sys.stderr.isatty():  # not interactive, without importing the build to ask
        return nullcontext()
    from pipeline.build import interactive

    if not interactive():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def load_project(root: Path, use_cache: bool = True) -> Project:
    from pipeline.loader import EnvironmentProblem, load

    try:
        with working("Reading articles and references..."):
            return load(root, use_cache=use_cache)
    except EnvironmentProblem as exc:
        raise Failure(str(exc)) from None


def at_terminal() -> bool:
    """Colours and grouping for a person at a terminal; plain text in CI, pipes and files."""
    return sys.stdout.isatty() and not os.environ.get("CI") and "NO_COLOR" not in os.environ


def print_diagnostics(
    fmt: str, errors: list, warnings: list, articles: int, title: str, **extra: object
) -> None:
    """One report in the chosen format; with `github`, also the job summary that GitHub
    Actions names in $GITHUB_STEP_SUMMARY."""
    if fmt == "json":
        extra.pop("summary_extra", None)
        click.echo(diagnostics_mod.format_json(errors, warnings, articles, **extra))
    elif fmt == "text" and at_terminal():
        click.echo(diagnostics_mod.format_terminal(errors, warnings, articles))
    else:
        click.echo(diagnostics_mod.FORMATTERS[fmt](errors, warnings, articles))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary:
        text = diagnostics_mod.format_markdown(errors, warnings, articles, title)
        with open(summary, "a", encoding="utf-8") as out:
            out.write(text + str(extra.get("summary_extra", "")) + "\n")


def stop_on_config(project: Project, fmt: str = "text", title: str = "pipeline check") -> None:
    """An invalid configuration means no content was read: report its problems alone, exit 1."""
    if not project.config_failed:
        return
    errors, warnings = diagnostics_mod.split(project.diagnostics)
    print_diagnostics(fmt, errors, warnings, 0, title)
    click.echo(CONFIG_FIRST, err=True)
    sys.exit(1)


def _show_version(ctx: click.Context) -> None:
    click.echo(f"pipeline {_version()}")
    ctx.exit(0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    from pipeline import __version__

    try:  # the installed distribution's version, whatever the distribution is called
        return version(packages_distributions().get("pipeline", ["guideline-pipeline"])[0])
    except PackageNotFoundError:
        return __version__


CONFIG_FIRST = "pipeline: no article was read: fix the configuration first."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _show_version(ctx) if value else None,
    help="Show the version and exit.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The publication repository.",
)
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """Check, build and review a clinical guideline publication."""
    ctx.obj = root


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.option("--no-cache", is_flag=True, help="Parse every file again, ignoring the parse cache.")
@click.pass_obj
def check(root: Path, fmt: str, no_cache: bool) -> None:
    """Validate everything and report every problem at once."""
    from pipeline.checkcache import check_publication

    try:
        with working("Checking articles and references..."):
            result = check_publication(root, use_cache=not no_cache)
    except Exception as exc:
        from pipeline.loader import EnvironmentProblem

        if not isinstance(exc, EnvironmentProblem):
            raise
        raise Failure(str(exc)) from None
    errors, warnings = diagnostics_mod.split(result.diagnostics)
    print_diagnostics(fmt, errors, warnings, result.articles, "pipeline check")
    if result.config_failed:
        click.echo(CONFIG_FIRST, err=True)
    sys.exit(1 if errors or result.config_failed else 0)


@cli.group()
def review() -> None:
    """Record a board reviewer's decision in an article."""


def _review(
    root: Path,
    action: str,
    article_id: str,
    reviewer: str,
    note: str | None,
    key: str | None = None,
) -> None:
    from pipeline.review import ReviewRefused
    from pipeline.review import review as record_review

    project = load_project(root)
    try:
        result = record_review(project, article_id, action, reviewer, note, key=key)
    except ReviewRefused as exc:
        raise Refusal(str(exc)) from None
    click.echo(
        f"{result.article_id}: status {result.status} "
        f"({result.valid_approvals} of {result.required} approval(s))."
    )


_article_arg = click.argument("article_id", metavar="TOPIC/SLUG")
_reviewer_opt = click.option("--reviewer", required=True, help="Your id in content/board.yml.")
_note_opt = click.option("--note", default=None, help="A note kept with the review record.")
_key_opt = click.option(
    "--key",
    default=None,
    help="Your SSH signing key (private key file, or its .pub with the key in ssh-agent); "
    "default: git config user.signingkey.",
)


@review.command("start")
@_article_arg
@_reviewer_opt
@click.pass_obj
def review_start(root: Path, article_id: str, reviewer: str) -> None:
    """Move an article to under_review."""
    _review(root, "start", article_id, reviewer, None)


@review.command("approve")
@_article_arg
@_reviewer_opt
@_key_opt
@_note_opt
@click.pass_obj
def review_approve(
    root: Path, article_id: str, reviewer: str, key: str | None, note: str | None
) -> None:
    """Approve the article's current content with a signed record."""
    _review(root, "approve", article_id, reviewer, note, key)


@review.command("request-changes")
@_article_arg
@_reviewer_opt
@_key_opt
@_note_opt
@click.pass_obj
def review_request_changes(
    root: Path, article_id: str, reviewer: str, key: str | None, note: str | None
) -> None:
    """Ask the authors for changes (a signed record); the article stays under review."""
    _review(root, "request-changes", article_id, reviewer, note, key)


@review.command("approve-settings")
@_reviewer_opt
@_key_opt
@click.pass_obj
def review_approve_settings(root: Path, reviewer: str, key: str | None) -> None:
    """Sign off the governed settings as committed (board, policy, mkdocs.yml, code, theme,
    workflows), so that a pull request changing them can pass the gate."""
    from pipeline.review import ReviewRefused, approve_settings

    project = load_project(root)
    try:
        path, digest = approve_settings(project, reviewer, key)
    except ReviewRefused as exc:
        raise Refusal(str(exc)) from None
    click.echo(
        f"Signed the governed settings ({digest[:19]}...) as {reviewer} in "
        f"{path.name}: commit it to the pull request."
    )


@cli.command()
@_article_arg
@click.option("--author", required=True, help="Your id in content/board.yml.")
@click.pass_obj
def new(root: Path, article_id: str, author: str) -> None:
    """Scaffold a new article from the template."""
    from pipeline.review import ReviewRefused, scaffold

    project = load_project(root)
    try:
        path = scaffold(project, article_id, author)
    except ReviewRefused as exc:
        raise Refusal(str(exc)) from None
    click.echo(
        f"Created {path.relative_to(project.root)}: fill in the TODOs, then run `pipeline check`."
    )


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def status(root: Path, fmt: str) -> None:
    """A table of every article: status, approvals, stale approvals, review due."""
    from rich.console import Console
    from rich.table import Table

    project = load_project(root)
    stop_on_config(project, fmt, "pipeline status")
    rows = status_rows(project)
    if fmt == "json":
        report = {"version": diagnostics_mod.JSON_VERSION, "articles": rows}
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(project.articles)} article(s)")
    graded = any(row.get("readability") for row in rows)
    columns = ["article", "status", "approvals", "stale", "review due"]
    for column in columns + (["reading grade"] if graded else []):
        table.add_column(column)
    for row in rows:
        grades = row.get("readability") or {}
        shown_grades = [
            ", ".join(f"{a} {g['grade']:g} (target {g['target']:g})" for a, g in grades.items())
            or "-"
        ]
        extra = shown_grades if graded else []
        if row["status"] == "invalid":
            table.add_row(row["article"], "invalid", "-", "-", "-", *extra)
            continue
        due = row["review_due"] or "-"
        if row["overdue"]:
            due += " (overdue)"
        shown = row["status"] + ("" if row["approval_holds"] else " (approval does not hold)")
        table.add_row(
            row["article"],
            shown,
            f"{row['approvals']}/{row['required']}",
            ", ".join(row["stale"]) or "-",
            due,
            *extra,
        )
    Console(width=160 if graded else 120).print(table)


def status_rows(project: Project) -> list[dict[str, object]]:
    """One row per article, as `status` shows it (and `--format json` gives it)."""
    from pipeline.approval import article_state
    from pipeline.checks import readability_targets
    from pipeline.readability import measure

    grades: dict[str, dict[str, dict[str, float]]] = {}
    for article, body, audience in readability_targets(project):
        measured = measure(body.text, body.first_line)
        if measured is not None and audience.readability_grade is not None:
            grades.setdefault(article.id, {})[audience.id] = {
                "grade": measured.grade,
                "target": audience.readability_grade,
            }
    rows: list[dict[str, object]] = []
    for article_id, article in sorted(project.articles.items()):
        row: dict[str, object] = {"article": article_id, "file": article.file}
        if article_id in grades:
            row["readability"] = grades[article_id]
        if article.meta is None:
            rows.append({**row, "status": "invalid"})
            continue
        state = article_state(project, article)
        rows.append(
            {
                **row,
                "status": state.status,
                "approval_holds": not state.claims_approval_that_fails,
                "approvals": len(state.approval.valid),
                "required": state.approval.required,
                "approvers": sorted(r.reviewer for r in state.approval.valid),
                "stale": list(state.stale_reviewers),
                "review_due": state.approval.due.isoformat() if state.approval.due else None,
                "overdue": bool(state.overdue),
            }
        )
    return rows


def _environment_problem() -> type[Exception]:
    from pipeline.loader import EnvironmentProblem

    return EnvironmentProblem


@cli.command()
@click.option("--preview", is_flag=True, help="Publish every article, with status banners.")
@click.option("-v", "--verbose", is_flag=True, help="Say why each page was rendered again.")
@click.option(
    "--shard",
    "shard",
    default=None,
    metavar="I/N",
    help="Build share I of N of the topics into build/shard-I-of-N/, for `pipeline merge`.",
)
@click.option(
    "--shard-matrix",
    is_flag=True,
    help="Print the shards publication.yml asks for (`build: {shards: N}`) as a JSON list.",
)
@click.option(
    "--for-disk",
    is_flag=True,
    help="Page files instead of folders, so that the site works opened from disk.",
)
@click.option(
    "--builder",
    type=click.Choice(["mkdocs", "zensical"]),
    default="mkdocs",
    help="The site builder: MkDocs with the guideline plugin, or Zensical on `pipeline render`.",
)
@click.pass_obj
def build(
    root: Path,
    preview: bool,
    verbose: bool,
    shard: str | None,
    shard_matrix: bool,
    builder: str,
    for_disk: bool,
) -> None:
    """Render and build the site into site/ (production: approved articles only)."""
    from pipeline.build import BuildFailed, build_shard
    from pipeline.build import build as run_build
    from pipeline.shards import ShardProblem

    if shard_matrix:
        project = load_project(root)
        stop_on_config(project)
        count = project.settings.build.shards
        click.echo(json.dumps([f"{i}/{count}" for i in range(1, count + 1)]))
        return
    if builder != "mkdocs":
        _build_with(root, preview, builder)
        return
    try:
        if shard:
            out, result = build_shard(root, shard, preview=preview)
        else:
            _, result = run_build(root, preview=preview, for_disk=for_disk)
    except _environment_problem() as exc:  # evaluated only when something was raised
        raise Failure(str(exc)) from None
    except ShardProblem as exc:
        raise Failure(str(exc)) from None
    except BuildFailed as exc:
        if exc.diagnostics:
            errors, _ = diagnostics_mod.split(exc.diagnostics)
            click.echo(diagnostics_mod.format_text(errors, [], 0).rsplit("\n", 1)[0], err=True)
        click.echo(f"pipeline: build failed: {exc}", err=True)
        sys.exit(1)
    mode = "preview" if preview else "production"
    if shard:
        click.echo(f"Built shard {shard} of the {mode} site into {out}.")
    elif getattr(result, "nothing_changed", False):
        click.echo(
            f"Nothing changed since the last {mode} build: site/ is up to date "
            f"({len(result.published)} article(s) published)."
        )
    else:
        click.echo(
            f"Built the {mode} site into site/: {len(result.published)} article(s) published, "
            f"{len(result.written)} page(s) rewritten, {result.unchanged} unchanged."
        )
    for article_id in result.last_approved:
        click.echo(f"  {article_id}: its last approved revision (a revision is under review)")
    if verbose:
        for page, inputs in sorted(result.why.items()):
            click.echo(f"  rendered {page}: {'; '.join(inputs)}")
    if result.held_back:
        click.echo(f"Held back {len(result.held_back)} article(s):")
        for article_id, reason in sorted(result.held_back)[:50]:
            click.echo(f"  {article_id}: {reason}")
        if len(result.held_back) > 50:
            click.echo(f"  ... and {len(result.held_back) - 50} more")


def _report_build_failure(exc) -> None:  # noqa: ANN001 - a build.BuildFailed
    if exc.diagnostics:
        errors, _ = diagnostics_mod.split(exc.diagnostics)
        click.echo(diagnostics_mod.format_text(errors, [], 0).rsplit("\n", 1)[0], err=True)
    click.echo(f"pipeline: build failed: {exc}", err=True)
    sys.exit(1)


@contextmanager
def _reporting_build_failures() -> Iterator[None]:
    """An environment problem in one line (exit 2), a failed build with its diagnostics (1)."""
    from pipeline.build import BuildFailed

    try:
        yield
    except _environment_problem() as exc:
        raise Failure(str(exc)) from None
    except BuildFailed as exc:
        _report_build_failure(exc)


def _build_with(root: Path, preview: bool, builder: str) -> None:
    """`pipeline build --builder zensical`: render, then the other builder, then the swap."""
    from pipeline.builders import build_with_zensical

    with _reporting_build_failures():
        rendered = build_with_zensical(root, preview)
    mode = "preview" if preview else "production"
    click.echo(
        f"Built the {mode} site into site/ with {builder}: "
        f"{len(rendered.result.published)} article(s) published."
    )


@cli.command("render")
@click.option("--preview", is_flag=True, help="Render every article, with status banners.")
@click.pass_obj
def render_pages(root: Path, preview: bool) -> None:
    """Check and render the generated pages only, with a configuration for any MkDocs-
    compatible builder (build/mkdocs.<mode>.yml)."""
    from pipeline.builders import render_for_builder

    with _reporting_build_failures():
        rendered = render_for_builder(root, preview)
    root = rendered.project.root
    config = rendered.config_file.relative_to(root)
    site = rendered.site_dir.relative_to(root)
    click.echo(
        f"Rendered {len(rendered.result.pages)} page(s) ({len(rendered.result.published)} "
        f"article(s)) into {rendered.pages_dir.relative_to(root)}/.\n"
        f"Build them with `mkdocs build -f {config}` or `zensical build -f {config}` "
        f"(the site lands in {site}/)."
    )


@cli.command("init")
@click.argument("target", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="The publication's name (default: from DIR).")
def init_publication(target: Path, name: str | None) -> None:
    """Create a new publication in DIR that checks and builds at once."""
    from pipeline.init import InitRefused, init

    shown = name or target.resolve().name.replace("-", " ").replace("_", " ").title()
    try:
        written = init(target, shown)
    except InitRefused as exc:
        raise Failure(str(exc)) from None
    click.echo(
        f"Created the publication '{shown}' in {target} ({len(written)} files).\n"
        f"Next: cd {target} && git init && pipeline check && pipeline build --preview\n"
        "Before publishing, replace the example people in content/board.yml (README.md)."
    )


@cli.command()
@click.argument(
    "folders", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.pass_obj
def merge(root: Path, folders: tuple[Path, ...]) -> None:
    """Assemble the shards of `pipeline build --shard` into site/."""
    from pipeline.build import merge_shards
    from pipeline.shards import ShardProblem

    try:
        pages = merge_shards(root, list(folders))
    except ShardProblem as exc:
        raise Failure(str(exc)) from None
    click.echo(f"Merged {len(folders)} shard(s) into site/: {pages} page(s).")


@cli.command()
@click.option("--dev-addr", default=None, help="Address to serve on, e.g. 127.0.0.1:8000.")
@click.pass_obj
def serve(root: Path, dev_addr: str | None) -> None:
    """Live preview that re-renders when content or references change."""
    from pipeline.build import serve as run_serve

    stop_on_config(load_project(root))  # fail early when root is not a valid publication
    run_serve(root, dev_addr)


@cli.command()
@click.option(
    "--base", "base_ref", required=True, help="The pull request's base, e.g. origin/main."
)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text")
@click.pass_obj
def gate(root: Path, base_ref: str, fmt: str) -> None:
    """The pull-request gate: every change since BASE checked against git history."""
    from pipeline.checks import run_checks
    from pipeline.gate import GateProblem
    from pipeline.gate import gate as run_gate
    from pipeline.gitio import GitError

    project = load_project(root)
    stop_on_config(project, fmt, "pipeline gate")
    try:
        result = run_gate(project, base_ref)
    except (GitError, GateProblem) as exc:
        raise Failure(str(exc)) from None
    found = run_checks(project) + result.diagnostics
    errors, warnings = diagnostics_mod.split(found)
    verified = [{"article": r.article_id, "verified": list(r.verified)} for r in result.reports]
    if fmt == "text":
        click.echo(f"Changes since {result.base[:12]}: {len(result.reports)} article(s).")
        for report in result.reports:
            click.echo(f"  {report.article_id}")
            for line in report.verified:
                click.echo(f"    - {line}")
    extra: dict[str, object] = {}
    if fmt == "json":
        extra = {"base": result.base, "changed": verified}
    elif fmt == "github":
        extra = {"summary_extra": _gate_summary(result.base, verified)}
    print_diagnostics(fmt, errors, warnings, len(project.articles), "pipeline gate", **extra)
    sys.exit(1 if errors else 0)


def _gate_summary(base: str, verified: list[dict]) -> str:
    """What the gate verified, for the job summary (names escaped: they come from the PR)."""
    from pipeline.diagnostics import md_text

    lines = ["", f"Changes since `{base[:12]}`: {len(verified)} article(s).", ""]
    for item in verified:
        lines.append(f"- **{md_text(item['article'])}**")
        lines += [f"  - {md_text(line)}" for line in item["verified"]]
    return "\n".join(lines) + "\n"


@cli.command()
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    """What diagnostic CODE means and how to fix it; without CODE, every code."""
    import difflib

    from pipeline.codes import CODES, explain_text

    if code is None:
        _list_codes(CODES.values())
        return
    wanted = code.strip().strip("[]").lower()
    if wanted in CODES:
        click.echo(explain_text(CODES[wanted]))
        return
    family = [c for c in CODES.values() if c.family == wanted.rstrip(".")]
    if family:  # `pipeline explain review`: the codes of that family
        _list_codes(family)
        return
    close = difflib.get_close_matches(wanted, list(CODES), n=3, cutoff=0.5)
    either = ", ".join(close[:-1]) + " or " + close[-1] if len(close) > 1 else "".join(close)
    hint = f"did you mean {either}?" if close else "run `pipeline explain` for the list"
    raise Failure(f"there is no diagnostic code '{code}': {hint}")


def _list_codes(codes) -> None:  # noqa: ANN001 - an iterable of codes.Code
    codes = list(codes)
    width = max(len(c.code) for c in codes)
    for c in codes:
        click.echo(f"{c.code:<{width}}  {c.severity:<7}  {c.summary}")


def main() -> None:
    try:
        cli(prog_name="pipeline")
    except OSError as exc:  # a disk or permission problem: one line, never a traceback
        click.echo(f"pipeline: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        sys.exit(2)
