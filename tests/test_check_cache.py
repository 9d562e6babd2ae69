"""The parse cache: a cached check says exactly what an uncached one says, re-parses what
changed, and trusts no cache entry this machine did not make."""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path

import pytest

from pipeline import cache, loader, readability, signing
from pipeline.checks import run_checks
from tests.conftest import replace_in, run_cli, write
from tests.test_readability import PATIENT, _make_hard

ARTICLE = "content/cardiology/af-anticoagulation.md"


@pytest.fixture(autouse=True)
def own_cache_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own per-user cache key (and its own verdicts in memory)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv(cache.DISABLE, raising=False)
    monkeypatch.setattr(signing, "_cache", {})


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the loader parses (rather than takes from the cache), in one process."""
    parsed: list[str] = []
    real = loader._parse

    def counting(source, data, evidence):  # noqa: ANN001, ANN202 - a test double
        parsed.append(source.path)
        return real(source, data, evidence)

    monkeypatch.setattr(loader, "_parse", counting)
    return parsed


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
    measured: list[str] = []
    real = readability.measure

    def counting(text, first_line=1):  # noqa: ANN001, ANN202 - a test double
        measured.append(text)
        return real(text, first_line)

    monkeypatch.setattr(readability, "measure", counting)
    return measured


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
