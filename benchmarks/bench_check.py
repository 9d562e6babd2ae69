"""Times `pipeline check` on a synthetic publication (SPEC section 7: 10,000 articles and a
20,000-entry library in at most 10 s on 2 cores), and the time per article as the count grows.

    python benchmarks/bench_check.py --articles 10000 --references 20000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def timed_check(root: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB of the largest process, exit code) of one check run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(root), "check", "--format", "json"],
        stdout=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - start
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return wall, peak, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--references", type=int, default=20_000)
    parser.add_argument("--scaling", type=int, nargs="*", default=[100, 1000])
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    rows = []
    for count in [*args.scaling, args.articles]:
        refs = args.references if count == args.articles else count * 2
        root = generate(OUT / f"check-{count}", count, refs)
        wall, peak, code = timed_check(root)
        rows.append((count, refs, wall, peak, code))
    print(f"{'articles':>9} {'refs':>7} {'wall s':>8} {'ms/article':>11} {'peak MiB':>9} exit")
    for count, refs, wall, peak, code in rows:
        print(f"{count:>9} {refs:>7} {wall:>8.2f} {1000 * wall / count:>11.2f} {peak:>9.0f} {code}")
    target = rows[-1]
    verdict = "within" if target[2] <= 10 else "OVER"
    print(
        f"target: {target[0]} articles / {target[1]} references in {target[2]:.2f} s "
        f"({verdict} 10 s)"
    )


if __name__ == "__main__":
    main()
