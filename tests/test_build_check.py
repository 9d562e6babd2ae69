"""A build's check keeps each article's judgement as `pipeline check` does: an unchanged
article's findings come from the kept parts, only a changed one is judged again, and whatever
changed the build is told exactly what every rule run on the loaded publication would say, in
the same order. A build never trusts parts it did not write on this machine."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import pytest

from pipeline import cache, checkcache, checks, loader, paths, signing
from tests import test_check_cache as cached
from tests.conftest import replace_in
from tests.test_check_cache import _Payload, _with_problems, spy
from tests.test_check_incremental import EDITS, OTHER, THIRD

own_cache_key = cached.own_cache_key


def _every_rule(root: Path, today: dt.date | None = None) -> list:
    """What `run_checks` says of a fresh load, nothing taken from the parse cache."""
    signing._cache.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        return checks.run_checks(loader.load(root, today))


def _build_check(root: Path, today: dt.date | None = None) -> list:
    """The check a build makes: the configuration read before the load, as `_prepare` does."""
    signing._cache.clear()
    config = checkcache.config_bytes(root)
    return checkcache.check_loaded(loader.load(root, today), config)


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The articles each check judges (rather than takes from the kept parts)."""
    return spy(monkeypatch, checks, "_judge", lambda project, *args: set(project.articles))


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_after_any_edit_a_build_is_told_what_every_rule_says(publication: Path, edit: str) -> None:
    _with_problems(publication)
    before = _build_check(publication)
    assert before == _every_rule(publication)
    assert _build_check(publication) == before  # from kept parts
    EDITS[edit](publication)
    after = _build_check(publication)
    assert after == _every_rule(publication)
    assert after != before, f"the edit '{edit}' should change what the check reports"
    assert _build_check(publication) == after


def test_an_unchanged_article_is_not_judged_again(
    publication: Path, judged: list[set[str]]
) -> None:
    _with_problems(publication)
    _build_check(publication)
    judged.clear()
    _build_check(publication)
    assert judged == [set()]  # the rules of the settings only
    replace_in(publication, OTHER, "\n- ", "\n- A new first bullet [@no-such-key].\n- ")
    judged.clear()
    found = _build_check(publication)
    assert judged == [{OTHER.removeprefix("content/").removesuffix(".md")}]
    assert any(d.code == "citation.unknown-key" and d.file == OTHER for d in found)


def test_articles_edited_together_are_judged_together(
    publication: Path, judged: list[set[str]]
) -> None:
    _with_problems(publication)
    _build_check(publication)
    replace_in(publication, OTHER, "\n- ", "\n- A new first bullet [@no-such-key].\n- ")
    replace_in(publication, THIRD, "\n- ", "\n- Also ")  # approved: the approval goes stale
    judged.clear()
    assert _build_check(publication) == _every_rule(publication)
    assert len(judged[0]) == 2


def test_kept_parts_of_a_pipeline_check_serve_a_build_and_the_other_way(
    publication: Path, judged: list[set[str]]
) -> None:
    _with_problems(publication)
    checkcache.check_publication(publication)  # a check keeps every article's judgement
    judged.clear()
    assert _build_check(publication) == _every_rule(publication)
    assert judged[0] == set()  # the build judged none again
    replace_in(publication, OTHER, "\n- ", "\n- Something new [@no-such-key].\n- ")
    _build_check(publication)
    judged.clear()
    (publication / cache.FOLDER / "checks.pack").unlink()  # no whole result stored
    checkcache.check_publication(publication)
    assert all(not ids for ids in judged)  # the check found the build's judgement


def test_a_new_day_is_judged_again(publication: Path) -> None:
    due = dt.date(2028, 12, 2)  # approved 2026-12-02, reviewed every 24 months
    assert not any(d.code == "review.overdue" for d in _build_check(publication, due))
    late = _build_check(publication, due + dt.timedelta(days=1))
    assert late == _every_rule(publication, due + dt.timedelta(days=1))
    assert any(d.code == "review.overdue" for d in late)


def test_settings_edited_during_the_load_are_never_mixed_with_kept_parts(
    publication: Path, judged: list[set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configuration changed between the read before the load and the check: every rule
    runs on what was loaded, and nothing is kept under either configuration's key."""
    _with_problems(publication)
    _build_check(publication)
    config = checkcache.config_bytes(publication)
    replace_in(
        publication, paths.PUBLICATION_FILE, "approvals_required: 1", "approvals_required: 2"
    )
    project = loader.load(publication)
    every_rule = spy(monkeypatch, checks, "run_checks", lambda project, *args: 1)
    found = checkcache.check_loaded(project, config)
    assert every_rule == [1]  # on what was loaded
    assert found == checks.run_checks(loader.load(publication))
    judged.clear()
    assert _build_check(publication) == _every_rule(publication)
    assert len(judged[0]) == len(project.articles)  # nothing was kept under a wrong key


def test_a_forged_articles_pack_is_never_trusted(publication: Path, tmp_path: Path) -> None:
    _with_problems(publication)
    _build_check(publication)
    marker = tmp_path / "attacker-code-ran"
    body = pickle.dumps({b"k" * 32: pickle.dumps(_Payload(marker))})
    folder = publication / cache.FOLDER
    for name in ("articles", "library"):
        saved = (folder / f"{name}.pack").read_bytes()
        (folder / f"{name}.pack").write_bytes(b"GPCACHE1" + b"\0" * 32 + body)
        assert _build_check(publication) == _every_rule(publication)
        assert not marker.exists()
        (folder / f"{name}.pack").write_bytes(saved[:-1] + bytes([saved[-1] ^ 1]))
        assert _build_check(publication) == _every_rule(publication)


def test_settings_edited_and_undone_during_the_load_are_never_kept_under_the_first(
    publication: Path,
) -> None:
    """An editor's settings change and its undo (a `git stash` and `git stash pop`) both fall
    within a build's load: the bytes read before the load and again after the check are the
    same, but the load parsed the other settings. What was judged with those must not be kept
    under the key of the settings on disk: the next build must say what every rule says."""
    stricter = ("approvals_required: 1", "approvals_required: 2")
    replace_in(publication, paths.PUBLICATION_FILE, *stricter)  # THIRD has one approval
    expected = _every_rule(publication)
    assert any(d.code == "review.insufficient" and d.file == THIRD for d in expected)
    signing._cache.clear()
    config = checkcache.config_bytes(publication)  # what `_prepare` reads before the load
    replace_in(publication, paths.PUBLICATION_FILE, *reversed(stricter))  # stashed
    project = loader.load(publication)  # the load reads the stashed settings
    replace_in(publication, paths.PUBLICATION_FILE, *stricter)  # popped again
    checkcache.check_loaded(project, config)
    assert _build_check(publication) == expected


def test_settings_a_check_read_after_the_bytes_it_keys_by_never_serve_a_build(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pipeline check` reads the settings' bytes, then the editor saves other settings before
    the check parses them. What it judged with those must not be kept under the first bytes:
    once the edit is undone, a build (which takes a check's kept parts) must be told what
    every rule says of the settings on disk."""
    stricter = ("approvals_required: 1", "approvals_required: 2")
    replace_in(publication, paths.PUBLICATION_FILE, *stricter)  # THIRD has one approval
    expected = _every_rule(publication)
    assert any(d.code == "review.insufficient" and d.file == THIRD for d in expected)
    real_survey = loader.survey

    def edited_first(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a test double
        replace_in(publication, paths.PUBLICATION_FILE, *reversed(stricter))  # saved meanwhile
        return real_survey(*args, **kwargs)

    signing._cache.clear()
    with monkeypatch.context() as patch:
        patch.setattr(loader, "survey", edited_first)
        checkcache.check_publication(publication)
    replace_in(publication, paths.PUBLICATION_FILE, *stricter)  # the edit undone
    assert _build_check(publication) == expected
    assert checkcache.check_publication(publication).diagnostics == expected
