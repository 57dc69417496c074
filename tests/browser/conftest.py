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


SCREENSHOTS = Path(os.environ.get("CPMS_SCREENSHOTS", "var/screenshots"))
WIDTHS = (1366, 390)


def sign_in(page, url: str, username: str, password: str, totp_secret: str | None = None) -> None:
    """Open `url` (a console page), sign in on the login page it redirects to, and answer the
    two-factor prompt with a fresh TOTP code when `totp_secret` is given (the user must have
    been enrolled with the `enrol` fixture, whose codes are a minute old)."""
    from cpms.users import mfa

    page.goto(url)
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    if totp_secret is not None:
        page.locator("#id_code").wait_for()
        page.locator("#id_code").fill(mfa.totp_code(totp_secret))
        page.get_by_role("button", name="验证").click()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def shoot(request):
    """`shoot(page, "name")` saves full-page screenshots of the current page at 1366 px and
    390 px wide under var/screenshots/<test>/ (CPMS_SCREENSHOTS overrides; CI keeps them as
    artefacts) and leaves the page at its previous width."""
    folder = SCREENSHOTS / request.node.name.replace("/", "_").replace("[", "-").strip("]")

    def take(page, name: str) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        before = page.viewport_size or {"width": 1366, "height": 900}
        paths = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            path = folder / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(before)
        return paths

    return take
