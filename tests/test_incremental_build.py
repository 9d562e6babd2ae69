"""A build with nothing changed does nothing; any change to what a build reads makes it build;
an incremental build reuses unchanged pages and is byte for byte a full build."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline import build as build_mod
from pipeline import pagecache, stamp
from tests.conftest import copy_publication, replace_in, run_cli
from tests.test_check_cache import _Payload

UNAPPROVED = "content/endocrinology/hypothyroidism-levothyroxine.md"
APPROVED = "content/oncology/net-imaging.md"


@pytest.fixture(autouse=True)
def fixed_build_date(monkeypatch) -> None:
    # MkDocs dates the sitemap (and its gzip header) by the build day: one day for every build.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def tree(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def test_nothing_changed_loads_nothing_and_keeps_the_site(publication: Path, monkeypatch) -> None:
    build_mod.build(publication)
    target = (publication / "site").resolve()

    def no_loading(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a build with nothing changed loaded the publication")

    monkeypatch.setattr("pipeline.loader.load", no_loading)
    monkeypatch.setattr(build_mod, "_full_build", no_loading)
    project, result = build_mod.build(publication)
    assert project is None and result.nothing_changed and result.written == []
    assert (publication / "site").resolve() == target
    run = run_cli(publication, "build")
    assert run.exit_code == 0 and "Nothing changed" in run.output


def _edit_article(root: Path) -> None:
    replace_in(root, APPROVED, "---\n", "---\n# a comment no reader sees\n")


def _edit_bib(root: Path) -> None:
    bib = sorted((root / "references").glob("*.bib"))[0]
    bib.write_text(bib.read_text(encoding="utf-8") + "\n% a comment\n", encoding="utf-8")


def _edit_publication(root: Path) -> None:
    path = root / "content/publication.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")


def _edit_mkdocs(root: Path) -> None:
    path = root / "mkdocs.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")


def _new_commit(root: Path) -> None:
    git(root, "commit", "-q", "--allow-empty", "-m", "another commit")


def _tamper_site(root: Path) -> None:
    page = root / "site/index.html"
    data = page.read_bytes()
    page.write_bytes(data.replace(b"<title>", b"<titlf>", 1))


def _tamper_generated(root: Path) -> None:
    page = root / "build/production/index.md"
    page.write_bytes(page.read_bytes() + b"<!-- altered -->\n")


def _tamper_article_page(root: Path) -> None:
    # An article page, whose digest the stamp takes from the page cache's record: same size.
    page = root / "site/oncology/net-imaging/index.html"
    data = page.read_bytes()
    page.write_bytes(data.replace(b"<title>", b"<titlf>", 1))


def _remove_site_file(root: Path) -> None:
    (root / "site/sitemap.xml").unlink()


def _new_day(root: Path) -> None:
    pass  # see the monkeypatch below


CHANGES = {
    "article": _edit_article,
    "bib": _edit_bib,
    "publication.yml": _edit_publication,
    "mkdocs.yml": _edit_mkdocs,
    "commit": _new_commit,
    "site file": _tamper_site,
    "site file removed": _remove_site_file,
    "site file, an article page": _tamper_article_page,
    "generated page": _tamper_generated,
    "today": _new_day,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_input_invalidates_the_no_op(publication: Path, monkeypatch, change: str) -> None:
    git(publication, "init", "-q")
    git(publication, "add", "-A")
    git(publication, "commit", "-q", "-m", "publication")
    build_mod.build(publication)
    before = tree(publication / "site")
    CHANGES[change](publication)
    if change == "today":
        monkeypatch.setattr(stamp, "_today", lambda: "2999-01-01")
    project, result = build_mod.build(publication)
    assert project is not None and not getattr(result, "nothing_changed", False)
    if change.startswith("site file"):
        assert tree(publication / "site") == before  # the full build made the same site again


def test_a_repository_that_commits_its_output_never_gets_a_no_op(publication: Path) -> None:
    git(publication, "init", "-q")
    build_mod.build(publication)
    git(publication, "add", "-f", "build")
    git(publication, "commit", "-q", "-m", "committed output")
    project, result = build_mod.build(publication)
    assert project is not None and not getattr(result, "nothing_changed", False)


def _count_reused(monkeypatch) -> list[str]:
    """The pages each build takes from the previous one, as the page cache decides."""
    reused: list[str] = []
    real = pagecache.PageCache.start

    def counting(self, config, nav, files):  # noqa: ANN001, ANN202
        real(self, config, nav, files)
        reused.extend(self.reused)

    monkeypatch.setattr(pagecache.PageCache, "start", counting)
    return reused


def _clean_build(source: Path, target: Path, *args: str) -> dict[str, bytes]:
    """A full build of the same inputs in a fresh folder: no previous site, no cache."""
    copy = copy_publication(target)
    for folder in ("content", "references"):
        shutil.rmtree(copy / folder)
        shutil.copytree(source / folder, copy / folder)
    shutil.copy(source / "mkdocs.yml", copy / "mkdocs.yml")
    run = run_cli(copy, "build", *args)
    assert run.exit_code == 0, run.stderr
    return tree(copy / "site")


def _same_as_a_clean_build(publication: Path, target: Path, *args: str) -> None:
    """The site, file for file and byte for byte, is what a full build of the same inputs
    in a fresh folder makes."""
    incremental = tree(publication / "site")
    full = _clean_build(publication, target, *args)
    assert sorted(incremental) == sorted(full)
    assert [name for name in full if incremental[name] != full[name]] == []


def _reword_and_preview(publication: Path) -> None:
    """An editor rewords the unapproved article, then builds the preview again."""
    replace_in(
        publication, UNAPPROVED, "Take it at the same time", "Take it at exactly the same time"
    )
    assert run_cli(publication, "build", "--preview").exit_code == 0


def test_one_changed_article_reuses_the_other_pages_byte_for_byte(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    assert run_cli(publication, "build", "--preview").exit_code == 0
    reused = _count_reused(monkeypatch)
    _reword_and_preview(publication)
    assert reused and "endocrinology/hypothyroidism-levothyroxine.md" not in reused
    page = publication / "site/endocrinology/hypothyroidism-levothyroxine/index.html"
    assert "exactly the same time" in page.read_text(encoding="utf-8")
    _same_as_a_clean_build(publication, tmp_path / "clean", "--preview")


def test_a_withdrawn_article_rebuilds_what_lists_it_byte_for_byte(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    assert run_cli(publication, "build").exit_code == 0
    reused = _count_reused(monkeypatch)
    replace_in(publication, APPROVED, "status: approved", "status: under_review")
    assert run_cli(publication, "build").exit_code == 0
    assert reused
    assert not (publication / "site/oncology/net-imaging/index.html").exists()
    _same_as_a_clean_build(publication, tmp_path / "clean")


def test_a_forged_or_foreign_page_manifest_is_never_read(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    """The page manifest is pickled: one this user's key did not seal (written into build/ by
    anyone, or by another user) is neither unpickled nor trusted, and the build is whole."""
    assert run_cli(publication, "build").exit_code == 0
    manifest = build_mod.pages_manifest(publication, preview=False)
    sealed = manifest.read_bytes()
    assert sealed.startswith(b"GPCACHE1")
    marker = tmp_path / "attacker-code-ran"
    forged = b"GPCACHE1" + b"\0" * 32 + pickle.dumps(_Payload(marker))
    reused = _count_reused(monkeypatch)
    for written in (forged, sealed[:-1] + bytes([sealed[-1] ^ 1])):
        manifest.write_bytes(written)
        _edit_article(publication)
        assert run_cli(publication, "build").exit_code == 0
        assert not marker.exists()
        assert reused == []  # nothing taken from a manifest that was not sealed here
        _same_as_a_clean_build(publication, tmp_path / f"clean-{len(written)}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))  # another key
    _edit_article(publication)
    assert run_cli(publication, "build").exit_code == 0
    assert reused == []


def _count_templated(monkeypatch) -> list[tuple[str, bool]]:
    """Each page MkDocs templates, and whether it is in the nav."""
    templated: list[tuple[str, bool]] = []
    real = pagecache.PageCache.page_done

    def counting(self, output, page):  # noqa: ANN001, ANN202
        templated.append((page.file.src_uri, page.file.src_uri in self.nav_pages))
        return real(self, output, page)

    monkeypatch.setattr(pagecache.PageCache, "page_done", counting)
    return templated


def test_unchanged_pages_outside_the_nav_are_left_out_of_mkdocs(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    assert run_cli(publication, "build", "--preview").exit_code == 0
    templated = _count_templated(monkeypatch)
    _reword_and_preview(publication)
    outside = [src for src, in_nav in templated if not in_nav]
    assert outside == ["endocrinology/hypothyroidism-levothyroxine.md"], templated
    _same_as_a_clean_build(publication, tmp_path / "clean", "--preview")


def test_left_out_pages_are_copied_where_the_filesystem_cannot_link(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    assert run_cli(publication, "build").exit_code == 0
    monkeypatch.setattr(pagecache, "_link", lambda source, dest: False)
    reused = _count_reused(monkeypatch)
    _edit_article(publication)
    assert run_cli(publication, "build").exit_code == 0
    assert "cardiology/af-anticoagulation.md" in reused
    page = publication / "site/cardiology/af-anticoagulation/index.html"
    assert page.stat().st_nlink == 1
    _same_as_a_clean_build(publication, tmp_path / "clean")


def test_citation_files_are_made_again_only_from_what_they_show(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    from pipeline import citefiles

    assert run_cli(publication, "build").exit_code == 0
    made: list[str] = []
    real = citefiles.bibtex

    def counting(site, shown):  # noqa: ANN001, ANN202
        made.append(shown.article.id)
        return real(site, shown)

    from pipeline import outputs

    monkeypatch.setattr(
        outputs,
        "ARTICLE_OUTPUTS",
        [(suffix, counting if make is real else make) for suffix, make in outputs.ARTICLE_OUTPUTS],
    )
    _edit_article(publication)  # only this article's own files are made again
    assert run_cli(publication, "build").exit_code == 0
    assert made == ["oncology/net-imaging"]
    replace_in(publication, "content/board.yml", "name: Morgan Roe", "name: Morgan Roe-Smith")
    assert run_cli(publication, "build").exit_code == 0
    assert "cardiology/af-anticoagulation" in made
    bib = (publication / "site/cardiology/af-anticoagulation.bib").read_text(encoding="utf-8")
    assert "Roe-Smith, Morgan" in bib
    _same_as_a_clean_build(publication, tmp_path / "clean")


def test_a_changed_reference_rebuilds_the_pages_that_cite_it(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    from pipeline import render

    assert run_cli(publication, "build", "--preview").exit_code == 0
    worked_out: list[str] = []
    real = render.SiteRenderer._reference_digest

    def counting(self, key, name):  # noqa: ANN001, ANN202
        found = real(self, key, name)
        if self.learned.get(key, [None, None])[1] != (self.known.get(key) or [None, None])[1]:
            worked_out.append(name)
        return found

    monkeypatch.setattr(render.SiteRenderer, "_reference_digest", counting)
    old = "task force on thyroid hormone replacement"
    replace_in(publication, "references/endocrinology.bib", old, "task force on replacement")
    reused = _count_reused(monkeypatch)
    assert run_cli(publication, "build", "--preview").exit_code == 0
    assert worked_out == ["ata-hypothyroidism-2014"]
    assert "endocrinology/hypothyroidism-levothyroxine.md" not in reused
    page = publication / "site/endocrinology/hypothyroidism-levothyroxine/index.html"
    assert "task force on replacement" in page.read_text(encoding="utf-8")
    _same_as_a_clean_build(publication, tmp_path / "clean", "--preview")


def test_a_reused_page_whose_html_was_altered_is_built_again(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    assert run_cli(publication, "build", "--preview").exit_code == 0
    page = publication / "site/oncology/net-imaging/index.html"
    original = page.read_bytes()
    page.write_bytes(original.replace(b"</body>", b"<p>forged</p></body>"))
    reused = _count_reused(monkeypatch)
    replace_in(
        publication, UNAPPROVED, "Take it at the same time", "Take it at exactly the same time"
    )
    assert run_cli(publication, "build", "--preview").exit_code == 0
    assert "oncology/net-imaging.md" not in reused
    assert (publication / "site/oncology/net-imaging/index.html").read_bytes() == original


def _serve_build(root: Path, site: Path, memory):  # noqa: ANN001, ANN202
    """One rebuild as `mkdocs serve` makes it, with the pages the previous one kept."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    from pipeline.plugin import ensure_plugin

    config = load_config(str(root / "mkdocs.yml"), site_dir=str(site), hooks=[])
    plugin = ensure_plugin(config)
    plugin.memory = memory
    config.plugins.on_startup(command="serve", dirty=False)
    mkdocs_build(config, serve_url="http://127.0.0.1:8000/")
    return plugin.memory


def test_serve_rebuilds_reuse_pages_and_match_a_fresh_preview(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    from pipeline import plugin

    monkeypatch.setattr(plugin, "_command", plugin._command)  # serve's mode ends with the test
    memory = _serve_build(publication, tmp_path / "first", None)
    assert memory is not None and memory.pages
    reused = _count_reused(monkeypatch)
    replace_in(
        publication, UNAPPROVED, "Take it at the same time", "Take it at exactly the same time"
    )
    _serve_build(publication, tmp_path / "second", memory)
    assert reused and "endocrinology/hypothyroidism-levothyroxine.md" not in reused
    fresh = _serve_build(publication, tmp_path / "fresh", None)
    assert fresh is not memory
    second, clean = tree(tmp_path / "second"), tree(tmp_path / "fresh")
    assert sorted(second) == sorted(clean)
    assert [name for name in clean if second[name] != clean[name]] == []
    assert "exactly the same time" in second[
        "endocrinology/hypothyroidism-levothyroxine/index.html"
    ].decode("utf-8")


def test_a_no_op_reuses_the_recorded_digests_of_settled_files(
    publication: Path, monkeypatch
) -> None:
    monkeypatch.setattr(stamp, "RACY_NS", 0)  # every file counts as settled at once
    build_mod.build(publication)
    read: list[str] = []
    digest = stamp._file_digest

    def counting(path: str, info: os.stat_result, memo):  # noqa: ANN001, ANN202
        known = memo.get(path) if memo is not None else None
        seen = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if known is None or known[0] != seen:
            read.append(path)
        return digest(path, info, memo)

    monkeypatch.setattr(stamp, "_file_digest", counting)
    project, result = build_mod.build(publication)
    assert project is None and result.nothing_changed
    top = str(publication.resolve())
    content = [p for p in read if p.startswith((f"{top}/content/", f"{top}/references/"))]
    assert content == []


def test_an_edit_that_keeps_size_and_modification_time_is_still_built(
    publication: Path, monkeypatch
) -> None:
    monkeypatch.setattr(stamp, "RACY_NS", 0)  # the recorded digests are trusted by stat
    build_mod.build(publication)
    path = publication / "references/endocrinology.bib"
    info = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"% Diabetes", b"% DIABETES", 1))  # a comment: same size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # the old modification time
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns
    project, result = build_mod.build(publication)
    assert project is not None and not getattr(result, "nothing_changed", False)


def _tree_by_paths(hashed, root: Path, folder: Path) -> None:  # noqa: ANN001
    """The inputs digest's walk spelled out with `Path` (the order `sorted()` gives paths)."""
    entries = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        entries += [Path(top) / name for name in dirs + files]
    for path in sorted(entries):
        hashed.update(path.relative_to(root).as_posix().encode() + b"\0")
        if path.is_symlink():
            hashed.update(b"link:" + os.fsencode(os.readlink(path)) + b"\0")
        if path.is_file():
            hashed.update(stamp._sha(path.read_bytes()).encode())
        elif path.is_dir():
            hashed.update(b"dir")
        else:
            hashed.update(b"other")


def test_the_inputs_walk_sees_every_entry_in_path_order(tmp_path: Path) -> None:
    import hashlib

    folder = tmp_path / "content"
    for rel in ("a/x.md", "a-b/y.md", "a.b", "b/c/d/e.md", "b/__pycache__/z.pyc", "empty/"):
        path = folder / rel
        if rel.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rel)
    (folder / "link-to-file").symlink_to("a/x.md")
    (folder / "link-to-folder").symlink_to("b", target_is_directory=True)
    (folder / "broken-link").symlink_to("nowhere")
    expected, walked = hashlib.sha256(), hashlib.sha256()
    _tree_by_paths(expected, tmp_path, folder)
    stamp._tree(walked, tmp_path, folder, memo={})
    assert walked.hexdigest() == expected.hexdigest()
    (folder / "a/x.md").write_text("edited through the link's target")
    again = hashlib.sha256()
    stamp._tree(again, tmp_path, folder, memo={})
    assert again.hexdigest() != walked.hexdigest()


def test_the_site_listing_keeps_links_and_skips_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "a/b").mkdir(parents=True)
    (site / "a/b/index.html").write_text("page")
    (site / "top.xml").write_text("sitemap")
    (site / "linked").symlink_to("a", target_is_directory=True)
    found = stamp.file_stats(site)
    assert sorted(found) == ["a/b/index.html", "linked", "top.xml"]
    info = os.lstat(site / "a/b/index.html")
    assert found["a/b/index.html"] == [
        info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino
    ]  # fmt: skip


def _inode(path: Path) -> int:
    return path.stat().st_ino


def _rebuild_with(publication: Path, word: str) -> None:
    replace_in(publication, UNAPPROVED, "Take it", f"Take it {word}")
    assert run_cli(publication, "build", "--preview").exit_code == 0


def test_reused_pages_and_static_files_are_links_to_the_replaced_site(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    assert run_cli(publication, "build", "--preview").exit_code == 0
    _rebuild_with(publication, "now")  # the record now holds linked files
    site = publication / "site"
    page, css = site / "oncology/net-imaging/index.html", site / "assets/guideline.css"
    before = {path: _inode(path) for path in (page, css)}
    _rebuild_with(publication, "daily")
    assert {path: _inode(path) for path in (page, css)} == before  # linked, not written
    _same_as_a_clean_build(publication, tmp_path / "clean", "--preview")


@pytest.mark.parametrize("what", ["page", "static file"])
def test_a_site_file_altered_with_its_old_times_is_not_linked(
    publication: Path, tmp_path: Path, monkeypatch, what: str
) -> None:
    """A forged page or script in the current site, its modification time put back: the change
    time tells, and the next build writes the file afresh."""
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    assert run_cli(publication, "build", "--preview").exit_code == 0
    _rebuild_with(publication, "now")
    site = publication / "site"
    rel = "oncology/net-imaging/index.html" if what == "page" else "assets/audience.js"
    target = site / rel
    original, info = target.read_bytes(), target.stat()
    forged = bytes([original[0] ^ 1]) + original[1:]  # one byte: the same size
    assert len(forged) == len(original) and forged != original
    target.write_bytes(forged)
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    _rebuild_with(publication, "always")
    assert (site / rel).read_bytes() == original
    assert _inode(site / rel) != info.st_ino


@pytest.mark.parametrize("where", ["site", "build/preview"])
def test_a_file_made_a_link_to_the_same_text_is_never_reused(
    publication: Path, tmp_path: Path, monkeypatch, where: str
) -> None:
    """A link put where a page of the site (or a generated page) was, to a file outside that
    holds the very same text. Kept, it would publish whatever that file says next: a link's
    own stat does not move when its target changes. The next build writes a file again."""
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    assert run_cli(publication, "build", "--preview").exit_code == 0
    _rebuild_with(publication, "now")
    rel = "oncology/net-imaging/index.html" if where == "site" else "oncology/net-imaging.md"
    target = publication / where / rel
    outside = tmp_path / "outside" / target.name
    outside.parent.mkdir()
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    _rebuild_with(publication, "daily")
    page = publication / "site/oncology/net-imaging/index.html"
    generated = publication / "build/preview/oncology/net-imaging.md"
    assert not page.is_symlink() and not generated.is_symlink()
    outside.write_text("<script>alert('forged')</script>")
    _rebuild_with(publication, "always")
    assert b"forged" not in page.read_bytes()
    assert not page.is_symlink() and not generated.is_symlink()


def test_a_changed_theme_file_is_copied_again(
    publication: Path, tmp_path: Path, monkeypatch
) -> None:
    """A static file's source edited since the last copy (same size): the new site has the
    new bytes, not a link to the old copy."""
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    theme = publication / "overrides"
    (theme / "assets").mkdir(parents=True)
    source = theme / "assets/extra.js"
    source.write_text("console.log('one');\n")
    replace_in(publication, "mkdocs.yml", "custom_dir: pipeline/theme", "custom_dir: overrides")
    assert run_cli(publication, "build", "--preview").exit_code == 0
    _rebuild_with(publication, "now")
    assert (publication / "site/assets/extra.js").read_text() == "console.log('one');\n"
    source.write_text("console.log('two');\n")
    _rebuild_with(publication, "daily")
    assert (publication / "site/assets/extra.js").read_text() == "console.log('two');\n"


def test_the_nav_pages_front_matter_is_part_of_every_pages_key(tmp_path: Path) -> None:
    """Material shows a nav page's icon, subtitle and status in every page's nav: a change to
    a nav page's front matter must make every page's key another."""
    from types import SimpleNamespace

    def nav_page(name: str, text: str) -> SimpleNamespace:
        path = tmp_path / name
        path.write_text(text)
        return SimpleNamespace(file=SimpleNamespace(abs_src_path=str(path), src_uri=name))

    listing = "---\ntitle: Topic\n---\n# Topic\n\nOne article.\n"
    first = pagecache._nav_metadata([nav_page("topic.md", listing)])
    longer = pagecache._nav_metadata([nav_page("topic.md", listing + "Another article.\n")])
    assert first == longer  # the listing's body is the page's own key, not every page's
    marked = listing.replace("title: Topic\n", "title: Topic\nstatus: new\n")
    assert pagecache._nav_metadata([nav_page("topic.md", marked)]) != first
    assert (
        pagecache._nav_metadata([SimpleNamespace(file=SimpleNamespace(abs_src_path=None))]) is None
    )


def test_a_generated_page_altered_with_its_old_times_is_rendered_again(
    publication: Path, monkeypatch
) -> None:
    """The writer trusts a generated page by its stat (RACY_NS = 0: every time counts as
    settled); a forged page with its modification time put back differs in its change time."""
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    assert run_cli(publication, "build", "--preview").exit_code == 0
    page = publication / "build/preview/oncology/net-imaging.md"
    original, info = page.read_bytes(), page.stat()
    page.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    os.utime(page, ns=(info.st_atime_ns, info.st_mtime_ns))
    _rebuild_with(publication, "now")
    assert page.read_bytes() == original
    reused = _count_reused(monkeypatch)
    _rebuild_with(publication, "daily")  # untouched since: trusted by its stat, and reused
    assert "oncology/net-imaging.md" in reused


def test_a_site_file_forged_with_its_old_times_is_no_no_op(publication: Path, monkeypatch) -> None:
    """With every time settled (RACY_NS = 0) the stamp trusts the site by stat: a forged file
    whose modification time was put back still differs in its change time."""
    monkeypatch.setattr(stamp, "RACY_NS", 0)
    git(publication, "init", "-q")
    git(publication, "add", "-A")
    git(publication, "commit", "-q", "-m", "publication")
    build_mod.build(publication)
    assert build_mod.build(publication)[0] is None  # nothing changed: a no-op
    target = publication / "site/assets/audience.js"
    original, info = target.read_bytes(), target.stat()
    target.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    project, result = build_mod.build(publication)
    assert project is not None and not getattr(result, "nothing_changed", False)
    assert (publication / "site/assets/audience.js").read_bytes() == original


def test_an_edit_made_and_undone_while_building_leaves_no_stamp(
    publication: Path, monkeypatch
) -> None:
    """The site built from an edit that was undone before the build ended is not the site of
    the inputs as they are now: the next build must build, not take it as unchanged."""
    build_mod.build(publication, preview=True)
    path = publication / UNAPPROVED
    original = path.read_bytes()
    edited = original.replace(b"\n## ", b"\nA sentence written for a moment.\n\n## ", 1)
    assert edited != original
    from pipeline import loader

    real_load = loader.load

    def load_while_edited(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a test double
        path.write_bytes(edited)
        try:
            return real_load(*args, **kwargs)
        finally:
            path.write_bytes(original)

    replace_in(publication, "references/endocrinology.bib", "% Diabetes", "% DIABETES")  # a change
    with monkeypatch.context() as patch:
        patch.setattr(loader, "load", load_while_edited)
        build_mod.build(publication, preview=True)
    shown = (publication / "site").resolve()
    assert any(b"written for a moment" in p.read_bytes() for p in shown.rglob("*.html"))
    project, result = build_mod.build(publication, preview=True)
    assert project is not None and not getattr(result, "nothing_changed", False)
    site = (publication / "site").resolve()
    assert not any(b"written for a moment" in p.read_bytes() for p in site.rglob("*.html"))
