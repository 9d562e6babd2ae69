"""Reusing the HTML of article pages whose inputs did not change (incremental builds, preview).

MkDocs renders every page on every build. Its `--dirty` path, as MkDocs decides it, cannot be
used: it decides by file times, not by what a page is made of; the pages it skips never reach
the search plugin (Material then merges the previous index by URL prefix and appends, so the
index is in another order, and a page whose URL starts another's loses that page's entries);
and a skipped page keeps whatever nav it had. Its output is not what a full build makes.

Instead the plugin keys each page by everything its HTML is made of: the generated Markdown, the
page's path and what every page shares (`context_digest`: mkdocs.yml, the settings the plugin
sets, the nav, the theme, the pipeline's code and every installed package; and the nav pages'
front matter). When the key is the one recorded with the page's previous HTML, the page is
reused:
- `pipeline build` runs MkDocs on its dirty-build path into a new, empty folder, with each
  page's `File.is_modified` answered by its key: a reused page outside the nav is neither read,
  converted nor templated. Its previous file is linked into the new site and its previous search
  entries put in the index at its place (`PageCache.catch_up`), so that the index, the sitemap
  and every file are what a full build makes;
- a reused page in the nav is still read (every page's nav shows its title and metadata, whose
  front matter is part of what every page shares), but not converted or templated, and neither
  is any reused page of `pipeline serve`.

Where the previous HTML comes from: `pipeline build` links it from the site it replaces, each file
checked against the stat or digest recorded when it was written (a changed file is built again;
see `SiteStore`);
`pipeline serve` keeps it in memory, since `mkdocs serve` empties its folder before each build."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from jinja2 import ChoiceLoader, DictLoader
from mkdocs.structure.pages import Page

from pipeline import cache, paths
from pipeline.outputs import page_digest as _sha

REUSED_TEMPLATE = "pipeline-reused-page.html"  # renders nothing; the previous HTML replaces it
VERSION = 3


def material_search(config) -> object | None:  # noqa: ANN001 - MkDocs' config
    """The configuration's one Material search plugin, or None."""
    from material.plugins.search.plugin import SearchPlugin

    searches = [p for p in config.plugins.values() if isinstance(p, SearchPlugin)]
    return searches[0] if len(searches) == 1 else None


def tree_digest(folder: Path) -> str:
    """Every file under a folder, by path and content (caches and compiled files aside)."""
    hashed = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            hashed.update(path.relative_to(folder).as_posix().encode() + b"\0")
            hashed.update(_sha(path.read_bytes()).encode())
    return hashed.hexdigest()


def context_digest(config, serving: bool) -> str | None:  # noqa: ANN001 - an MkDocsConfig
    """What every page's HTML is made of besides its own Markdown; None when it cannot be
    known (a configuration that inherits another file or reads the environment)."""
    from pipeline.render import code_digest
    from pipeline.stamp import packages_digest

    source = Path(config.config_file_path).read_bytes()
    if b"INHERIT" in source or b"!ENV" in source:
        return None
    custom = config.theme.custom_dir
    return _sha(
        json.dumps(
            {
                "mkdocs.yml": _sha(source),
                "set": [config.site_name, config.site_url, config.site_description],
                "nav": config.nav,
                "plugins": list(config.plugins),
                "theme": tree_digest(Path(custom)) if custom else None,
                "packages": packages_digest(),
                "code": code_digest(),
                "serving": serving,
            },
            sort_keys=True,
            default=str,
        ).encode()
    )


@dataclass
class Previous:
    """A page's previous HTML (or the file that holds it) and the search entries it gave."""

    entries: list
    html: str | None = None
    file: Path | None = None  # the page in the replaced site, verified

    def text(self) -> str:
        if self.html is None:
            assert self.file is not None
            self.html = self.file.read_bytes().decode("utf-8")
        return self.html


class MemoryStore:
    """`mkdocs serve`: the previous build's pages, kept by the plugin between rebuilds."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, str, list]] = {}  # src_uri -> (key, html, entries)
        self.pending: dict[str, tuple[str, str, list]] = {}

    def get(self, src_uri: str, dest_uri: str, key: str) -> Previous | None:
        found = self.pages.get(src_uri)
        return Previous(found[2], html=found[1]) if found and found[0] == key else None

    def put(self, src_uri: str, dest_uri: str, key: str, html: str, entries: list) -> None:
        self.pending[src_uri] = (key, html, entries)

    def keep(self, src_uri: str) -> None:
        self.pending[src_uri] = self.pages[src_uri]

    def link(self, previous: Previous, dest: str) -> bool:
        return False  # `mkdocs serve` keeps pages in memory: MkDocs writes them

    def commit(self) -> None:
        """The build is complete: its pages are the previous ones of the next."""
        self.pages, self.pending = self.pending, {}

    def discard(self) -> None:
        self.pending = {}


Stat = list[int]  # device, inode, size, modification and change times (nanoseconds)


def _stat(path: str, follow: bool = False) -> Stat | None:
    try:
        info = os.stat(path, follow_symlinks=follow)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def _link(source: str, dest: str) -> bool:
    """`dest` becomes another name of the file `source` (a hard link); False where the
    filesystem cannot (then the caller writes a copy)."""
    try:
        os.link(source, dest, follow_symlinks=False)
    except FileNotFoundError:
        try:
            os.makedirs(os.path.dirname(dest), exist_ok=True)  # its folder, once
            os.link(source, dest, follow_symlinks=False)
        except OSError:
            return False
    except OSError:
        return False
    return True


class SiteStore:
    """`pipeline build`: the previous HTML is the site being replaced; a manifest beside the
    generated pages records each page's key, the digest of its HTML and its search entries.
    The manifest is pickled, sealed with this user's cache key (`cache.write_sealed`), so
    that one this machine did not write is never read; without a key nothing is reused.

    A reused page, and a static file whose source is unchanged, goes into the new site as a
    hard link to the replaced site's file, rather than written again: the new site is complete
    and separate once the old one is removed (right after the swap), and removing the old one
    frees no data. Whether the replaced site's file is still what was recorded is decided by
    its stat (device, inode, size, modification and change times), as Git's index does, when
    its modification time was at least `RACY_NS` older than the record; otherwise by reading
    it (a page, against its digest) or not at all (a static file is copied again). Every write
    sets the modification time to the clock's now, so a file written since its record has
    another; a link changes only the change time, which is recorded after linking."""

    def __init__(self, manifest: Path, previous_site: Path | None) -> None:
        self.manifest = manifest
        self.previous_site = previous_site
        self.recorded = 0
        self.old: dict[str, dict] = {}
        self.old_files: dict[str, dict] = {}
        if previous_site is not None:
            self._read()
        self.new: dict[str, dict] = {}
        self.new_files: dict[str, dict] = {}
        self.recycled = False  # the build goes into an emptied tree of folders (build.Sweeper)

    def _read(self) -> None:
        data = cache.read_sealed(self.manifest, self.manifest.name)  # sealed as its own name
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return
        if data.get("site") != str(self.previous_site):
            return  # recorded for another site than the one being replaced
        pages, files = data.get("pages"), data.get("files")
        self.old = pages if isinstance(pages, dict) else {}
        self.old_files = files if isinstance(files, dict) else {}
        recorded = data.get("recorded")
        self.recorded = recorded if isinstance(recorded, int) else 0

    def _intact(self, dest_uri: str, recorded: object) -> bool:
        """The replaced site's file is, by its stat, the one recorded (see the class)."""
        from pipeline.stamp import RACY_NS

        if not isinstance(recorded, list) or len(recorded) != 5:
            return False
        if recorded[3] >= self.recorded - RACY_NS:
            return False  # written too close to the record for its times to tell
        assert self.previous_site is not None
        return _stat(os.path.join(self.previous_site, dest_uri)) == recorded

    def get(self, src_uri: str, dest_uri: str, key: str) -> Previous | None:
        old = self.old.get(src_uri)
        if not isinstance(old, dict) or old.get("key") != key or old.get("dest") != dest_uri:
            return None
        if not isinstance(old.get("entries"), bytes):
            return None
        assert self.previous_site is not None
        path = self.previous_site / dest_uri
        if self._intact(dest_uri, old.get("stat")):
            return Previous(cache.load(old["entries"]), file=path)  # sealed by this machine
        try:
            data = paths.read_unlinked(path)  # a link is not the file this machine wrote
        except OSError:
            return None
        if _sha(data) != old.get("html"):
            return None  # the file is not the one recorded: build the page again
        return Previous(cache.load(old["entries"]), html=data.decode("utf-8"), file=path)

    def put(self, src_uri: str, dest_uri: str, key: str, html: str, entries: list) -> None:
        data = html.encode("utf-8", errors="xmlcharrefreplace")  # as MkDocs writes it
        # Pickled once: an unchanged page's entries are copied as bytes from build to build.
        blob = cache.dump(entries)
        self.new[src_uri] = {"key": key, "dest": dest_uri, "html": _sha(data), "entries": blob}

    def keep(self, src_uri: str) -> None:
        self.new[src_uri] = dict(self.old[src_uri])

    def link(self, previous: Previous, dest: str) -> bool:
        """The reused page goes into the new site as a link to its verified previous file."""
        return previous.file is not None and _link(str(previous.file), dest)

    def reuse_static(self, files, config) -> None:  # noqa: ANN001 - MkDocs' Files, config
        """Static files whose source is unchanged since the replaced site copied it are linked
        from there (see the class), the others copied by MkDocs as ever. In an emptied tree
        of folders, a folder where this build writes a file goes first."""
        site_dir = config.site_dir
        if self.recycled:
            dests = [file.abs_dest_path for file in files]
            fixed = [*config.theme.static_templates, "sitemap.xml.gz", "search/search_index.json"]
            for dest in dests + [os.path.join(site_dir, name) for name in fixed]:
                if os.path.isdir(dest) and not os.path.islink(dest):
                    shutil.rmtree(dest)  # folders only (build.Sweeper checked)
        for file in files:
            if file.is_documentation_page() or vars(file).get("_content") is not None:
                continue
            if file.abs_src_path is None:
                continue
            file.copy_file = self._copier(file, file.copy_file)

    def _copier(self, file, copy):  # noqa: ANN001, ANN202
        def copy_file(dirty: bool = False) -> None:
            from pipeline.stamp import RACY_NS

            dest = file.dest_uri
            source = _stat(file.abs_src_path, follow=True)
            old = self.old_files.get(dest)
            same_source = (
                source is not None
                and isinstance(old, dict)
                and old.get("src") == file.abs_src_path
                and old.get("src_stat") == source
                and source[3] < self.recorded - RACY_NS
            )
            if same_source and self._intact(dest, old.get("stat")):
                assert self.previous_site is not None
                if _link(os.path.join(self.previous_site, dest), file.abs_dest_path):
                    self.new_files[dest] = {"src": file.abs_src_path, "src_stat": source}
                    return
            copy(False)  # the new build's folder is empty: file times say nothing here
            if source is not None:  # its stat before the copy: a later change shows
                self.new_files[dest] = {"src": file.abs_src_path, "src_stat": source}

        return copy_file

    def discard(self) -> None:
        self.new = {}
        self.new_files = {}

    def commit_for(self, site: Path) -> None:
        """Record the pages and static files of the new site (called once it is complete),
        with their stat as they are now."""
        recorded = time.time_ns()
        for entry in self.new.values():
            entry["stat"] = _stat(os.path.join(site, entry["dest"]))
        for dest, entry in self.new_files.items():
            entry["stat"] = _stat(os.path.join(site, dest))
        data = {
            "version": VERSION,
            "site": str(site),
            "recorded": recorded,
            "pages": self.new,
            "files": self.new_files,
        }
        cache.write_sealed(self.manifest, self.manifest.name, data)

    def written(self) -> dict[str, str]:
        """The digest of each page as this build wrote it, by path in the site (stamp.record
        spares reading them back)."""
        return {entry["dest"]: entry["html"] for entry in self.new.values()}


class PageCache:
    """One build's reuse of unchanged pages; the plugin forwards MkDocs' events here.

    With `skip` (a `pipeline build`, which MkDocs runs on its dirty-build path), a reused page
    outside the nav is left out of MkDocs' reading and templating altogether: its file's
    `is_modified` says no, decided by the page's key instead of file times. Its previous file
    is linked into the new site, and its search entries put in at its place, when MkDocs
    reaches the next page it builds. Other reused pages are read, but neither converted nor
    templated (`_stub`, `_keep_metadata`)."""

    def __init__(
        self,
        store: MemoryStore | SiteStore,
        shard=None,  # noqa: ANN001
        skip: bool = False,
        digests: dict[str, str] | None = None,
    ) -> None:
        self.store = store
        # The digest of each generated page's text, as the renderer just wrote or verified it.
        self.digests = digests or {}
        self.shard = shard  # a shards.Shard: other shards' article pages are not built
        self.skip = skip and shard is None and isinstance(store, SiteStore)
        self.context: str | None = None
        self.entries: list | None = None  # the search index being built, or None: no reuse
        self.seen = 0
        self.reused: dict[str, Previous] = {}
        self.keys: dict[str, str] = {}
        self.pages: set[str] = set()
        self.skipped: set[str] = set()
        self.nav_pages: set[str] = set()
        self.order: list[tuple[str, str]] = []  # (source, destination) of every page, in order
        self.position: dict[str, int] = {}  # source -> its place in `order`
        self.next = 0  # the first page of `order` not yet built or put in
        self.left_out: dict[str, Previous] = {}  # reused pages MkDocs does not see
        self.site_dir = ""

    def start(self, config, nav, files) -> None:  # noqa: ANN001 - MkDocs' config, nav, files
        """At `on_nav`: everything the pages share is known, and so is each page's key."""
        self.seen, self.reused, self.keys, self.pages = 0, {}, {}, set()
        # Pages in the nav are always built: every page's nav shows their title and metadata.
        self.nav_pages = {page.file.src_uri for page in nav.pages}
        self.skipped, self.left_out, self.next = set(), {}, 0
        search = material_search(config)
        other = [n for n in config.plugins if n.split("/")[-1] == "search"]
        self.entries = None
        if search is not None and len(other) == 1:
            index = getattr(search, "search_index", None)
            self.entries = index.entries if index is not None else []
        elif not other:
            self.entries = []
        # Another search plugin keeps its index in a form this cache does not know: no reuse.
        serving = isinstance(self.store, MemoryStore)
        context = context_digest(config, serving) if self.entries is not None else None
        if context is not None:
            # Every page's nav shows the nav pages' metadata (Material: icon, subtitle, status).
            metadata = _nav_metadata(nav.pages)
            context = None if metadata is None else _sha(f"{context}\0".encode() + metadata)
        self.context = context
        self.site_dir = config.site_dir
        pages = files.documentation_pages()
        self.order = [(file.src_uri, file.dest_uri) for file in pages]
        self.position = {src: i for i, (src, _) in enumerate(self.order)}
        for file in pages:
            if self.skip:
                file.is_modified = _yes  # unless left out below; never by file times
            self._plan(file)

    def _plan(self, file) -> None:  # noqa: ANN001 - MkDocs' File
        if self.context is None or file.abs_src_path is None:
            if self.shard is not None:
                raise RuntimeError("a shard cannot be built: its pages' inputs are unknown")
            return
        src, dest = file.src_uri, file.dest_uri
        if self.shard is not None and self.shard.outside(src):
            self.skipped.add(src)
            return
        source = self.digests.get(src)
        if source is None:
            with open(file.abs_src_path, "rb") as handle:
                source = _sha(handle.read())
        key = _sha(f"{self.context}\0{src}\0{dest}\0{source}".encode())
        self.keys[src] = key
        previous = self.store.get(src, dest, key)
        if previous is None:
            return
        self.reused[src] = previous
        if self.skip and src not in self.nav_pages:
            self.left_out[src] = previous
            file.is_modified = _no  # MkDocs' dirty path neither reads nor templates it

    def prepare(self, page: Page) -> None:
        """At `on_pre_page`: a page whose key is unchanged is not converted or templated."""
        src = page.file.src_uri
        if src in self.skipped:
            _stub(page)
        elif src in self.reused and src in self.nav_pages:
            _keep_metadata(page)  # read as ever: its title and metadata are in every nav
        elif src in self.reused:
            _stub(page)

    def env(self, env):  # noqa: ANN001, ANN201 - a jinja2 Environment
        env.loader = ChoiceLoader([DictLoader({REUSED_TEMPLATE: ""}), env.loader])
        return env

    def catch_up(self, until: str | None) -> None:
        """Before MkDocs builds page `until` (at `on_page_context`, ahead of the search
        plugin), or at the end (None): the pages left out before it, in order, go in."""
        if self.entries is None or not self.left_out:
            return
        end = len(self.order) if until is None else self.position.get(until)
        if end is None:
            return
        while self.next < end:
            src, dest = self.order[self.next]
            self.next += 1
            previous = self.left_out.get(src)
            if previous is None:
                continue
            self.pages.add(src)
            self.entries.extend(previous.entries)
            target = os.path.join(self.site_dir, dest)
            if not self.store.link(previous, target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as handle:
                    handle.write(previous.text().encode("utf-8", errors="xmlcharrefreplace"))
            self.store.keep(src)
        self.seen = len(self.entries)

    def page_done(self, output: str, page: Page) -> str:
        """At `on_post_page` (after every other plugin): the page's HTML and search entries."""
        if self.entries is None:
            return output
        src = page.file.src_uri
        self.pages.add(src)
        if self.position.get(src) == self.next:
            self.next += 1
        if self.shard is not None:
            self.shard.order.append(src)
        previous = self.reused.get(src)
        if src in self.skipped:  # another shard's page: neither written nor indexed here
            del self.entries[self.seen :]
            output = ""
        elif previous is not None:
            del self.entries[self.seen :]
            self.entries.extend(previous.entries)
            # Linked into the new site, the page is not written by MkDocs (empty output).
            output = "" if self.store.link(previous, page.file.abs_dest_path) else previous.text()
            self.store.keep(src)
        elif src in self.keys and output.strip():
            entries = json.loads(json.dumps(self.entries[self.seen :], default=str))
            self.store.put(src, page.file.dest_uri, self.keys[src], output, entries)
        if self.shard is not None and src not in self.skipped:
            self.shard.entries[src] = json.loads(json.dumps(self.entries[self.seen :], default=str))
        self.seen = len(self.entries)
        return output


def _no() -> bool:
    return False


def _yes() -> bool:
    return True


def _stub(page: Page) -> None:
    """The page is neither converted nor templated: its HTML comes from elsewhere."""

    def read_source(config) -> None:  # noqa: ANN001
        page.markdown = ""
        page.meta = {"template": REUSED_TEMPLATE, "search": {"exclude": True}}

    def render(config, files) -> None:  # noqa: ANN001
        page.content = ""

    page.read_source = read_source  # type: ignore[method-assign]
    page.render = render  # type: ignore[method-assign]


def _keep_metadata(page: Page) -> None:
    """A nav page whose HTML comes from elsewhere: its source is read (its metadata and title
    are shown in every page's nav) but neither converted nor templated."""
    read = page.read_source

    def read_source(config) -> None:  # noqa: ANN001
        read(config)
        page.meta = {**page.meta, "template": REUSED_TEMPLATE, "search": {"exclude": True}}

    def render(config, files) -> None:  # noqa: ANN001
        page.content = ""

    page.read_source = read_source  # type: ignore[method-assign]
    page.render = render  # type: ignore[method-assign]


_FRONT_MATTER = re.compile(rb"\A-{3}[ \t]*\r?\n(.*?\r?\n)(?:\.{3}|-{3})[ \t]*\r?\n", re.DOTALL)


def _nav_metadata(pages) -> bytes | None:  # noqa: ANN001 - MkDocs' nav pages
    """The front matter of every page in the nav, by path; None when one cannot be read."""
    found = []
    for page in pages:
        path = page.file.abs_src_path
        if path is None:
            return None
        try:
            with open(path, "rb") as handle:
                head = handle.read()
        except OSError:
            return None
        match = _FRONT_MATTER.match(head)
        meta = match.group(1).decode("utf-8", "replace") if match else ""
        found.append([page.file.src_uri, meta])
    return json.dumps(found).encode()


def previous_site(site: Path) -> Path | None:
    """The complete build `site` points at (see build.py), or None."""
    if not site.is_symlink():
        return None
    target = (site.parent / os.readlink(site)).resolve()
    return target if target.is_dir() else None
