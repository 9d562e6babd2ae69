"""Edit to preview: the time from saving one article to `pipeline serve` serving the page with
the change, against a bare `mkdocs serve` of the same generated pages (the time from saving the
generated page to its HTML being served), in the same run.

    python benchmarks/bench_serve.py --articles 2000 [--rounds 3] [--plugin] [--no-bare]

`--plugin` also times `mkdocs serve` of the publication's own mkdocs.yml (the plugin renders
the preview on every rebuild).
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_build import ENV, PY, bare_config, publication  # noqa: E402

PAGE = "topic-00/article-00000/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - localhost
            return response.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):  # not served yet, or being rewritten
        return None


def wait_for(url: str, needle: str, timeout: float, every: float = 0.02) -> float:
    """Seconds until the page at `url` contains `needle`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        text = fetch(url)
        if text is not None and needle in text:
            return time.perf_counter() - start
        time.sleep(every)
    raise SystemExit(f"{url} did not show {needle!r} within {timeout:.0f} s")


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def edit_article(path: Path, marker: str) -> None:
    """A sentence added to an article, which goes back to review (its approval would be stale)."""
    text = path.read_text(encoding="utf-8").replace("status: approved", "status: under_review")
    head, _, body = text.partition("\n---\n")
    path.write_text(f"{head}\n---\n{marker}.\n\n{body}", encoding="utf-8")


def edit_page(path: Path, marker: str) -> None:
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n---\n")
    path.write_text(f"{head}\n---\n<p>{marker}.</p>\n\n{body}", encoding="utf-8")


def measure(url: str, edit, rounds: int) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Per round: seconds from the save to the page showing it, and to the search index
    holding it too (the whole preview rebuilt, the server idle again)."""
    page, whole = [], []
    index = url.split(PAGE)[0] + "search/search_index.json"
    for round_ in range(rounds):
        marker = f"Saved edit number {round_} {time.time_ns()}"
        time.sleep(1.0)  # let the watcher settle after the previous build
        start = time.perf_counter()
        edit(marker)
        page.append(wait_for(url, marker, timeout=900))
        wait_for(index, marker, timeout=900, every=0.25)  # a large file
        whole.append(time.perf_counter() - start)
    return page, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-bare", action="store_true", help="Skip the bare MkDocs baseline.")
    parser.add_argument(
        "--plugin", action="store_true", help="Also time `mkdocs serve` through the plugin."
    )
    args = parser.parse_args()
    root = publication(args.articles, kind="serve")
    article = next((root / "content").glob("topic-00/article-00000.md"))
    original = article.read_text(encoding="utf-8")

    def served(label: str, command: list[str], port: int) -> tuple[float, list[float], list[float]]:
        """One server of the publication: its first build, then each save until it is shown."""
        url = f"http://127.0.0.1:{port}/{PAGE}"
        server = start(command, root)
        try:
            first = wait_for(url, "</html>", timeout=1800)
            times, whole = measure(url, lambda m: edit_article(article, m), args.rounds)
        finally:
            stop(server)
            article.write_text(original, encoding="utf-8")
        print(f"{label}: first build served in {first:.2f} s; save to served HTML "
              f"{', '.join(f'{s:.2f}' for s in times)} s, whole preview "
              f"{', '.join(f'{s:.2f}' for s in whole)} s", flush=True)  # fmt: skip
        return first, times, whole

    port = free_port()
    first, pipeline_times, pipeline_whole = served(
        "pipeline serve",
        [PY, "-m", "pipeline", "--root", str(root), "serve", "--dev-addr", f"127.0.0.1:{port}"],
        port,
    )
    if args.plugin:  # `mkdocs serve` of the publication's own mkdocs.yml, naming the plugin
        port = free_port()
        command = [PY, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"]
        served("mkdocs serve (plugin)", command, port)
    if args.no_bare:
        return

    # The bare baseline: MkDocs serving a copy of the generated preview pages.
    docs = root / "bare-docs"
    shutil.rmtree(docs, ignore_errors=True)
    shutil.copytree(root / "build/preview", docs)
    config_path = bare_config(root, preview=True)
    config = yaml.safe_load(config_path.read_text())
    config["docs_dir"] = str(docs)
    config.pop("site_url", None)  # served at /, as `pipeline serve` serves the preview
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}/{PAGE}"
    bare = start([PY, "-m", "mkdocs", "serve", "-f", str(config_path), "-a",
                  f"127.0.0.1:{port}"], root)  # fmt: skip
    try:
        bare_first = wait_for(url, "</html>", timeout=1800)
        page = docs / "topic-00/article-00000.md"
        bare_times, bare_whole = measure(url, lambda m: edit_page(page, m), args.rounds)
    finally:
        stop(bare)
        shutil.rmtree(docs, ignore_errors=True)

    p, b = statistics.median(pipeline_times), statistics.median(bare_times)
    print(f"articles: {args.articles}, rounds: {args.rounds} (medians)")
    print(
        f"first build served:  pipeline serve {first:7.2f} s, bare mkdocs serve {bare_first:7.2f} s"
    )
    pw, bw = statistics.median(pipeline_whole), statistics.median(bare_whole)
    print(f"bare mkdocs serve, save to served HTML:  {b:7.2f} s   1.000 x bare")
    print(f"pipeline serve, save to served HTML:     {p:7.2f} s   {p / b:5.3f} x bare")
    print(f"bare mkdocs serve, save to search index: {bw:7.2f} s   1.000 x bare")
    print(f"pipeline serve, save to search index:    {pw:7.2f} s   {pw / bw:5.3f} x bare")
    print(f"  each: {', '.join(f'{s:.2f}' for s in pipeline_times)} (bare: "
          f"{', '.join(f'{s:.2f}' for s in bare_times)})")  # fmt: skip
    print("target: at most 1 s at 2,000 articles")


if __name__ == "__main__":
    main()
