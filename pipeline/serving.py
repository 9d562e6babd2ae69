"""`pipeline serve`: the live preview, rebuilt incrementally between saves.

MkDocs' own serve reloads the configuration and builds every page on every save. Here the
server keeps what the last full build made (MkDocs' config, files, nav, theme environment and
each page's search entries) and, after a save, re-runs the pipeline (load, checks, render) and
then MkDocs' own page machinery (`_populate_page`, `_build_page`, with every plugin event) only
for the generated pages whose Markdown changed; the search index, sitemap and 404 page are
rewritten from the kept entries, in the full build's order. Anything structural (a page added
or removed, another nav, a nav page's title or metadata, mkdocs.yml, the theme, the settings)
and any failure of the incremental path falls back to a full build: stale pages are never
served silently.

A save that touches one article's files only is shown first: that article alone is read
again, checked and rendered (with the articles it links to, whose titles its page shows),
MkDocs builds its page, and browsers reload; then the rebuild above runs as always, and
browsers reload once more if it changed any other page or that one. What the editor sees
first is the page the whole rebuild gives, unless a check that joins the whole publication
finds more, which the second reload then shows."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin, event_priority

from pipeline import paths

log = logging.getLogger("mkdocs.plugins.guideline.serve")

RECORDER = "guideline-serve-recorder"


class NeedsFullBuild(Exception):
    """The change is structural: only a full build gives the right site."""


class Recorder(BasePlugin):
    """Keeps what a full build made, for the incremental rebuilds that follow it."""

    def __init__(self) -> None:
        super().__init__()
        self.before: Snapshot = {}  # `mkdocs serve`: the source folders before its first build
        self.reset()

    def reset(self) -> None:
        self.files = None
        self.nav = None
        self.env = None
        self.entries: dict[str, list] = {}  # src_uri -> its search entries, as built
        self.order: list[str] = []  # pages in the order MkDocs built them
        self.seen = 0
        self.result = None  # the render.RenderResult of the build
        self.project = None  # the loader.Project it rendered

    def on_nav(self, nav, *, config: MkDocsConfig, files):  # noqa: ANN001, ANN201
        self.reset()
        self.files, self.nav = files, nav
        return nav

    @event_priority(-200)
    def on_env(self, env, *, config: MkDocsConfig, files):  # noqa: ANN001, ANN201
        self.env = env
        return env

    @event_priority(100)  # before the guideline plugin forgets its session
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        from pipeline.plugin import ensure_plugin

        session = ensure_plugin(config).session
        self.result = session.result if session is not None else None
        self.project = session.project if session is not None else None

    @event_priority(-200)  # after the page cache (-100), which puts reused entries in place
    def on_post_page(self, output: str, *, page, config: MkDocsConfig) -> str:  # noqa: ANN001
        index = search_index(config)
        entries = index.entries if index is not None else []
        src = page.file.src_uri
        self.entries[src] = list(entries[self.seen :])
        self.order.append(src)
        self.seen = len(entries)
        return output


def search_index(config: MkDocsConfig):  # noqa: ANN201 - Material's SearchIndex, or None
    from pipeline.pagecache import material_search

    return getattr(material_search(config), "search_index", None)


def _sha(path: Path) -> str | None:
    from pipeline.outputs import page_digest

    try:
        return page_digest(path.read_bytes())
    except OSError:
        return None


Snapshot = dict[str, list[int]]  # source file -> its stat (stamp.file_stats)


def snapshot(root: Path) -> Snapshot:
    """What the source folders hold, by each file's stat (never following a link): two
    snapshots differ where a file was saved, added or removed."""
    from pipeline.stamp import file_stats

    found: Snapshot = {}
    for folder in (paths.CONTENT, paths.REFERENCES):
        stats = file_stats(root / folder)
        found.update({f"{folder}/{rel}": info for rel, info in stats.items()})
    return found


def saved_article(before: Snapshot, now: Snapshot, project) -> str | None:  # noqa: ANN001
    """The one article whose files (its main file, its wordings) are all that changed between
    the snapshots, or None: a file added or removed, or anything else changed."""
    if before.keys() != now.keys() or project is None:
        return None
    changed = {rel for rel, seen in now.items() if before[rel] != seen}
    owners = {}
    for article in project.articles.values():
        for file in {article.file, *(b.file for b in article.bodies.values())}:
            owners[file] = article.id
    ids = {owners.get(rel) for rel in changed}
    return ids.pop() if len(ids) == 1 and None not in ids else None


class IncrementalBuilder:
    """One served site: a full build first, then incremental rebuilds where they are exact."""

    def __init__(
        self, root: Path, site_dir: str, serve_url: str, dev_addr: str | None = None
    ) -> None:
        self.root = root.resolve()
        self.dev_addr = dev_addr
        self.site_dir = site_dir
        self.serve_url = serve_url
        self.config: MkDocsConfig | None = None
        self.recorder: Recorder | None = None
        self.sources: dict[str, str | None] = {}  # generated page -> digest of its Markdown
        self.fixed: dict[str, str | None] = {}  # configuration files -> digest
        self.nav_list: list | None = None
        self.before: Snapshot = {}  # the source folders as the last whole rebuild read them
        self.shown_early: Callable[[], None] | None = None  # serve: reload browsers now
        self.full_builds = 0
        self.incremental_builds = 0
        self.early_builds = 0  # saved articles shown before the whole rebuild
        self.rebuilt_pages = 0  # pages the last rebuild built (all, for a full build)

    # --- what a full build depends on that an incremental one does not re-read -------------

    def _fixed_inputs(self, config: MkDocsConfig) -> dict[str, str | None]:
        from pipeline.pagecache import tree_digest

        found = {
            name: _sha(self.root / name)
            for name in (paths.MKDOCS_FILE, paths.PUBLICATION_FILE, paths.BOARD_FILE)
        }
        for folder in config.theme.dirs:
            if not Path(folder).resolve().is_relative_to(Path(__file__).resolve().parent.parent):
                found[f"theme:{folder}"] = tree_digest(Path(folder))
        custom = config.theme.custom_dir
        if custom:
            found["custom_dir"] = tree_digest(Path(custom))
        return found

    def load_config(self) -> MkDocsConfig:
        from mkdocs.config import load_config

        from pipeline.plugin import ensure_plugin

        extra = {"dev_addr": self.dev_addr} if self.dev_addr else {}
        config = load_config(
            str(self.root / paths.MKDOCS_FILE), site_dir=self.site_dir, hooks=[], **extra
        )
        if self.serve_url:
            config.site_url = self.serve_url
        ensure_plugin(config)
        recorder = Recorder()
        recorder.load_config({}, config.config_file_path)
        config.plugins[RECORDER] = recorder
        return config

    def _generated(self) -> Path:
        from pipeline.build import generated_dir

        return generated_dir(self.root, preview=True)

    def _digests(self, pages: list[str]) -> dict[str, str | None]:
        out = self._generated()
        return {rel: _sha(out / rel) for rel in pages}

    # --- the builds ----------------------------------------------------------------------------

    def full(self, config: MkDocsConfig | None = None) -> None:
        from mkdocs.commands.build import build

        self.config = None  # until it completes, nothing is reused
        config = config or self.load_config()
        add_recorder(config)
        self.before = snapshot(self.root)
        build(config, serve_url=self.serve_url)
        self.adopt(config)

    def adopt(self, config: MkDocsConfig) -> None:
        """What the whole build of `config` made (its Recorder kept it) is what the next
        rebuilds start from."""
        self.recorder = config.plugins[RECORDER]  # type: ignore[assignment]
        session_result = self.recorder.result
        assert session_result is not None
        self.sources = self._digests(session_result.pages)
        self.nav_list = session_result.nav
        self.fixed = self._fixed_inputs(config)
        self.config = config
        self.full_builds += 1
        self.rebuilt_pages = len(self.sources)

    def rebuild(self) -> None:
        """After a save: incremental where exact, else (or on any failure) a full build."""
        if self.config is None:
            self.full()
            return
        shown = False
        try:
            shown = self.early()
        except Exception:  # noqa: BLE001 - the whole rebuild below builds the page anyway
            log.debug("The saved article could not be shown first", exc_info=True)
        if shown and self.shown_early is not None:
            self.shown_early()
        try:
            self.incremental()
        except NeedsFullBuild as why:
            log.info("Full rebuild: %s", why)
            self.full()
        except Exception:  # noqa: BLE001 - fail closed: never leave stale pages served
            log.warning("The incremental rebuild failed; building the whole preview", exc_info=True)
            self.full()

    def early(self) -> bool:
        """The saved article's page, built from that article alone (see the module's note):
        True when it was built and is served."""
        from pipeline.build import check_for_build, problems_by_article
        from pipeline.links import Links, site_url_of
        from pipeline.loader import load_one
        from pipeline.render import SiteRenderer

        config, recorder = self.config, self.recorder
        assert config is not None and recorder is not None
        article_id = saved_article(self.before, snapshot(self.root), recorder.project)
        if article_id is None or self._fixed_inputs(config) != self.fixed:
            return False
        project = load_one(recorder.project, article_id)
        problems = problems_by_article(project, check_for_build(project, articles_only=True))
        mine = {article_id: problems[article_id]} if article_id in problems else {}
        links = Links(config.use_directory_urls, site_url_of(config.site_url))
        language = config.theme.get("language") or "en"
        renderer = SiteRenderer(project, True, mine, links, language)
        if article_id not in renderer.shown:
            return False
        rel = f"{article_id}.md"
        if rel not in self.sources:
            return False
        page = renderer.article_page(renderer.shown[article_id])
        paths.write_if_changed(self._generated() / rel, page)
        digest = _sha(self._generated() / rel)
        if digest == self.sources[rel]:
            return False
        self.sources[rel] = None  # until its page is built: the whole rebuild builds it
        self._build_pages(config, recorder, [rel])
        self.sources[rel] = digest
        self.early_builds += 1
        return True

    def _build_pages(self, config: MkDocsConfig, recorder: Recorder, changed: list[str]) -> int:
        """MkDocs' own page machinery for these generated files (a copied file is copied):
        the number of pages built."""
        from mkdocs.commands.build import _build_page, _populate_page
        from mkdocs.structure.files import InclusionLevel

        from pipeline import navcache
        from pipeline.plugin import ensure_plugin

        files, nav, env = recorder.files, recorder.nav, recorder.env
        assert files is not None and nav is not None
        navcache.forget(env)  # the kept environment's navs are the last build's: made again
        nav_pages = {page.file.src_uri for page in nav.pages}
        pages = []
        for rel in changed:
            file = files.get_file_from_path(rel)
            if file is None:
                raise NeedsFullBuild(f"{rel} is not a file of the site")
            if not file.is_documentation_page():
                file.copy_file()
                continue
            if file.page is None:
                raise NeedsFullBuild(f"{rel} is not a page of the site")
            # A page the page cache reused was stubbed (pagecache._stub): MkDocs' own again.
            file.page.__dict__.pop("read_source", None)
            file.page.__dict__.pop("render", None)
            pages.append(file.page)
        ensure_plugin(config).cache = None  # every changed page is built, none reused
        doc_files = files.documentation_pages(inclusion=InclusionLevel.is_in_serve)
        for page in pages:
            before = (page.title, dict(page.meta)) if page.file.src_uri in nav_pages else None
            page.markdown = page.content = None
            _populate_page(page, config, files)
            if before is not None and (page.title, dict(page.meta)) != before:
                raise NeedsFullBuild(
                    f"the nav page {page.file.src_uri} changed its title or metadata"
                )
        index = search_index(config)
        order = list(recorder.order)  # the full build's order; each page keeps its place
        for page in pages:
            if index is not None:
                index.entries = []
            recorder.seen = 0
            _build_page(
                page, config, doc_files, nav, env, excluded=page.file.inclusion.is_excluded()
            )
        recorder.order = order
        if index is not None:
            index.entries = [e for src in recorder.order for e in recorder.entries[src]]
        return len(pages)

    def incremental(self) -> None:
        from mkdocs.commands.build import _build_theme_template

        from pipeline.plugin import ensure_plugin

        config, recorder = self.config, self.recorder
        assert config is not None and recorder is not None and recorder.files is not None
        self.config = None  # a failure below leaves nothing to reuse
        if self._fixed_inputs(config) != self.fixed:
            raise NeedsFullBuild("the site configuration, settings or theme changed")
        before = snapshot(self.root)
        plugin = ensure_plugin(config)
        plugin.session = None
        plugin.on_config(config)  # load, check and render the generated pages
        result = plugin.session.result  # type: ignore[union-attr]
        project = plugin.session.project  # type: ignore[union-attr]
        plugin.session = None
        if result.nav != self.nav_list:
            raise NeedsFullBuild("the navigation changed")
        if sorted(result.pages) != sorted(self.sources):
            raise NeedsFullBuild("a page was added or removed")
        digests = self._digests(result.pages)
        changed = [rel for rel in result.pages if digests[rel] != self.sources[rel]]
        built = self._build_pages(config, recorder, changed)
        files, nav, env = recorder.files, recorder.nav, recorder.env
        for template in config.theme.static_templates:
            _build_theme_template(template, env, files, config, nav)
        for name, other in config.plugins.items():
            if name == "material/search" or name.endswith("search"):
                other.on_post_build(config=config)
        self.sources = digests
        self.before = before
        recorder.project = project
        self.config = config
        self.incremental_builds += 1
        self.rebuilt_pages = len(changed)
        log.info("Rebuilt %d page(s) incrementally", built)


def _changes() -> list[type]:
    """The file events that mean a change: a file opened or closed unwritten is a read (the
    rebuild itself reads every source file), never a reason to rebuild again."""
    from watchdog import events

    return [
        events.FileCreatedEvent,
        events.FileModifiedEvent,
        events.FileDeletedEvent,
        events.FileMovedEvent,
        events.FileClosedEvent,
        events.DirCreatedEvent,
        events.DirDeletedEvent,
        events.DirMovedEvent,
    ]


def changes_observer():  # noqa: ANN201 - a watchdog Observer
    """The system's file-event observer, reporting only the events that change files."""
    import watchdog.observers

    class ChangesObserver(watchdog.observers.Observer):  # type: ignore[misc, valid-type]
        def schedule(self, event_handler, path, *, recursive=False, **kwargs):  # noqa: ANN001, ANN201
            kwargs.setdefault("event_filter", _changes())
            return super().schedule(event_handler, path, recursive=recursive, **kwargs)

    return ChangesObserver()


def add_recorder(config: MkDocsConfig) -> Recorder:
    """The configuration's Recorder, added when it has none."""
    if RECORDER not in config.plugins:
        recorder = Recorder()
        recorder.load_config({}, config.config_file_path)
        config.plugins[RECORDER] = recorder
    return config.plugins[RECORDER]  # type: ignore[return-value]


def follow_mkdocs_serve(config: MkDocsConfig) -> None:
    """`mkdocs serve` of a publication, at its first build (the plugin's `on_config`): that
    build is recorded as `pipeline serve` records its own, with the source folders as they
    were before it read them."""
    if RECORDER in config.plugins:
        return  # `pipeline serve`'s, or a later build of this server
    root = Path(config.config_file_path).parent
    add_recorder(config).before = snapshot(root)


def take_over(server, config: MkDocsConfig) -> bool:  # noqa: ANN001 - MkDocs' LiveReloadServer
    """`mkdocs serve`, at `on_serve` (after its first build): its server rebuilds as `pipeline
    serve` does from then on, starting from that first build. False when the first build was
    not recorded (then MkDocs rebuilds as ever)."""
    recorder = config.plugins.get(RECORDER)
    if not isinstance(recorder, Recorder) or recorder.result is None:
        return False
    root = Path(config.config_file_path).parent
    builder = IncrementalBuilder(root, server.root, config.site_url or "")
    builder.before = recorder.before
    builder.adopt(config)
    drive(server, builder)
    return True


def drive(server, builder: IncrementalBuilder) -> None:  # noqa: ANN001 - MkDocs' LiveReloadServer
    """The server rebuilds through `builder` on each save, and browsers reload as soon as a
    saved article is shown."""
    from mkdocs.livereload import _timestamp

    def show_now() -> None:
        """Browsers reload now, to the saved article's page (MkDocs' server reloads them when
        its builder returns, after the whole rebuild)."""
        with server._epoch_cond:
            server._visible_epoch = server._wanted_epoch
            server._epoch_cond.notify_all()

    def rebuild() -> None:
        early = builder.early_builds
        builder.rebuild()
        if builder.early_builds != early and builder.rebuilt_pages:
            server._wanted_epoch = _timestamp()  # more changed: browsers reload once more

    builder.shown_early = show_now
    server.builder = rebuild
    server.build_delay = 0.05  # a shorter settling delay than MkDocs' 0.1 s


def serve(root: Path, dev_addr: str | None = None) -> None:
    """The live preview: a full build, then incremental rebuilds on each save."""
    from urllib.parse import urlsplit

    from mkdocs.livereload import LiveReloadServer, _serve_url

    from pipeline import plugin

    plugin.on_serve_command()
    site_dir = tempfile.mkdtemp(prefix="pipeline_serve_")
    builder = IncrementalBuilder(root, site_dir, "", dev_addr)
    config = builder.load_config()
    host, port = config.dev_addr
    mount_path = urlsplit(config.site_url or "/").path
    builder.serve_url = config.site_url = _serve_url(host, port, mount_path)
    config.plugins.on_startup(command="serve", dirty=False)

    server = LiveReloadServer(
        builder=builder.rebuild, host=host, port=port, root=site_dir, mount_path=mount_path
    )
    drive(server, builder)
    # The system's file events instead of polling every 0.5 s.
    server.observer = changes_observer()

    def error_handler(code: int) -> bytes | None:
        page = os.path.join(site_dir, f"{code}.html")
        return Path(page).read_bytes() if code in (404, 500) and os.path.isfile(page) else None

    server.error_handler = error_handler
    try:
        builder.full(config)
        server.watch(config.docs_dir)
        server.watch(config.config_file_path)
        for item in config.watch:
            server.watch(item)
        try:
            server.serve()
        except KeyboardInterrupt:
            log.info("Shutting down...")
        finally:
            server.shutdown()
    finally:
        config.plugins.on_shutdown()
        shutil.rmtree(site_dir, ignore_errors=True)
