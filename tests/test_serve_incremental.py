"""`pipeline serve` rebuilds only what a save changed, and serves exactly what a full preview
build of the same inputs gives (pages, search index, sitemap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import plugin
from pipeline.serving import IncrementalBuilder
from tests.conftest import replace_in

URL = "http://127.0.0.1:8000/"
ARTICLE = "content/endocrinology/hypothyroidism-levothyroxine.md"


@pytest.fixture(autouse=True)
def _serving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin, "_command", "serve")


def _served(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def _fresh(root: Path, tmp_path: Path) -> dict[str, bytes]:
    site = tmp_path / "fresh"
    site.mkdir()
    IncrementalBuilder(root, str(site), URL).full()
    return _served(site)


def _server(root: Path, tmp_path: Path) -> tuple[IncrementalBuilder, Path]:
    site = tmp_path / "served"
    site.mkdir()
    builder = IncrementalBuilder(root, str(site), URL)
    builder.full()
    return builder, site


def test_an_edit_rebuilds_incrementally_and_matches_a_full_build(
    publication: Path, tmp_path: Path
) -> None:
    builder, site = _server(publication, tmp_path)
    replace_in(publication, ARTICLE, "Take it at the same time every day",
               "Take it with water at the same time every day")  # fmt: skip
    builder.rebuild()
    assert (builder.full_builds, builder.incremental_builds) == (1, 1)
    served = _served(site)
    page = served["endocrinology/hypothyroidism-levothyroxine/index.html"].decode()
    assert "Take it with water at the same time every day" in page
    assert "with water" in served["search/search_index.json"].decode()
    fresh = _fresh(publication, tmp_path)
    assert sorted(served) == sorted(fresh)
    assert [name for name in fresh if served[name] != fresh[name]] == []


def test_an_article_with_errors_stays_with_its_banner_and_matches_a_full_build(
    publication: Path, tmp_path: Path
) -> None:
    builder, site = _server(publication, tmp_path)
    text = (publication / ARTICLE).read_text(encoding="utf-8")
    (publication / ARTICLE).write_text(text + "\nA sentence [@no-such-key].\n", "utf-8")
    builder.rebuild()
    served = _served(site)
    page = served["endocrinology/hypothyroidism-levothyroxine/index.html"].decode()
    assert "citation.unknown-key" in page and "pending human review" in page
    fresh = _fresh(publication, tmp_path)
    assert [name for name in fresh if served.get(name) != fresh[name]] == []
    assert sorted(served) == sorted(fresh)


def test_a_structural_change_falls_back_to_a_full_build(publication: Path, tmp_path: Path) -> None:
    builder, site = _server(publication, tmp_path)
    (publication / ARTICLE).unlink()  # a page removed
    builder.rebuild()
    assert (builder.full_builds, builder.incremental_builds) == (2, 0)
    served = _served(site)
    assert "endocrinology/hypothyroidism-levothyroxine/index.html" not in served
    fresh = _fresh(publication, tmp_path)
    assert sorted(served) == sorted(fresh)
    assert [name for name in fresh if served[name] != fresh[name]] == []


def test_a_settings_change_falls_back_to_a_full_build(publication: Path, tmp_path: Path) -> None:
    builder, _ = _server(publication, tmp_path)
    path = publication / "content/publication.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n", "utf-8")
    builder.rebuild()
    assert (builder.full_builds, builder.incremental_builds) == (2, 0)


PAGE = "endocrinology/hypothyroidism-levothyroxine/index.html"
SENTENCE = "Take it at the same time every day"


def _plain(root: Path) -> None:
    replace_in(root, ARTICLE, SENTENCE, "Take it with water at the same time every day")


def _unknown_key(root: Path) -> None:
    replace_in(root, ARTICLE, SENTENCE, "Take it [@no-such-key] at the same time every day")


def _related(root: Path) -> None:
    replace_in(root, ARTICLE, "tags: [hypothyroidism, endocrinology]",
               "tags: [hypothyroidism]\nrelated: [endocrinology/type-2-diabetes-initial-therapy, "
               "cardiology/no-such-article]")  # fmt: skip


def _wording(root: Path) -> None:
    path = root / "content/endocrinology/hypothyroidism-levothyroxine.patient.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nA new closing sentence.\n", "utf-8")


@pytest.mark.parametrize("edit", [_plain, _unknown_key, _wording])
def test_a_saved_article_is_shown_first_as_the_whole_rebuild_gives_it(
    publication: Path, tmp_path: Path, edit
) -> None:  # noqa: ANN001
    builder, site = _server(publication, tmp_path)
    seen: list[bytes] = []
    builder.shown_early = lambda: seen.append((site / PAGE).read_bytes())
    edit(publication)
    builder.rebuild()
    assert builder.early_builds == 1 and len(seen) == 1
    served = _served(site)
    assert seen[0] == served[PAGE]  # what the editor saw first is what the rebuild gives
    fresh = _fresh(publication, tmp_path)
    assert sorted(served) == sorted(fresh)
    assert [name for name in fresh if served[name] != fresh[name]] == []


def test_the_early_page_shows_what_the_edit_did(publication: Path, tmp_path: Path) -> None:
    builder, site = _server(publication, tmp_path)
    seen: list[str] = []
    builder.shown_early = lambda: seen.append((site / PAGE).read_text(encoding="utf-8"))
    _related(publication)
    builder.rebuild()
    (first,) = seen
    assert "link.unknown-article" in first and "cardiology/no-such-article" in first
    assert "type-2-diabetes-initial-therapy/" in first  # the related article's link
    # The whole rebuild knows every article, so it suggests the likely one: that page changed,
    # so browsers are reloaded once more; and the whole preview is what a full build gives.
    served = _served(site)
    assert "Did you mean" not in first and "Did you mean" in served[PAGE].decode()
    assert builder.rebuilt_pages >= 1
    fresh = _fresh(publication, tmp_path)
    assert [name for name in fresh if served[name] != fresh[name]] == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda root: (root / "references/endocrinology.bib").write_text(
            (root / "references/endocrinology.bib").read_text(encoding="utf-8") + "\n", "utf-8"),
        lambda root: (_plain(root), replace_in(root, "content/cardiology/af-anticoagulation.md",
                                               "\n---\n", "\n---\nA new first line.\n\n")),
        lambda root: (root / "content/endocrinology/new-article.md").write_text(
            (root / ARTICLE).read_text(encoding="utf-8"), "utf-8"),
    ],
    ids=["a reference file", "two articles", "an added article"],
)  # fmt: skip
def test_only_a_save_of_one_article_is_shown_first(publication: Path, tmp_path: Path, edit) -> None:  # noqa: ANN001
    builder, site = _server(publication, tmp_path)
    edit(publication)
    builder.rebuild()
    assert builder.early_builds == 0
    fresh = _fresh(publication, tmp_path)
    served = _served(site)
    assert [name for name in fresh if served.get(name) != fresh[name]] == []


def test_the_serve_watcher_reports_saves_and_not_reads(tmp_path: Path) -> None:
    """A rebuild reads every source file: were reads reported, each rebuild would start the
    next, and a save would wait for a rebuild nobody asked for."""
    import threading

    from watchdog.events import FileSystemEventHandler

    from pipeline.serving import changes_observer

    path = tmp_path / "article.md"
    path.write_text("text\n", encoding="utf-8")
    seen: list[object] = []
    arrived = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:  # noqa: ANN001
            seen.append(event)
            arrived.set()

    observer = changes_observer()
    observer.schedule(Handler(), str(tmp_path), recursive=True)
    observer.start()
    try:
        for _ in range(3):
            path.read_bytes()
        assert not arrived.wait(0.5), seen  # reads only: nothing reported
        path.write_text("changed\n", encoding="utf-8")
        assert arrived.wait(5)
    finally:
        observer.stop()
        observer.join()
