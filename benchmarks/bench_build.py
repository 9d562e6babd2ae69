"""Times `pipeline build` against a bare `mkdocs build` of the same generated pages (same theme,
nav and plugins but the pipeline's), measured in the same run, and prints each figure as a ratio
of that baseline. One command per figure (SPEC section 7, issue 11):

    python benchmarks/bench_build.py full  --articles 2000 [--rounds 3]   # full vs bare
    python benchmarks/bench_build.py noop  --articles 2000                # nothing changed
    python benchmarks/bench_build.py one   --articles 2000 [--fulls 3]    # one article changed
    python benchmarks/bench_build.py shard --articles 2000 --shards 3     # shards + merge
    python benchmarks/bench_build.py scale --sizes 1000 10000             # full + no-op per size

Wall and CPU seconds (the process and its workers) and peak memory come from the operating
system for each run; a loaded machine moves wall times, so ratios are of medians of
interleaved runs."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate_apart  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
# Python writes its compiled modules, as on an editor's machine: without them, every run of
# a shell that sets PYTHONDONTWRITEBYTECODE would compile each edited module again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV |= {"NO_MKDOCS_2_WARNING": "1", "CI": "true"}
PY = sys.executable


@dataclass
class Timing:
    wall: float
    cpu: float
    peak_mib: float
    stdout: str


def run(*args: str, cwd: Path) -> Timing:
    """One command, with its wall time, CPU time (with its workers) and peak memory, as the
    operating system counts them for that process (wait4)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{stdout}\n{stderr}")
    return Timing(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout)


timed = run


def publication(articles: int, kind: str = "build", topics: int | None = None) -> Path:
    root = OUT / f"{kind}-{articles}" if topics is None else OUT / f"{kind}-{articles}-t{topics}"
    if not (root / "content").is_dir():
        generate_apart(root, articles, articles * 2, approved_share=1.0, topics=topics)
    return root


def clean(root: Path) -> None:
    for name in ("build", "site.builds", "bare-site"):
        shutil.rmtree(root / name, ignore_errors=True)
    (root / "site").unlink(missing_ok=True)


def bare_config(root: Path, preview: bool = False) -> Path:
    """The same site configuration without the pipeline's plugin, on the generated pages."""
    from pipeline.links import Links, site_url_of
    from pipeline.loader import load
    from pipeline.render import SiteRenderer

    project = load(root)
    config = yaml.safe_load((root / "mkdocs.yml").read_text())
    config["plugins"] = [p for p in config.get("plugins", []) if p != "guideline"]
    config.pop("watch", None)
    config.pop("hooks", None)
    config["docs_dir"] = str(root / "build" / ("preview" if preview else "production"))
    # What the plugin sets from publication.yml, so that the pages are the same.
    config["site_name"] = project.settings.name
    config["site_description"] = project.settings.description or None
    if project.settings.site_url:
        config["site_url"] = site_url_of(project.settings.site_url)
    links = Links(config.get("use_directory_urls", True), config.get("site_url"))
    config["nav"] = SiteRenderer(project, preview=preview, problems={}, links=links).nav()
    path = root / "bare-mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def pipeline_build(root: Path, *extra: str) -> Timing:
    return timed(PY, "-m", "pipeline", "--root", str(root), "build", *extra, cwd=root)


def bare_build(root: Path, config: Path) -> Timing:
    shutil.rmtree(root / "bare-site", ignore_errors=True)
    return timed(
        PY,
        "-m",
        "mkdocs",
        "build",
        "-q",
        "-f",
        str(config),
        "-d",
        str(root / "bare-site"),
        cwd=root,
    )


def median(timings: list[Timing], what: str = "wall") -> float:
    return statistics.median(getattr(t, what) for t in timings)


def show(label: str, timing: float, bare: float, cpu: float | None = None, bare_cpu=None) -> None:  # noqa: ANN001
    line = f"{label:<34} {timing:8.2f} s   {timing / bare:6.3f} x bare"
    if cpu is not None and bare_cpu:
        line += f"   (CPU {cpu:7.2f} s, {cpu / bare_cpu:6.3f} x bare)"
    print(line)


def baseline(root: Path) -> tuple[Path, Timing]:
    """A first pipeline build makes the generated pages the bare build reads."""
    clean(root)
    first = pipeline_build(root)
    return bare_config(root), first


def cmd_full(args: argparse.Namespace) -> None:
    root = publication(args.articles)
    config, _ = baseline(root)
    fulls, bares = [], []
    for _ in range(args.rounds):  # interleaved: both see the same machine
        bares.append(bare_build(root, config))
        clean(root)
        fulls.append(pipeline_build(root))
    bare, bare_cpu = median(bares), median(bares, "cpu")
    print(f"articles: {args.articles}, rounds: {args.rounds} (medians)")
    show("bare mkdocs build", bare, bare, bare_cpu, bare_cpu)
    show("pipeline build (full)", median(fulls), bare, median(fulls, "cpu"), bare_cpu)
    print(f"{'target':<34} at most 1.10 x bare")


def cmd_noop(args: argparse.Namespace) -> None:
    root = publication(args.articles)
    config, full = baseline(root)
    bare = bare_build(root, config)
    noops = [pipeline_build(root) for _ in range(args.rounds)]
    assert all("Nothing changed" in t.stdout for t in noops), noops[0].stdout
    print(f"articles: {args.articles}")
    show("bare mkdocs build", bare.wall, bare.wall, bare.cpu, bare.cpu)
    show("pipeline build (full)", full.wall, bare.wall, full.cpu, bare.cpu)
    show(
        "pipeline build, nothing changed", median(noops), bare.wall, median(noops, "cpu"), bare.cpu
    )
    print(f"{'target':<34} at most 0.5 s at 2,000 articles, 2 s at 10,000")


def edit_one(root: Path, round_: int) -> None:
    """An editor's change: a date readers see, so the article goes back to review (and, with
    no Git history in the benchmark, is held back); every other round puts it back."""
    target = next((root / "content").glob("*/article-00000.md"))
    text = target.read_text()
    if round_ % 2 == 0:
        text = text.replace("last_updated: 2026-01-01", "last_updated: 2026-01-02")
        text = text.replace("status: approved", "status: under_review")
    else:
        text = text.replace("last_updated: 2026-01-02", "last_updated: 2026-01-01")
        text = text.replace("status: under_review", "status: approved")
    target.write_text(text)


def cmd_one(args: argparse.Namespace) -> None:
    """Full builds (from a clean `build/`) interleaved with the one-change builds that follow
    each, so that both medians see the same machine: the ratio of one full build to the
    others' median moved by more than the target's margin on this shared machine."""
    root = publication(args.articles)
    config, first = baseline(root)
    bare = bare_build(root, config)
    fulls, ones = [first], []
    groups = max(1, args.fulls)
    per_group = max(1, -(-args.rounds // groups))  # rounds, spread over the full builds
    for group in range(groups):
        if group:
            clean(root)
            fulls.append(pipeline_build(root))
        for _ in range(per_group):
            edit_one(root, len(ones))
            ones.append(pipeline_build(root))
        if len(ones) % 2:
            edit_one(root, 1)  # back to the approved text before the next full build
            ones.append(pipeline_build(root))
    print(f"articles: {args.articles}, full builds: {len(fulls)}, one-change builds: {len(ones)}")
    show("bare mkdocs build", bare.wall, bare.wall, bare.cpu, bare.cpu)
    show("pipeline build (full, median)", median(fulls), bare.wall, median(fulls, "cpu"), bare.cpu)
    show(
        "pipeline build, one article changed",
        median(ones),
        bare.wall,
        median(ones, "cpu"),
        bare.cpu,
    )
    print(
        f"{'  one-change builds, range':<34} {min(t.wall for t in ones):8.2f}"
        f" - {max(t.wall for t in ones):.2f} s wall; full builds"
        f" {min(t.wall for t in fulls):.2f} - {max(t.wall for t in fulls):.2f} s"
    )
    print(
        f"{'one change / full build':<34} {median(ones) / median(fulls):8.3f} wall, "
        f"{median(ones, 'cpu') / median(fulls, 'cpu'):6.3f} CPU   (target at most 0.10)"
    )


def cmd_shard(args: argparse.Namespace) -> None:
    root = publication(args.articles)
    config, full = baseline(root)
    bare = bare_build(root, config)
    shard_times = []
    for index in range(1, args.shards + 1):
        shutil.rmtree(root / "build", ignore_errors=True)  # each shard on a fresh machine
        shard_times.append(pipeline_build(root, "--shard", f"{index}/{args.shards}"))
        shutil.copytree(
            root / f"build/shard-{index}-of-{args.shards}",
            root / f"shards/{index}",
            dirs_exist_ok=True,
        )
    folders = [str(root / f"shards/{i}") for i in range(1, args.shards + 1)]
    merge = timed(PY, "-m", "pipeline", "--root", str(root), "merge", *folders, cwd=root)
    shutil.rmtree(root / "shards", ignore_errors=True)
    slowest = max(t.wall for t in shard_times)
    print(f"articles: {args.articles}, shards: {args.shards}")
    show("bare mkdocs build", bare.wall, bare.wall, bare.cpu, bare.cpu)
    show("pipeline build (one machine)", full.wall, bare.wall, full.cpu, bare.cpu)
    for index, t in enumerate(shard_times, 1):
        show(f"  shard {index}/{args.shards}", t.wall, bare.wall, t.cpu, bare.cpu)
    show("  merge", merge.wall, bare.wall, merge.cpu, bare.cpu)
    show("sharded (slowest shard + merge)", slowest + merge.wall, bare.wall)
    print(f"{'speed-up over one machine':<34} {full.wall / (slowest + merge.wall):8.2f} x")


def cmd_scale(args: argparse.Namespace) -> None:
    """Per article, CPU (the steadier figure on a shared machine) for the pipeline and per page
    for the bare build. Every page shows the whole nav, one entry per topic: by default the
    generator makes one topic per 200 articles, so the nav grows with the publication;
    `--topics` holds it fixed, to tell the nav's growth from the rest."""
    print(
        f"{'articles':>8} {'topics':>6} {'full s':>8} {'CPU s':>8} {'CPU ms/art':>10} "
        f"{'peak MiB':>9} {'no-op s':>8} {'bare CPU s':>10} {'bare ms/page':>12} "
        f"{'bare MiB':>8} {'CPU x bare':>10}"
    )
    for count in args.sizes:
        root = publication(count, topics=args.topics)
        topics = sum(1 for p in (root / "content").iterdir() if p.is_dir())
        config, full = baseline(root)
        noop = pipeline_build(root)
        bare = bare_build(root, config) if not args.no_bare else None
        pages = count + topics + 4  # articles, topic pages, home, tags, policy, board
        print(
            f"{count:>8} {topics:>6} {full.wall:8.2f} {full.cpu:8.2f} "
            f"{1000 * full.cpu / count:10.2f} {full.peak_mib:9.0f} {noop.wall:8.2f} "
            + (
                f"{bare.cpu:10.2f} {1000 * bare.cpu / pages:12.2f} {bare.peak_mib:8.0f} "
                f"{full.cpu / bare.cpu:10.3f}"
                if bare
                else ""
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="figure", required=True)
    for name, function in (("full", cmd_full), ("noop", cmd_noop), ("one", cmd_one)):
        p = sub.add_parser(name)
        p.add_argument("--articles", type=int, default=2000)
        p.add_argument("--rounds", type=int, default={"full": 3, "noop": 2, "one": 6}[name])
        if name == "one":
            p.add_argument("--fulls", type=int, default=3, help="Full builds to interleave.")
        p.set_defaults(run=function)
    p = sub.add_parser("shard")
    p.add_argument("--articles", type=int, default=2000)
    p.add_argument("--shards", type=int, default=3)
    p.set_defaults(run=cmd_shard)
    p = sub.add_parser("scale")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--no-bare", action="store_true", help="Skip the bare MkDocs baseline.")
    p.add_argument("--topics", type=int, help="Topics (nav entries); default one per 200 articles.")
    p.set_defaults(run=cmd_scale)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
