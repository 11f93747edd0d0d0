"""Small steps the browser tests share: logging in, waiting for saves, finding units."""

from __future__ import annotations

import contextlib
import threading

from playwright.sync_api import expect

# Held by the live server around each request on a shared in-memory SQLite database.
SERVER_LOCK = threading.RLock()


@contextlib.contextmanager
def server_lock():
    """Use the database from the test while no request is being handled."""
    with SERVER_LOCK:
        yield


def login(page, email: str, password: str) -> None:
    """Log in through the real login page and wait for the page it leads to."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def wait_saved(page) -> None:
    """Wait until the workspace's save status says every change reached the server."""
    expect(page.locator("#save-status")).to_have_text("All changes saved")


def unit(page, position: int):
    """The workspace's unit (turn or segment) at a position."""
    return page.locator(f"#unit-{position}")


def chips(page, position: int):
    return unit(page, position).locator(".chip")
