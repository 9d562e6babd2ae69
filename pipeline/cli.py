"""The command line: `pipeline check|build|serve|new|review|gate|status|explain`.

Exit codes: 0 no errors, 1 content errors, 2 usage or environment error (one line, no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline import diagnostics as diagnostics_mod
from pipeline.checks import run_checks
from pipeline.loader import EnvironmentProblem, Project, load


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

    from pipeline.build import interactive

    if not interactive():
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


def load_project(root: Path) -> Project:
    try:
        with working("Reading articles and references..."):
            return load(root)
    except EnvironmentProblem as exc:
        raise Failure(str(exc)) from None


def stop_on_config(project: Project, fmt: str = "text") -> None:
    """An invalid configuration means no content was read: report its problems alone, exit 1."""
    if not project.config_failed:
        return
    errors, warnings = diagnostics_mod.split(project.diagnostics)
    click.echo(diagnostics_mod.FORMATTERS[fmt](errors, warnings, 0))
    click.echo(CONFIG_FIRST, err=True)
    sys.exit(1)


CONFIG_FIRST = "pipeline: no article was read: fix the configuration first."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.pass_obj
def check(root: Path, fmt: str) -> None:
    """Validate everything and report every problem at once."""
    project = load_project(root)
    stop_on_config(project, fmt)
    with working(f"Checking {len(project.articles)} articles..."):
        errors, warnings = diagnostics_mod.split(run_checks(project))
    click.echo(diagnostics_mod.FORMATTERS[fmt](errors, warnings, len(project.articles)))
    sys.exit(1 if errors else 0)


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
@click.pass_obj
def status(root: Path) -> None:
    """A table of every article: status, approvals, stale approvals, review due."""
    from rich.console import Console
    from rich.table import Table

    from pipeline.approval import article_state

    project = load_project(root)
    stop_on_config(project)
    table = Table(title=f"{len(project.articles)} article(s)")
    for column in ("article", "status", "approvals", "stale", "review due"):
        table.add_column(column)
    for article_id, article in sorted(project.articles.items()):
        if article.meta is None:
            table.add_row(article_id, "invalid", "-", "-", "-")
            continue
        state = article_state(project, article)
        due = state.approval.due.isoformat() if state.approval.due else "-"
        if state.overdue:
            due += " (overdue)"
        status = state.status + (
            " (approval does not hold)" if state.claims_approval_that_fails else ""
        )
        table.add_row(
            article_id,
            status,
            f"{len(state.approval.valid)}/{state.approval.required}",
            ", ".join(state.stale_reviewers) or "-",
            due,
        )
    Console(width=120).print(table)


@cli.command()
@click.option("--preview", is_flag=True, help="Publish every article, with status banners.")
@click.option("-v", "--verbose", is_flag=True, help="Say why each page was rendered again.")
@click.option(
    "--builder",
    type=click.Choice(["mkdocs", "zensical"]),
    default="mkdocs",
    help="The site builder: MkDocs with the guideline plugin, or Zensical on `pipeline render`.",
)
@click.pass_obj
def build(root: Path, preview: bool, verbose: bool, builder: str) -> None:
    """Render and build the site into site/ (production: approved articles only)."""
    from pipeline.build import BuildFailed
    from pipeline.build import build as run_build

    if builder != "mkdocs":
        _build_with(root, preview, builder)
        return
    try:
        project, result = run_build(root, preview=preview)
    except EnvironmentProblem as exc:
        raise Failure(str(exc)) from None
    except BuildFailed as exc:
        if exc.diagnostics:
            errors, _ = diagnostics_mod.split(exc.diagnostics)
            click.echo(diagnostics_mod.format_text(errors, [], 0).rsplit("\n", 1)[0], err=True)
        click.echo(f"pipeline: build failed: {exc}", err=True)
        sys.exit(1)
    mode = "preview" if preview else "production"
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


def _build_with(root: Path, preview: bool, builder: str) -> None:
    """`pipeline build --builder zensical`: render, then the other builder, then the swap."""
    from pipeline.build import BuildFailed
    from pipeline.builders import build_with_zensical

    try:
        rendered = build_with_zensical(root, preview)
    except EnvironmentProblem as exc:
        raise Failure(str(exc)) from None
    except BuildFailed as exc:
        _report_build_failure(exc)
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
    from pipeline.build import BuildFailed
    from pipeline.builders import render_for_builder

    try:
        rendered = render_for_builder(root, preview)
    except EnvironmentProblem as exc:
        raise Failure(str(exc)) from None
    except BuildFailed as exc:
        _report_build_failure(exc)
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
    from pipeline.gate import GateProblem
    from pipeline.gate import gate as run_gate
    from pipeline.gitio import GitError

    project = load_project(root)
    stop_on_config(project, fmt)
    try:
        result = run_gate(project, base_ref)
    except (GitError, GateProblem) as exc:
        raise Failure(str(exc)) from None
    found = run_checks(project) + result.diagnostics
    errors, warnings = diagnostics_mod.split(found)
    if fmt == "text":
        click.echo(f"Changes since {result.base[:12]}: {len(result.reports)} article(s).")
        for report in result.reports:
            click.echo(f"  {report.article_id}")
            for line in report.verified:
                click.echo(f"    - {line}")
    click.echo(diagnostics_mod.FORMATTERS[fmt](errors, warnings, len(project.articles)))
    sys.exit(1 if errors else 0)


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
