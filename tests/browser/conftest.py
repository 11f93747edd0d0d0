"""Browser tests: real Chromium driven by Playwright against pytest-django's live server.

The data is committed (`transactional_db`, pulled in by `live_server`) so the server thread
sees what a test creates. Chromium is the Debian package at /usr/bin/chromium; Playwright's
own browser download is never used. Without Chromium the tests fail with a message saying
how to install it: a silently skipped browser suite would hide a broken coding page.

In-memory SQLite (the default test database) is one connection shared by the test thread and
every server thread, so `SerialisedStaticFilesHandler` lets one request at a time use it and
`helpers.server_lock` lets a test use the database between requests. On PostgreSQL each thread has
its own connection and requests run concurrently, as in production.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections

from tests.browser.helpers import SERVER_LOCK

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The recording is silent and must be playable without a click in a headless browser.
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]
VIEWPORT = {"width": 1280, "height": 800}
# Chromium logs a blocked script or style to the console; the securitypolicyviolation event
# (reported by this init script, which Playwright injects outside the page's policy) also
# catches what it logs differently.
CSP_PREFIX = "CSP violation:"
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""
TIMEOUT_MS = 10_000


def _shared_sqlite() -> bool:
    return any(c.vendor == "sqlite" and c.is_in_memory_db() for c in connections.all())


class SerialisedStaticFilesHandler(StaticFilesHandler):
    """Handle one request at a time when the test database is a shared in-memory SQLite.

    Only the call into Django is serialised; a streamed body (the recording) is sent after the
    lock is released, so a slow media download never blocks the page's saves.
    """

    def __call__(self, environ, start_response):
        with SERVER_LOCK:
            return super().__call__(environ, start_response)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, serialised on a shared in-memory SQLite database."""
    from pytest_django.live_server_helper import LiveServer

    request.getfixturevalue("django_db_setup")
    server = LiveServer("127.0.0.1", start=False)
    if _shared_sqlite():
        server.thread.static_handler = SerialisedStaticFilesHandler
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they are done.

    Playwright's sync API keeps an asyncio loop running in this thread, which Django takes
    for an async context; the check is lifted only while the browser is open.
    """
    if not CHROMIUM.exists():
        where = "in CI" if os.environ.get("CI") else "on this machine"
        pytest.fail(
            f"Chromium is missing {where} ({CHROMIUM}): the browser tests need it. Install it "
            "with `apt-get install -y chromium` (never `playwright install`).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """new_page() -> a page in a fresh browser context (own cookies and local storage).

    Uncaught JavaScript errors and Content-Security-Policy violations on any page fail the
    test: the page has what it needs without inline script, inline style or eval.
    """
    contexts = []
    errors: list[str] = []
    violations: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or message.text.startswith(CSP_PREFIX):
            violations.append(f"{message.page.url if message.page else ''}: {message.text}")

    def make():
        context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", on_console)
        return page

    make.csp_violations = violations
    yield make
    for context in contexts:
        context.close()
    with SERVER_LOCK:  # a request still being handled finishes before the database is flushed
        pass
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations: {violations}"
