"""A check after a small edit: each article's findings are kept by what they were made of, so
that a changed article is loaded and judged alone, and the rules that join articles (unused
references, related links, duplicate keys) run on every check. Whatever changed, the result is
exactly an uncached check's, diagnostic for diagnostic and in the same order."""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import cache, signing
from pipeline.checkcache import check_publication
from tests import test_check_cache as cached
from tests.conftest import replace_in, run_cli, write
from tests.test_check_cache import _forge_signature, _Payload, _with_problems

# The same fixtures as the whole-check cache tests: a per-user key each, and the counters.
own_cache_key = cached.own_cache_key
parses = cached.parses
loaded_alone = cached.loaded_alone
loads = cached.loads

ARTICLE = "content/cardiology/af-anticoagulation.md"
OTHER = "content/oncology/net-imaging.md"  # cites oncology.bib only
THIRD = "content/oncology/net-skin-lesions.md"  # approved, and untouched by _with_problems


def _check(root: Path, today: dt.date | None = None) -> tuple[list, int]:
    """Every diagnostic in the order reported (not sorted: the order is part of the output)."""
    signing._cache.clear()
    result = check_publication(root, today)
    return list(result.diagnostics), result.articles


def _uncached(root: Path, monkeypatch: pytest.MonkeyPatch, today: dt.date | None = None) -> tuple:
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        return _check(root, today)


def _warm(root: Path, today: dt.date | None = None) -> None:
    _check(root, today)
    _check(root, today)


def _same_as_uncached(
    root: Path, monkeypatch: pytest.MonkeyPatch, today: dt.date | None = None
) -> tuple[list, int]:
    found = _check(root, today)
    assert found == _uncached(root, monkeypatch, today)
    return found


def _delete_entry(root: Path, bib: str, key: str) -> None:
    path = root / "references" / bib
    text = path.read_text(encoding="utf-8")
    start = text.index("{" + key + ",")
    start = text.rindex("@", 0, start)
    end = text.find("\n@", start)
    path.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""), encoding="utf-8")


def test_the_incremental_check_loads_nothing_but_the_changed_article(
    publication: Path, parses: list[str], loads: list[Path]
) -> None:
    _with_problems(publication)
    _warm(publication)
    replace_in(publication, OTHER, "\n- ", "\n- A new first bullet [@no-such-key].\n- ")
    parses.clear()
    loads.clear()
    found = _check(publication)
    assert parses == [OTHER, OTHER.replace(".md", ".patient.md")]  # its own files, no other
    assert loads == []
    assert any(d.code == "citation.unknown-key" and d.file == OTHER for d in found[0])


@pytest.mark.parametrize(
    "edit",
    [
        "body",
        "variant",
        "variant-added",
        "variant-removed",
        "article-removed",
        "article-added",
        "cited-reference",
        "cited-reference-deleted",
        "reference-duplicated",
        "only-citer-changed",
        "related-target-removed",
        "board",
        "publication",
        "signature",
        "readability",
    ],
)
def test_any_edit_gives_exactly_the_uncached_result(
    publication: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    _with_problems(publication)
    before = _check(publication)
    _warm(publication)
    EDITS[edit](publication)
    after = _same_as_uncached(publication, monkeypatch)
    assert after != before, f"the edit '{edit}' should change what the check reports"
    # ... and a second run (every article's findings now kept) says the same again.
    assert _check(publication) == after


def _body(root: Path) -> None:
    replace_in(root, THIRD, "\n- ", "\n- Also ")  # approved: the approval goes stale


def _variant(root: Path) -> None:
    path = root / "content/cardiology/af-anticoagulation.patient.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nSee [@no-such-key].\n", "utf-8")


def _variant_added(root: Path) -> None:
    patient = root / "content/oncology/net-skin-lesions.patient.md"
    (root / "content/oncology/net-skin-lesions.student.md").write_bytes(patient.read_bytes())


def _variant_removed(root: Path) -> None:
    (root / "content/cardiology/af-anticoagulation.patient.md").unlink()


def _article_removed(root: Path) -> None:
    # Another article names it as related, and it was the only one citing some references.
    (root / OTHER).unlink()
    (root / "content/oncology/net-imaging.patient.md").unlink()


def _article_added(root: Path) -> None:
    copy = "content/cardiology/af-anticoagulation-copy.md"
    (root / copy).write_bytes((root / ARTICLE).read_bytes())


def _cited_reference(root: Path) -> None:
    replace_in(root, "references/oncology.bib", "Radiological, Nuclear Medicine", "Draft")


def _cited_reference_deleted(root: Path) -> None:
    _delete_entry(root, "cardiology.bib", "aha-acc-htn-2025")


def _reference_duplicated(root: Path) -> None:
    write(
        root,
        "references/aaa-first.bib",
        "@article{acc-aha-af-2023,\n  title = {Another title},\n  journal = {J},\n"
        "  year = {2020}\n}\n",
    )


def _only_citer_changed(root: Path) -> None:
    # The references net-imaging alone cites become unused, in a file that did not change.
    text = (root / OTHER).read_text(encoding="utf-8")
    front_end = text.index("\n---\n", 4) + 5
    (root / OTHER).write_text(text[:front_end] + "No citations any more.\n", encoding="utf-8")


def _related_target_removed(root: Path) -> None:
    # Two unchanged articles name it as related.
    for path in (root / "content/cardiology").glob("hypertension-initial-therapy*.md"):
        path.unlink()


def _board(root: Path) -> None:
    replace_in(root, "content/board.yml", "id: bjones", "id: bjones-gone")


def _publication(root: Path) -> None:
    replace_in(root, "content/publication.yml", "approvals_required: 1", "approvals_required: 2")


def _signature(root: Path) -> None:
    _forge_signature(root, OTHER)


def _readability(root: Path) -> None:
    path = root / "content/oncology/net-imaging.patient.md"
    words = " ".join(["notwithstanding considerable interdisciplinary heterogeneity"] * 12)
    path.write_text(path.read_text(encoding="utf-8") + f"\n{words}.\n", encoding="utf-8")


EDITS: dict[str, Callable[[Path], None]] = {
    "body": _body,
    "variant": _variant,
    "variant-added": _variant_added,
    "variant-removed": _variant_removed,
    "article-removed": _article_removed,
    "article-added": _article_added,
    "cited-reference": _cited_reference,
    "cited-reference-deleted": _cited_reference_deleted,
    "reference-duplicated": _reference_duplicated,
    "only-citer-changed": _only_citer_changed,
    "related-target-removed": _related_target_removed,
    "board": _board,
    "publication": _publication,
    "signature": _signature,
    "readability": _readability,
}


def test_an_unchanged_article_whose_cited_reference_was_deleted_is_told(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _warm(publication)
    _delete_entry(publication, "cardiology.bib", "acc-aha-af-2023")
    found = _same_as_uncached(publication, monkeypatch)
    assert any(
        d.code == "citation.unknown-key" and d.file == ARTICLE and "acc-aha-af-2023" in d.message
        for d in found[0]
    )


def test_a_new_day_is_judged_again(publication: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    due = dt.date(2028, 12, 2)  # approved 2026-12-02, reviewed every 24 months
    _warm(publication, due)
    assert not any(d.code == "review.overdue" for d in _check(publication, due)[0])
    # One article edited on the next day: the others' kept findings are of the day before.
    replace_in(publication, OTHER, "\n- ", "\n- Something new [@no-such-key].\n- ")
    late = _same_as_uncached(publication, monkeypatch, due + dt.timedelta(days=1))
    assert any(d.code == "review.overdue" and d.file == ARTICLE for d in late[0])


def test_new_code_judges_again(publication: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kept finding is of the code that made it: other code (another rule, another
    message) starts afresh, even when the packs' own check would let them through."""
    _with_problems(publication)
    _warm(publication)
    replace_in(publication, OTHER, "\n- ", "\n- Something new [@no-such-key].\n- ")
    from pipeline import checks

    def stricter(project):  # noqa: ANN001, ANN202 - a new rule
        for article in checks._valid_articles(project):
            yield checks.diag("review.self-approval", article.file, 1, "new rule")

    monkeypatch.setattr(cache, "_code", b"another version of the code")
    monkeypatch.setattr(cache, "_keyed", None)
    new_rule = checks.Rule(stricter, ("review.self-approval",))
    monkeypatch.setattr(checks, "RULES", [*checks.RULES, new_rule])
    found = _same_as_uncached(publication, monkeypatch)
    assert sum(d.message == "new rule" for d in found[0]) == 8  # every valid article


def test_output_is_byte_identical_after_an_edit(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_problems(publication)
    for fmt in ("json", "text", "github"):
        run_cli(publication, "check", "--format", fmt)
        run_cli(publication, "check", "--format", fmt)
    replace_in(publication, OTHER, "\n- ", "\n- Something new [@no-such-key].\n- ")
    for fmt in ("json", "text", "github"):
        with monkeypatch.context() as patch:
            patch.setenv(cache.DISABLE, "1")
            uncached = run_cli(publication, "check", "--format", fmt)
        warm = run_cli(publication, "check", "--format", fmt)
        assert (warm.exit_code, warm.output, warm.stderr) == (
            uncached.exit_code,
            uncached.output,
            uncached.stderr,
        )


def test_a_forged_or_foreign_findings_pack_is_never_trusted(
    publication: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_problems(publication)
    _warm(publication)
    expected = _uncached(publication, monkeypatch)
    folder = publication / cache.FOLDER
    packs = sorted(p.name for p in folder.glob("*.pack"))
    assert "articles.pack" in packs and "library.pack" in packs, packs
    marker = tmp_path / "attacker-code-ran"
    body = pickle.dumps({b"k" * 32: pickle.dumps(_Payload(marker))})
    replace_in(publication, OTHER, "\n- ", "\n- Something new [@no-such-key].\n- ")
    expected = _uncached(publication, monkeypatch)
    for name in ("articles", "library"):
        saved = (folder / f"{name}.pack").read_bytes()
        (folder / f"{name}.pack").write_bytes(b"GPCACHE1" + b"\0" * 32 + body)
        (folder / "checks.pack").unlink()
        assert _check(publication) == expected
        assert not marker.exists()
        (folder / f"{name}.pack").write_bytes(saved[:-1] + bytes([saved[-1] ^ 1]))
        (folder / "checks.pack").unlink()
        assert _check(publication) == expected


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The source files read from disk (a file known by its lstat is not)."""
    from pipeline import checkcache, paths

    made: list[str] = []
    real = paths.read_source_bytes

    def counting(root, rel, folders=None):  # noqa: ANN001, ANN202 - a test double
        made.append(rel)
        return real(root, rel, folders)

    monkeypatch.setattr(paths, "read_source_bytes", counting)
    # Files written by a test are younger than the racy window: trust their times at once.
    monkeypatch.setattr(checkcache, "_RACY_NS", 0)
    return made


def test_an_unchanged_file_is_known_by_its_lstat_and_not_read(
    publication: Path, reads: list[str]
) -> None:
    _warm(publication)
    reads.clear()
    _check(publication)
    assert not [r for r in reads if r.endswith((".md", ".bib"))], reads
    replace_in(publication, OTHER, "\n- ", "\n- Also ")
    reads.clear()
    _check(publication)
    own = [OTHER, OTHER.replace(".md", ".patient.md")]  # the changed one, loaded with its variant
    assert [r for r in reads if r.endswith((".md", ".bib"))] == own


def test_an_edit_that_keeps_size_and_times_is_still_seen(
    publication: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    import os

    _warm(publication)
    path = publication / THIRD
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    at = text.index("\n- ") + 3
    path.write_text(text[:at] + text[at].swapcase() + text[at + 1 :], encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as before
    assert path.stat().st_size == before.st_size
    found = _same_as_uncached(publication, monkeypatch)
    assert any(d.code == "review.stale" and d.file == THIRD for d in found[0])


def test_a_folder_swapped_for_a_link_is_not_taken_for_the_files_read_before(
    publication: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    _warm(publication)
    outside = tmp_path / "elsewhere"
    (publication / "content/oncology").rename(outside)  # the same files, the same inodes
    (publication / "content/oncology").symlink_to(outside, target_is_directory=True)
    _same_as_uncached(publication, monkeypatch)


def test_files_and_folders_added_removed_or_swapped_are_scanned_again(
    publication: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    """The scan is remembered by its folders' times: any entry added, removed or replaced in
    any folder (however deep, however empty it was) is seen."""
    (publication / "content/empty/deeper").mkdir(parents=True)
    _warm(publication)
    _check(publication)
    steps = [
        lambda: write(publication, "content/empty/deeper/stray.txt", "not an article\n"),
        lambda: (publication / "content/empty/deeper/stray.txt").unlink(),
        lambda: write(publication, "content/newtopic/x.md", (publication / THIRD).read_text()),
        lambda: (publication / "content/cardiology/af-anticoagulation.patient.md").unlink(),
        lambda: (publication / "content/cardiology/af-anticoagulation.patient.md").symlink_to(
            publication / "content/oncology/net-imaging.patient.md"
        ),
        lambda: write(publication, "references/zzz.bib", "@misc{zzz-new,\n  title = {T}\n}\n"),
    ]
    for step in steps:
        before = _check(publication)
        step()
        after = _same_as_uncached(publication, monkeypatch)
        assert after != before


def test_the_next_days_judge_no_article_again_and_dates_still_fall_due(
    publication: Path, monkeypatch: pytest.MonkeyPatch, loads: list, loaded_alone: list
) -> None:
    """What an article's findings are on a day is kept with the days they hold for: a new day
    loads nothing, yet a review falls due and a future date stops being one on the day they
    should; and a day before the one a judgement was made on is judged afresh."""
    due = dt.date(2028, 12, 2)  # THIRD approved 2026-12-02, reviewed every 24 months
    replace_in(publication, OTHER, "last_updated: ", "last_updated: 2028-12-06 #")
    _warm(publication, due - dt.timedelta(days=1))
    seen = set()
    for offset in range(0, 6):
        day = due + dt.timedelta(days=offset)
        loads.clear()
        loaded_alone.clear()
        found = _check(publication, day)
        assert loads == [] and not any(loaded_alone), (day, loads, loaded_alone)  # none
        assert found == _uncached(publication, monkeypatch, day), day
        seen |= {(d.code, d.file, day > due) for d in found[0] if d.code != "review.stale"}
    assert ("review.overdue", THIRD, True) in seen
    assert ("review.overdue", THIRD, False) not in seen
    assert ("date.future", OTHER, False) in seen
    earlier = due - dt.timedelta(days=400)
    assert _check(publication, earlier) == _uncached(publication, monkeypatch, earlier)


def test_findings_of_two_graded_audiences_keep_their_order_when_one_article_is_judged_alone(
    publication: Path, monkeypatch: pytest.MonkeyPatch, loaded_alone: list
) -> None:
    """An uncached check reports each graded audience's readability findings in the order of
    `publication.yml`. A changed article without the first audience's wording, judged alone,
    must not move its findings for the second one in among the first one's."""
    replace_in(
        publication,
        "content/publication.yml",
        "    disclaimer: student\n",
        "    disclaimer: student\n    readability_grade: 1\n",
    )
    replace_in(
        publication,
        "content/publication.yml",
        "    readability_grade: 8\n",
        "    readability_grade: 1\n",
    )
    before, _ = _same_as_uncached(publication, monkeypatch)
    graded = [d.file for d in before if d.code == "readability.grade"]
    assert any(f.endswith(".student.md") for f in graded)
    assert any(f.endswith(".patient.md") for f in graded)
    _warm(publication)
    # This article has a patient wording and no student one.
    replace_in(
        publication,
        "content/cardiology/af-anticoagulation.patient.md",
        "\n- ",
        "\n- Please talk with your care team about how well this medicine works for you. ",
    )
    loaded_alone.clear()
    after, _ = _same_as_uncached(publication, monkeypatch)
    assert loaded_alone, "the changed article should have been judged alone"
    assert after != before
