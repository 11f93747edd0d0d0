"""Without a mouse, from the login page to a submitted coding, on the demo study."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.assignments.models import Assignment, State
from apps.demo.services import PASSWORD, demo_load
from tests.browser.helpers import server_lock

pytestmark = pytest.mark.browser

CODER = "coder.a@demo.example"


def tab_to(page, condition: str, *, limit: int = 80) -> None:
    """Press Tab until `condition` (JavaScript about `el`, the focused element) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => Boolean({condition}))(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {condition}")


def focused_text(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def test_coder_works_from_login_to_submit_with_the_keyboard_only(new_page):
    with server_lock():
        demo_load()
        assignment = Assignment.objects.get(
            coder__email=CODER, coding_system__key="pacs", state=State.ASSIGNED
        )
    page = new_page()
    page.goto("/accounts/login/")

    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(CODER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()

    tab_to(page, "el.textContent.trim() === 'My assignments'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My assignments")).to_be_visible()
    tab_to(
        page,
        "el.tagName === 'A' && el.closest('tr') && el.closest('tr').textContent.includes('PACS')",
    )
    assert focused_text(page) == "Start coding"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/assignments/{assignment.pk}/code/"))
    expect(page.locator("#save-status")).to_have_text("All changes saved")

    # Markers: the first patient turn is current; type a number and Enter, move with arrows.
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.type("17")
    page.keyboard.press("Enter")
    expect(page.locator(".chip")).to_have_count(2)

    # The five scale scores: Tab to each rating and type its score.
    scores = ["6", "3", "5", "2", "1"]
    tab_to(page, "el.matches('fieldset.rating input')")
    for score in scores:
        page.keyboard.press(score)
        expect(page.locator("fieldset.rating input:focus")).to_have_value(score)
        page.keyboard.press("Tab")
    # The classification follows the ratings: Space chooses the focused category.
    expect(page.locator(".classification input:focus")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Avoidant (dismissing)", exact=True)).to_be_checked()
    page.keyboard.press("ArrowUp")
    expect(page.get_by_label("Secure", exact=True)).to_be_checked()
    expect(page.locator("#save-status")).to_have_text("All changes saved")

    tab_to(page, "el.id === 'submit-button'")
    page.keyboard.press("Enter")
    expect(page.locator("#state-badge")).to_have_text("Submitted")

    with server_lock():
        assignment.refresh_from_db()
        assert assignment.state == State.SUBMITTED
        assert sorted(
            MarkerApplication.objects.filter(assignment=assignment).values_list(
                "marker__number", flat=True
            )
        ) == [1, 17]
        assert list(
            RatingValue.objects.filter(assignment=assignment)
            .order_by("item_id")
            .values_list("value", flat=True)
        ) == [int(s) for s in scores]
        assert ClassificationValue.objects.get(assignment=assignment).category.code == "secure"
