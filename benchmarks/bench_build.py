"""Times `pipeline build` on synthetic articles against a bare `mkdocs build` of the same
generated pages (SPEC section 7: at most 1.25x), then a rebuild with nothing changed and one
with a single article changed.

    python benchmarks/bench_build.py --articles 2000
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "CI": "true"}


def run(*args: str, cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, done.stdout


def bare_config(root: Path) -> Path:
    """The same site configuration without the pipeline's hook, on the generated pages."""
    from pipeline.loader import load
    from pipeline.render import SiteRenderer

    config = yaml.safe_load((root / "mkdocs.yml").read_text())
    config.pop("hooks", None)
    config.pop("watch", None)
    config["docs_dir"] = str(root / "build/production")
    config["nav"] = SiteRenderer(load(root), preview=False, problems={}).nav()
    path = root / "bare-mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument(
        "--scaling",
        type=int,
        nargs="*",
        default=[],
        help="Also time a full build at these sizes and print ms per article.",
    )
    args = parser.parse_args()
    for count in args.scaling:
        sized = generate(OUT / f"scale-{count}", count, count * 2, approved_share=1.0)
        wall, _ = run(sys.executable, "-m", "pipeline", "--root", str(sized), "build", cwd=sized)
        print(
            f"scaling: {count:>6} articles, full build {wall:7.2f} s, "
            f"{1000 * wall / count:6.2f} ms/article"
        )
    root = generate(
        OUT / f"build-{args.articles}", args.articles, args.articles * 2, approved_share=1.0
    )
    py = sys.executable
    full, out = run(py, "-m", "pipeline", "--root", str(root), "build", cwd=root)
    print(out.strip())
    bare, _ = run(
        py,
        "-m",
        "mkdocs",
        "build",
        "-q",
        "-f",
        str(bare_config(root)),
        "-d",
        str(root / "bare-site"),
        cwd=root,
    )
    noop, out_noop = run(py, "-m", "pipeline", "--root", str(root), "build", cwd=root)
    rewritten = re.search(r"(\d+) page\(s\) rewritten", out_noop).group(1)
    target = next((root / "content").glob("*/article-00000.md"))
    # An editor's change: a date readers see, so the article goes back to review (and, with no
    # Git history in the benchmark, is held back).
    target.write_text(
        target.read_text()
        .replace("last_updated: 2026-01-01", "last_updated: 2026-01-02")
        .replace("status: approved", "status: under_review")
    )
    one, out_one = run(py, "-m", "pipeline", "--root", str(root), "build", cwd=root)
    rewritten_one = re.search(r"(\d+) page\(s\) rewritten", out_one).group(1)
    print(f"articles:                      {args.articles}")
    print(f"pipeline build (full):         {full:7.2f} s")
    print(f"bare mkdocs build, same pages: {bare:7.2f} s")
    print(f"ratio:                         {full / bare:7.2f} (target at most 1.25)")
    print(f"no-op rebuild:                 {noop:7.2f} s, {rewritten} generated page(s) rewritten")
    print(
        f"one article changed:           {one:7.2f} s, {rewritten_one} generated page(s) rewritten"
    )
    print(f"per article (full build):      {1000 * full / args.articles:7.2f} ms")


if __name__ == "__main__":
    main()
