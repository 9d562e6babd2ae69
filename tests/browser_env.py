"""Shared by the reader-facing browser tests: Debian's Chromium, the example sites on localhost."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import copy_publication, run_cli

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def require_chromium() -> None:
    """In CI the browser tests must run; elsewhere they skip when Chromium is missing."""
    if Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None:
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"browser tests must run in CI, but {CHROMIUM} is missing")
    pytest.skip(f"{CHROMIUM} is not installed (CI installs it)", allow_module_level=True)


class _Site(SimpleHTTPRequestHandler):
    """A static host like GitHub Pages: a missing path gets the site's 404.html, status 404."""

    not_found: Path | None = None  # the site's 404.html, wherever the site is mounted

    def log_message(self, *args: object) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = self.not_found or Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextlib.contextmanager
def serve(folder: Path, mount: str = "/") -> Iterator[str]:
    """Serve the site at `mount`, its `site_url` path (a project site lives at /<name>/)."""
    top = folder
    if mount.strip("/"):
        top = Path(tempfile.mkdtemp(prefix="host-"))
        (top / mount.strip("/")).symlink_to(folder.resolve(), target_is_directory=True)
    handler = type("Site", (_Site,), {"not_found": folder / "404.html"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(top)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{mount}"
    finally:
        server.shutdown()
        server.server_close()


def site_path(root: Path) -> str:
    """The path of the publication's `site_url` ("/" when it has none)."""
    from urllib.parse import urlsplit

    from pipeline.loader import load_config

    settings, _, _ = load_config(root)
    return urlsplit(settings.site_url or "/").path or "/" if settings else "/"


@contextlib.contextmanager
def example_sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The example publication built in production and in preview, each served on localhost."""
    with contextlib.ExitStack() as stack:
        out = {}
        for mode, args in (("production", ["build"]), ("preview", ["build", "--preview"])):
            root = copy_publication(tmp_path_factory.mktemp(mode) / "pub")
            result = run_cli(root, *args)
            assert result.exit_code == 0, result.output + result.stderr
            out[mode] = stack.enter_context(serve(root / "site", site_path(root)))
        yield out


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Fixture: the example sites, production and preview, served (import it to use it)."""
    with example_sites(tmp_path_factory) as out:
        yield out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Fixture: Debian's Chromium through Playwright (import it to use it)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()
