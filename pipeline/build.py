"""Building: check, render into build/<mode>/, run MkDocs, swap the new site into place.

`pipeline build` and a bare `mkdocs build`/`mkdocs serve` share this code through the MkDocs
plugin (`pipeline/plugin.py`), which renders the pages and registers them with MkDocs."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import diagnostics as diagnostics_mod
from pipeline import paths
from pipeline.diagnostics import Diagnostic

# Loading, checking and rendering are imported where they run: a build with nothing to do
# (`stamp.py`) needs none of them.
if TYPE_CHECKING:
    import jinja2

    from pipeline.links import Links
    from pipeline.loader import Project
    from pipeline.pagecache import SiteStore
    from pipeline.plugin import Session
    from pipeline.render import RenderResult
    from pipeline.shards import Shard
    from pipeline.stamp import Unchanged

log = logging.getLogger("mkdocs.plugins.pipeline")


class BuildFailed(Exception):
    """Content errors or a failed MkDocs build; `site/` was left as it was."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []


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


def tracks_output(root: Path) -> bool:
    """Whether the repository commits build output (build/ or site/)."""
    from pipeline import gitio

    try:
        return bool(gitio.git(root, "ls-files", "-z", "--", "build", "site").strip("\0"))
    except gitio.GitError:
        return False


def _untrusted_cache(root: Path, out_dir: Path) -> None:
    """Generated pages are reused only when this machine made them: a build folder that came
    with the repository (committed, copied) is thrown away, never trusted."""
    tracked = tracks_output(root)
    stamp = out_dir / ".made-here"
    if out_dir.exists() and (tracked or not stamp.is_file()):
        shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not stamp.is_file():
        stamp.touch()


def render(
    project: Project,
    preview: bool,
    problems: dict[str, list[Diagnostic]] | None = None,
    links: Links | None = None,
    language: str = "en",
    only: set[str] | None = None,
) -> RenderResult:
    from pipeline.render import render_site

    out_dir = generated_dir(project.root, preview)
    _untrusted_cache(project.root, out_dir)
    progress, update = _progress_callback()
    if progress is None:
        return render_site(
            project, out_dir, preview, problems=problems, links=links, lang=language, only=only
        )
    with progress:
        return render_site(
            project,
            out_dir,
            preview,
            update,
            problems=problems,
            links=links,
            lang=language,
            only=only,
        )


def problems_by_article(project: Project, errors: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """Each article's errors (in its own file or one of its wordings), for the preview's
    error banner; an article whose front matter did not load always has some."""
    found: dict[str, list[Diagnostic]] = {}
    for article in project.articles.values():
        files = {article.file} | {b.file for b in article.bodies.values()}
        stem = article.file[: -len(".md")] + "."
        mine = [d for d in errors if d.file in files or d.file.startswith(stem)]
        if mine or article.meta is None:
            found[article.id] = mine
    return found


def check_for_build(
    project: Project, articles_only: bool = False, config: list[bytes | None] | None = None
) -> list[Diagnostic]:
    """Errors stop a production build and a preview alike: what a reviewer previews is what
    would be published. With `config`, the configuration's bytes read before the load, an
    unchanged article's findings are the kept ones (pipeline/checkcache.py `check_loaded`);
    `articles_only` (a live preview's first look at one saved article) runs the rules of
    articles afresh and keeps nothing, whatever `config` says."""
    from pipeline.checks import run_checks

    if config is not None and not articles_only:
        from pipeline.checkcache import check_loaded

        found = check_loaded(project, config)
    else:
        found = run_checks(project, articles_only)
    errors, _ = diagnostics_mod.split(found)
    return errors


# --- the site folder: `site` is a symbolic link to one complete build in `site.builds/` -------

BUILDS_SUFFIX = ".builds"
_RENAME_EXCHANGE = 2


def builds_dir(site: Path) -> Path:
    return site.with_name(site.name + BUILDS_SUFFIX)


def new_build_dir(site: Path) -> Path:
    """An empty folder for the next site, beside the current builds."""
    folder = builds_dir(site)
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="build-", dir=folder))
    path.chmod(0o777 & ~paths.UMASK)  # readable like any folder, not mkdtemp's owner-only
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if sys.platform != "linux":
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def swap_into_place(new_site: Path, site: Path, clean: bool = True) -> None:
    """Point `site` at the complete build `new_site` in one rename of a symbolic link, so that
    `site` is always the previous site or the new one, whenever the process stops. `clean`:
    remove the replaced build now (else the next build's `Sweeper` does)."""
    link = site.with_name(f"{site.name}.tmp-{new_site.name}")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(new_site, site.parent), target_is_directory=True)
    if site.is_dir() and not site.is_symlink():
        # A real folder (an older pipeline's, or a bare `mkdocs build`): exchange it for the
        # link in one step where the system can, else move it aside first.
        if not _exchange(link, site):
            old = Path(tempfile.mkdtemp(prefix=f"{site.name}.old-", dir=site.parent))
            os.replace(site, old / site.name)
            os.replace(link, site)
    else:
        os.replace(link, site)
    if clean:
        clean_leftovers(site)


def current_build(site: Path) -> Path | None:
    if not site.is_symlink():
        return None
    return (site.parent / os.readlink(site)).resolve()


def leftovers(site: Path) -> list[Path]:
    """What a killed or finished run left: temporary links and folders beside `site`, and
    every build that `site` does not point at."""
    keep = current_build(site)
    found = [*site.parent.glob(f"{site.name}.tmp-*"), *site.parent.glob(f"{site.name}.old-*")]
    folder = builds_dir(site)
    if folder.is_dir():
        found += [path for path in folder.iterdir() if keep is None or path.resolve() != keep]
    return found


def clean_leftovers(site: Path) -> None:
    for path in leftovers(site):
        _remove(path)


def _non_folders(top: Path, strict: bool) -> Iterator[os.DirEntry]:
    """Every entry under `top` that is not a folder (files, links; never through a link). A
    folder that cannot be read is passed over, or with `strict` raises OSError."""
    pending = [os.fspath(top)]
    while pending:
        try:
            listing = os.scandir(pending.pop())
        except OSError:
            if strict:
                raise
            continue
        with listing:
            for entry in listing:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    yield entry


def unlink_files(folder: Path) -> None:
    """Remove every file (and link) under a folder, leaving its folders."""
    for entry in _non_folders(folder, strict=False):
        try:
            os.unlink(entry.path)
        except OSError:
            pass


class Sweeper:
    """Removes the builds `site` no longer points at (`leftovers`, listed when it starts) in a
    thread, while this build loads, checks and renders: removing a site's thousands of folders
    is slow where the filesystem discards freed blocks at once, and is nothing a build waits
    for until it swaps its own site in (`wait`). The build it replaces stays until the next.

    The build the last one replaced, whose files it unlinked (`unlink_files`, then the mark
    `EMPTIED` beside it), is kept when it still holds nothing but folders: this build goes into
    it (`folder`), so that a page whose folder is there already makes none, and the last
    build's folders are not removed one by one. Anything else is removed."""

    def __init__(self, site: Path) -> None:
        import threading

        self.paths = leftovers(site)
        folders = [p for p in self.paths if _real_folder(p) and _emptied_mark(p).is_file()]
        self.candidate = max(folders, key=lambda p: p.stat().st_mtime_ns) if folders else None
        self.recyclable = False
        self.decided = threading.Event()
        self.thread = threading.Thread(target=self._sweep, name="sweep-old-builds", daemon=True)
        self.thread.start()

    def _sweep(self) -> None:
        try:
            if self.candidate is not None:
                self.recyclable = _only_folders(self.candidate)
        finally:
            self.decided.set()
        for path in self.paths:
            if path != self.candidate or not self.recyclable:
                _remove(path)

    def folder(self) -> Path | None:
        """The emptied folder tree this build goes into, or None (then a new folder)."""
        self.decided.wait()
        return self.candidate if self.recyclable else None

    def wait(self) -> None:
        self.thread.join()


EMPTIED = ".emptied"  # beside a replaced build whose files `unlink_files` removed, all of them


def _emptied_mark(build: Path) -> Path:
    return build.with_name(build.name + EMPTIED)


def _real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _only_folders(top: Path) -> bool:
    """Whether a tree holds folders alone: no file, no link, nothing else, all readable."""
    try:
        return next(_non_folders(top, strict=True), None) is None
    except OSError:
        return False


def remove_empty_folders(top: Path) -> None:
    """The folders of a reused tree this build put nothing in (a removed page's)."""
    emptied: set[str] = set()
    for folder, folders, names in os.walk(top, topdown=False):  # never through a link
        if folder == os.fspath(top) or names:
            continue
        if all(os.path.join(folder, name) in emptied for name in folders):
            os.rmdir(folder)
            emptied.add(folder)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _template_location(exc: jinja2.TemplateError) -> tuple[str | None, int | None]:
    """The template file and line of a Jinja error: its own, or the deepest template frame."""
    file, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if file:
        return file, line
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        if name.endswith((".j2", ".html", ".xml")) and Path(name).is_file():
            file, line = name, lineno
    return file, line


def template_failure(root: Path, exc: jinja2.TemplateError) -> Diagnostic:
    """A template that fails to render (pipeline templates or the theme): one diagnostic."""
    file, line = _template_location(exc)
    shown = "(a template)"
    if file:
        path = Path(file)
        package = Path(__file__).resolve().parent
        if path.resolve().is_relative_to(package):
            shown = "pipeline/" + path.resolve().relative_to(package).as_posix()
        else:
            shown = paths.rel(root, path)
    message = exc.message or type(exc).__name__
    return diagnostics_mod.diag(
        "build.template",
        shown,
        line,
        f"This template cannot be rendered: {message}. Fix the template (or undo the change).",
    )


def _show_mkdocs_warnings() -> None:
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_pipeline", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("mkdocs: %(levelname)s %(message)s"))
        handler._pipeline = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


class _ServeProgress(logging.Filter):
    """The server's own news (its address, each rebuild) at INFO; everything else from
    WARNING up, as for a build."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name in SERVE_LOGGERS


SERVE_LOGGERS = ("mkdocs.livereload", "mkdocs.commands.serve", "mkdocs.plugins.guideline.serve")


def _show_serve_progress() -> None:
    for name in SERVE_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    for handler in logging.getLogger("mkdocs").handlers:
        if getattr(handler, "_pipeline", False):
            handler.setLevel(logging.INFO)
            handler.addFilter(_ServeProgress())


def pages_manifest(root: Path, preview: bool) -> Path:
    """What the plugin reused or wrote for each page of the current site (pagecache.py)."""
    return root / "build" / f".pages-{'preview' if preview else 'production'}.sealed"


def build(
    root: Path, preview: bool = False, site_dir: Path | None = None, for_disk: bool = False
) -> tuple[Project | None, RenderResult | Unchanged]:
    """Check, render and build into a new folder, then swap it in as `site/`. With nothing
    changed since the last build (stamp.py), nothing is loaded and (None, summary) returned.
    `for_disk`: page files instead of folders (`use_directory_urls: false`), so that the site
    works opened from disk, as a reviewer opens a downloaded preview; always a full build."""
    from pipeline import stamp

    site = site_dir or root.resolve() / paths.SITE
    if for_disk:
        stamp.forget(root)
        project, result, _ = _full_build(root, preview, site, for_disk=True)
        return project, result
    previous = stamp.read(root)
    memo = stamp.known_digests(previous)  # file digests by stat, for both looks below
    inputs = stamp.inputs_digest(root, preview, memo)
    if (last := stamp.unchanged(previous, root, site, preview, inputs)) is not None:
        return None, last
    seen = dict(memo)  # every input file's stat as it was before the build
    with _frozen_heap():
        project, result, written = _full_build(root, preview, site)
        gc.freeze()  # what it built lives until the build ends
        # Nothing changed while it built: the same bytes, and no input file written meanwhile
        # (an edit undone before the end gives the same bytes, never the same change time).
        if stamp.inputs_digest(root, preview, memo) == inputs and memo == seen:
            stamp.record(root, site, preview, inputs, result, written, memo)
        else:
            stamp.forget(root)
    return project, result


def build_shard(root: Path, spec: str, preview: bool = False) -> tuple[Path, RenderResult]:
    """`pipeline build --shard I/N`: this machine's share of the pages, into
    build/shard-I-of-N/, for `pipeline merge` (shards.py)."""
    from pipeline import shards, stamp

    index, count = shards.parse(spec)
    inputs = stamp.inputs_digest(root, preview)
    out = shards.shard_dir(root.resolve(), index, count)
    shard = shards.Shard(index, count, articles=set())  # its articles are known once loaded
    _, result, _ = _full_build(root, preview, out, shard)
    shard.save(out, inputs)
    return out, result


def merge_shards(root: Path, folders: list[Path], site_dir: Path | None = None) -> int:
    """`pipeline merge DIR...`: the shards' pages, search index and sitemap as one site,
    swapped in as `site/` like any build; returns the number of pages."""
    from pipeline import shards, stamp

    site = site_dir or root.resolve() / paths.SITE
    clean_leftovers(site)
    tmp_site = new_build_dir(site)
    try:
        pages = shards.merge(folders, tmp_site)
    except BaseException:
        shutil.rmtree(tmp_site, ignore_errors=True)
        raise
    stamp.forget(root)
    swap_into_place(tmp_site, site)
    return pages


_frozen = 0  # the depth of `_frozen_heap`s entered


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """A build's large objects (the loaded publication, MkDocs' pages) live until it ends, and
    each full collection would walk them all again: a `gc.freeze()` moves whatever is alive
    out of the collector's reach (in steps, as the build goes), until the outermost of these
    ends. Garbage made between the steps is collected as ever."""
    global _frozen
    _frozen += 1
    gc.freeze()
    try:
        yield
    finally:
        _frozen -= 1
        if _frozen == 0:
            gc.unfreeze()


def _full_build(
    root: Path, preview: bool, site: Path, shard: Shard | None = None, for_disk: bool = False
) -> tuple[Project, RenderResult, dict[str, str]]:
    """Check, render and build; returns the project, what was rendered and the digest of each
    page MkDocs wrote, by path in the site."""
    from pipeline import stamp
    from pipeline.render import RenderResult

    _show_mkdocs_warnings()
    stamp.forget(root)  # from here on, site/ may be replaced
    sweeper = Sweeper(site) if shard is None else None
    with _frozen_heap():
        try:
            project, session, pages, tmp_site = _prepare(root, preview, site, shard, sweeper)
            gc.freeze()  # the loaded publication lives until the build ends
            _run_mkdocs(project, preview, session, tmp_site, for_disk)
            gc.freeze()  # and so do MkDocs' pages
            if pages.recycled:
                remove_empty_folders(tmp_site)
        finally:
            if sweeper is not None:
                sweeper.wait()
        if shard is None:
            replaced = current_build(site)
            swap_into_place(tmp_site, site, clean=False)
            if replaced is not None and replaced != tmp_site.resolve():
                # Its files now (their links into the new site: the new site's files are
                # recorded by their stat, link count and change time included); its folders,
                # slow to remove, are for the next build's Sweeper.
                unlink_files(replaced)
                _emptied_mark(replaced).touch()  # its folders are for the next build (Sweeper)
            pages.commit_for(tmp_site.resolve())
    assert isinstance(session.result, RenderResult)
    return project, session.result, pages.written()


def _prepare(
    root: Path, preview: bool, site: Path, shard: Shard | None, sweeper: Sweeper | None = None
) -> tuple[Project, Session, SiteStore, Path]:
    """Load and check; the MkDocs session and the empty folder the build goes into."""
    from pipeline.checkcache import config_bytes
    from pipeline.loader import load
    from pipeline.pagecache import SiteStore, previous_site
    from pipeline.plugin import Session

    config = config_bytes(root)  # before the load: the check keeps parts by it
    project = load(root)
    errors = check_for_build(project, config=config)
    if errors:
        raise BuildFailed(f"{len(errors)} content error(s); site/ was not changed", errors)
    # Whatever a killed run left in the generated pages (temporary files of atomic writes)
    # the renderer's Writer removes with anything else it did not write.
    if shard is None:
        # A page's previous HTML is reused only from the site this machine built (pagecache.py).
        reusable = None if tracks_output(project.root) else previous_site(site)
        pages = SiteStore(pages_manifest(project.root, preview), reusable)
        session = Session(project=project, preview=preview, pages=pages)
        recycled = sweeper.folder() if sweeper is not None else None
        pages.recycled = recycled is not None
        tmp_site = recycled or new_build_dir(site)
    else:
        from pipeline.shards import assign

        shard_of = assign(sorted(project.articles), shard.count)
        shard.articles = {a for a in project.articles if shard_of[a.split("/")[0]] == shard.index}
        shard.others = set(project.articles) - shard.articles
        pages = SiteStore(pages_manifest(project.root, preview), None)  # nothing to reuse
        session = Session(project=project, preview=preview, pages=pages, shard=shard)
        tmp_site = site
        shutil.rmtree(tmp_site, ignore_errors=True)
        tmp_site.mkdir(parents=True)
    return project, session, pages, tmp_site


class _DirtyWarning(logging.Filter):
    """MkDocs warns that a dirty build may leave stale navigation and links: true of its file
    times, not of the page cache's keys (a strict build would stop on the warning)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # Nor is a reused tree's folders the stale files MkDocs means (Sweeper).
        return not message.startswith(
            ("A 'dirty' build is being performed", "The directory contains stale files")
        )


@contextmanager
def _quiet_dirty_warning() -> Iterator[None]:
    logger = logging.getLogger("mkdocs.commands.build")
    quiet = _DirtyWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _run_mkdocs(
    project: Project, preview: bool, session: Session, tmp_site: Path, for_disk: bool
) -> None:
    """MkDocs builds the site into `tmp_site`, with the pipeline's plugin; on any failure the
    folder is removed and `site/` is left as it was."""
    import jinja2
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    from pipeline.outputs import DuplicatePage
    from pipeline.plugin import ensure_plugin

    try:
        # The repository's `hooks:` are never loaded: a pull request's checkout could name any
        # Python file there, and a reviewer previews it. The installed pipeline's own plugin
        # runs, whether or not mkdocs.yml names it.
        overrides = {"use_directory_urls": False} if for_disk else {}
        config = load_config(
            str(project.root / paths.MKDOCS_FILE),
            site_dir=str(tmp_site),
            strict=True,
            hooks=[],
            **overrides,
        )
        ensure_plugin(config).session = session
        # The plugins start as for a clean build (Material's search merges nothing), while
        # MkDocs runs its dirty-build path, in which the page cache decides each page's
        # `is_modified` by what the page is made of (pagecache.py): the build folder is new
        # and empty, so nothing is stale in it.
        session.dirty = session.shard is None
        config.plugins.on_startup(command="build", dirty=False)
        try:
            with _frozen_heap(), _quiet_dirty_warning():
                mkdocs_build(config, dirty=session.dirty)
        finally:
            config.plugins.on_shutdown()
    except (MkDocsException, OSError) as exc:
        shutil.rmtree(tmp_site, ignore_errors=True)
        raise BuildFailed(f"MkDocs failed ({exc}); site/ was not changed") from exc
    except DuplicatePage as exc:
        shutil.rmtree(tmp_site, ignore_errors=True)
        found = diagnostics_mod.diag(
            "build.duplicate-page",
            paths.rel(project.root, generated_dir(project.root, preview) / exc.rel_md),
            None,
            "Two pages of this build would be written to this one path; rename one of the "
            "articles or topics.",
        )
        raise BuildFailed("two pages would share one path; site/ was not changed", [found]) from exc
    except jinja2.TemplateError as exc:
        shutil.rmtree(tmp_site, ignore_errors=True)
        found = template_failure(project.root, exc)
        raise BuildFailed("a template failed to render; site/ was not changed", [found]) from exc
    except BaseException:
        shutil.rmtree(tmp_site, ignore_errors=True)
        raise


def serve(root: Path, dev_addr: str | None = None) -> None:
    """`pipeline serve`: the live preview, rebuilt incrementally on each save (serving.py)."""
    from pipeline import serving

    _show_mkdocs_warnings()
    _show_serve_progress()
    serving.serve(root, dev_addr)
