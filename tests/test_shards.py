"""Past one machine: three shards merged are byte for byte the site one machine builds, and
shards that do not belong together are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import shards
from tests.conftest import replace_in, run_cli


@pytest.fixture(autouse=True)
def fixed_build_date(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the sitemap's dates, one day


def tree(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def build_shards(root: Path, count: int, *args: str) -> list[Path]:
    folders = []
    for index in range(1, count + 1):
        run = run_cli(root, "build", "--shard", f"{index}/{count}", *args)
        assert run.exit_code == 0, run.stderr
        folders.append(shards.shard_dir(root.resolve(), index, count))
    return folders


@pytest.mark.parametrize("mode", ["production", "preview"])
def test_three_shards_merged_are_the_one_machine_site(
    publication: Path, tmp_path: Path, mode: str
) -> None:
    args = ["--preview"] if mode == "preview" else []
    assert run_cli(publication, "build", *args).exit_code == 0
    one_machine = tree(publication / "site")
    folders = build_shards(publication, 3, *args)
    built_here = [
        {p for p in tree(folder) if p.endswith("index.html") and p.count("/") == 2}
        for folder in folders
    ]
    assert all(built_here) and not set.intersection(*built_here)  # each shard its own share
    moved = []
    for folder in folders:  # as the deploy hands them over: artifacts in other folders
        shutil.copytree(folder, tmp_path / folder.name)
        moved.append(tmp_path / folder.name)
    shutil.rmtree(publication / "site.builds")
    (publication / "site").unlink()
    run = run_cli(publication, "merge", *map(str, moved))
    assert run.exit_code == 0, run.stderr
    merged = tree(publication / "site")
    assert sorted(merged) == sorted(one_machine)
    assert [name for name in one_machine if merged[name] != one_machine[name]] == []
    index = json.loads(merged["search/search_index.json"])
    assert {d["location"].split("#")[0] for d in index["docs"]} >= {
        "oncology/net-imaging/",
        "cardiology/af-anticoagulation/",
    }


def test_shards_of_different_inputs_or_missing_ones_are_refused(publication: Path) -> None:
    folders = build_shards(publication, 3)
    run = run_cli(publication, "merge", *map(str, folders[:2]))
    assert run.exit_code == 2 and "each of the 3 shards exactly once" in run.stderr
    replace_in(publication, "content/publication.yml", "\n", "\n# another revision\n")
    assert run_cli(publication, "build", "--shard", "2/3").exit_code == 0
    run = run_cli(publication, "merge", *map(str, folders))
    assert run.exit_code == 2 and "same inputs" in run.stderr
    assert not (publication / "site").exists()


def test_topics_are_shared_deterministically_and_evenly() -> None:
    ids = [f"topic-{t}/a-{i}" for t in range(7) for i in range(t + 1)]
    assert shards.assign(ids, 3) == shards.assign(list(reversed(ids)), 3)
    load = [0, 0, 0]
    for topic, shard in shards.assign(ids, 3).items():
        load[shard - 1] += int(topic.split("-")[1]) + 1
    assert max(load) - min(load) <= 1
    assert run_cli(Path("."), "build", "--shard", "4/3").exit_code == 2


def test_the_shard_matrix_comes_from_publication_yml(publication: Path) -> None:
    run = run_cli(publication, "build", "--shard-matrix")
    assert run.exit_code == 0 and json.loads(run.output) == ["1/1"]
    path = publication / "content/publication.yml"
    path.write_text(path.read_text(encoding="utf-8") + "build:\n  shards: 3\n", encoding="utf-8")
    run = run_cli(publication, "build", "--shard-matrix")
    assert json.loads(run.output) == ["1/3", "2/3", "3/3"]
