"""Drilling down from a report's marker or scale row to the units where its coders disagreed.

A small study coded by hand (codings go in through the real codings CSV import, so they are
submitted independent codings like any other), a report computed over it, and the units each
drill-down must list, derived by hand below from the codings.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.annotations.importer import codings_import_csv
from apps.assignments.models import Assignment
from apps.codebooks.services import coding_system_import_file
from apps.projects.errors import NotFoundError
from apps.projects.models import Membership
from apps.reliability.disagreements import report_disagreements
from apps.reliability.models import ReportState
from apps.reliability.services import report_compute, report_request
from apps.transcripts.models import Transcript
from apps.transcripts.services import transcripts_import
from tests.factories import TranscriptFactory, manifest_csv, timed_vtt

pytestmark = pytest.mark.django_db

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: drill
name: Drill-down codebook
version: "1"
source: Written for the tests.
licence: CC0-1.0
segment_length_seconds: 300
scales:
  - code: seeking
    name: Seeking
  - code: rupture
    name: Rupture
markers:
  - code: m1
    number: 1
    name: Asks for help
    scale: seeking
    unit: patient_turn
  - code: m2
    number: 2
    name: Laughs
    scale: seeking
    unit: any_turn
  - code: m3
    number: 3
    name: Interprets
    unit: therapist_turn
  - code: s1
    name: Withdraws
    scale: rupture
    unit: segment
  - code: s2
    name: Confronts
    scale: rupture
    unit: segment
rating_items:
  - code: salience
    name: Rupture salience
    level: segment
    min: 1
    max: 5
    required: false
"""

# The transcripts (tests/factories.py timed_vtt, 70 s apart, therapist first): turns 1, 3, 5 ...
# are the therapist's, 2, 4, 6 ... the patient's. C-001 s1 has 10 turns: 5-minute segments
# 1 = turns 1-5 (0-280 s), 2 = turns 6-9 (350-560 s), 3 = turn 10 (630 s). C-002 s1 has 6
# turns: segment 1 = turns 1-5, segment 2 = turn 6. C-003 s1 (6 turns) is coded by Ada only.
ROWS_A = [
    "C-001,1,{a},drill:1,marker,turn:2,m1,,",
    "C-001,1,{a},drill:1,marker,turn:4,m1,,",
    "C-001,1,{a},drill:1,marker,turn:6,m1,,",
    "C-001,1,{a},drill:1,marker,turn:3,m2,,laughs nervously",
    "C-001,1,{a},drill:1,marker,turn:8,m2,,",
    "C-001,1,{a},drill:1,marker,turn:1,m3,,",
    "C-001,1,{a},drill:1,marker,segment:1,s1,,",
    "C-001,1,{a},drill:1,marker,segment:2,s1,,",
    "C-001,1,{a},drill:1,rating,segment:2,salience,4,",
    "C-002,1,{a},drill:1,marker,turn:2,m1,,",
    "C-003,1,{a},drill:1,marker,turn:2,m1,,",
]
ROWS_B = [
    "C-001,1,{b},drill:1,marker,turn:2,m1,,",
    "C-001,1,{b},drill:1,marker,turn:8,m1,,",
    "C-001,1,{b},drill:1,marker,turn:6,m2,,",
    "C-001,1,{b},drill:1,marker,turn:1,m3,,",
    "C-001,1,{b},drill:1,marker,segment:1,s1,,",
    "C-001,1,{b},drill:1,marker,segment:3,s2,,",
    "C-002,1,{b},drill:1,marker,turn:5,m3,,",
]
# Units each drill-down lists, by hand from the rows above, as (case, turn or segment number):
# m1 (patient turns): Ada 2, 4, 6 and Ben 2, 8 in C-001 -> 4, 6, 8; Ada 2 in C-002 -> 2.
#   Turn 2 of C-001 (both) and turn 10 (neither) agree; C-003 is coded by Ada only.
# m2 (any turn): Ada 3, 8 and Ben 6 in C-001 -> 3, 6, 8.
# seeking (m1 or m2, any turn): Ada {2, 3, 4, 6, 8}, Ben {2, 6, 8} in C-001 -> 3, 4; C-002 -> 2.
#   On turns 6 and 8 each coder applied a different marker of the scale: the scale agrees.
# m3 (therapist turns): both on turn 1 of C-001 -> none; Ben's turn 5 of C-002 -> 5.
# s1 (segments): Ada 1, 2 and Ben 1 in C-001 -> segment 2.
# rupture (s1 or s2): Ada {1, 2}, Ben {1, 3} -> segments 2, 3.
M1 = [("C-001", 4), ("C-001", 6), ("C-001", 8), ("C-002", 2)]
M2 = [("C-001", 3), ("C-001", 6), ("C-001", 8)]
M3 = [("C-002", 5)]
SEEKING = [("C-001", 3), ("C-001", 4), ("C-002", 2)]
S1 = [("C-001", 2)]
RUPTURE = [("C-001", 2), ("C-001", 3)]


def _import(project, lead, rows: list[str]) -> None:
    header = "case,session,coder,coding_system,kind,unit,item,value,note\n"
    codings_import_csv(
        project=project,
        filename="codings.csv",
        content=(header + "\n".join(rows) + "\n").encode(),
        by=lead,
    )


@pytest.fixture
def study(project, lead, coder_a, coder_b):
    system = coding_system_import_file(
        project=project, filename="drill.yaml", content=CODEBOOK.encode(), by=lead
    )
    for case, day, turns in (("C-001", 15, 10), ("C-002", 20, 6), ("C-003", 25, 6)):
        transcripts_import(
            project=project,
            files=[(f"{case}.vtt", timed_vtt(turns))],
            manifest=("m.csv", manifest_csv(f"{case}.vtt,{case},1,2026-01-{day},,")),
            by=lead,
        )
    a, b = coder_a.email, coder_b.email
    _import(project, lead, [r.format(a=a) for r in ROWS_A])
    _import(project, lead, [r.format(b=b) for r in ROWS_B])
    return system


def _report(project, system, lead, **kwargs):
    report = report_request(project=project, coding_system=system, by=lead, **kwargs)
    report_compute(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == ReportState.DONE, report.error
    return report


def _membership(project, user):
    return Membership.objects.get(project=project, user=user)


def _listed(report, user, code, **kwargs) -> list[tuple[str, int]]:
    page = report_disagreements(
        report, user=user, membership=_membership(report.project, user), code=code, **kwargs
    )
    return [(u.case, u.number) for u in page.units]


def _row(report, unit: str, code: str, kind: str = "markers") -> dict:
    block = report.results["overall"]["marker_occurrence"][unit]
    return next(r for r in block[kind] if r["code"] == code)


def test_a_marker_lists_exactly_the_units_where_the_coders_differ(project, study, lead):
    report = _report(project, study, lead)

    assert _listed(report, lead, "m1") == M1
    assert _listed(report, lead, "m2") == M2
    assert _listed(report, lead, "m3") == M3


def test_the_listing_counts_the_disagreements_the_report_counted(project, study, lead):
    # m1 is read on the 5 + 3 patient turns of the two double-coded sessions; 4 disagree, so
    # the report's percent agreement is 4/8. m2 is read on all 10 + 6 turns; 3 disagree: 13/16.
    report = _report(project, study, lead)

    m1 = _row(report, "turns", "m1")
    assert m1["n_units"] == 8
    assert m1["statistics"]["percent_agreement"]["value"] == pytest.approx(4 / 8)
    m2 = _row(report, "turns", "m2")
    assert m2["statistics"]["percent_agreement"]["value"] == pytest.approx(13 / 16)
    assert len(_listed(report, lead, "m2")) == 16 - 13


def test_a_scale_disagrees_only_where_one_coder_has_none_of_its_markers(project, study, lead):
    report = _report(project, study, lead)

    assert _listed(report, lead, "seeking") == SEEKING
    seeking = _row(report, "turns", "seeking", "scales")
    assert seeking["statistics"]["percent_agreement"]["value"] == pytest.approx(13 / 16)


def test_segment_markers_and_scales_list_segments(project, study, lead):
    report = _report(project, study, lead)

    assert _listed(report, lead, "s1") == S1
    assert _listed(report, lead, "rupture") == RUPTURE
    page = report_disagreements(
        report, user=lead, membership=_membership(project, lead), code="rupture"
    )
    second, third = page.units
    assert second.units == "segments"
    assert [t["number"] for t in second.turns] == [6, 7, 8, 9]
    assert (second.start_seconds, second.end_seconds) == (300, 600)
    ada, ben = page.coders
    assert (ada["name"], ben["name"]) == ("Ada Coder", "Ben Coder")
    ada_cell, ben_cell = second.cells
    assert [c["code"] for c in ada_cell.codes] == ["s1"]
    assert ada_cell.ratings == [{"name": "Rupture salience", "value": 4}]
    assert ada_cell.applied and not ben_cell.applied
    assert ben_cell.codes == [] and ben_cell.coded
    assert [c["code"] for c in third.cells[1].codes] == ["s2"]


def test_each_coder_column_holds_all_their_codes_at_the_unit(project, study, lead):
    report = _report(project, study, lead)
    page = report_disagreements(report, user=lead, membership=_membership(project, lead), code="m2")

    turn3 = page.units[0]
    assert (turn3.case, turn3.number, turn3.speaker_role) == ("C-001", 3, "therapist")
    assert turn3.text  # the turn's words are shown
    ada, ben = turn3.cells
    assert [(c["code"], c["note"], c["drilled"]) for c in ada.codes] == [
        ("m2", "laughs nervously", True)
    ]
    assert ben.codes == []
    turn6 = page.units[1]
    ada, ben = turn6.cells
    # Ada applied m1 there (not the drilled marker), Ben m2.
    assert [(c["code"], c["drilled"]) for c in ada.codes] == [("m1", False)]
    assert [(c["code"], c["drilled"]) for c in ben.codes] == [("m2", True)]
    assert not ada.applied and ben.applied


def test_the_reports_filter_is_respected(project, study, lead):
    second = Transcript.objects.get(session__case__code="C-002")
    report = _report(project, study, lead, filter={"sessions": [second.session_id]})

    assert _listed(report, lead, "m1") == [("C-002", 2)]
    dated = _report(project, study, lead, filter={"date_to": "2026-01-16"})
    assert _listed(dated, lead, "m1") == [("C-001", 4), ("C-001", 6), ("C-001", 8)]


def test_a_coding_resubmitted_after_a_release_is_left_out_as_by_the_report(
    project, study, lead, coder_a
):
    # Ada's coding of C-002 was submitted again after a release let her see Ben's: it is not
    # blind, so C-002 has one blind coding left and drops out, as it does from the report.
    ada = Assignment.objects.get(coder=coder_a, transcript__session__case__code="C-002")
    Assignment.objects.filter(pk=ada.pk).update(
        unblinded_at=ada.submitted_at - dt.timedelta(minutes=5)
    )
    report = _report(project, study, lead)

    assert report.results["n_sessions"] == 1
    assert _listed(report, lead, "m1") == M1[:3]


def test_codings_changed_after_the_report_are_said_not_hidden(project, study, lead, coder_a):
    report = _report(project, study, lead)
    membership = _membership(project, lead)
    before = report_disagreements(report, user=lead, membership=membership, code="m1")
    assert before.changes["changed"] is False

    later = timezone.now() + dt.timedelta(minutes=1)
    Assignment.objects.filter(coder=coder_a, transcript__session__case__code="C-001").update(
        submitted_at=later
    )
    after = report_disagreements(report, user=lead, membership=membership, code="m1")
    assert after.changes["submitted_since"] == 1
    assert after.changes["sessions_changed"] == 0
    assert after.changes["changed"] is True
    Assignment.objects.filter(coder=coder_a, transcript__session__case__code="C-002").update(
        state="reopened"
    )
    reopened = report_disagreements(report, user=lead, membership=membership, code="m1")
    assert reopened.changes["sessions_changed"] == 1  # C-002 has one coder now, two then


def test_an_unknown_code_is_not_found(project, study, lead):
    report = _report(project, study, lead)
    membership = _membership(project, lead)

    with pytest.raises(NotFoundError):
        report_disagreements(report, user=lead, membership=membership, code="nope")
    with pytest.raises(NotFoundError):
        report_disagreements(report, user=lead, membership=membership, code="m1", units="segments")


def test_pages_of_units_in_session_and_turn_order(project, study, lead):
    report = _report(project, study, lead)
    membership = _membership(project, lead)

    first = report_disagreements(report, user=lead, membership=membership, code="m1", per_page=3)
    second = report_disagreements(
        report, user=lead, membership=membership, code="m1", per_page=3, page=2
    )
    assert (first.total, first.n_pages, first.next_page) == (4, 2, 2)
    assert [(u.case, u.number) for u in first.units + second.units] == M1
    assert second.next_page is None and second.previous_page == 1


# The page --------------------------------------------------------------------------------


def _url(project, report, code: str) -> str:
    return reverse(
        "reliability:disagreements",
        kwargs={"project_id": project.pk, "report_id": report.pk, "code": code},
    )


def test_the_page_shows_units_side_by_side_with_links(client, project, study, lead):
    report = _report(project, study, lead)
    client.force_login(lead)

    response = client.get(_url(project, report, "m2"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Coder" in html and "Ben Coder" in html
    assert "laughs nervously" in html
    assert "<mark>2 Laughs</mark>" in html
    session = Transcript.objects.get(session__case__code="C-001").session_id
    assert reverse("transcripts:session", args=[session]) + "#turn-3" in html
    ada = Assignment.objects.get(coder__email="coder.a@example.org", transcript__session_id=session)
    assert reverse("annotations:workspace", args=[ada.pk]) + "#unit-2" in html
    assert "3 turns where the coders disagree" in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("lead", 200),
        ("coordinator", 200),
        ("trainer", 404),
        ("viewer", 404),
        ("coder_a", 404),
        ("trainee", 404),
        ("outsider", 404),
    ],
)
def test_only_the_lead_and_coordinator_reach_the_page(client, project, study, cast, role, status):
    report = _report(project, study, cast["lead"])
    client.force_login(cast[role])

    response = client.get(_url(project, report, "m1"))

    assert response.status_code == status
    if status == 404:
        assert "Asks for help" not in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client, project, study, lead):
    report = _report(project, study, lead)

    response = client.get(_url(project, report, "m1"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_unknown_codes_reports_and_unfinished_reports_are_not_found(client, project, study, lead):
    report = _report(project, study, lead)
    queued = report_request(project=project, coding_system=study, by=lead)
    client.force_login(lead)

    assert client.get(_url(project, report, "nope")).status_code == 404
    assert client.get(_url(project, queued, "m1")).status_code == 404
    other = reverse(
        "reliability:disagreements",
        kwargs={"project_id": project.pk, "report_id": report.pk + 1000, "code": "m1"},
    )
    assert client.get(other).status_code == 404


def test_the_page_says_when_codings_changed_after_the_report(client, project, study, lead, coder_a):
    report = _report(project, study, lead)
    client.force_login(lead)
    assert (
        "none was submitted, resubmitted or reopened since"
        in client.get(_url(project, report, "m1")).content.decode()
    )

    Assignment.objects.filter(coder=coder_a).update(
        submitted_at=timezone.now() + dt.timedelta(minutes=1)
    )
    html = client.get(_url(project, report, "m1")).content.decode()
    assert "The codings changed after this report read them" in html
    # Ada's codings of C-001 and C-002 are listed (C-003, coded by her alone, is not).
    assert "2 codings listed here were submitted or resubmitted later" in html


def test_fifty_units_a_page_and_htmx_loads_the_next_rows_only(
    client, project, study, lead, coder_a, coder_b
):
    # A 120-turn session: Ada applies m1 to its 60 patient turns, Ben to none -> 60 units,
    # plus the 4 of the study: 64 = 50 on page 1 and 14 on page 2.
    long = TranscriptFactory(
        session__case__project=project, session__case__code="C-100", session__number=1, turns=120
    )
    rows = [f"C-100,1,{coder_a.email},drill:1,marker,turn:{n},m1,," for n in range(2, 121, 2)]
    rows.append(f"C-100,1,{coder_b.email},drill:1,marker,turn:1,m3,,")
    _import(project, lead, rows)
    assert long.turns.count() == 120
    report = _report(project, study, lead)
    client.force_login(lead)

    first = client.get(_url(project, report, "m1")).content.decode()
    assert first.count('<tr class="disagreement">') == 50
    assert "Show 50 more (page 2 of 2)" in first
    more = client.get(_url(project, report, "m1") + "?page=2", HTTP_HX_REQUEST="true")
    rows_html = more.content.decode()
    assert rows_html.count('<tr class="disagreement">') == 14
    assert "<html" not in rows_html and "Show 50 more" not in rows_html


def test_a_page_of_units_takes_a_fixed_number_of_queries(
    client, project, study, lead, django_assert_max_num_queries
):
    report = _report(project, study, lead)
    client.force_login(lead)

    with django_assert_max_num_queries(19):
        assert client.get(_url(project, report, "rupture")).status_code == 200


def test_the_report_page_links_marker_and_scale_rows_for_the_lead_only(
    client, project, study, lead, trainer
):
    report = _report(project, study, lead)
    detail = reverse("reliability:detail", args=[project.pk, report.pk])

    client.force_login(lead)
    html = client.get(detail).content.decode()
    assert f'href="{_url(project, report, "m1")}"' in html
    assert f'href="{_url(project, report, "rupture")}?kind=scale&amp;units=segments"' in html

    client.force_login(trainer)
    html = client.get(detail).content.decode()
    assert "/disagreements/" not in html
