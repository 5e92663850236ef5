"""Debian's Chromium driven by Playwright: how it is started, where screenshots go, and
waiting for htmx."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from devtools import live

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SHOTS = live.ROOT / "test-artifacts" / "browser"
# How long a browser test waits for an outcome (a page, a run's end, an explanation) before
# it calls the app wedged: a safety net, never a budget. The tests run beside real inference
# on shared two-core machines, where the same step takes a second or a minute; a test waits
# for what the person would see, however long the machine takes.
PATIENCE_MS = 15 * 60_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def settled(page: Page, timeout: float = PATIENCE_MS) -> None:
    """Wait until htmx has swapped in and wired up its last answer.

    A person's next click comes long after; a test's comes at once, and a control that
    htmx swapped in but has not wired up yet would ignore it (seen under load as a filter
    or a shortlist choice that did nothing)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
        timeout=timeout,
    )


@contextlib.contextmanager
def served(env: dict[str, str], password: str, first_name: str = "") -> Iterator[str]:
    """`manage.py serve` on `env`'s fresh data dir with one user, hana (`password`);
    yields its address, and stops it after."""
    live.manage(env, "migrate", "-v", "0")
    create = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user('hana', 'hana@example.com', '{password}', "
        f"first_name='{first_name}')"
    )
    live.manage(env, "shell", "-c", create)
    process, url = live.start_serve(env)
    time.sleep(2)  # the worker cluster comes up beside the web server
    try:
        yield url
    finally:
        live.stop_serve(process)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, never a browser Playwright downloads; `expect` waits
    up to PATIENCE_MS (give each page `page.set_default_timeout(PATIENCE_MS)` too)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=PATIENCE_MS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
