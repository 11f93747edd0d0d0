"""3RS in Chromium: rating five-minute segments with the session's recording beside the text.

The transcript (tests/conftest.py) has ten timed turns, 70 s apart, so its 3RS segments are
0-300 s, 300-600 s and 600-695 s. The recording is a silent WAV made here, as long as the
session: 3 kHz, 8-bit, mono (Chromium refuses audio below 3 kHz).
"""

from __future__ import annotations

import io
import re
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from apps.annotations.models import MarkerApplication, RatingValue
from apps.assignments.models import Purpose
from apps.assignments.services import assignment_create
from apps.transcripts.services import recording_attach
from tests.browser.helpers import chips, login, server_lock, unit, wait_saved
from tests.factories import CAST

pytestmark = pytest.mark.browser


def silent_wav(seconds: int, *, rate: int = 3000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * (seconds * rate))
    return buffer.getvalue()


@pytest.fixture
def recorded_3rs_assignment(transcript, threers, coder_a, lead):
    recording_attach(
        session=transcript.session,
        upload=SimpleUploadedFile("session.wav", silent_wav(700), content_type="audio/wav"),
        by=lead,
    )
    return assignment_create(
        transcript=transcript,
        coding_system=threers,
        coder=coder_a,
        purpose=Purpose.INDEPENDENT,
        by=lead,
    )


def player_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_segment_is_rated_while_the_player_seeks_and_plays(new_page, recorded_3rs_assignment):
    assignment = recorded_3rs_assignment
    page = new_page()
    login(page, CAST["coder_a"][0], "a-long-test-password")
    page.goto(reverse("annotations:workspace", args=[assignment.pk]))
    expect(page.locator("#units > .segment")).to_have_count(3)
    page.wait_for_function("() => document.getElementById('player').duration >= 699")

    # A click on a turn seeks to the turn, a click on a segment's heading to the segment.
    second = unit(page, 1)
    second.get_by_text("Can we stay with that tightness").click()
    expect(second).to_have_class(re.compile(r"\bcurrent\b"))
    assert player_time(page) == pytest.approx(420, abs=0.05)
    expect(second.locator(".turn.playing")).to_contain_text("Can we stay with that tightness")
    second.get_by_text("Segment 2", exact=True).click()
    assert player_time(page) == pytest.approx(300, abs=0.05)

    page.keyboard.press("p")
    page.wait_for_function("() => document.getElementById('player').currentTime > 300.3")
    assert page.evaluate("document.getElementById('player').paused") is False

    # Rated markers by keyboard, both ways: "name salience" Enter, and name Enter salience.
    page.keyboard.type("denial 4")
    page.keyboard.press("Enter")
    page.keyboard.type("minimal")
    page.keyboard.press("Enter")
    expect(page.locator("#command-hint")).to_contain_text("type the salience (1-5)")
    page.keyboard.press("2")
    significance = second.locator("fieldset.segment-rating")
    significance.get_by_text("3", exact=True).click()
    wait_saved(page)
    expect(chips(page, 1)).to_contain_text(["Denial · 4", "Minimal response · 2"])
    expect(chips(page, 0)).to_have_count(0)

    # Seeking while playing keeps the text in step, and nothing typed is disturbed by it.
    unit(page, 2).get_by_text("Segment 3", exact=True).click()
    page.wait_for_function("() => document.getElementById('player').currentTime >= 600")
    assert 600 <= player_time(page) < 603
    page.keyboard.press(",")
    page.wait_for_function("() => document.getElementById('player').currentTime < 600")
    page.keyboard.press("p")
    assert page.evaluate("document.getElementById('player').paused") is True

    with server_lock():
        assert sorted(
            MarkerApplication.objects.filter(assignment=assignment).values_list(
                "segment__index", "marker__name", "value"
            )
        ) == [(1, "Denial", 4), (1, "Minimal response", 2)]
        assert list(
            RatingValue.objects.filter(assignment=assignment).values_list(
                "segment__index", "item__code", "value"
            )
        ) == [(1, "rupture_significance", 3)]

    page.reload()
    expect(chips(page, 1)).to_contain_text(["Denial · 4", "Minimal response · 2"])
    expect(unit(page, 1).locator("fieldset.segment-rating input:checked")).to_have_value("3")
    expect(page.locator("fieldset.segment-rating input:checked")).to_have_count(1)
    expect(page.locator(".segment-rating").first).to_contain_text("Rupture significance")
