"""Headless Chromium for the browser tests, the dashboard benchmark and the screenshot script.

Drives Debian's `chromium` package (never a browser downloaded at run time) through Playwright (the `browser`
extra, imported lazily), with a fresh profile and the flags this closed network needs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def find_chromium() -> str | None:
    """The Chromium binary: `$ACO_CHROMIUM`, else the first of `CHROMIUM_NAMES` on PATH (None when absent)."""
    explicit = os.environ.get("ACO_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def missing_reason() -> str | None:
    """Why no browser session can start here (None when Chromium and Playwright are both installed)."""
    if find_chromium() is None:
        return "no chromium binary found (apt-get install chromium, or set ACO_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install 'aco[browser]')"
    return None


@contextmanager
def headless_chromium(width: int = 1400, height: int = 1000, **context: Any) -> Iterator[Any]:
    """A Playwright browser context on headless Chromium with a fresh `--user-data-dir` (removed afterwards);
    `context` goes to the context (e.g. `http_credentials`)."""
    from playwright.sync_api import sync_playwright

    binary = find_chromium()
    if binary is None:
        raise RuntimeError(missing_reason() or "no chromium")
    profile = tempfile.mkdtemp(prefix="aco-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=binary, headless=True, args=list(CHROMIUM_ARGS),
                viewport={"width": width, "height": height}, **context)
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
