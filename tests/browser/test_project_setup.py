"""A lead sets up a study in Chromium: project, codebook, transcripts with a manifest, coders."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.assignments.models import Assignment
from apps.projects.models import Invitation, Membership, Project, Role
from apps.transcripts.models import Transcript
from tests.browser.helpers import login, server_lock
from tests.factories import CAST, LAB_CODEBOOK, manifest_csv, timed_vtt

pytestmark = pytest.mark.browser


def upload(name: str, content: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": content}


def test_lead_creates_a_study_imports_codebook_and_transcripts_and_assigns_two_coders(
    new_page, lead, coder_a, coder_b
):
    page = new_page()
    login(page, lead.email, "a-long-test-password")
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()

    page.get_by_label("Name of the study").fill("Alliance pilot")
    page.get_by_label("Description").fill("Two sessions, two coders.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Alliance pilot", level=1)).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("you are its lead")
    with server_lock():
        project = Project.objects.get(name="Alliance pilot")
        assert Membership.objects.get(project=project, user=lead).role == Role.LEAD

    page.locator("#codebook-file").set_input_files(
        upload("lab.yaml", LAB_CODEBOOK.encode(), "application/x-yaml")
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lab test codebook")
    expect(page.locator(".messages")).to_contain_text("Imported Lab test codebook version 1.0")

    page.get_by_role("link", name="Import transcripts").click()
    page.locator("#files").set_input_files(
        [
            upload("C-010-s01.vtt", timed_vtt(8), "text/vtt"),
            upload("C-011-s02.vtt", timed_vtt(6), "text/vtt"),
        ]
    )
    page.locator("#manifest").set_input_files(
        upload(
            "manifest.csv",
            manifest_csv(
                "C-010-s01.vtt,C-010,1,2026-02-02,F,", "C-011-s02.vtt,C-011,2,2026-02-09,E,"
            ),
            "text/csv",
        )
    )
    page.get_by_role("button", name="Check and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: 2 transcripts, 14 turns")
    preview = page.locator("table tbody tr")
    expect(preview).to_have_count(2)
    expect(preview.first).to_contain_text("C-010-s01.vtt")
    with server_lock():
        assert not Transcript.objects.filter(project=project).exists()  # nothing written yet
    page.get_by_role("button", name="Import all").click()
    expect(page.locator(".messages")).to_contain_text("Imported 2 transcripts (14 turns)")
    expect(page.locator("#sessions tbody tr")).to_have_count(2)

    page.get_by_role("link", name="Members").click()
    for coder in (coder_a, coder_b):
        page.get_by_label("Email").fill(coder.email)
        page.locator("select[name=role]").last.select_option("coder")
        page.get_by_role("button", name="Send the invitation").click()
        expect(page.locator(".messages")).to_contain_text(f"Invitation sent to {coder.email}")
    # Each coder joins by accepting the emailed link, logged in with their own account.
    for coder in (coder_a, coder_b):
        with server_lock():
            assert not Membership.objects.filter(project=project, user=coder).exists()
            token = Invitation.objects.get(project=project, email=coder.email).token
        coder_page = new_page()
        login(coder_page, coder.email, "a-long-test-password")
        coder_page.goto(f"/invitations/{token}/")
        coder_page.get_by_role("button", name="Accept the invitation").click()
        expect(coder_page.locator(".messages")).to_contain_text("Welcome to Alliance pilot")
    page.reload()

    page.get_by_role("link", name="Overview").click()
    for coder in (coder_a, coder_b):
        form = page.locator("form", has=page.locator("select[name=coder]"))
        form.locator("select[name=transcript]").select_option(label="C-010 · session 1")
        form.locator("select[name=coding_system]").select_option(label="Lab test codebook 1.0")
        form.locator("select[name=coder]").select_option(label=f"{coder.full_name} (Coder)")
        form.locator("select[name=purpose]").select_option("independent")
        form.get_by_role("button", name="Assign").click()
        expect(page.locator(".messages")).to_contain_text("Assigned")
    rows = page.locator("#assignments tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(CAST["coder_a"][1])
    expect(rows.nth(1)).to_contain_text(CAST["coder_b"][1])

    with server_lock():
        assigned = set(
            Assignment.objects.filter(project=project).values_list(
                "coder__email", "coding_system__key", "transcript__session__case__code", "purpose"
            )
        )
    assert assigned == {
        (coder_a.email, "lab", "C-010", "independent"),
        (coder_b.email, "lab", "C-010", "independent"),
    }
