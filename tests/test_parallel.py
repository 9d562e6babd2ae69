"""Large publications are parsed and rendered on every core; the result must not change."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import loader, render
from pipeline.checks import run_checks
from pipeline.render import render_site


def _generated(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.md"))}


def test_parallel_load_and_render_match_sequential(
    publication: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequential = loader.load(publication)
    render_site(sequential, tmp_path / "one", preview=True)
    monkeypatch.setattr(loader, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(loader, "_CHUNK", 2)
    monkeypatch.setattr(render, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(loader.os, "cpu_count", lambda: 2)
    parallel = loader.load(publication)
    assert list(parallel.articles) == list(sequential.articles)
    assert sorted(run_checks(parallel)) == sorted(run_checks(sequential))
    result = render_site(parallel, tmp_path / "many", preview=True)
    assert _generated(tmp_path / "many") == _generated(tmp_path / "one")
    cited = {c.key.lower() for a in parallel.articles.values() for c in a.citations()}
    assert len(result.published) == 8
    assert result.formatted_references == len(cited)  # each cited entry formatted once


def test_a_few_large_reference_files_are_parsed_on_every_core(
    publication: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each reference file is one worker's task: two files holding many references are worth
    # the workers, though far fewer files than PARALLEL_THRESHOLD; the library is the same.
    bibs = sorted(publication.glob("references/*.bib"))
    assert len(bibs) >= 2
    sequential = loader.load(publication, use_cache=False)
    started = []
    workers = loader._Workers.__init__

    def noted(self: loader._Workers, *args: object, **kwargs: object) -> None:
        started.append(args[0])
        workers(self, *args, **kwargs)

    monkeypatch.setattr(loader._Workers, "__init__", noted)
    monkeypatch.setattr(loader.os, "cpu_count", lambda: 2)
    size = sum(len(bib.read_bytes()) for bib in bibs)
    monkeypatch.setattr(loader, "PARALLEL_REFERENCE_BYTES", size + 1)
    loader.load(publication, use_cache=False)
    assert started == []  # too few bytes of references: parsed here
    monkeypatch.setattr(loader, "PARALLEL_REFERENCE_BYTES", size)
    parallel = loader.load(publication, use_cache=False)
    assert started == [2]
    assert list(parallel.library.references) == list(sequential.library.references)
    assert parallel.library.diagnostics == sequential.library.diagnostics
    assert sorted(run_checks(parallel)) == sorted(run_checks(sequential))
