"""Assignments through the API: assign, list and filter, my work, submit, reopen, release."""

from __future__ import annotations

from apps.assignments.models import Assignment, Purpose, Release, State
from apps.assignments.services import assignment_create
from apps.projects.services import project_create
from apps.transcripts.services import transcripts_import
from tests.factories import complete_pacs_coding, manifest_csv, timed_vtt


def assign(client, project, transcript, system, coder_email, **extra):
    return client.post(
        f"/api/projects/{project.pk}/assignments/",
        {"transcript": transcript.pk, "coding_system": system.pk, "coder": coder_email} | extra,
        format="json",
    )


def test_a_coordinator_assigns_a_coder_by_email(client_for, project, transcript, pacs, coordinator):
    response = assign(
        client_for(coordinator),
        project,
        transcript,
        pacs,
        "Coder.A@example.org",
        due_date="2026-03-01",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["coder_email"], body["purpose"], body["state"]) == (
        "coder.a@example.org",
        "independent",
        "assigned",
    )
    assert (body["case"], body["session_number"], body["coding_system_label"]) == (
        "C-001",
        1,
        "pacs:2.0",
    )
    assert body["due_date"] == "2026-03-01"
    assert Assignment.objects.get(pk=body["id"]).created_by == coordinator


def test_assigning_a_trainee_to_independent_coding_is_a_400(
    client_for, project, transcript, pacs, lead
):
    response = assign(client_for(lead), project, transcript, pacs, "trainee@example.org")

    assert response.status_code == 400
    assert "coder" in response.json()["error"]["details"]
    assert not Assignment.objects.exists()


def test_assigning_an_unknown_email_is_a_400(client_for, project, transcript, pacs, lead):
    response = assign(client_for(lead), project, transcript, pacs, "ghost@example.org")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"coder": ["Unknown."]}


def test_assigning_twice_is_a_409(client_for, project, transcript, pacs, lead, assignment_a):
    response = assign(client_for(lead), project, transcript, pacs, "coder.a@example.org")

    assert response.status_code == 409


def test_a_transcript_or_coding_system_of_another_project_is_not_found(
    client_for, project, transcript, pacs, lead
):
    other = project_create(name="Other", created_by=lead, shipped_codebooks=("pacs",))
    summary = transcripts_import(
        project=other,
        files=[("x.vtt", timed_vtt(2))],
        manifest=("m.csv", manifest_csv("x.vtt,X-1,1,,,")),
    )
    foreign_transcript = other.transcripts.get(pk=summary.transcripts[0]["transcript_id"])
    client = client_for(lead)

    wrong_transcript = assign(client, project, foreign_transcript, pacs, "coder.a@example.org")
    wrong_system = assign(
        client, project, transcript, other.coding_systems.get(), "coder.a@example.org"
    )

    assert (wrong_transcript.status_code, wrong_system.status_code) == (404, 404)
    assert not Assignment.objects.exists()


def test_the_assignment_list_filters_by_transcript_coder_and_state(
    client_for,
    project,
    transcript,
    other_transcript,
    pacs,
    coder_a,
    coder_b,
    lead,
    assignment_a,
    assignment_b,
):
    on_other = assignment_create(
        transcript=other_transcript, coding_system=pacs, coder=coder_b, purpose=Purpose.INDEPENDENT
    )
    complete_pacs_coding(assignment_b)
    client = client_for(lead)
    url = f"/api/projects/{project.pk}/assignments/"

    def ids(**query) -> set[int]:
        return {a["id"] for a in client.get(url, query).json()}

    assert ids() == {assignment_a.pk, assignment_b.pk, on_other.pk}
    assert ids(transcript=transcript.pk) == {assignment_a.pk, assignment_b.pk}
    assert ids(coder=coder_b.pk) == {assignment_b.pk, on_other.pk}
    assert ids(state="in_progress") == {assignment_b.pk}


def test_my_assignments_span_projects_and_show_progress(
    client_for, project, transcript, pacs, coder_a, lead, assignment_a
):
    other = project_create(name="Second study", created_by=lead, shipped_codebooks=("pacs",))
    from apps.projects.services import membership_add

    membership_add(project=other, user=coder_a, role="coder", by=lead)
    summary = transcripts_import(
        project=other,
        files=[("y.vtt", timed_vtt(4))],
        manifest=("m.csv", manifest_csv("y.vtt,Y-1,3,,,")),
    )
    assignment_create(
        transcript=other.transcripts.get(pk=summary.transcripts[0]["transcript_id"]),
        coding_system=other.coding_systems.get(),
        coder=coder_a,
        purpose=Purpose.INDEPENDENT,
    )
    client = client_for(coder_a)
    client.post(f"/api/assignments/{assignment_a.pk}/position/", {"position": 1}, format="json")
    client.post(f"/api/assignments/{assignment_a.pk}/position/", {"position": 3}, format="json")

    mine = client.get("/api/me/assignments/").json()

    assert {(a["project"]["name"], a["case"], a["session_number"]) for a in mine} == {
        ("Attachment in therapy", "C-001", 1),
        ("Second study", "Y-1", 3),
    }
    first = next(a for a in mine if a["id"] == assignment_a.pk)
    # PACS codes patient turns: five of the ten turns are codable, two were visited.
    assert first["progress"] == {"codable": 5, "touched": 2, "share": 0.4}
    assert first["last_position"] == 3


def test_submitting_an_incomplete_coding_returns_what_is_missing(client_for, assignment_a, coder_a):
    response = client_for(coder_a).post(
        f"/api/assignments/{assignment_a.pk}/submit/", {}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "incomplete"
    assert "classification: Attachment classification" in error["details"]["missing"]


def test_submit_then_reopen_through_the_api(client_for, assignment_a, coder_a, coordinator):
    complete_pacs_coding(assignment_a)

    submitted = client_for(coder_a).post(
        f"/api/assignments/{assignment_a.pk}/submit/",
        {"base_revision": assignment_a.revision},
        format="json",
    )
    again = client_for(coder_a).post(
        f"/api/assignments/{assignment_a.pk}/submit/", {}, format="json"
    )
    reopened = client_for(coordinator).post(f"/api/assignments/{assignment_a.pk}/reopen/")

    assert submitted.status_code == 200
    assert submitted.json()["state"] == State.SUBMITTED
    assert submitted.json()["submitted_at"]
    assert (again.status_code, again.json()["error"]["code"]) == (409, "locked")
    assert (reopened.status_code, reopened.json()["state"]) == (200, State.REOPENED)


def test_submitting_with_a_stale_revision_is_a_409(client_for, assignment_a, coder_a):
    complete_pacs_coding(assignment_a)

    response = client_for(coder_a).post(
        f"/api/assignments/{assignment_a.pk}/submit/", {"base_revision": 0}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"current_revision": assignment_a.revision}


def test_release_answers_how_many_codings_were_released(
    client_for, project, transcript, pacs, assignment_a, assignment_b, coordinator
):
    for assignment in (assignment_a, assignment_b):
        complete_pacs_coding(assignment)
        client_for(assignment.coder).post(
            f"/api/assignments/{assignment.pk}/submit/", {}, format="json"
        )

    response = client_for(coordinator).post(
        f"/api/projects/{project.pk}/releases/",
        {"transcript": transcript.pk, "coding_system": pacs.pk},
        format="json",
    )

    body = response.json()
    assert (response.status_code, body["released"]) == (200, 2)
    release = Release.objects.get()
    assert body["release"] == {
        "id": release.pk,
        "transcript": transcript.pk,
        "coding_system": pacs.pk,
        "coding_count": 2,
        "released_by": coordinator.email,
        "released_at": body["release"]["released_at"],
        "withdrawn_by": None,
        "withdrawn_at": None,
        "withdrawn_because": "",
    }
    assert release.released_by == coordinator and release.is_current
    listed = client_for(coordinator).get(f"/api/projects/{project.pk}/assignments/").json()
    assert {a["released_at"] for a in listed} == {body["release"]["released_at"]}


def test_deleting_an_assignment_with_codes_is_a_409(client_for, assignment_a, lead):
    complete_pacs_coding(assignment_a)

    response = client_for(lead).delete(f"/api/assignments/{assignment_a.pk}/")

    assert response.status_code == 409
    assert Assignment.objects.filter(pk=assignment_a.pk).exists()


def test_a_malformed_filter_is_a_400_not_a_server_error(client_for, project, lead, assignment_a):
    response = client_for(lead).get(f"/api/projects/{project.pk}/assignments/", {"coder": "abc"})

    assert response.status_code == 400
    assert "coder" in response.json()["error"]["details"]
