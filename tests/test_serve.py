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
        replace_in(
            publication,
            "content/endocrinology/hypothyroidism-levothyroxine.md",
            "Take it at the same time every day",
            "Take it with water at the same time every day",
        )
        _wait_for(url, "Take it with water at the same time every day")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
