"""Figures of finished reports: stored once, served to report readers only, downloadable.

Reports here are rows with hand-made results (figure_cases.py) in the stored shapes, except
where a test says it computes one through the real job path.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from apps.jobs.models import JobState
from apps.reliability.models import CriterionReport, ReliabilityReport, ReportFigure
from apps.reliability.selectors import figure_entries, figure_names
from apps.reliability.services import figure_get, report_compute
from apps.reliability.tasks import report_figures_render_task
from tests.reliability import figure_cases as cases
from tests.reliability.report_fixtures import classification_rows, import_rows, make_project
from tests.reliability.test_criterion_reports import build_project
from tests.reliability.test_criterion_reports import run as run_criterion_report

pytestmark = pytest.mark.django_db

YEAR = 365 * 24 * 60 * 60


@pytest.fixture
def reliability_report(project, pacs) -> ReliabilityReport:
    return ReliabilityReport.objects.create(
        project=project,
        coding_system=pacs,
        state=JobState.DONE,
        results=cases.reliability_results(),
        parameters={"confidence": 0.95},
    )


@pytest.fixture
def criterion_report(project, pacs, coder_a, coder_b) -> CriterionReport:
    return CriterionReport.objects.create(
        project=project,
        coding_system=pacs,
        state=JobState.DONE,
        results=cases.criterion_results(coder_a.pk, coder_b.pk),
        parameters=cases.CRITERION_PARAMETERS,
    )


def figure_url(report, name: str, fmt: str = "svg") -> str:
    url_name = (
        "reliability:figure"
        if isinstance(report, ReliabilityReport)
        else "reliability:criterion-figure"
    )
    return reverse(
        url_name,
        kwargs={"project_id": report.project_id, "report_id": report.pk, "name": name, "fmt": fmt},
    )


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# Stored once -------------------------------------------------------------------------------


def test_first_request_renders_and_stores_the_figure_later_ones_read_it(reliability_report, lead):
    url = figure_url(reliability_report, "forest-kappa-turns")
    first = browser(lead).get(url)

    assert first.status_code == 200
    assert first["Content-Type"] == "image/svg+xml"
    assert first.content.startswith(b"<?xml")
    stored = ReportFigure.objects.get()
    assert (stored.reliability_report_id, stored.name, stored.format) == (
        reliability_report.pk,
        "forest-kappa-turns",
        "svg",
    )
    assert bytes(stored.content) == first.content
    # What the next request sends is the stored row, not a new rendering.
    ReportFigure.objects.filter(pk=stored.pk).update(content=b"<svg>kept</svg>")
    second = browser(lead).get(url)
    assert second.content == b"<svg>kept</svg>"
    assert ReportFigure.objects.count() == 1


def test_each_format_is_stored_separately(reliability_report, lead):
    svg = browser(lead).get(figure_url(reliability_report, "forest-ac1-turns", "svg"))
    png = browser(lead).get(figure_url(reliability_report, "forest-ac1-turns", "png"))

    assert png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.content != png.content
    assert sorted(ReportFigure.objects.values_list("format", flat=True)) == ["png", "svg"]


def test_a_figure_stored_by_a_concurrent_request_is_read_not_inserted_twice(
    reliability_report,
):
    """The other request stores its row between our look-up and our insert."""
    theirs = b"<svg>rendered by the other request</svg>"
    raced = []

    def other_request_inserts_first(execute, sql, params, many, context):
        # Just before the savepoint our insert runs in: the other row is outside it, as a
        # row committed by another connection would be.
        if not raced and sql.startswith("SAVEPOINT"):
            raced.append(True)
            ReportFigure.objects.create(
                reliability_report=reliability_report,
                name="forest-kappa-turns",
                format="svg",
                content=theirs,
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_request_inserts_first):
        figure = figure_get(report=reliability_report, name="forest-kappa-turns", fmt="svg")

    assert raced
    assert bytes(figure.content) == theirs
    assert ReportFigure.objects.count() == 1


def test_the_warm_path_is_a_few_queries(reliability_report, lead, django_assert_max_num_queries):
    client = browser(lead)
    url = figure_url(reliability_report, "forest-kappa-turns")
    client.get(url)

    # session and user, the report's project, the membership, the report, the figure
    with django_assert_max_num_queries(6):
        assert client.get(url).status_code == 200


# Readers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("lead", 200),
        ("coordinator", 200),
        ("viewer", 200),
        ("trainer", 200),
        ("coder_a", 404),
        ("trainee", 404),
        ("outsider", 404),
        (None, 404),
    ],
)
def test_reliability_figures_are_for_report_readers(reliability_report, cast, role, status):
    client = browser(cast[role] if role else None)
    assert client.get(figure_url(reliability_report, "forest-kappa-turns")).status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("lead", 200),
        ("coordinator", 200),
        ("viewer", 200),
        ("trainer", 404),  # trainers train raters on these sessions: no AAI labels for them
        ("coder_a", 404),
        ("trainee", 404),
        ("outsider", 404),
        (None, 404),
    ],
)
def test_criterion_figures_are_for_criterion_readers(criterion_report, cast, role, status):
    client = browser(cast[role] if role else None)
    url = figure_url(criterion_report, "confusion-3way-pooled", "png")
    assert client.get(url).status_code == status


def test_refused_readers_store_nothing(criterion_report, coder_a, trainer):
    browser(coder_a).get(figure_url(criterion_report, "confusion-3way-pooled"))
    browser(trainer).get(figure_url(criterion_report, "confusion-3way-pooled"))
    assert not ReportFigure.objects.exists()


def test_a_report_is_not_found_under_another_project(reliability_report, lead):
    from apps.projects.services import project_create

    other = project_create(name="Another study", created_by=lead)
    url = reverse(
        "reliability:figure",
        kwargs={
            "project_id": other.pk,
            "report_id": reliability_report.pk,
            "name": "forest-kappa-turns",
            "fmt": "svg",
        },
    )
    assert browser(lead).get(url).status_code == 404


# Not found, with the reason ----------------------------------------------------------------


def test_an_unknown_figure_name_is_not_found_with_the_reason(reliability_report, lead):
    url = figure_url(reliability_report, "forest-kappa-segments")
    page = browser(lead).get(url)
    answer = browser(lead).get(url, HTTP_ACCEPT="application/json")

    assert page.status_code == 404
    assert "This report has no figure named &#x27;forest-kappa-segments&#x27;." in (
        page.content.decode()
    )
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": "not_found",
            "message": "This report has no figure named 'forest-kappa-segments'.",
            "details": None,
        }
    }
    assert not ReportFigure.objects.exists()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (JobState.QUEUED, "This report is not finished yet; its figures appear when it is done."),
        (JobState.RUNNING, "This report is not finished yet; its figures appear when it is done."),
        (JobState.FAILED, "This report failed, so it has no figures."),
    ],
)
def test_an_unfinished_report_has_no_figures_yet(reliability_report, lead, state, message):
    ReliabilityReport.objects.filter(pk=reliability_report.pk).update(state=state)
    url = figure_url(reliability_report, "forest-kappa-turns")

    page = browser(lead).get(url)
    answer = browser(lead).get(url, HTTP_ACCEPT="application/json")

    assert page.status_code == 404 and message in page.content.decode()
    assert answer.status_code == 404 and answer.json()["error"]["message"] == message
    assert "no-store" in page["Cache-Control"]  # a 404 is not kept: the figure comes later
    assert not ReportFigure.objects.exists()


def test_only_svg_and_png_are_served(reliability_report, lead):
    url = figure_url(reliability_report, "forest-kappa-turns").replace(".svg", ".pdf")
    assert browser(lead).get(url).status_code == 404


# Headers -----------------------------------------------------------------------------------


def test_download_names_the_file_after_the_report_and_figure(
    reliability_report, criterion_report, lead
):
    client = browser(lead)
    inline = client.get(figure_url(reliability_report, "forest-kappa-turns"))
    download = client.get(figure_url(reliability_report, "forest-kappa-turns") + "?download=1")
    criterion = client.get(
        figure_url(criterion_report, "confusion-3way-pooled", "png"), {"download": "1"}
    )

    name = f"pacs-report-{reliability_report.pk}-forest-kappa-turns.svg"
    assert inline["Content-Disposition"] == f'inline; filename="{name}"'
    assert download["Content-Disposition"] == f'attachment; filename="{name}"'
    assert criterion["Content-Disposition"] == (
        f'attachment; filename="pacs-criterion-report-{criterion_report.pk}-confusion-3way-pooled.png"'
    )
    assert int(download["Content-Length"]) == len(download.content)


def test_figures_are_cached_by_the_readers_browser_only(reliability_report, lead):
    response = browser(lead).get(figure_url(reliability_report, "forest-kappa-turns"))

    cache = response["Cache-Control"]
    assert "private" in cache and f"max-age={YEAR}" in cache and "immutable" in cache
    assert "no-store" not in cache and "public" not in cache
    assert "Cookie" in response["Vary"]


def test_an_svg_opened_by_itself_may_style_itself_but_run_nothing(reliability_report, lead):
    from django.conf import settings

    response = browser(lead).get(figure_url(reliability_report, "forest-kappa-turns"))
    policy = response["Content-Security-Policy"]

    assert "style-src 'unsafe-inline'" in policy
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    # The report page embeds it as <img src> from this site, which its policy admits.
    assert "'self'" in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"]


def test_pages_stay_no_store(reliability_report, lead):
    page = browser(lead).get(f"/projects/{reliability_report.project_id}/reliability/")
    assert "no-store" in page["Cache-Control"]


# What a report has, for the page -----------------------------------------------------------


def test_figure_names_of_a_reliability_report(reliability_report):
    assert figure_names(reliability_report) == [
        ("forest-kappa-turns", "Marker occurrence per turn: Cohen's κ by scale and marker"),
        ("forest-ac1-turns", "Marker occurrence per turn: Gwet's AC1 by scale and marker"),
    ]
    ReliabilityReport.objects.filter(pk=reliability_report.pk).update(state=JobState.RUNNING)
    reliability_report.refresh_from_db()
    assert figure_names(reliability_report) == []


def test_figure_names_of_a_criterion_report_name_the_coders(criterion_report, coder_a, coder_b):
    names = dict(figure_names(criterion_report))

    assert list(names) == [
        "confusion-3way-pooled",
        f"confusion-3way-coder-{coder_a.pk}",
        f"confusion-3way-coder-{coder_b.pk}",
        "confusion-2way-pooled",
        f"confusion-2way-coder-{coder_a.pk}",
        f"confusion-2way-coder-{coder_b.pk}",
    ]
    # The classification and coders by name, from the codebook and the accounts.
    assert names[f"confusion-3way-coder-{coder_b.pk}"] == (
        "Attachment classification against the AAI, 3-way: Ben Coder"
    )


def test_the_figure_partial_shows_the_image_and_both_downloads(reliability_report, lead):
    entry = figure_entries(reliability_report)[0]
    html = render_to_string("reliability/_figure.html", entry)

    svg = figure_url(reliability_report, "forest-kappa-turns", "svg")
    png = figure_url(reliability_report, "forest-kappa-turns", "png")
    assert entry["src_svg"] == svg and entry["src_png"] == png
    assert f'<img src="{svg}" alt="Forest plot of Cohen' in html
    assert 'width="624" height="304"' in html  # 6.5 x 3.17 in at 96 px per inch
    assert f'<a href="{svg}?download=1" download>Download SVG</a>' in html
    assert f'<a href="{png}?download=1" download>Download PNG</a>' in html
    assert "<figcaption>Marker occurrence per turn: Cohen&#x27;s κ by scale and marker" in html
    assert browser(lead).get(entry["src_png"]).status_code == 200


# Pre-rendering when a report is done -------------------------------------------------------


def test_the_render_task_stores_every_figure_once(criterion_report):
    made = report_figures_render_task("criterion", criterion_report.pk)

    assert made == 6 * 2  # six heat maps, SVG and PNG
    assert ReportFigure.objects.filter(criterion_report=criterion_report).count() == 12
    assert report_figures_render_task("criterion", criterion_report.pk) == 0


def test_the_render_task_leaves_an_unfinished_report_alone(reliability_report):
    ReliabilityReport.objects.filter(pk=reliability_report.pk).update(state=JobState.QUEUED)
    assert report_figures_render_task("reliability", reliability_report.pk) == 0
    assert not ReportFigure.objects.exists()


def computed_reliability_report() -> ReliabilityReport:
    """A report computed through the job path from 30 double-coded sessions."""
    coders = ["rater.one@example.org", "rater.two@example.org"]
    project, system, lead, _ = make_project(30, coders)
    # Marker m01 on patient turns: both coders mark it in sessions 0-9, neither in 10-29,
    # except session 10 where only rater one does.
    rows = classification_rows([[10, 0], [0, 20]], ["v", "n"], coders)[0]
    for i in range(11):
        for c, coder in enumerate(coders):
            if i < 10 or c == 0:
                rows.append(f"K{i:03d},1,{coder},worked-examples:1,marker,turn:2,m01,,")
    import_rows(project, lead, rows)
    ReliabilityReport.objects.all().delete()  # the import queued one; this test makes its own
    report = ReliabilityReport.objects.create(
        project=project, coding_system=system, parameters={"confidence": 0.95}
    )
    return report


def test_a_finished_job_queues_its_figures_through_the_broker(
    broker_down, caplog, django_capture_on_commit_callbacks
):
    report = computed_reliability_report()
    with (
        caplog.at_level(logging.WARNING, logger="apps.reliability.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report_compute(report_id=report.pk)

    report.refresh_from_db()
    assert report.state == JobState.DONE
    # The broker is down: the job is still done and its figures render on first request.
    assert f"Figures of reliability report {report.pk} not queued" in caplog.text
    assert not ReportFigure.objects.exists()


def test_without_a_broker_figures_wait_for_their_first_request(
    django_capture_on_commit_callbacks, lead
):
    from coding_platform.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        report = computed_reliability_report()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            report_compute(report_id=report.pk)
    finally:
        app.conf.task_always_eager = before

    assert callbacks == []  # nothing sent, nothing rendered inside the job
    assert not ReportFigure.objects.exists()
    report.refresh_from_db()
    names = [name for name, _ in figure_names(report)]
    assert names == ["forest-kappa-turns", "forest-ac1-turns"]
    figure = figure_get(report=report, name="forest-kappa-turns", fmt="svg")
    assert b"Asks for help (n = " in bytes(figure.content)


def test_a_computed_criterion_report_has_its_heat_maps():
    project, system, lead, coders = build_project()
    CriterionReport.objects.all().delete()
    report = run_criterion_report(project, system, lead, {"policy": "exclude"})

    names = [name for name, _ in figure_names(report)]
    assert names[0] == "confusion-3way-pooled"
    assert f"confusion-3way-coder-{coders[0].pk}" in names
    pooled = figure_get(report=report, name="confusion-3way-pooled", fmt="svg")
    # The pooled 3-way view counts both coders' pairs (results["pooled"]["three_way"]["n"]).
    n = report.results["pooled"]["three_way"]["n"]
    assert f"n = {n} coder-session pairs (2 coders)".encode() in bytes(pooled.content)
