"""The turn-based coding workspace (PACS) in Chromium: coding, saving, conflicts, blinding.

The cast comes from tests/conftest.py: `transcript` has ten timed turns, therapist first, so
the patient turns (the ones PACS codes) are at positions 1, 3, 5, 7 and 9; `assignment_a` and
`assignment_b` are coder A's and coder B's PACS assignments on it.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.assignments.models import Assignment, State
from tests.browser.helpers import chips, login, server_lock, unit, wait_saved
from tests.factories import CAST

pytestmark = pytest.mark.browser

PASSWORD = "a-long-test-password"
CODER_A = CAST["coder_a"][0]
CODER_B = CAST["coder_b"][0]
SCORES = {
    "Proximity Seeking score": "3",
    "Contact Maintaining score": "2",
    "Exploring score": "2",
    "Avoidance score": "7",
    "Resistance score": "4",
}


def workspace_url(assignment) -> str:
    return reverse("annotations:workspace", args=[assignment.pk])


def open_workspace(new_page, email: str, assignment):
    page = new_page()
    login(page, email, PASSWORD)
    page.goto(workspace_url(assignment))
    expect(page.locator("#save-status")).to_have_text("All changes saved")
    return page


def apply_by_keyboard(page, command: str) -> None:
    """Type a marker command the way a coder does: keys, then Enter."""
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def rating(page, name: str):
    return page.locator("fieldset.rating", has=page.locator("legend", has_text=name))


def applications(assignment) -> list[tuple[int, int, int | None]]:
    """(turn position, marker number, value) of an assignment's markers, from the database."""
    with server_lock():
        return sorted(
            MarkerApplication.objects.filter(assignment=assignment).values_list(
                "turn__position", "marker__number", "value"
            )
        )


def test_coder_codes_by_keyboard_sees_everything_after_reload_and_submits(new_page, assignment_a):
    page = new_page()
    login(page, CODER_A, PASSWORD)
    page.goto(reverse("assignments:mine"))
    page.get_by_role("link", name="Start coding").click()
    page.wait_for_url(re.compile(workspace_url(assignment_a)))

    # The first codable turn (the first patient turn) is selected on arrival.
    expect(unit(page, 1)).to_have_class(re.compile(r"\bcurrent\b"))
    apply_by_keyboard(page, "1")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    apply_by_keyboard(page, "5")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    apply_by_keyboard(page, "25")
    wait_saved(page)
    expect(chips(page, 1)).to_contain_text(["1 Asks for help"])
    expect(chips(page, 3)).to_contain_text(["5 Discloses distressful emotions"])
    expect(chips(page, 5)).to_contain_text(["25 "])
    expect(page.locator('[data-scale-count="proximity_seeking"]')).to_have_text("2")
    assert applications(assignment_a) == [(1, 1, None), (3, 5, None), (5, 25, None)]

    for name, value in SCORES.items():
        rating(page, name).get_by_text(value, exact=True).click()
    page.get_by_label("Secure", exact=True).check()
    wait_saved(page)
    # The rule (highest scale decides) disagrees with the coder; both are shown.
    derived = page.locator(".classification .derived")
    expect(derived).to_contain_text("Rule suggests: Avoidant (dismissing)")
    with server_lock():
        assert sorted(
            RatingValue.objects.filter(assignment=assignment_a).values_list("item__name", "value")
        ) == sorted((name, int(value)) for name, value in SCORES.items())
        assert ClassificationValue.objects.get(assignment=assignment_a).category.code == "secure"

    page.reload()
    expect(chips(page, 1)).to_have_count(1)
    expect(chips(page, 3)).to_have_count(1)
    expect(chips(page, 5)).to_have_count(1)
    expect(page.locator(".chip")).to_have_count(3)
    for name, value in SCORES.items():
        expect(rating(page, name).locator("input:checked")).to_have_value(value)
    expect(page.get_by_label("Secure", exact=True)).to_be_checked()
    expect(derived).to_contain_text("Rule suggests: Avoidant (dismissing)")

    # Notes typed just before submitting are saved before the coding locks.
    page.locator("#notes").fill("Turn 6: vivid narrative?")
    page.get_by_role("button", name="Submit coding").click()
    expect(page.locator("#state-badge")).to_have_text("Submitted")
    expect(page.locator("#save-status")).to_have_text("Read only")
    expect(page.locator("#notes")).to_have_value("Turn 6: vivid narrative?")
    expect(page.get_by_role("button", name="Submit coding")).to_have_count(0)
    expect(page.get_by_label("Secure", exact=True)).to_be_disabled()
    expect(page.locator(".chip")).to_have_count(3)
    with server_lock():
        submitted = Assignment.objects.get(pk=assignment_a.pk)
    assert submitted.state == State.SUBMITTED
    assert submitted.notes == "Turn 6: vivid narrative?"


def test_submit_lists_what_is_missing_and_keeps_the_coding_open(new_page, assignment_a):
    page = open_workspace(new_page, CODER_A, assignment_a)
    apply_by_keyboard(page, "1")
    wait_saved(page)
    page.get_by_role("button", name="Submit coding").click()
    problems = page.locator("#submit-problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("not complete")
    expect(problems).to_contain_text("Avoidance score")
    with server_lock():
        assert Assignment.objects.get(pk=assignment_a.pk).state == State.IN_PROGRESS


def test_question_mark_opens_the_shortcuts_dialog(new_page, assignment_a):
    page = open_workspace(new_page, CODER_A, assignment_a)
    dialog = page.locator("#help-dialog")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Keyboard shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Also from the empty marker box, where a coder's focus is after applying a marker.
    apply_by_keyboard(page, "1")
    expect(page.locator("#command")).to_be_focused()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(page.locator("#command")).to_have_value("")


def test_save_status_says_all_changes_saved_and_the_layout_does_not_move(new_page, assignment_a):
    page = open_workspace(new_page, CODER_A, assignment_a)
    held = []
    page.route(
        "**/markers/",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    watched = ["header.ws-head", ".ws-text", ".ws-panel", "#save-status", "#submit-button"]

    def boxes():
        return [page.locator(selector).bounding_box() for selector in watched]

    before = boxes()
    apply_by_keyboard(page, "1")
    expect(page.locator("#save-status")).to_have_text("Saving…")
    assert len(held) == 1
    assert boxes() == before
    held[0].continue_()
    wait_saved(page)
    assert boxes() == before
    assert applications(assignment_a) == [(1, 1, None)]

    # Ratings and the classification sit low in the panel: reaching them scrolls the panel,
    # never the page, so the header and the text stay where they were.
    rating(page, "Resistance score").get_by_text("4", exact=True).click()
    page.get_by_label("Preoccupied", exact=True).check()
    wait_saved(page)
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollHeight") <= 800
    assert boxes() == before


def test_failed_save_is_retried_and_the_coder_sees_it(new_page, assignment_a):
    page = open_workspace(new_page, CODER_A, assignment_a)
    posts = []

    def fail_first_post_hold_the_retry(route):
        if route.request.method != "POST":
            route.continue_()
        elif not posts:
            posts.append(route)
            route.abort("connectionreset")
        else:
            posts.append(route)  # held until the test lets it through

    page.route("**/markers/", fail_first_post_hold_the_retry)
    apply_by_keyboard(page, "1")
    status = page.locator("#save-status")
    expect(status).to_have_text("Not saved yet: retrying…")
    for _ in range(100):  # the retry comes about a second later
        if len(posts) == 2:
            break
        page.wait_for_timeout(50)
    assert len(posts) == 2
    expect(status).to_have_text("Not saved yet: retrying…")  # still, while the retry runs
    assert applications(assignment_a) == []
    posts[1].continue_()
    wait_saved(page)
    assert len(posts) == 2
    assert applications(assignment_a) == [(1, 1, None)]
    with server_lock():
        saved_id = MarkerApplication.objects.get(assignment=assignment_a).pk
    expect(chips(page, 1)).to_have_attribute("data-application-id", str(saved_id))


def test_marker_removed_while_it_is_being_saved_stays_removed(new_page, assignment_a):
    page = open_workspace(new_page, CODER_A, assignment_a)
    held = []
    page.route(
        "**/markers/",
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    apply_by_keyboard(page, "5")
    expect(chips(page, 1)).to_have_count(1)
    page.keyboard.press("Backspace")  # in the empty marker box: remove the last marker
    expect(chips(page, 1)).to_have_count(0)
    # Playwright hands the intercepted request to the route handler asynchronously: give it
    # the time to arrive (a busy machine delays it) before checking it is the only one.
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    wait_saved(page)
    expect(chips(page, 1)).to_have_count(0)
    assert applications(assignment_a) == []
    page.reload()
    expect(page.locator(".chip")).to_have_count(0)


def test_stale_tab_gets_the_conflict_message_and_nothing_is_lost(new_page, browser, assignment_a):
    first = open_workspace(new_page, CODER_A, assignment_a)
    second = first.context.new_page()  # the same coder, a second tab
    second.goto(workspace_url(assignment_a))
    expect(second.locator("#save-status")).to_have_text("All changes saved")

    apply_by_keyboard(first, "1")
    wait_saved(first)

    second.keyboard.press("j")
    second.keyboard.press("j")
    expect(unit(second, 3)).to_have_class(re.compile(r"\bcurrent\b"))
    apply_by_keyboard(second, "5")
    banner = second.locator("#conflict-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("changed in another tab or window")
    expect(second.locator("#save-status")).to_have_text("Not saved: conflict")
    # The stale tab wrote nothing over the newer coding.
    assert applications(assignment_a) == [(1, 1, None)]

    second.get_by_role("button", name="Reload the newest version").click()
    expect(chips(second, 1)).to_have_count(1)
    notice = second.locator("#restore-banner")
    expect(notice).to_contain_text("apply 5 Discloses distressful emotions")
    expect(notice).to_contain_text("to turn 4")
    second.get_by_role("button", name="Apply them again").click()
    wait_saved(second)
    expect(chips(second, 3)).to_have_count(1)
    expect(notice).to_be_hidden()
    assert applications(assignment_a) == [(1, 1, None), (3, 5, None)]


def test_second_coder_sees_none_of_the_first_coders_work(new_page, assignment_a, assignment_b):
    page_a = open_workspace(new_page, CODER_A, assignment_a)
    apply_by_keyboard(page_a, "1")
    rating(page_a, "Avoidance score").get_by_text("7", exact=True).click()
    page_a.get_by_label("Secure", exact=True).check()
    page_a.locator("#notes").fill("Coder A's private note")
    wait_saved(page_a)
    with server_lock():
        assert Assignment.objects.get(pk=assignment_a.pk).notes == "Coder A's private note"
    assert applications(assignment_a) == [(1, 1, None)]

    page_b = new_page()  # another browser context: coder B's own cookies
    login(page_b, CODER_B, PASSWORD)
    page_b.goto(reverse("assignments:mine"))
    expect(page_b.locator("table.assignments tbody tr")).to_have_count(1)
    page_b.get_by_role("link", name="Start coding").click()
    page_b.wait_for_url(re.compile(workspace_url(assignment_b)))
    expect(page_b.locator("#units .unit")).to_have_count(10)
    expect(page_b.locator(".chip")).to_have_count(0)
    expect(page_b.locator("[data-marker-count]").filter(has_not_text="0")).to_have_count(0)
    expect(page_b.locator("input[type=radio]:checked")).to_have_count(0)
    expect(page_b.locator("#notes")).to_have_value("")
    assert "Coder A" not in page_b.content()

    response = page_b.goto(workspace_url(assignment_a))
    assert response.status == 404
    api = page_b.request.get(reverse("api-coding", args=[assignment_a.pk]))
    assert api.status == 404
    assert "private note" not in api.text()


def test_coder_home_shows_progress_and_continues_where_the_coder_left_off(new_page, assignment_a):
    page = new_page()
    login(page, CODER_A, PASSWORD)
    position_url = reverse("api-assignment-position", args=[assignment_a.pk])
    with page.expect_response(lambda r: r.url.endswith(position_url)):
        page.goto(workspace_url(assignment_a))
    page.keyboard.press("f")  # codable turns only
    expect(page.locator('[data-filter="codable"]')).to_have_attribute("aria-pressed", "true")
    with page.expect_response(lambda r: r.url.endswith(position_url)):
        page.keyboard.press("j")
    expect(unit(page, 3)).to_have_class(re.compile(r"\bcurrent\b"))
    apply_by_keyboard(page, "1")
    wait_saved(page)
    with server_lock():
        assert Assignment.objects.get(pk=assignment_a.pk).last_position == 3

    page.goto(reverse("assignments:mine"))
    row = page.locator("table.assignments tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("C-001 · session 1")
    expect(row.locator(".state")).to_have_text("In progress")
    expect(row).to_contain_text("2/5")  # turns 1 and 3 of the five patient turns
    expect(row.locator("progress")).to_have_attribute("value", "0.4")
    row.get_by_role("link", name="Continue where I left off").click()
    page.wait_for_url(re.compile(r"#unit-3$"))
    expect(unit(page, 3)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(unit(page, 3)).to_be_in_viewport()
    expect(chips(page, 3)).to_have_count(1)
