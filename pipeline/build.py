"""Building: check, render into build/<mode>/, run MkDocs, swap the new site into place.

`pipeline build` and a bare `mkdocs build`/`mkdocs serve` share this code: the root mkdocs.yml
names `pipeline/hooks.py`, which calls `on_startup` and `on_config` below."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import diagnostics as diagnostics_mod
from pipeline import paths
from pipeline.checks import run_checks
from pipeline.diagnostics import Diagnostic
from pipeline.loader import EnvironmentProblem, Project, load
from pipeline.render import RenderResult, render_site

log = logging.getLogger("mkdocs.plugins.pipeline")


class BuildFailed(Exception):
    """Content errors or a failed MkDocs build; `site/` was left as it was."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []


@dataclass
class Session:
    """What `pipeline build` already did, so that the MkDocs hook does not do it again."""

    project: Project
    preview: bool
    exclude: set[str] = field(default_factory=set)
    result: RenderResult | None = None


_session: Session | None = None
_command: str | None = None


def generated_dir(root: Path, preview: bool) -> Path:
    return root / "build" / ("preview" if preview else "production")


def interactive() -> bool:
    """Progress display only for a person at a terminal: never in CI or in a pipe."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def _progress_callback():
    if not interactive():
        return None, None
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task("Rendering articles", total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


def render(project: Project, preview: bool, exclude: set[str] | None = None) -> RenderResult:
    out_dir = generated_dir(project.root, preview)
    progress, update = _progress_callback()
    if progress is None:
        return render_site(project, out_dir, preview, exclude=exclude)
    with progress:
        return render_site(project, out_dir, preview, update, exclude=exclude)


def articles_with_errors(project: Project, errors: list[Diagnostic]) -> set[str]:
    files = {d.file for d in errors}
    return {
        article.id
        for article in project.articles.values()
        if article.meta is None
        or files & ({article.file} | {b.file for b in article.bodies.values()})
    }


def check_for_build(project: Project) -> list[Diagnostic]:
    """Errors stop a production build and a preview alike: what a reviewer previews is what
    would be published."""
    errors, _ = diagnostics_mod.split(run_checks(project))
    return errors


# --- MkDocs hooks (see pipeline/hooks.py) ---------------------------------------------------


def on_startup(command: str, dirty: bool) -> None:
    global _command
    _command = command


def on_config(config):  # noqa: ANN001, ANN201 - MkDocs hook signature
    from mkdocs.exceptions import PluginError

    root = Path(config.config_file_path).parent
    session = _session
    if session is None:
        preview = _command == "serve" or os.environ.get("PIPELINE_PREVIEW") == "1"
        try:
            project = load(root)
        except EnvironmentProblem as exc:
            raise PluginError(str(exc)) from exc
        errors = check_for_build(project)
        exclude: set[str] = set()
        if errors:
            text = diagnostics_mod.format_text(errors, [], len(project.articles))
            if _command != "serve" or project.settings is None or project.board is None:
                raise PluginError(f"pipeline check found errors:\n{text}")
            exclude = articles_with_errors(project, errors)
            log.warning("pipeline check found errors; these articles are left out:\n%s", text)
        session = Session(project=project, preview=preview, exclude=exclude)
    if session.result is None:
        session.result = render(session.project, session.preview, session.exclude)
    config["docs_dir"] = str(generated_dir(root, session.preview))
    config["nav"] = session.result.nav
    return config


# --- `pipeline build` ----------------------------------------------------------------------


@contextmanager
def _session_for(session: Session) -> Iterator[None]:
    global _session
    _session = session
    try:
        yield
    finally:
        _session = None


def swap_into_place(new_site: Path, site: Path) -> None:
    """Replace `site` with `new_site` with renames only, so a reader never sees half a site."""
    old = None
    if site.exists():
        old = Path(tempfile.mkdtemp(prefix="site.old-", dir=site.parent))
        os.replace(site, old / "site")
    os.replace(new_site, site)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _show_mkdocs_warnings() -> None:
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_pipeline", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("mkdocs: %(levelname)s %(message)s"))
        handler._pipeline = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def build(
    root: Path, preview: bool = False, site_dir: Path | None = None
) -> tuple[Project, RenderResult]:
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    _show_mkdocs_warnings()
    project = load(root)
    errors = check_for_build(project)
    if errors:
        raise BuildFailed(f"{len(errors)} content error(s); site/ was not changed", errors)
    site = site_dir or project.root / paths.SITE
    session = Session(project=project, preview=preview)
    tmp_site = Path(tempfile.mkdtemp(prefix="site.tmp-", dir=site.parent))
    try:
        with _session_for(session):
            config = load_config(
                str(project.root / paths.MKDOCS_FILE), site_dir=str(tmp_site), strict=True
            )
            config.plugins.on_startup(command="build", dirty=False)
            try:
                # The loaded publication stays alive during the MkDocs build; freezing it keeps
                # the garbage collector from walking it again and again.
                gc.collect()
                gc.freeze()
                try:
                    mkdocs_build(config)
                finally:
                    gc.unfreeze()
            finally:
                config.plugins.on_shutdown()
    except (MkDocsException, OSError) as exc:
        shutil.rmtree(tmp_site, ignore_errors=True)
        raise BuildFailed(f"MkDocs failed ({exc}); site/ was not changed") from exc
    except BaseException:
        shutil.rmtree(tmp_site, ignore_errors=True)
        raise
    swap_into_place(tmp_site, site)
    assert session.result is not None
    return project, session.result


def serve(root: Path, dev_addr: str | None = None) -> None:
    from mkdocs.commands.serve import serve as mkdocs_serve

    global _command
    _command = "serve"
    kwargs = {"dev_addr": dev_addr} if dev_addr else {}
    mkdocs_serve(config_file=str(root.resolve() / paths.MKDOCS_FILE), livereload=True, **kwargs)
