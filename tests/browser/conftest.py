"""Browser tests drive Debian's Chromium (/usr/bin/chromium) through Playwright; no browser is
ever downloaded. Without Chromium they skip, unless CPMS_REQUIRE_BROWSER=1 (as in CI), where a
missing browser fails the run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.audit.helpers import audit_flushable  # noqa: F401  (the flush after each test)

CHROMIUM = Path(os.environ.get("CPMS_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CPMS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CPMS_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM then refuses
    # to run in it unless told that the test owns the thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()
