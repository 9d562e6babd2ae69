"""`pipeline serve`: a live preview that re-renders when content changes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import replace_in


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None


def _wait_for(url: str, needle: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = _get(url)
        if page and needle in page:
            return page
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} did not appear at {url} within {seconds} s")


EDITED = "Take it with water at the same time every day"


def _save_an_edit(publication: Path, url: str) -> None:
    """An editor rewords the levothyroxine article; the served page shows it."""
    replace_in(
        publication,
        "content/endocrinology/hypothyroidism-levothyroxine.md",
        "Take it at the same time every day",
        EDITED,
    )
    _wait_for(url, EDITED)


def test_serve_shows_the_preview_and_rerenders_on_change(publication: Path) -> None:
    port = _free_port()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--root",
            str(publication),
            "serve",
            "--dev-addr",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}/endocrinology/hypothyroidism-levothyroxine/"
        page = _wait_for(url, "Starting and monitoring levothyroxine")
        assert "pending human review" in page  # serve is a preview: articles not yet approved show
        _save_an_edit(publication, url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _start_serving(publication: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--root", str(publication), "serve"]
        + ["--dev-addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return server, port


def _stop(server: subprocess.Popen) -> str:
    server.terminate()
    try:
        return server.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        server.kill()
        return server.communicate()[1]


def test_an_edited_approved_article_stays_in_the_preview_with_its_errors(
    publication: Path,
) -> None:
    """The commonest edit: reword an approved article. Its approval no longer holds, yet the
    editor's preview keeps showing it, marked as awaiting re-review; a broken citation then
    shows its diagnostic on the page instead of a 404."""
    server, port = _start_serving(publication)
    article = "content/oncology/net-imaging.md"
    url = f"http://127.0.0.1:{port}/oncology/net-imaging/"
    try:
        _wait_for(url, "Article Review Status")
        text = (publication / article).read_text(encoding="utf-8")
        (publication / article).write_text(text + "\nA sentence the editor added.\n", "utf-8")
        page = _wait_for(url, "A sentence the editor added.")
        assert "pending human review" in page and "review.stale" in page
        assert "Under Review<span" in page  # the stepper: awaiting re-review
        text = (publication / article).read_text(encoding="utf-8")
        (publication / article).write_text(
            text.replace("the editor added.", "the editor added [@no-such-key]."), "utf-8"
        )
        page = _wait_for(url, "citation.unknown-key")
        assert "A sentence the editor added" in page and "no-such-key" in page
    finally:
        output = _stop(server)
    assert f"Serving on http://127.0.0.1:{port}/" in output


def test_mkdocs_serve_through_the_plugin_rebuilds_as_pipeline_serve_does(
    publication: Path,
) -> None:
    """`mkdocs serve` of the publication's own mkdocs.yml: after MkDocs' first build, a save
    is shown by the pipeline's incremental rebuild, not by another whole MkDocs build."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=publication,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    url = f"http://127.0.0.1:{port}/endocrinology/hypothyroidism-levothyroxine/"
    try:
        assert "pending human review" in _wait_for(url, "Starting and monitoring levothyroxine")
        _save_an_edit(publication, url)
        index = f"http://127.0.0.1:{port}/search/search_index.json"
        _wait_for(index, EDITED)  # the whole rebuild
        listing = f"http://127.0.0.1:{port}/endocrinology/"
        assert "hypothyroidism-levothyroxine/" in (_get(listing) or "")
    finally:
        output = _stop(server)
    assert output.count("Building documentation") == 1, output  # MkDocs' own: the first build
    assert "incrementally" in output, output
