"""The pages work under the Content-Security-Policy: nothing is blocked in real Chromium.

new_page() fails a test on any violation the browser reports; these tests open the pages
with the most script (the coding page, the project page with htmx, the API docs) and check
that the policy was really in force, and that a violation would have been seen.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login

pytestmark = pytest.mark.browser

PASSWORD = "a-long-test-password"


def strict_policy(response) -> str:
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy
    return policy


def test_the_coding_page_runs_under_the_policy(new_page, assignment_a):
    page = new_page()
    login(page, "coder.a@example.org", PASSWORD)

    response = page.goto(f"/assignments/{assignment_a.pk}/code/")

    strict_policy(response)
    # The page script (static/js/workspace.js) runs: the keyboard moves the current turn.
    expect(page.locator(".turn").first).to_be_visible()
    page.keyboard.press("j")
    expect(page.locator(".current")).to_have_count(1)
    assert new_page.csp_violations == []


def test_the_project_page_runs_under_the_policy(new_page, project, lead):
    page = new_page()
    login(page, lead.email, PASSWORD)

    response = page.goto(f"/projects/{project.pk}/")

    strict_policy(response)
    expect(page.get_by_role("heading", level=1)).to_contain_text(project.name)
    assert page.evaluate("typeof window.htmx") == "object"  # htmx loaded from /static/
    assert new_page.csp_violations == []


def test_the_api_docs_run_under_the_policy(new_page, lead):
    page = new_page()
    login(page, lead.email, PASSWORD)

    response = page.goto("/api/docs/")

    strict_policy(response)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Coding platform API")
    assert new_page.csp_violations == []


def test_an_inline_script_would_be_reported(new_page, lead):
    """The check can fail: a script the policy blocks is seen as a violation."""
    page = new_page()
    login(page, lead.email, PASSWORD)

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.inlineRan = true'; document.body.append(s); }"
    )

    for _ in range(50):  # console messages reach the test asynchronously
        if new_page.csp_violations:
            break
        page.wait_for_timeout(20)
    assert page.evaluate("window.inlineRan === undefined")
    assert any("script-src" in v for v in new_page.csp_violations), new_page.csp_violations
    new_page.csp_violations.clear()  # expected here: the fixture would fail the test
