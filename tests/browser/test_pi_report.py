"""A PI walks through the demo study's report in Chromium, and the coders cannot follow.

The demo study (apps/demo) is loaded as `make run` loads it: its codings import queues the
reliability and criterion reports, which the in-process tasks compute. The PI opens the PACS
report from the project page, reads reliability and agreement with the AAI (with intervals,
bands and plots), opens an explanation, downloads a plot, copies the methods paragraph and
drills down to a marker on which the two coders disagreed.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.codebooks.models import CodingSystem
from apps.demo.services import PASSWORD, PROJECT_NAME, demo_load
from apps.jobs.models import JobState
from apps.projects.models import Project
from apps.reliability.criterion_reports import criterion_report_compute
from apps.reliability.models import CriterionReport, ReliabilityReport
from apps.reliability.services import report_compute
from tests.browser.helpers import login, server_lock

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def demo():
    with server_lock():
        project = demo_load()
        pacs = CodingSystem.objects.get(project=project, key="pacs")
        # Whatever the in-process queue did, both reports of PACS are finished before the PI
        # looks (computing a finished report again changes nothing).
        for report in ReliabilityReport.objects.filter(coding_system=pacs):
            report_compute(report_id=report.pk)
        for report in CriterionReport.objects.filter(coding_system=pacs):
            criterion_report_compute(report_id=report.pk)
        assert ReliabilityReport.objects.filter(coding_system=pacs, state=JobState.DONE).exists()
        assert CriterionReport.objects.filter(coding_system=pacs, state=JobState.DONE).exists()
    return project, pacs


def test_pi_reads_the_report_downloads_a_plot_copies_methods_and_drills_down(new_page, demo):
    project, pacs = demo
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "lead@demo.example", PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    expect(page.get_by_role("heading", name=PROJECT_NAME, level=1)).to_be_visible()
    pacs_row = page.locator("#coding-systems tr", has_text="Patient Attachment Coding System")
    pacs_row.get_by_role("link", name="Reliability and validity").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Patient Attachment Coding System (PACS) 2.0: reliability and validity"
    )

    # Reliability: the classification with kappa, its CI, band words and the small-n flag.
    reliability = page.locator("#reliability")
    expect(reliability).to_contain_text("Classification: Attachment classification")
    expect(reliability.locator(".stat-ci").first).to_contain_text("[")
    expect(reliability).to_contain_text("(Landis & Koch)")
    expect(reliability.locator(".unstable").first).to_be_visible()
    expect(reliability).to_contain_text("Ana Coder, Ben Coder")

    # An explanation on demand: what Cohen's kappa is and when to trust it.
    explain = reliability.locator("details.explain", has_text="Cohen's κ").first
    explain.locator("summary").click()
    expect(explain).to_contain_text("When to trust it:")

    # Validity: agreement with the AAI, with the mapping, prevalence and the heat map.
    aai = page.locator("#aai")
    expect(aai).to_contain_text("Validity: do the coded classifications agree with the AAI?")
    expect(aai).to_contain_text("3-way: each organised class against its AAI class")
    expect(aai).to_contain_text("AAI class prevalence")
    heat_map = aai.locator("figure.report-figure img").first
    heat_map.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=heat_map.element_handle()
    )

    # Download the heat map as PNG, for the paper.
    with page.expect_download() as download_info:
        aai.locator("figure.report-figure").first.get_by_role("link", name="Download PNG").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".png")
    assert "confusion-3way-pooled" in download.suggested_filename
    with open(download.path(), "rb") as f:
        assert f.read(8) == PNG_SIGNATURE

    # Copy the methods paragraph.
    methods = page.locator("#methods")
    methods.get_by_role("button", name="Copy").click()
    expect(methods.locator(".copy-status")).to_have_text("Copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#methods-text").input_value()
    assert "Two coders (Ana Coder and Ben Coder)" in copied
    assert "Adult Attachment Interview (AAI)" in copied

    # Drill down from a marker's row to the units where the coders disagreed.
    with server_lock():
        disagreeing = _a_marker_the_coders_disagree_on(pacs)
    row = page.locator(f'#reliability tr[data-code="{disagreeing}"]').first
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Where coders disagreed")
    table = page.locator("table").first
    expect(table.locator("th", has_text="Ana Coder")).to_be_visible()
    expect(table.locator("th", has_text="Ben Coder")).to_be_visible()
    expect(table.locator("td.coder-codes.applied").first).to_be_visible()


def _a_marker_the_coders_disagree_on(pacs) -> str:
    """The code of a PACS marker whose turn agreement in the stored report is below 1."""
    report = ReliabilityReport.objects.filter(coding_system=pacs, state=JobState.DONE).first()
    rows = report.results["overall"]["marker_occurrence"]["turns"]["markers"]
    for row in rows:
        agreement = row["statistics"]["percent_agreement"]["value"]
        if agreement is not None and agreement < 1:
            return row["code"]
    raise AssertionError("the demo coders agree on every marker: no disagreement to drill into")


@pytest.mark.parametrize("email", ["coder.a@demo.example", "trainee@demo.example"])
def test_coders_and_trainees_reach_none_of_it(new_page, demo, email):
    project, pacs = demo
    page = new_page()
    login(page, email, PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    expect(page.get_by_role("link", name="Reliability and validity")).to_have_count(0)
    response = page.goto(f"/projects/{project.pk}/coding-systems/{pacs.pk}/report/")
    assert response.status == 403
    expect(page.locator("body")).not_to_contain_text("Validity")
    with server_lock():
        report = ReliabilityReport.objects.filter(coding_system=pacs, state=JobState.DONE).first()
        criterion = CriterionReport.objects.filter(coding_system=pacs, state=JobState.DONE).first()
        assert Project.objects.filter(pk=project.pk).exists()
    figure = (
        f"/projects/{project.pk}/criterion-reports/{criterion.pk}/figures/confusion-3way-pooled.svg"
    )
    assert page.goto(figure).status == 404
    drill = f"/projects/{project.pk}/reliability/{report.pk}/disagreements/m01/"
    assert page.goto(drill).status == 404
