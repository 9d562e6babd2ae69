"""Kept results never stand for inputs they were not made from: the kept judgements (files
swapped or renamed, other days), the verdict memo (another board or article), sealed files
(another name or key) and the kept feed (board names, summaries, approvals)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from pipeline import approval, cache, checkcache, loader
from pipeline.model import Board
from tests import test_check_cache as cached
from tests.conftest import replace_in, run_cli
from tests.gitrepo import EDITOR, commit, git
from tests.test_build_check import _build_check, _every_rule
from tests.test_check_cache import _with_problems
from tests.test_check_incremental import ARTICLE, OTHER, THIRD

own_cache_key = cached.own_cache_key


def test_two_articles_swapping_their_files_are_judged_again(publication: Path) -> None:
    _with_problems(publication)
    _build_check(publication)
    first, second = publication / ARTICLE, publication / OTHER
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    assert _build_check(publication) == _every_rule(publication)
    (publication / ARTICLE).rename(publication / "content/cardiology/renamed.md")
    assert _build_check(publication) == _every_rule(publication)


@pytest.mark.parametrize("days", [-3, -1, 0, 1, 2, 3, 30, 800, 2000])
def test_a_kept_judgement_holds_on_every_later_and_earlier_day(
    publication: Path, days: int
) -> None:
    """A future date and a review falling due, kept on one day, asked on others (the clock
    set back too)."""
    made = dt.date(2026, 12, 5)
    replace_in(publication, THIRD, "last_updated: 2026-12-02", "last_updated: 2026-12-08")
    _build_check(publication, made)
    day = made + dt.timedelta(days=days)
    assert _build_check(publication, day) == _every_rule(publication, day)


def test_a_verdict_is_never_one_reached_for_another_board_or_article(publication: Path) -> None:
    project = loader.load(publication)
    article = project.articles[THIRD.removeprefix("content/").removesuffix(".md")]
    assert article.meta is not None
    record = article.meta.reviews[-1]
    settings, board = project.settings, project.board
    assert settings is not None and board is not None
    valid = approval.record_verdict(settings, board, article.id, record)
    assert valid is approval.Verdict.VALID
    # The same record, asked with a board where its reviewer has another key: an equal board
    # object must not be mistaken for this one, nor this record for another article's.
    other_key = next(
        m.signing_key for m in board.members if m.id != record.reviewer and m.signing_key
    )
    data = board.model_dump()
    for member in data["members"]:
        if member["id"] == record.reviewer:
            member["signing_key"], member["previous_signing_keys"] = other_key, []
    rotated = Board.model_validate(data)
    assert approval.record_verdict(settings, rotated, article.id, record) is not valid
    assert approval.record_verdict(settings, board, "oncology/other", record) is not valid
    assert approval.record_verdict(settings, board, article.id, record) is valid


def test_a_sealed_file_is_read_only_under_its_own_name_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sealed"
    assert cache.write_sealed(path, "articles", {"version": 3})
    assert cache.read_sealed(path, "articles") == {"version": 3}
    assert cache.read_sealed(path, "pages") is None  # a pack is never a page manifest
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    assert cache.read_sealed(path, "articles") is None
    os.chmod(path, 0o000)
    assert cache.read_sealed(path, "articles") is None


def _clean_feed(root: Path, target: Path) -> bytes:
    """The feed a build makes of a copy of `root` with no earlier build or cache."""
    ignored = shutil.ignore_patterns("build", "site", "site-*", ".site-*")
    shutil.copytree(root, target, symlinks=True, ignore=ignored)
    assert run_cli(target, "build").exit_code == 0
    return (target / "site" / "feed.xml").read_bytes()


def test_the_kept_feed_follows_board_names_summaries_and_approvals(
    publication: Path, tmp_path: Path
) -> None:
    replace_in(
        publication,
        "content/publication.yml",
        "site_url: https://example-org.github.io/clinical-guideline-notes/\n",
        "site_url: https://notes.example.org/\n",
    )
    git(publication, "init", "-q", "-b", "main")
    commit(publication, EDITOR, "Articles", date="2026-12-01T12:00:00+00:00")
    assert run_cli(publication, "build").exit_code == 0
    feed = publication / "site" / "feed.xml"
    assert "Jordan Doe" in feed.read_text(encoding="utf-8")
    edits = [
        ("content/board.yml", "name: Jordan Doe", "name: Jordan Q. Doe"),
        ("content/publication.yml", "\nname: Clinical", "\nname: Renamed Clinical"),
        (THIRD, "status: approved", "status: under_review"),  # its last approved revision
        (OTHER, "status: approved", "status: under_review"),
        (OTHER, "\n\n", "\n\nA new first sentence of the summary.\n\n"),
    ]
    for number, (file, old, new) in enumerate(edits):
        replace_in(publication, file, old, new)
        assert run_cli(publication, "build").exit_code == 0
        assert feed.read_bytes() == _clean_feed(publication, tmp_path / f"clean-{number}")


def test_config_bytes_are_what_a_check_keys_by(publication: Path) -> None:
    config = checkcache.config_bytes(publication)
    surveyed = loader.survey(publication)
    assert checkcache.parsed_from(surveyed, config)
