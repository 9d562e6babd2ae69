"""The parse cache: a cached check says exactly what an uncached one says, re-parses what
changed, and trusts no cache entry this machine did not make."""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import cache, loader, readability, signing
from pipeline.checkcache import check_publication
from pipeline.checks import run_checks
from tests.conftest import copy_publication, replace_in, run_cli, write
from tests.test_readability import PATIENT, _make_hard

ARTICLE = "content/cardiology/af-anticoagulation.md"


@pytest.fixture(autouse=True)
def own_cache_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own per-user cache key (and its own verdicts in memory)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv(cache.DISABLE, raising=False)
    monkeypatch.setattr(signing, "_cache", {})


def spy(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, note: Callable[..., object]
) -> list:
    """Each call of `owner.name` noted (`note` of its arguments), then made as ever."""
    made: list = []
    real = getattr(owner, name)

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a test double
        made.append(note(*args, **kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return made


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the loader parses (rather than takes from the cache), in one process."""
    return spy(monkeypatch, loader, "_parse", lambda source, data, evidence, *_: source.path)


def _forge_signature(root: Path, rel: str) -> None:
    """One character of the last record's signature changed, inside the signature bytes."""
    text = (root / rel).read_text(encoding="utf-8")
    at = text.index("\n", text.rindex("signature: ")) - 10
    forged = text[:at] + ("B" if text[at] != "B" else "C") + text[at + 1 :]
    (root / rel).write_text(forged, encoding="utf-8")


def _with_problems(root: Path) -> None:
    """Problems of many kinds, so that equal diagnostics mean something."""
    _forge_signature(root, ARTICLE)
    replace_in(root, "content/oncology/net-imaging.md", "[@", "[@no-such-key; @")
    write(root, "content/cardiology/broken.md", "---\ntitle: [unclosed\n---\nBody.\n")
    with (root / "references" / "library.bib").open("a", encoding="utf-8") as bib:
        bib.write("\n@article{half-done,\n  title = {No year and no source},\n")
    _make_hard(root)  # readability.grade, whose measure is cached too
    replace_in(root, ARTICLE, "\n- ", "\n- <iframe src='https://x.example/'></iframe> ")
    with (root / "references" / "library.bib").open("a", encoding="utf-8") as bib:
        bib.write("\n@misc{scripted,\n  title = {A <b>bold</b> title},\n  year = {2020},\n")
        bib.write("  url = {javascript:alert(1)},\n  doi = {not-a-doi}\n}\n")


def _diagnostics(root: Path) -> list:
    signing._cache.clear()  # every verdict from the verifier or the cache, not from memory
    return sorted(run_checks(loader.load(root)))


def _uncached(root: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        return _diagnostics(root)


def _sources(root: Path) -> int:
    return len([p for p in (root / "content").rglob("*.md")]) + len(
        list((root / "references").glob("*.bib"))
    )


def test_a_cached_check_reports_exactly_what_an_uncached_one_does(
    publication: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    _with_problems(publication)
    expected = _uncached(publication, monkeypatch)
    assert expected, "the publication should have problems to report"
    assert not (publication / cache.FOLDER).exists()
    parses.clear()
    assert _diagnostics(publication) == expected  # cold: parses and fills the cache
    assert len(parses) == _sources(publication)
    parses.clear()
    assert _diagnostics(publication) == expected  # warm: nothing parsed again
    assert parses == []
    cold = run_cli(publication, "check", "--format", "json")
    assert cold.exit_code == 1
    assert run_cli(publication, "check", "--format", "json").output == cold.output


def test_parallel_workers_fill_the_same_cache(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_problems(publication)
    expected = _uncached(publication, monkeypatch)
    monkeypatch.setattr(loader, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(loader, "_CHUNK", 3)
    monkeypatch.setattr(loader.os, "cpu_count", lambda: 2)
    assert _diagnostics(publication) == expected  # workers start while files are read
    assert _diagnostics(publication) == expected  # all from the cache
    replace_in(publication, "content/oncology/net-imaging.md", "no-such-key", "no-such-other")
    changed = _uncached(publication, monkeypatch)
    assert changed != expected
    assert _diagnostics(publication) == changed  # workers for what the cache does not hold
    monkeypatch.setattr(loader, "PARALLEL_THRESHOLD", 10_000)
    assert _diagnostics(publication) == changed


def test_a_changed_file_is_parsed_again(publication: Path, parses: list[str]) -> None:
    _diagnostics(publication)
    replace_in(publication, ARTICLE, "[@", "[@no-such-key; @")
    parses.clear()
    found = _diagnostics(publication)
    assert parses == [ARTICLE]
    assert any(d.code == "citation.unknown-key" and d.file == ARTICLE for d in found)
    # ... and changed back, the first entry serves again (content-addressed).
    replace_in(publication, ARTICLE, "[@no-such-key; @", "[@")
    parses.clear()
    assert not [d for d in _diagnostics(publication) if d.code == "citation.unknown-key"]
    assert parses == [ARTICLE]


def test_changed_settings_that_parsing_reads_miss_the_cache(
    publication: Path, parses: list[str]
) -> None:
    _diagnostics(publication)
    replace_in(publication, "content/publication.yml", "Recommendations", "Advice")
    parses.clear()
    _diagnostics(publication)
    assert len(parses) == _sources(publication) - len(list(publication.glob("references/*.bib")))


def test_a_tampered_or_truncated_pack_is_not_trusted(
    publication: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    _with_problems(publication)
    expected = _uncached(publication, monkeypatch)
    _diagnostics(publication)
    pack = publication / cache.FOLDER / "sources.pack"
    data = pack.read_bytes()
    for broken in (data[: len(data) // 2], data[:-1] + bytes([data[-1] ^ 1]), b"", b"GPCACHE1"):
        pack.write_bytes(broken)
        parses.clear()
        assert _diagnostics(publication) == expected
        assert len(parses) == _sources(publication)


class _Payload:
    """What an attacker would put in a pickle: code that runs when it is read."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.write_text, (self.marker, "ran"))


def test_a_forged_pack_is_never_unpickled(publication: Path, tmp_path: Path) -> None:
    _diagnostics(publication)
    marker = tmp_path / "attacker-code-ran"
    body = pickle.dumps({b"k" * 32: pickle.dumps(_Payload(marker))})
    body_only = pickle.dumps(_Payload(marker))
    for forged in (b"GPCACHE1" + b"\0" * 32 + body, b"GPCACHE1" + b"\0" * 32 + body_only, body):
        for name in ("sources", "verdicts"):
            (publication / cache.FOLDER / f"{name}.pack").write_bytes(forged)
        _diagnostics(publication)
        assert not marker.exists()


def test_another_users_cache_is_foreign(
    publication: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[str]
) -> None:
    _diagnostics(publication)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    parses.clear()
    _diagnostics(publication)
    assert len(parses) == _sources(publication)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_a_committed_cache_folder_is_thrown_away(publication: Path, parses: list[str]) -> None:
    _diagnostics(publication)  # a valid cache, as an attacker with this machine's key made it
    _git(publication, "init", "-q")
    _git(publication, "add", "-A")
    _git(publication, "add", "-f", cache.FOLDER)
    _git(publication, "commit", "-q", "-m", "a publication with its cache committed")
    parses.clear()
    _diagnostics(publication)
    assert len(parses) == _sources(publication)
    parses.clear()
    _diagnostics(publication)  # and never trusted while Git tracks it
    assert len(parses) == _sources(publication)


def test_a_cache_folder_without_this_machines_stamp_is_thrown_away(
    publication: Path, parses: list[str]
) -> None:
    _diagnostics(publication)
    (publication / cache.FOLDER / cache.STAMP).unlink()
    parses.clear()
    _diagnostics(publication)
    assert len(parses) == _sources(publication)
    assert (publication / cache.FOLDER / cache.STAMP).is_file()


def test_a_forged_signature_stays_forged_with_a_warm_cache(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forge_signature(publication, ARTICLE)
    for _ in range(3):
        found = _diagnostics(publication)
        assert any(d.code == "review.bad-signature" and d.file == ARTICLE for d in found)
    # Verdicts from the cache are the verifier's own: the pack holds nothing else.
    known = signing.known_verdicts()
    assert known and set(known.values()) <= set(signing.Verdict)


def test_the_cache_can_be_turned_off(publication: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.DISABLE, "1")
    _diagnostics(publication)
    assert not (publication / cache.FOLDER).exists()


def test_a_linked_build_folder_is_never_written_or_cleared_through(
    publication: Path, tmp_path: Path, parses: list[str]
) -> None:
    elsewhere = tmp_path / "someone-elses-folder"
    (elsewhere / "cache").mkdir(parents=True)
    (elsewhere / "cache" / "precious.txt").write_text("keep me")
    (publication / "build").symlink_to(elsewhere, target_is_directory=True)
    _diagnostics(publication)
    _diagnostics(publication)
    assert len(parses) == 2 * _sources(publication)  # no cache: both runs parse
    assert sorted(p.name for p in (elsewhere / "cache").iterdir()) == ["precious.txt"]


@pytest.fixture
def measures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bodies whose readability is measured (rather than taken from the cache)."""
    return spy(monkeypatch, readability, "measure", lambda text, first_line=1: text)


def test_readability_is_measured_once_per_text(
    publication: Path, monkeypatch: pytest.MonkeyPatch, measures: list[str]
) -> None:
    line = _make_hard(publication)
    expected = _uncached(publication, monkeypatch)
    assert ("readability.grade", PATIENT, line) in {(d.code, d.file, d.line) for d in expected}
    measures.clear()
    assert _diagnostics(publication) == expected  # cold: measured and kept
    assert measures
    measures.clear()
    assert _diagnostics(publication) == expected  # warm: the grades come from the cache
    assert measures == []
    replace_in(publication, PATIENT, "Pharmacological management", "Drug treatment")
    changed = _diagnostics(publication)
    assert len(measures) == 1 and "Drug treatment" in measures[0]  # only the changed text
    assert changed == _uncached(publication, monkeypatch)


def _codes(found: list) -> set[tuple[str, str, int | None]]:
    return {(d.code, d.file, d.line) for d in found}


def test_a_changed_file_is_judged_again_and_joins_still_fire(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-file rules' findings come from the cache only for unchanged files; the rules
    that join files (citation keys, duplicate ids) run on every check."""
    _with_problems(publication)
    _diagnostics(publication)
    warm = _diagnostics(publication)
    with (publication / ARTICLE).open("a", encoding="utf-8") as article:
        article.write("\n<script>alert(1)</script>\n")  # on a line of its own, at the end
    changed = _diagnostics(publication)
    assert changed == _uncached(publication, monkeypatch)
    assert changed != warm  # the edited article's findings are new, not the cached ones
    # A cited reference deleted: its file changed, the citing articles did not.
    bib = publication / "references" / "cardiology.bib"
    text = bib.read_text(encoding="utf-8")
    key = "aha-acc-htn-2025"
    start = text.index("@article{" + key)
    bib.write_text(text[:start] + text[text.index("\n@", start) + 1 :], encoding="utf-8")
    gone = _diagnostics(publication)
    assert gone == _uncached(publication, monkeypatch)
    assert any(d.code == "citation.unknown-key" and key in d.message for d in gone), key
    # An article copied under another name: the duplicate is found on a warm run.
    copy = "content/cardiology/af-anticoagulation-copy.md"
    (publication / copy).write_bytes((publication / ARTICLE).read_bytes())
    both = _diagnostics(publication)
    assert both == _uncached(publication, monkeypatch)
    assert _codes(both) - _codes(gone)


# --- the whole check, remembered (pipeline/checks.py `check_publication`) -------------------


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The loads a check makes (a check answered from its stored result makes none)."""
    return spy(monkeypatch, loader, "load", lambda root, *args, **kwargs: root)


@pytest.fixture
def assembled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The checks made (of kept parts or not) rather than answered from a stored result."""
    from pipeline import checks

    return spy(monkeypatch, checks, "assemble", lambda *args: 1)


@pytest.fixture
def loaded_alone(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The articles a check loads and judges alone (pipeline/checkcache.py `_Parts`)."""
    return spy(monkeypatch, loader, "load_articles", lambda surveyed, ids: set(ids))


@pytest.fixture
def fingerprints(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The articles whose content fingerprint is worked out (rather than taken from the cache)."""
    from pipeline import approval
    from pipeline import fingerprint as fingerprint_module

    made: list[str] = []
    real = fingerprint_module.fingerprint

    def counting(article, library):  # noqa: ANN001, ANN202 - a test double
        made.append(article.id)
        return real(article, library)

    monkeypatch.setattr(fingerprint_module, "fingerprint", counting)
    monkeypatch.setattr(approval, "fingerprint", counting)  # an article judged alone
    return made


def _check(root: Path, today: dt.date | None = None) -> tuple[list, int]:
    signing._cache.clear()
    result = check_publication(root, today)
    return sorted(result.diagnostics), result.articles


def _check_uncached(
    root: Path, monkeypatch: pytest.MonkeyPatch, today: dt.date | None = None
) -> tuple[list, int]:
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        return _check(root, today)


def test_an_unchanged_check_is_answered_without_loading_anything(
    publication: Path, monkeypatch: pytest.MonkeyPatch, loads: list[Path], parses: list[str]
) -> None:
    _with_problems(publication)
    expected = _check_uncached(publication, monkeypatch)
    assert expected[0] and expected[1] == 9
    assert _check(publication) == expected  # cold: loads, checks and keeps the result
    assert _check(publication) == expected  # the second run: its files are read first
    loads.clear()
    parses.clear()
    assert _check(publication) == expected
    assert loads == [] and parses == []  # no source unpickled, no rule run


def test_cli_output_is_the_same_warm_cold_and_uncached(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_problems(publication)
    outputs: dict[str, str] = {}
    for fmt in ("json", "text", "github"):
        with monkeypatch.context() as patch:
            patch.setenv(cache.DISABLE, "1")
            uncached = run_cli(publication, "check", "--format", fmt)
        cold = run_cli(publication, "check", "--format", fmt)
        warm = run_cli(publication, "check", "--format", fmt)
        assert uncached.exit_code == cold.exit_code == warm.exit_code == 1
        assert uncached.output == cold.output == warm.output
        assert uncached.stderr == cold.stderr == warm.stderr
        outputs[fmt] = warm.output
    assert '"articles": 9' in outputs["json"]


def test_a_changed_reference_file_changes_the_citing_articles_approval(
    publication: Path, monkeypatch: pytest.MonkeyPatch, fingerprints: list[str]
) -> None:
    before = _check(publication)
    _check(publication)
    assert not any(d.code == "review.stale" and d.file == ARTICLE for d in before[0])
    # A shown field of a reference the approved article cites: its approval no longer holds.
    replace_in(publication, "references/cardiology.bib", "Guideline for the Diagnosis", "Draft")
    fingerprints.clear()
    after = _check(publication)
    made = list(fingerprints)
    assert after == _check_uncached(publication, monkeypatch)
    assert any(d.code == "review.stale" and d.file == ARTICLE for d in after[0])
    # Only the articles citing that file's entries are fingerprinted again.
    assert "cardiology/af-anticoagulation" in made
    assert "oncology/net-imaging" not in made


def test_one_changed_article_is_the_only_one_fingerprinted_again(
    publication: Path, monkeypatch: pytest.MonkeyPatch, fingerprints: list[str]
) -> None:
    _check(publication)
    assert len(fingerprints) == 8
    replace_in(publication, ARTICLE, "prefer a direct", "favour a direct")
    fingerprints.clear()
    changed = _check(publication)
    assert fingerprints == ["cardiology/af-anticoagulation"]
    assert changed == _check_uncached(publication, monkeypatch)
    assert any(d.code == "review.stale" and d.file == ARTICLE for d in changed[0])


def test_an_added_audience_variant_changes_the_fingerprint(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(publication)
    _check(publication)
    # The article's own patient wording, for students too: no key cited that was not before.
    patient = publication / "content/cardiology/af-anticoagulation.patient.md"
    (publication / "content/cardiology/af-anticoagulation.student.md").write_bytes(
        patient.read_bytes()
    )
    found = _check(publication)
    assert found == _check_uncached(publication, monkeypatch)
    assert any(d.code == "review.stale" and d.file == ARTICLE for d in found[0])


def test_a_key_defined_again_in_an_earlier_file_is_the_one_fingerprinted(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(publication)
    _check(publication)
    # `Library.get` takes the first definition in file order: a new file before the others
    # changes which entry the approved article cites, though no file it read changed.
    write(
        publication,
        "references/aaa-first.bib",
        "@article{acc-aha-af-2023,\n  title = {Another title},\n  journal = {J},\n"
        "  year = {2020}\n}\n",
    )
    found = _check(publication)
    assert found == _check_uncached(publication, monkeypatch)
    assert any(d.code == "review.stale" and d.file == ARTICLE for d in found[0])


def test_a_new_day_can_make_a_review_overdue(
    publication: Path, monkeypatch: pytest.MonkeyPatch, assembled: list[int]
) -> None:
    due = dt.date(2028, 12, 2)  # approved 2026-12-02, reviewed every 24 months
    on_time = _check(publication, due)
    assert _check(publication, due) == on_time
    assert not any(d.code == "review.overdue" for d in on_time[0])
    assembled.clear()
    late = _check(publication, due + dt.timedelta(days=1))
    assert assembled, "a new day is a new check (of the articles' kept findings)"
    assert late == _check_uncached(publication, monkeypatch, due + dt.timedelta(days=1))
    assert any(d.code == "review.overdue" and d.file == ARTICLE for d in late[0])


def test_files_added_and_removed_are_checked(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _check(publication)
    _check(publication)
    copy = "content/cardiology/af-anticoagulation-copy.md"
    (publication / copy).write_bytes((publication / ARTICLE).read_bytes())
    added = _check(publication)
    assert added == _check_uncached(publication, monkeypatch)
    assert added[1] == base[1] + 1
    (publication / copy).unlink()
    assert _check(publication) == base
    (publication / "references" / "oncology.bib").unlink()
    removed = _check(publication)
    assert removed == _check_uncached(publication, monkeypatch)
    assert any(d.code == "citation.unknown-key" for d in removed[0])
    write(publication, "content/notes.txt", "not an article\n")  # a file the scan reports
    odd = _check(publication)
    assert odd == _check_uncached(publication, monkeypatch)
    assert odd != removed


def test_changed_settings_board_or_site_config_are_checked_again(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(publication)
    _check(publication)
    replace_in(publication, "content/board.yml", "id: bjones", "id: bjones-gone")
    board = _check(publication)
    assert board == _check_uncached(publication, monkeypatch)
    assert any(d.code == "review.unknown-reviewer" for d in board[0])
    replace_in(
        publication, "content/publication.yml", "approvals_required: 1", "approvals_required: 2"
    )
    settings = _check(publication)
    assert settings == _check_uncached(publication, monkeypatch)
    assert settings != board
    replace_in(publication, "mkdocs.yml", "site_name:", "site_nam:")
    result = check_publication(publication)
    assert result.config_failed and result.articles == 0
    assert [d.code for d in result.diagnostics] == ["config.schema"]


def test_a_tampered_or_copied_result_pack_is_ignored(
    publication: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, assembled: list[int]
) -> None:
    _with_problems(publication)
    expected = _check_uncached(publication, monkeypatch)
    _check(publication)
    pack = publication / cache.FOLDER / "checks.pack"
    data = pack.read_bytes()
    for broken in (data[:-1] + bytes([data[-1] ^ 1]), data[: len(data) // 2], b""):
        pack.write_bytes(broken)
        assembled.clear()
        assert _check(publication) == expected
        assert assembled  # not trusted: checked again (from its kept parts)
    # A result this user's key signed, for another publication: its inputs differ, so it is
    # never taken for this one's.
    other = copy_publication(tmp_path / "other")
    _check(other)
    _check(other)
    shutil.copy(other / cache.FOLDER / "checks.pack", pack)
    assembled.clear()
    assert _check(publication) == expected
    assert assembled
    # Another user's key: the pack is foreign.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    shutil.copy(other / cache.FOLDER / "checks.pack", pack)
    assembled.clear()
    assert _check(publication) == expected
    assert assembled


def test_a_forged_result_pack_is_never_unpickled(publication: Path, tmp_path: Path) -> None:
    _check(publication)
    marker = tmp_path / "attacker-code-ran"
    body = pickle.dumps({b"k" * 32: pickle.dumps(_Payload(marker))})
    (publication / cache.FOLDER / "checks.pack").write_bytes(b"GPCACHE1" + b"\0" * 32 + body)
    _check(publication)
    assert not marker.exists()


def test_no_result_is_kept_with_the_cache_turned_off(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(publication)
    assert (publication / cache.FOLDER / "checks.pack").is_file()
    monkeypatch.setenv(cache.DISABLE, "1")
    replace_in(publication, ARTICLE, "[@", "[@no-such-key; @")
    found = _check(publication)
    assert any(d.code == "citation.unknown-key" for d in found[0])
    assert run_cli(publication, "check", "--no-cache").exit_code == 1


def test_a_change_undone_is_answered_from_the_stored_result(
    publication: Path, monkeypatch: pytest.MonkeyPatch, loads: list[Path]
) -> None:
    original = _check(publication)
    replace_in(publication, ARTICLE, "[@", "[@no-such-key; @")
    changed = _check(publication)
    assert changed != original
    replace_in(publication, ARTICLE, "[@no-such-key; @", "[@")
    loads.clear()
    assert _check(publication) == original
    assert loads == []
    assert _check_uncached(publication, monkeypatch) == original


def test_an_unchanged_check_imports_neither_the_loader_nor_the_rules(publication: Path) -> None:
    import sys

    script = (
        "import sys; from pathlib import Path; "
        "from pipeline.checkcache import check_publication; "
        "check_publication(Path(sys.argv[1])); "
        "heavy = ('pipeline.loader', 'pipeline.checks', 'pydantic', 'yaml', 'pybtex'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, str(publication)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout.strip()
        for _ in range(3)
    ]
    assert runs[0] != "[]"  # the first check loads and runs the rules
    assert runs[2] == "[]"


def _packs(root: Path) -> dict[str, set[bytes]]:
    where = cache.folder(root)
    names = ("sources", "findings", "fingerprints", "readability", "articles", "library")
    return {name: set(cache.Pack(where, name).entries) for name in (*names, "verdicts")}


def _on_cores(monkeypatch: pytest.MonkeyPatch, cores: int) -> tuple[list, list]:
    """Every whole check judged on `cores` cores: the shares judged in this process (their
    sizes; the forked copies' calls are not seen here) and the processes forked."""
    from pipeline import checks, judging

    monkeypatch.setattr(judging, "PARALLEL_JUDGE", 2)
    monkeypatch.setattr(judging.os, "cpu_count", lambda: cores)
    shares = spy(monkeypatch, judging, "_judge_share", lambda context, share: len(share))
    return shares, spy(monkeypatch, checks.os, "fork", lambda: None)


def test_a_check_judged_on_every_core_says_what_one_process_says(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_problems(publication)
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        expected = check_publication(publication).diagnostics  # one process, every rule
    serial = check_publication(publication).diagnostics  # cold, judged in this process
    assert serial == expected  # in order, not only as a set
    kept = _packs(publication)
    assert all(kept.values())
    shutil.rmtree(publication / cache.FOLDER)
    shares, forks = _on_cores(monkeypatch, 3)
    assert check_publication(publication).diagnostics == expected  # cold, in three processes
    assert shares == [3] and len(forks) == 2  # 3 of the 9 articles here, the rest forked
    assert _packs(publication) == kept  # every share's entries, written once
    assert check_publication(publication).diagnostics == expected  # warm: the result kept
    # A changed reference file judges every article again, from the packs the shares kept.
    replace_in(publication, "references/cardiology.bib", "{esc-htn-2024,", "{esc-htn-2023,")
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        changed = check_publication(publication).diagnostics
    assert changed != expected
    parsed = spy(monkeypatch, loader, "_parse", lambda source, *rest: source.kind)
    assert check_publication(publication).diagnostics == changed
    assert parsed == ["references"]  # the articles came from the parse cache, in the shares
    assert shares == [3, 3] and len(forks) == 4


def test_a_share_whose_process_fails_is_judged_here(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import checks

    _with_problems(publication)
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        expected = check_publication(publication).diagnostics
    check_publication(publication)
    kept = _packs(publication)
    shutil.rmtree(publication / cache.FOLDER)
    shares, _ = _on_cores(monkeypatch, 2)

    def no_fork() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(checks.os, "fork", no_fork)
    assert check_publication(publication).diagnostics == expected
    assert shares == [4, 5]  # the copy's share, judged here instead
    assert _packs(publication) == kept


def test_a_rule_on_a_file_of_no_article_in_a_share_judges_the_whole_load(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Such findings cannot be kept by article: the check is made as a whole load's is.
    from pipeline import checks

    _with_problems(publication)
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        expected = check_publication(publication).diagnostics
    shares, _ = _on_cores(monkeypatch, 2)
    monkeypatch.setattr(checks, "judge_part", lambda project: None)
    whole = spy(monkeypatch, loader, "load", lambda *args, **kwargs: 1)
    assert check_publication(publication).diagnostics == expected
    assert shares == [4] and whole == [1]


def test_a_parsed_article_is_kept_without_its_model_and_unpickles_to_the_same(
    publication: Path,
) -> None:
    # The model is the validation of the front matter's fields: made again when unpickled
    # (cheaper than pickling it), equal to the one made when parsing; an invalid one stays None.
    write(publication, "content/cardiology/broken.md", "---\ntitle: [unclosed\n---\nBody.\n")
    project = loader.load(publication, use_cache=False)
    assert any(a.meta is None for a in project.articles.values())
    for article in project.articles.values():
        blob = cache.dump(article)
        assert b"FrontMatter" not in blob and b"ReviewRecord" not in blob
        again = cache.load(blob)
        assert again == article and again.meta == article.meta
        assert type(again.meta) is type(article.meta)


def test_a_check_makes_no_html_and_a_load_for_pages_makes_it_once(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A check reads no HTML: none is rendered or sanitised. A load for pages (build, serve)
    # makes it while parsing, from the same tokens; a page given a body the check's cache
    # entry left without HTML gets the same HTML, made when it asks.
    from pipeline import citations

    sanitised = spy(monkeypatch, citations, "sanitize_html", lambda html: 1)
    _with_problems(publication)
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        check_publication(publication)
    check_publication(publication)  # cold: fills the parse cache without HTML
    assert sanitised == []
    from_check = loader.load(publication)  # the check's entries: HTML made when asked
    assert sanitised == []
    with monkeypatch.context() as patch:
        patch.setenv(cache.DISABLE, "1")
        eager = loader.load(publication)  # parsed for pages: HTML made while parsing
    bodies = sum(len(a.bodies) for a in eager.articles.values())
    assert bodies > 9 and len(sanitised) == bodies
    for article_id, article in eager.articles.items():
        for audience, body in article.bodies.items():
            assert body.facts._html is not None
            later = from_check.articles[article_id].bodies[audience].facts
            assert later._html is None and later.html == body.facts.html
    assert len(sanitised) == 2 * bodies


def test_a_failure_in_this_process_still_waits_for_the_forked_one(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import checks

    _on_cores(monkeypatch, 2)
    waited = spy(monkeypatch, checks.Forked, "result", lambda self: self.pid)

    def broken(project: object) -> None:
        raise RuntimeError("a rule failed")

    monkeypatch.setattr(checks, "judge_library", broken)
    with pytest.raises(RuntimeError, match="a rule failed"):
        check_publication(publication)
    assert len(waited) == 1 and waited[0] > 0  # the copy is waited for, not left behind

