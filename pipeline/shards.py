"""Building past one machine: `pipeline build --shard I/N` builds a share of the topics and
`pipeline merge DIR...` assembles the shards into the site one machine would have built.

Every shard loads and checks the whole publication (cheap next to MkDocs), so every shard knows
the same nav, listing pages and page order. A shard renders and builds the article pages of its
topics and every page in the nav (home, topics, tags, policy, board: few, and identical in every
shard); the other article pages are known to MkDocs (sitemap, page order) but not built (see
`pagecache.PageCache`: the HTML of a page depends only on its own Markdown and what all pages
share, so a page built on any machine is the page a one-machine build makes). Each shard writes
the search entries of the pages it built, in MkDocs' page order; `merge` puts them together in
that order, takes every other file once (files two shards both wrote must be identical), and
swaps the result in as `site/`. Shards of different inputs are refused."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import paths

SHARD_FILE = ".shard.json"  # beside the shard's pages; never part of the merged site
SEARCH_INDEX = "search/search_index.json"
VERSION = 1


class ShardProblem(Exception):
    """A shard specification or a set of shards that cannot be merged (one line)."""


def parse(spec: str) -> tuple[int, int]:
    """`I/N` -> (I, N), 1 <= I <= N."""
    try:
        index, count = (int(part) for part in spec.split("/"))
    except ValueError:
        raise ShardProblem(f"--shard takes I/N, e.g. 2/3, not {spec!r}") from None
    if not 1 <= index <= count:
        raise ShardProblem(f"--shard {spec}: I must be between 1 and N")
    return index, count


def assign(article_ids: list[str], count: int) -> dict[str, int]:
    """Each topic's shard (1..count): the largest topics first, each to the shard with the
    fewest articles so far (ties to the lowest shard). Deterministic: every shard computes it
    from the same publication."""
    sizes: dict[str, int] = {}
    for article_id in article_ids:
        topic = article_id.split("/")[0]
        sizes[topic] = sizes.get(topic, 0) + 1
    load = [0] * count
    shard_of = {}
    for topic, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        shard = min(range(count), key=lambda i: (load[i], i))
        shard_of[topic] = shard + 1
        load[shard] += size
    return shard_of


def shard_dir(root: Path, index: int, count: int) -> Path:
    return root / "build" / f"shard-{index}-of-{count}"


@dataclass
class Shard:
    """One shard's share, and what its build recorded for the merge."""

    index: int
    count: int
    articles: set[str]  # the article ids whose pages this shard builds
    others: set[str] = field(default_factory=set)  # the article ids of the other shards
    order: list[str] = field(default_factory=list)  # every page, in MkDocs' order
    entries: dict[str, list] = field(default_factory=dict)  # page built here -> search entries

    def outside(self, src_uri: str) -> bool:
        """An article page of another shard."""
        return src_uri.endswith(".md") and src_uri[: -len(".md")] in self.others

    def save(self, folder: Path, inputs: str | None) -> None:
        data = {
            "version": VERSION,
            "shard": self.index,
            "count": self.count,
            "inputs": inputs,
            "order": self.order,
            "entries": self.entries,
        }
        paths.atomic_write(folder / SHARD_FILE, json.dumps(data, separators=(",", ":")))


def _read(folder: Path) -> dict:
    try:
        data = json.loads((folder / SHARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ShardProblem(f"{folder} is not a shard built by `pipeline build --shard`") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ShardProblem(f"{folder} was built by another version of the pipeline")
    return data


def _files(folder: Path) -> dict[str, Path]:
    skip = {SHARD_FILE, SEARCH_INDEX}
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() not in skip
    }


def merge(folders: list[Path], out: Path) -> int:
    """Assemble shards into the empty folder `out`; returns the number of pages."""
    shards = [_read(folder) for folder in folders]
    count = shards[0]["count"]
    if sorted(s["shard"] for s in shards) != list(range(1, count + 1)) or any(
        s["count"] != count for s in shards
    ):
        found = ", ".join(f"{s['shard']}/{s['count']}" for s in shards)
        raise ShardProblem(f"merge needs each of the {count} shards exactly once (got {found})")
    for s in shards[1:]:
        if s["inputs"] != shards[0]["inputs"] or s["inputs"] is None:
            raise ShardProblem("the shards were not built from the same inputs")
        if s["order"] != shards[0]["order"]:
            raise ShardProblem("the shards do not list the same pages")
    docs = []
    for page in shards[0]["order"]:
        found = [s["entries"][page] for s in shards if page in s["entries"]]
        if not found:
            raise ShardProblem(f"no shard built {page}")
        if any(entries != found[0] for entries in found[1:]):
            raise ShardProblem(f"the shards disagree on the search entries of {page}")
        docs += found[0]
    first: dict[str, Path] = {}
    for folder in folders:
        for rel, path in _files(folder).items():
            if rel in first:
                if first[rel].read_bytes() != path.read_bytes():
                    raise ShardProblem(f"the shards disagree on {rel}")
                continue
            first[rel] = path
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    index = json.loads((folders[0] / SEARCH_INDEX).read_text(encoding="utf-8"))
    # As Material's search plugin writes it (`SearchIndex.generate_search_index`).
    text = json.dumps({"config": index["config"], "docs": docs}, separators=(",", ":"), default=str)
    (out / SEARCH_INDEX).parent.mkdir(parents=True, exist_ok=True)
    (out / SEARCH_INDEX).write_bytes(text.encode("utf-8"))
    return len(shards[0]["order"])
