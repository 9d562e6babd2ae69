"""The MkDocs plugin (`plugins: [guideline]` in mkdocs.yml, registered by entry point).

`mkdocs build`, `mkdocs serve` and `pipeline build` all run the pipeline through it:
- `on_config` takes the site's name, description and address from `publication.yml` (their one
  home), checks the publication and renders the generated pages with MkDocs' URL scheme;
- `on_files` registers the generated pages as MkDocs files (`File.generated`), so MkDocs owns
  the site's structure and nothing else in the docs folder is published."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files

from pipeline import diagnostics as diagnostics_mod
from pipeline import safety
from pipeline.links import Links, site_url_of
from pipeline.loader import EnvironmentProblem, Project, load

log = logging.getLogger("mkdocs.plugins.guideline")

THEME_DIR = Path(__file__).resolve().parent / "theme"  # the installed pipeline's overrides

NAME = "guideline"  # the entry point name: `plugins: [guideline]`


@dataclass
class Session:
    """What `pipeline build` already did, so that the plugin does not do it again."""

    project: Project
    preview: bool
    problems: dict[str, list] = field(default_factory=dict)  # a preview's articles with errors
    result: object | None = None  # a render.RenderResult
    verbose: bool = False
    pages: object | None = None  # a pagecache.SiteStore: the replaced site's reusable pages
    shard: object | None = None  # a shards.Shard: build only this share of the article pages
    dirty: bool = False  # MkDocs runs its dirty-build path: unchanged pages are left out


_command: str | None = None  # `mkdocs serve` calls on_startup once, on its first plugin


def on_serve_command() -> None:
    """`pipeline serve`: the plugin renders the preview."""
    global _command
    _command = "serve"


class GuidelinePlugin(BasePlugin):
    supports_multiple_instances = False

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.out_dir: Path | None = None
        self.cache = None  # this build's pagecache.PageCache, when pages can be reused
        self.memory = None  # `mkdocs serve`: the pages of the previous rebuild
        self.hand_over = False  # generated pages' HTML given to MkDocs as it is (htmlpages.py)
        self.templates = None  # this build's templatecache.TemplateCache of the theme

    def on_startup(self, *, command: str, dirty: bool) -> None:
        global _command
        _command = command

    def _session(self, root: Path) -> Session:
        from pipeline.build import check_for_build, problems_by_article

        preview = _command == "serve" or os.environ.get("PIPELINE_PREVIEW") == "1"
        try:
            project = load(root)
        except EnvironmentProblem as exc:
            raise PluginError(str(exc)) from exc
        errors = check_for_build(project)
        problems: dict[str, list] = {}
        if errors:
            text = diagnostics_mod.format_text(errors, [], len(project.articles))
            if _command != "serve" or project.config_failed:
                raise PluginError(f"pipeline check found errors:\n{text}")
            # The live preview keeps every article in view, with its errors on the page.
            problems = problems_by_article(project, errors)
            log.warning("pipeline check found errors; they are shown on the pages:\n%s", text)
        return Session(project=project, preview=preview, problems=problems)

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        from pipeline.build import generated_dir, render

        root = Path(config.config_file_path).parent
        use_installed_theme(config)
        if _command == "serve":
            from pipeline import serving

            serving.follow_mkdocs_serve(config)  # `mkdocs serve`: rebuilt as `pipeline serve`
        session = self.session or self._session(root)
        self.session = session
        settings = session.project.settings
        assert settings is not None
        # Material inserts both into pages unescaped (as render.meta_text explains): escaped HTML.
        config.site_name = safety.escape_html(settings.name)
        config.site_description = safety.escape_html(settings.description) or None
        if settings.site_url and _command != "serve":  # serve sets its own local address
            config.site_url = site_url_of(settings.site_url)
        config.extra["guideline_preview"] = session.preview  # main.html: noindex, no feed
        links = Links(config.use_directory_urls, site_url_of(config.site_url))
        if session.result is None:
            language = config.theme.get("language") or "en"
            only = session.shard.articles if session.shard is not None else None  # type: ignore[attr-defined]
            session.result = render(
                session.project, session.preview, session.problems, links, language, only
            )
        self.out_dir = generated_dir(root, session.preview)
        config.nav = session.result.nav  # type: ignore[attr-defined]
        return config

    def on_nav(self, nav, *, config: MkDocsConfig, files: Files):  # noqa: ANN001, ANN201
        from pipeline import htmlpages, pagecache

        assert self.session is not None
        self.nav = nav  # for the nav cache, at on_env
        self.hand_over = htmlpages.applies(config)
        store = self.session.pages
        if _command == "serve":
            self.memory = self.memory or pagecache.MemoryStore()
            store = self.memory
        shard = self.session.shard
        digests = getattr(self.session.result, "digests", None)
        skip = self.session.dirty  # PageCache skips only for a SiteStore, never for a shard
        self.cache = pagecache.PageCache(store, shard, skip, digests) if store is not None else None
        if self.cache is not None:
            self.cache.start(config, nav, files)
        return nav

    def on_pre_page(self, page, *, config: MkDocsConfig, files: Files):  # noqa: ANN001, ANN201
        from pipeline import htmlpages

        if self.hand_over and self._generated(page.file):
            htmlpages.hand_over(page)
        if self.cache is not None:
            self.cache.prepare(page)
        return page

    def _generated(self, file: File) -> bool:
        """A page this plugin rendered (in the generated folder), not one from elsewhere."""
        folder = str(self.out_dir) + os.sep if self.out_dir is not None else None
        return bool(folder and file.abs_src_path and file.abs_src_path.startswith(folder))

    def on_env(self, env, *, config: MkDocsConfig, files: Files):  # noqa: ANN001, ANN201
        from pipeline import navcache
        from pipeline.templatecache import TemplateCache

        self.templates = TemplateCache(Path(config.config_file_path).parent, "theme")
        env.bytecode_cache = self.templates
        env = self.cache.env(env) if self.cache is not None else env
        navcache.install(env, config, self.nav)  # after the loader is final: Jinja caches by it
        return env

    def on_serve(self, server, *, config: MkDocsConfig, builder):  # noqa: ANN001, ANN201
        """`mkdocs serve`: after its first build, its server rebuilds incrementally and shows a
        saved article first, as `pipeline serve` does (serving.py)."""
        if _command == "serve":
            from pipeline import serving

            serving.take_over(server, config)
        return server

    @event_priority(100)  # before the search plugin indexes the page
    def on_page_context(self, context, *, page, config: MkDocsConfig, nav):  # noqa: ANN001, ANN201
        if self.cache is not None:
            self.cache.catch_up(page.file.src_uri)
        return context

    @event_priority(-100)  # after every other plugin: the page as MkDocs writes it
    def on_post_page(self, output: str, *, page, config: MkDocsConfig) -> str:  # noqa: ANN001
        return self.cache.page_done(output, page) if self.cache is not None else output

    @event_priority(50)  # before the search plugin writes its index, after serving.Recorder
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.cache is not None:
            self.cache.catch_up(None)  # the pages left out after the last one built
        if self.templates is not None:
            self.templates.save()
            self.templates = None
        if self.cache is not None and self.cache.store is self.memory:
            self.memory.commit()
        self.cache = None
        self.session = None  # `mkdocs serve` keeps its plugins: the next build starts afresh

    def on_build_error(self, *, error: Exception) -> None:
        if self.cache is not None:
            self.cache.store.discard()
        self.cache = None
        self.session = None

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        """The docs folder's own files give way to the generated pages; theme files stay."""
        assert self.out_dir is not None and self.session is not None
        docs_dir = os.path.abspath(config.docs_dir) + os.sep
        kept = [f for f in files if not os.path.abspath(f.abs_src_path or "/").startswith(docs_dir)]
        out_dir = str(self.out_dir)
        for rel in self.session.result.pages:  # type: ignore[attr-defined]
            kept.append(File.generated(config, rel, abs_src_path=f"{out_dir}{os.sep}{rel}"))
        files = Files(kept)
        if _command != "serve" and hasattr(self.session.pages, "reuse_static"):
            self.session.pages.reuse_static(files, config)  # type: ignore[attr-defined]
        return files


def use_installed_theme(config: MkDocsConfig) -> None:
    """The installed pipeline's theme overrides (audience selector, banners) sit right below the
    publication's own `custom_dir`, if it names one, and above Material: a new publication's
    mkdocs.yml needs no path into the installed package."""
    dirs = config.theme.dirs
    if any(os.path.realpath(d) == str(THEME_DIR) for d in dirs):
        return
    dirs.insert(1 if config.theme.custom_dir else 0, str(THEME_DIR))


def ensure_plugin(config: MkDocsConfig) -> GuidelinePlugin:
    """The installed pipeline's plugin, in a configuration that may not name it (a pull
    request's mkdocs.yml could drop it): a build without it would publish nothing reviewed."""
    for name, plugin in config.plugins.items():
        if isinstance(plugin, GuidelinePlugin):
            return plugin
        if name == NAME:
            raise PluginError(f"`{NAME}` in mkdocs.yml is not this pipeline's plugin")
    plugin = GuidelinePlugin()
    plugin.load_config({}, config.config_file_path)
    config.plugins[NAME] = plugin
    return plugin
