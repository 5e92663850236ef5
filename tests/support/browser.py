"""Debian's Chromium driven by Playwright: how it is started, where screenshots go, and
waiting for htmx."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devtools import live

if TYPE_CHECKING:
    from playwright.sync_api import Page

SHOTS = live.ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def settled(page: Page, timeout: float = 20_000) -> None:
    """Wait until htmx has swapped in and wired up its last answer.

    A person's next click comes long after; a test's comes at once, and a control that
    htmx swapped in but has not wired up yet would ignore it (seen under load as a filter
    or a shortlist choice that did nothing)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
        timeout=timeout,
    )
