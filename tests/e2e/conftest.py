"""A live server on the demo city and a real headless Chromium (Debian's, via Playwright)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from api.app import create_app
from gridgeo.db import Database
from gridgeo.settings import get_settings

CHROMIUM = os.environ.get("GRIDGEO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GRIDGEO_TEST_ARTIFACTS", "test-artifacts"))


@contextmanager
def serve_app(engine: Engine, **settings: Any) -> Iterator[str]:
    """The API on ``engine`` on a free loopback port, in a thread; yields its base URL.

    Offline by default (no base map); ``settings`` override settings by name.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options: dict[str, Any] = {"database_url": str(engine.url), "map_tiles": ""} | settings
    app = create_app(get_settings(**options), Database(engine))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(demo_engine: Engine) -> Iterator[str]:
    """The API on the demo city on a free loopback port, offline (no base map)."""
    with serve_app(demo_engine) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium; never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh --dev installs chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def token(url: str, name: str, password: str) -> str:
    """Log in through the API."""
    r = httpx.post(url + "/auth/token", data={"username": name, "password": password})
    r.raise_for_status()
    return str(r.json()["access_token"])


def signed_in_page(
    browser: Any,
    url: str,
    errors: list[str],
    user: str = "viewer",
    password: str = "viewer-demo-2026",
    *,
    offsite: bool = True,
    **context: Any,
) -> tuple[Any, Any]:
    """A browser page signed in as ``user`` (bearer header) that records what goes wrong.

    Script errors, console errors and answers ≥ 400 go to ``errors``; with ``offsite``, so
    does every request to another host (the maps must work with no internet).
    """
    bearer = token(url, user, password)
    ctx = browser.new_context(
        viewport={"width": 1200, "height": 800},
        extra_http_headers={"Authorization": f"Bearer {bearer}"},
        **context,
    )
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    if offsite:
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(url) or r.url.startswith(("data:", "blob:"))
                else errors.append("offsite " + r.url)
            ),
        )
    return ctx, page
