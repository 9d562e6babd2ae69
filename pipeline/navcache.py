"""Material renders the whole nav (`partials/nav.html`) into every page: one entry per topic,
so a publication of N articles pays N times a nav that grows with N. A page outside the nav (an
article) shows it exactly as every page beside it does: no entry active, each link relative to
the page's folder. So it is rendered once per key (below) and the text reused, byte for byte.

What Material's nav templates (the reviewed versions in REVIEWED) read, and how the key covers
it, for a page that is not in the nav:
- `page`: compared with nav items (`nav_item == page`, `index == page`, `page in
  nav_item.pages`): never equal to a page outside the nav, and only MkDocs' own Page, Section and
  Link are allowed in the nav (no `pages`, no other `__eq__`); `page.toc` is only read for the
  page in the nav that is being shown;
- `page.url`, through the `url` filter: every link is made relative to the page's folder. The
  key is that folder when it is a prefix of a link's target, else the folder's parent (see
  `where`: then every relative link is the same for each folder beside it);
- active state (`nav_item.active`): must be off everywhere (an active item activates its
  parents, so the top level shows it), else the page is rendered normally;
- `features` and `lang` (the words the nav shows): in the key, as the page's context gives them;
- `config` and `nav` (site name, logo, icons, repository, homepage, every item's title, URL and
  metadata): the same objects for every page of one build (checked per page), and the cache
  lives in that build's Jinja environment: MkDocs makes a new one per build (`mkdocs serve` too);
  `pipeline serve`'s incremental rebuilds keep it and call `forget` first.

Anything else turns it off for the build (the pages are rendered as without it): another
template than Material's reviewed one for any of these (a publication's `custom_dir`, the
pipeline's own overrides), another `url` filter, an unknown plugin (it could change the nav or
the context between pages), or `PIPELINE_NO_NAVCACHE=1`."""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Callable, Iterator

from mkdocs.structure.nav import Link, Navigation, Section
from mkdocs.structure.pages import Page
from mkdocs.utils import _norm_parts
from mkdocs.utils.templates import url_filter

# Material's templates (mkdocs-material 9.8.1) whose output is described above, by the SHA-256 of
# their source: another version is not trusted until it is read again and listed here.
REVIEWED = {
    "partials/nav.html": "af33f6e032f632eb055c365eb5f1a975bf8456152fa768e69a1aad6d470b843f",
    "partials/nav-item.html": "89895208f22d68ce405a4bcb6649b9150eba5bbb04663a6cb3f93f02daf1d2f7",
    "partials/logo.html": "e0925ef6c190174a5162ed1ecc55295016dd8a7beec3018db3e04aac283a2dd9",
    "partials/source.html": "6847616d67be4920d39c278c2799bf20222bbc02ee2a8393aca85e3eaa518752",
    "partials/toc.html": "fde48f583563364b0e0e6865a5ab1e7060ec1826161f69f5cbee653e621b0f84",
    "partials/toc-item.html": "418f31ce2e6d559934f610084a5c8493f9618b96268909601552ac48aa0c15c2",
}

# Plugins known to leave the nav, the configuration and the template context alone while pages
# are built (module and class name): any other turns the cache off.
KNOWN_PLUGINS = {
    "material.plugins.search.plugin.SearchPlugin",
    "mkdocs.contrib.search.SearchPlugin",
    "pipeline.plugin.GuidelinePlugin",
    "pipeline.serving.Recorder",
}

_installed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # env -> its NavCache


def _material_templates() -> str:
    import material

    return os.path.join(os.path.dirname(material.__file__), "templates") + os.sep


def _folder(url: str) -> tuple[str, ...]:
    """The folder MkDocs makes a page's links relative to (`mkdocs.utils.get_relative_url`)."""
    dirname, _, basename = url.rpartition("/")
    return tuple(_norm_parts(dirname if "." in basename else url))


def prefixes(urls: list[str]) -> set[tuple[str, ...]]:
    """Every folder that is a prefix of one of these link targets, as MkDocs splits them."""
    return {
        tuple(parts[:k])
        for url in urls
        for parts in [_norm_parts(url)]
        for k in range(len(parts) + 1)
    }


def where(url: str, under: set[tuple[str, ...]]) -> tuple:
    """The part of a page's URL that its links to the targets of `under` depend on: two pages
    with the same answer get the same relative link to each. For a folder D that is no prefix
    of a target T, the common prefix of D and T is that of D's parent and T, so each link
    depends on D's parent alone."""
    folder = _folder(url)
    return ("at", folder) if folder in under else ("beside", folder[:-1])


def _items(items: list) -> Iterator[object]:
    for item in items:
        yield item
        yield from _items(getattr(item, "children", None) or [])


def _targets(config, nav: Navigation) -> list[str]:  # noqa: ANN001 - MkDocs' config
    """Every value the nav templates pass through the `url` filter (and a few more)."""
    found = ["", str(config.extra.get("homepage") or ""), str(config.theme.get("logo") or "")]
    if nav.homepage is not None:
        found.append(nav.homepage.url)
    found += [item.url for item in _items(nav.items) if isinstance(item, (Page, Link))]
    return found + [url.replace("\\", "/") for url in found]  # as `normalize_url` reads them


def _required(config, nav: Navigation) -> list[str]:  # noqa: ANN001
    """The templates the nav of a page outside it can include, Material's icons among them."""
    features = config.theme.get("features") or []
    names = ["partials/nav.html", "partials/nav-item.html", "partials/logo.html"]
    names += ["partials/source.html"] if config.repo_url else []
    names += ["partials/toc.html", "partials/toc-item.html"] if "toc.integrate" in features else []
    icons = config.theme.get("icon") or {}
    if not config.theme.get("logo"):
        names.append(f".icons/{icons.get('logo') or 'material/library'}.svg")
    if config.repo_url:
        names.append(f".icons/{icons.get('repo') or 'fontawesome/brands/git-alt'}.svg")
    for item in _items(nav.items):
        meta = getattr(item, "meta", None)
        if isinstance(meta, dict) and meta.get("icon"):
            names.append(f".icons/{meta['icon']}.svg")
    return names


def why_not(env, config, nav: Navigation | None) -> str | None:  # noqa: ANN001
    """Why the nav cannot be cached in this build, or None when it can."""
    if os.environ.get("PIPELINE_NO_NAVCACHE") == "1":
        return "PIPELINE_NO_NAVCACHE=1"
    if nav is None:
        return "no nav"
    for plugin in config.plugins.values():
        name = f"{type(plugin).__module__}.{type(plugin).__qualname__}"
        if name not in KNOWN_PLUGINS:
            return f"plugin {name}"
    if env.filters.get("url") is not url_filter:
        return "another `url` filter"
    if not all(type(item) in (Page, Section, Link) for item in _items(nav.items)):
        return "a nav item of another kind"
    material = _material_templates()
    for name in _required(config, nav):
        try:
            source, filename, _ = env.loader.get_source(env, name)
        except Exception:  # noqa: BLE001 - a template that cannot be found is not Material's
            return f"{name} not found"
        if not (filename or "").startswith(material):
            return f"{name} from {filename}"
        digest = REVIEWED.get(name)
        if digest is not None and hashlib.sha256(source.encode()).hexdigest() != digest:
            return f"{name} is not the reviewed version"
    return None


class NavCache:
    """One build's nav texts for the pages outside the nav, by key."""

    def __init__(self, config, nav: Navigation, render: Callable) -> None:  # noqa: ANN001
        self.config = config
        self.nav = nav
        self.render = render  # the template's own render function
        self.in_nav = {page.file.src_uri for page in nav.pages}
        self.under = prefixes(_targets(config, nav))
        self.words = ("nav", "source") if config.repo_url else ("nav",)
        self.texts: dict[tuple, str] = {}
        self.rendered = 0  # navs rendered for the cache (one per key)
        self.reused = 0

    def key(self, context) -> tuple | None:  # noqa: ANN001 - a jinja2 Context
        """None: render this page's nav as without the cache."""
        page = context.get("page")
        if type(page) is not Page or page.parent is not None or page.file.src_uri in self.in_nav:
            return None
        if context.get("nav") is not self.nav or context.get("config") is not self.config:
            return None
        if any(item.active for item in self.nav.items):
            return None
        features = context.get("features")
        if not isinstance(features, (list, tuple)) or not all(isinstance(f, str) for f in features):
            return None
        lang = context.get("lang")
        try:
            words = tuple(str(lang.t(word)) for word in self.words)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - rendered normally, it fails or shows the same way
            return None
        return (where(page.url, self.under), tuple(features), words)

    def __call__(self, context) -> Iterator[str]:  # noqa: ANN001
        key = self.key(context)
        if key is None:
            yield from self.render(context)
            return
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = "".join(self.render(context))
            self.rendered += 1
        else:
            self.reused += 1
        yield text

    def clear(self) -> None:
        self.texts = {}


def install(env, config, nav: Navigation | None) -> NavCache | None:  # noqa: ANN001
    """At `on_env`, once the environment's loader is final (Jinja keeps templates by loader):
    the nav template of this environment renders through a NavCache, where it may."""
    if why_not(env, config, nav) is not None:
        return None
    assert nav is not None
    template = env.get_template("partials/nav.html")
    cache = NavCache(config, nav, template.root_render_func)
    template.root_render_func = cache
    _installed[env] = cache
    return cache


def forget(env) -> None:  # noqa: ANN001
    """The nav texts kept in this environment are not reused (a live preview's next rebuild)."""
    cache = _installed.get(env)
    if cache is not None:
        cache.clear()
