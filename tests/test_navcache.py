"""Material's nav is rendered once per folder for the pages outside it (pipeline/navcache.py):
every site is byte for byte the site built without the cache, whatever the nav's shape and
features; an override of the nav's templates turns it off; a rebuild shows the new nav."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import yaml
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import get_files
from mkdocs.structure.nav import Section, get_navigation
from mkdocs.utils import normalize_url

from benchmarks.generate import generate
from pipeline import navcache, plugin
from pipeline.render import topic_label
from pipeline.serving import IncrementalBuilder
from tests.conftest import run_cli
from tests.test_incremental_build import _serve_build, tree

FEATURES = [
    ["navigation.indexes"],
    ["toc.integrate"],
    ["navigation.tabs"],
    ["navigation.sections"],
    ["navigation.tabs", "navigation.sections", "navigation.indexes", "toc.integrate",
     "navigation.expand", "navigation.prune"],
]  # fmt: skip


@pytest.fixture(autouse=True)
def fixed_build_date(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the sitemap's date
    monkeypatch.delenv("PIPELINE_NO_NAVCACHE", raising=False)


@pytest.fixture
def installed(monkeypatch) -> list:
    """What each build's `navcache.install` gave: its NavCache, or None when it stayed off."""
    found: list = []
    real = navcache.install

    def spy(env, config, nav):  # noqa: ANN001, ANN202
        found.append(real(env, config, nav))
        return found[-1]

    monkeypatch.setattr(navcache, "install", spy)
    return found


def _differences(one: dict[str, bytes], other: dict[str, bytes]) -> list[str]:
    return sorted(set(one) ^ set(other)) + [n for n in one if n in other and one[n] != other[n]]


# --- a plain MkDocs site: nested sections, links, pages outside the nav at every depth --------

IN_NAV = {
    "index.md": "---\nicon: material/home\n---\n# Home\n",
    "a/index.md": "# A\n",
    "a/one.md": "---\nsubtitle: The first\nstatus: new\n---\n# One\n\n## Part\n",
    "a/b/index.md": "# B\n",
    "a/b/two.md": "# Two\n\n## Part\n\n### Detail\n",
    "a/b/c/deep.md": "# Deep\n",
    "v1.2/page.md": "# In a dotted folder\n",
}
OUTSIDE = [
    "top.md", "other.md", "a/extra1.md", "a/extra2.md", "a/one/x.md", "a/one/y.md",
    "a/b/extra3.md", "a/b/extra4.md", "a/b/c.md", "a/b/c/extra5.md", "a/b/c/extra6.md",
    "notes/n1.md", "notes/n2.md", "notes/sub/n3.md", "notes/sub/n4.md",
    "deep/er/still/p1.md", "deep/er/still/p2.md", "v1.2/other.md", "v1.2/more.md",
]  # fmt: skip
NAV = [
    {"Home": "index.md"},
    {"Section A": [
        "a/index.md",
        {"One": "a/one.md"},
        {"Section B": ["a/b/index.md", "a/b/two.md", {"Section C": ["a/b/c/deep.md"]}]},
    ]},
    {"Dotted": "v1.2/page.md"},
    {"Elsewhere": "https://example.org/elsewhere/"},
    {"Up": "../outside/"},
]  # fmt: skip


class InstallNavCache(BasePlugin):
    """What the guideline plugin does for the nav cache, in a site without the pipeline."""

    def on_nav(self, nav, *, config, files):  # noqa: ANN001, ANN201
        self.nav = nav
        return nav

    def on_env(self, env, *, config, files):  # noqa: ANN001, ANN201
        navcache.install(env, config, self.nav)
        return env


def _plain_site(root: Path, features: list[str], directory_urls: bool = True, **extra) -> Path:  # noqa: ANN003
    for rel, text in {**IN_NAV, **{rel: f"# {rel}\n\nText.\n" for rel in OUTSIDE}}.items():
        (root / "docs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / rel).write_text(text, encoding="utf-8")
    config = {
        "site_name": "Nav cache test",
        "use_directory_urls": directory_urls,
        "repo_url": "https://github.com/example/guidelines",
        "theme": {"name": "material", "features": features, **extra.pop("theme", {})},
        "plugins": ["search"],
        "nav": NAV,
        **extra,
    }
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root / "mkdocs.yml"


def _plain_build(config_file: Path, site: Path, monkeypatch, cached: bool) -> dict[str, bytes]:  # noqa: ANN001
    name = f"{InstallNavCache.__module__}.{InstallNavCache.__qualname__}"
    monkeypatch.setattr(navcache, "KNOWN_PLUGINS", {*navcache.KNOWN_PLUGINS, name})
    monkeypatch.setenv("PIPELINE_NO_NAVCACHE", "0" if cached else "1")
    config = load_config(str(config_file), site_dir=str(site))
    extra = InstallNavCache()
    extra.load_config({}, config.config_file_path)
    config.plugins["navcache-test"] = extra
    mkdocs_build(config)
    return tree(site)


@pytest.mark.parametrize("directory_urls", [True, False])
@pytest.mark.parametrize("features", FEATURES, ids=lambda f: "+".join(f))
def test_a_nested_nav_gives_the_same_site_with_and_without_the_cache(
    tmp_path: Path, monkeypatch, installed: list, features: list[str], directory_urls: bool
) -> None:
    extra = {"extra": {"homepage": "a/one/"}} if "navigation.tabs" in features else {}
    if "navigation.indexes" in features:
        extra["theme"] = {"logo": "assets/logo.png"}
    config = _plain_site(tmp_path, features, directory_urls, **extra)
    cached = _plain_build(config, tmp_path / "cached", monkeypatch, cached=True)
    plain = _plain_build(config, tmp_path / "plain", monkeypatch, cached=False)
    cache = installed[0]
    assert cache is not None and installed[1:] == [None]
    assert cache.reused > 0 and cache.rendered < len(OUTSIDE)
    assert len(plain) > len(IN_NAV) + len(OUTSIDE)
    assert _differences(cached, plain) == []


def test_pages_sharing_a_key_get_the_same_link_to_every_target() -> None:
    """The claim `navcache.where` rests on, against MkDocs' own relative links."""
    rng = random.Random(11)
    names = ["a", "b", "c", "v1.2", "x.html", ".."]
    for _ in range(300):

        def url() -> str:
            parts = [rng.choice(names) for _ in range(rng.randint(0, 4))]
            return "/".join(parts) + rng.choice(["", "/", "/index.html"])

        targets = [url() for _ in range(rng.randint(0, 5))] + [""]
        under = navcache.prefixes(targets)
        pages = [url() for _ in range(30)]
        by_key: dict[tuple, list[str]] = {}
        for target in targets:
            for page_url in pages:
                page = type("P", (), {"url": page_url})()
                link = normalize_url(target, page=page)  # type: ignore[arg-type]
                key = (navcache.where(page_url, under), target)
                by_key.setdefault(key, []).append(link)
        assert all(len(set(links)) == 1 for links in by_key.values())


@pytest.mark.parametrize(
    ("override", "config"),
    [
        ("partials/nav.html", {}),
        ("partials/nav-item.html", {}),
        ("partials/logo.html", {}),
        (".icons/material/library.svg", {}),
        (".icons/material/home.svg", {}),  # a nav page's icon
        ("partials/source.html", {}),  # the site names a repository
        ("partials/toc.html", {"features": ["toc.integrate"]}),
        ("partials/toc-item.html", {"features": ["toc.integrate"]}),
    ],
)
def test_an_override_of_any_template_the_nav_shows_turns_it_off(
    tmp_path: Path, override: str, config: dict
) -> None:
    config_file = _plain_site(tmp_path, config.get("features", []), theme={"custom_dir": "over"})
    (tmp_path / "over").mkdir()
    mkdocs = load_config(str(config_file))
    env = mkdocs.theme.get_env()
    nav = get_navigation(get_files(mkdocs), mkdocs)
    for page in nav.pages:
        page.read_source(mkdocs)  # its metadata: a nav page's icon
    assert navcache.why_not(env, mkdocs, nav) is None  # Material's own: on
    (tmp_path / "over" / override).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "over" / override).write_text("{{ page.url }}", encoding="utf-8")
    env = mkdocs.theme.get_env()
    assert override in (navcache.why_not(env, mkdocs, nav) or "")


def test_what_it_cannot_vouch_for_turns_it_off(tmp_path: Path, monkeypatch) -> None:
    mkdocs = load_config(str(_plain_site(tmp_path, [])))
    nav = get_navigation(get_files(mkdocs), mkdocs)
    env = mkdocs.theme.get_env()
    assert navcache.why_not(env, mkdocs, nav) is None
    monkeypatch.setitem(navcache.REVIEWED, "partials/nav.html", "0" * 64)  # another version
    assert "not the reviewed version" in (navcache.why_not(env, mkdocs, nav) or "")
    monkeypatch.undo()
    mkdocs.plugins["other"] = InstallNavCache()  # a plugin it does not know
    assert "InstallNavCache" in (navcache.why_not(env, mkdocs, nav) or "")
    del mkdocs.plugins["other"]
    env.filters["url"] = lambda value: value
    assert "url" in (navcache.why_not(env, mkdocs, nav) or "")


# --- the pipeline: a generated publication, real `pipeline build` -----------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """120 approved articles in 30 topics: 30 entries in every page's nav."""
    return generate(tmp_path_factory.mktemp("gen") / "pub", 120, 120, approved_share=1.0, topics=30)


def _copy(source: Path, target: Path, features: list[str] | None = None) -> Path:
    shutil.copytree(source, target, symlinks=True)
    if features is not None:
        config = target / "mkdocs.yml"
        text = config.read_text(encoding="utf-8")
        start = text.index("  features:\n")
        end = text.index("\n\n", start)
        listed = "".join(f"    - {name}\n" for name in features)
        config.write_text(text[:start] + "  features:\n" + listed + text[end + 1 :], "utf-8")
    return target


def _pipeline_site(root: Path, monkeypatch, cached: bool, *args: str) -> dict[str, bytes]:  # noqa: ANN001
    monkeypatch.setenv("PIPELINE_NO_NAVCACHE", "0" if cached else "1")
    run = run_cli(root, "build", *args)
    assert run.exit_code == 0, run.output + run.stderr
    return tree(root / "site")


def test_a_generated_publication_builds_the_same_site_with_and_without_the_cache(
    generated: Path, tmp_path: Path, monkeypatch, installed: list
) -> None:
    cached = _pipeline_site(_copy(generated, tmp_path / "cached"), monkeypatch, True)
    plain = _pipeline_site(_copy(generated, tmp_path / "plain"), monkeypatch, False)
    cache = installed[0]
    assert cache is not None and installed[1:] == [None]
    assert (cache.rendered, cache.reused) == (30, 90)  # one nav per topic folder
    pages = [name for name in plain if name.startswith("topic-") and name.endswith("index.html")]
    assert len(pages) == 150
    assert _differences(cached, plain) == []


@pytest.mark.parametrize("features", FEATURES, ids=lambda f: "+".join(f))
def test_the_theme_features_give_the_same_site_with_and_without_the_cache(
    generated: Path, tmp_path: Path, monkeypatch, installed: list, features: list[str]
) -> None:
    cached = _pipeline_site(_copy(generated, tmp_path / "cached", features), monkeypatch, True)
    plain = _pipeline_site(_copy(generated, tmp_path / "plain", features), monkeypatch, False)
    assert installed[0] is not None and installed[0].reused == 90
    page = cached["topic-00/article-00000/index.html"].decode("utf-8")
    assert ("md-nav--integrated" in page) == ("toc.integrate" in features)
    assert ("md-tabs" in page) == ("navigation.tabs" in features)
    assert _differences(cached, plain) == []


def test_a_publications_nav_override_turns_the_cache_off_and_shows(
    publication: Path, monkeypatch, installed: list
) -> None:
    override = publication / "overrides/partials/nav.html"
    override.parent.mkdir(parents=True)
    override.write_text('<nav class="md-nav" data-here="{{ page.url }}"></nav>', "utf-8")
    config = publication / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("custom_dir: pipeline/theme", "custom_dir: overrides"), "utf-8")
    site = _pipeline_site(publication, monkeypatch, True)
    assert installed == [None]
    articles = [n for n in site if n.count("/") == 2 and n.endswith("/index.html")]
    articles = [name for name in articles if not name.startswith(("assets/", "search/"))]
    assert len(articles) >= 4
    for name in articles:
        url = name[: -len("index.html")]
        assert f'data-here="{url}"' in site[name].decode("utf-8")
    assert "gp-article" in site[articles[0]].decode("utf-8")  # the pipeline's theme still there


# --- rebuilds: `mkdocs serve` and `pipeline serve` ------------------------------------------------

NEW_TOPIC = "content/zz-new-topic/acute-cystitis.md"


def _add_topic(root: Path) -> None:
    source = root / "content/infectious-disease/acute-cystitis.md"  # under review in the copy
    (root / NEW_TOPIC).parent.mkdir()
    shutil.copy(source, root / NEW_TOPIC)


def _shows_new_topic(html: bytes) -> bool:
    return topic_label("zz-new-topic") in html.decode("utf-8")  # only the nav names it


def test_a_mkdocs_serve_rebuild_shows_the_changed_nav(
    publication: Path, tmp_path: Path, monkeypatch, installed: list
) -> None:
    monkeypatch.setattr(plugin, "_command", plugin._command)  # serve's mode ends with the test
    memory = _serve_build(publication, tmp_path / "first", None)
    page = "endocrinology/type-2-diabetes-initial-therapy/index.html"
    assert not _shows_new_topic(tree(tmp_path / "first")[page])
    _add_topic(publication)
    _serve_build(publication, tmp_path / "second", memory)
    second = tree(tmp_path / "second")
    assert _shows_new_topic(second[page])
    assert len(installed) == 2 and all(c is not None and c.reused for c in installed)
    _serve_build(publication, tmp_path / "fresh", None)
    assert _differences(second, tree(tmp_path / "fresh")) == []


def test_a_pipeline_serve_rebuild_shows_the_changed_nav(
    publication: Path, tmp_path: Path, monkeypatch, installed: list
) -> None:
    monkeypatch.setattr(plugin, "_command", "serve")
    site = tmp_path / "served"
    site.mkdir()
    builder = IncrementalBuilder(publication, str(site), "http://127.0.0.1:8000/")
    builder.full()
    page = "endocrinology/type-2-diabetes-initial-therapy/index.html"
    assert not _shows_new_topic((site / page).read_bytes())
    _add_topic(publication)
    builder.rebuild()
    assert builder.full_builds == 2
    assert _shows_new_topic((site / page).read_bytes())
    assert len(installed) == 2 and all(c is not None and c.reused for c in installed)


def test_an_incremental_rebuild_makes_the_navs_of_the_kept_environment_again(
    publication: Path, tmp_path: Path, monkeypatch, installed: list
) -> None:
    """`pipeline serve` builds changed pages with the full build's environment: a nav that
    changed in it (which the incremental path otherwise rebuilds fully) must still show."""
    monkeypatch.setattr(plugin, "_command", "serve")
    site = tmp_path / "served"
    site.mkdir()
    builder = IncrementalBuilder(publication, str(site), "http://127.0.0.1:8000/")
    builder.full()
    assert installed[0] is not None and installed[0].texts
    recorder = builder.recorder
    assert recorder is not None and builder.config is not None
    (topics,) = [item for item in recorder.nav.items if isinstance(item, Section)]
    topics.title = "Subjects of the guidance"
    builder._build_pages(
        builder.config, recorder, ["endocrinology/type-2-diabetes-initial-therapy.md"]
    )
    page = (site / "endocrinology/type-2-diabetes-initial-therapy/index.html").read_text("utf-8")
    assert "Subjects of the guidance" in page
