"""Times `pipeline check` on synthetic publications (issue 11: 10,000 articles and 20,000
references with signed approvals in at most 3 s on 2 cores; unchanged, from the parse cache, in
at most 1 s), at several sizes, so that the time per article shows whether it stays flat.

    python benchmarks/bench_check.py --articles 10000 --references 20000 [--scaling 1000 100000]

Each size is checked three ways, each in a fresh process: `uncached` (PIPELINE_NO_CACHE=1),
`cold` (an empty cache: a first run, which also fills the cache) and `warm` (content unchanged
since the cold run). `--one-changed N` then times N warm checks that each follow an edit of one
article's body (the pre-commit hook's case), and `--code DIR` runs the pipeline package found
in DIR instead of this checkout's (to compare two versions on copies of one publication).
Wall and CPU seconds (the check and its workers), milliseconds per article and the peak
resident memory of the largest process are printed; publications are generated
once into --out (default benchmarks/out/) and reused while their parameters stay the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_build import ENV  # noqa: E402
from benchmarks.generate import generate_apart  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def publication(out: Path, articles: int, references: int) -> Path:
    """The synthetic publication of that size, generated unless it already exists."""
    root = out / f"check-{articles}-{references}"
    marker = root / ".benchmark.json"
    wanted = {"articles": articles, "references": references, "approved_share": 0.5}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return root
    generate_apart(root, articles, references)
    marker.write_text(json.dumps(wanted))
    return root


def timed_check(root: Path, cached: bool = True, code: Path | None = None) -> dict[str, float]:
    """One `pipeline check` in a fresh process: wall and CPU seconds, peak RSS, exit code.
    `code` is the folder whose `pipeline` package runs (`python -m` imports from the cwd)."""
    env = dict(ENV)
    if cached:
        env.pop("PIPELINE_NO_CACHE", None)
    else:
        env["PIPELINE_NO_CACHE"] = "1"
    command = [sys.executable, "-m", "pipeline", "--root", str(root), "check", "--format", "json"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, cwd=code)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,  # the check and the workers it waited for
        "peak_mib": usage.ru_maxrss / 1024,  # the largest single process, in KiB on Linux
        "exit": process.returncode,
    }


def measure(
    root: Path,
    uncached: bool = True,
    one_changed: int = 0,
    code: Path | None = None,
    keep_cache: bool = False,
) -> dict[str, dict[str, float]]:
    runs = {"uncached": timed_check(root, cached=False, code=code)} if uncached else {}
    if not keep_cache:
        shutil.rmtree(root / "build" / "cache", ignore_errors=True)
        runs["cold"] = timed_check(root, code=code)
    runs["warm"] = timed_check(root, code=code)
    for run in range(one_changed):
        edit_one_article(root, run)
        runs[f"one-{run + 1}"] = timed_check(root, code=code)
    return runs


def edit_one_article(root: Path, run: int) -> Path:
    """A sentence added to the summary of one article (a different one each run): what an
    editor saves before a commit. Its approval, if it had one, goes stale."""
    articles = sorted((root / "content").glob("topic-*/article-*[0-9].md"))
    path = articles[(run * 7919) % len(articles)]
    text = path.read_text(encoding="utf-8")
    at = text.index("\n\n## Recommendations")
    path.write_text(text[:at] + f" Edited in run {run}." + text[at:], encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--references", type=int, default=20_000)
    parser.add_argument(
        "--scaling",
        type=int,
        nargs="*",
        default=[1000],
        help="Also check at these article counts (with twice as many references).",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="Where publications are made.")
    parser.add_argument(
        "--no-uncached", action="store_true", help="Skip the run with the cache turned off."
    )
    parser.add_argument(
        "--one-changed", type=int, default=0, help="Then N checks, each after a one-article edit."
    )
    parser.add_argument("--code", type=Path, help="Run the pipeline package in this folder.")
    parser.add_argument(
        "--keep-cache", action="store_true", help="No cold run: start from the cache as it is."
    )
    args = parser.parse_args()
    sizes = sorted({(n, 2 * n) for n in args.scaling} | {(args.articles, args.references)})
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    header = f"{'articles':>8} {'refs':>7} {'run':>8} {'wall s':>7} {'cpu s':>7}"
    print(header + f" {'ms/article':>10} {'peak MiB':>8} exit")
    target = None
    code = args.code.resolve() if args.code else None
    for articles, references in sizes:
        root = publication(args.out.resolve(), articles, references)
        runs = measure(root, not args.no_uncached, args.one_changed, code, args.keep_cache)
        for name, run in runs.items():
            print(
                f"{articles:>8} {references:>7} {name:>8} {run['wall']:>7.2f} {run['cpu']:>7.2f}"
                f" {1000 * run['wall'] / articles:>10.3f} {run['peak_mib']:>8.0f} {run['exit']}"
            )
        if (articles, references) == (args.articles, args.references):
            target = runs
    assert target is not None
    if "cold" not in target:
        return
    print(
        f"target {args.articles} articles / {args.references} references: "
        f"cold {target['cold']['wall']:.2f} s (target 3 s), "
        f"warm {target['warm']['wall']:.2f} s (target 1 s), load average now "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
