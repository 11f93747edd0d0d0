"""Blinding that survives release, as a table: viewer role and purpose x state of the viewer's
own coding x state of the other coding x release state -> may the viewer see the other coding?

Every row is built through the real services (assign, code, submit, reopen, release) and
checked through the gatekeeper (`visible_assignments` and `access_assignment`). The rule
under test: a coder sees another coder's coding of a transcript only when a coordinator
released that transcript and coding system, and both the viewer's own independent coding and
the other coding were submitted before the release and still are. Gold and training codings
are never released. Below the table: release and withdrawal as audited events, the messages
on the page and in the API, and what reliability counts after a release.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from apps.annotations.services import rating_set
from apps.assignments.models import Assignment, Purpose, Release, State
from apps.assignments.selectors import assignment_history
from apps.assignments.services import (
    assignment_create,
    assignment_reopen,
    assignment_submit,
    codings_release,
)
from apps.projects.access import access_assignment, access_project, visible_assignments
from apps.projects.errors import ConflictError, NotFoundError
from apps.projects.models import Membership, Role
from apps.reliability.dataset import load_dataset
from tests.factories import UserFactory, complete_pacs_coding

# Who codes what in the table. Each letter is one assignment, created at its first mention:
# A coder_a's and B coder_b's independent PACS codings of the transcript, X coder_b's
# independent PACS coding of another transcript, T the trainee's training coding and G the
# trainer's gold coding of the same transcript with PACS.
LETTERS = {
    "A": ("coder_a", "transcript", Purpose.INDEPENDENT),
    "B": ("coder_b", "transcript", Purpose.INDEPENDENT),
    "X": ("coder_b", "other_transcript", Purpose.INDEPENDENT),
    "T": ("trainee", "transcript", Purpose.TRAINING),
    "G": ("trainer", "transcript", Purpose.GOLD),
}


@dataclass(frozen=True)
class Row:
    viewer: str  # fixture name of the viewer; their role and purpose are in the id
    own: str  # state of the viewer's own coding of the transcript
    other: str  # the coding looked at (a letter) and its state
    release: str  # release state of the transcript and coding system
    steps: str  # what happens, in order (see `play`)
    sees: bool

    @property
    def target(self) -> str:
        return self.other.split()[0]

    def __str__(self) -> str:
        return f"{self.viewer} own {self.own} | other {self.other} | {self.release}"


ROWS = [
    # A coder (independent) looking at the other coder's independent coding ----------------
    Row("coder_b", "submitted", "A submitted", "never released", "A:submit B:submit", False),
    Row("coder_b", "assigned", "A submitted", "refused", "B:assign A:submit release!", False),
    Row("coder_b", "in progress", "A submitted", "refused", "B:code A:submit release!", False),
    Row("coder_b", "submitted", "A in progress", "refused", "A:code B:submit release!", False),
    Row("coder_b", "submitted", "A assigned", "refused", "A:assign B:submit release!", False),
    Row("coder_b", "submitted", "A submitted", "released", "A:submit B:submit release", True),
    Row(
        "coder_b",
        "submitted",
        "A reopened",
        "withdrawn by reopening A",
        "A:submit B:submit release A:reopen",
        False,
    ),
    Row(
        "coder_b",
        "reopened",
        "A submitted",
        "withdrawn by reopening B",
        "A:submit B:submit release B:reopen",
        False,
    ),
    Row(
        "coder_b",
        "submitted",
        "A resubmitted",
        "withdrawn, not released again",
        "A:submit B:submit release A:reopen A:submit",
        False,
    ),
    Row(
        "coder_b",
        "resubmitted",
        "A submitted",
        "withdrawn, not released again",
        "A:submit B:submit release B:reopen B:submit",
        False,
    ),
    Row(
        "coder_b",
        "submitted",
        "A resubmitted",
        "released again",
        "A:submit B:submit release A:reopen A:submit release",
        True,
    ),
    Row(
        "coder_b",
        "resubmitted",
        "A submitted",
        "released again",
        "A:submit B:submit release B:reopen B:submit release",
        True,
    ),
    # A coder assigned after the release
    Row("coder_b", "assigned after", "A submitted", "released", "A:submit release B:assign", False),
    Row(
        "coder_b",
        "in progress after",
        "A submitted",
        "released",
        "A:submit release B:code",
        False,
    ),
    Row(
        "coder_b",
        "submitted after",
        "A submitted",
        "released before B submitted",
        "A:submit release B:submit",
        False,
    ),
    Row(
        "coder_b",
        "submitted after",
        "A submitted",
        "released again after B submitted",
        "A:submit release B:submit release",
        True,
    ),
    # ... and the other direction: the earlier coder does not watch the late coder's work.
    Row(
        "coder_b",
        "submitted",
        "A in progress after",
        "released",
        "B:submit release A:code",
        False,
    ),
    Row(
        "coder_b",
        "submitted",
        "A submitted after",
        "released before A submitted",
        "B:submit release A:submit",
        False,
    ),
    # A coder with no coding of this transcript (only of another one)
    Row("coder_b", "none (codes X)", "A submitted", "released", "X:submit A:submit release", False),
    # A coder looking at gold and training codings: never released
    Row(
        "coder_b",
        "submitted",
        "G submitted (gold)",
        "released",
        "G:submit A:submit B:submit release",
        False,
    ),
    Row(
        "coder_b",
        "submitted",
        "T submitted (training)",
        "released",
        "T:submit A:submit B:submit release",
        False,
    ),
    # A trainee (training coding of the same transcript) -----------------------------------
    Row("trainee", "submitted", "G submitted (gold)", "never released", "G:submit T:submit", False),
    Row(
        "trainee",
        "submitted",
        "G submitted (gold)",
        "refused (no independent coding)",
        "G:submit T:submit release!",
        False,
    ),
    Row(
        "trainee",
        "submitted",
        "G submitted (gold)",
        "released",
        "G:submit T:submit A:submit B:submit release",
        False,
    ),
    Row(
        "trainee",
        "submitted before",
        "A submitted",
        "released",
        "T:submit A:submit B:submit release",
        False,
    ),
    Row(
        "trainee",
        "in progress",
        "A submitted",
        "released",
        "T:code A:submit B:submit release",
        False,
    ),
    # A trainer (gold coding of the same transcript) ---------------------------------------
    Row(
        "trainer",
        "gold submitted",
        "A submitted",
        "released",
        "G:submit A:submit B:submit release",
        False,
    ),
    Row(
        "trainer",
        "gold submitted",
        "T submitted (training)",
        "never released",
        "G:submit T:submit",
        True,
    ),
    # A viewer (no coding) and the study's coordinator -------------------------------------
    Row("viewer", "none", "A submitted", "released", "A:submit B:submit release", False),
    Row("coordinator", "none", "A in progress", "never released", "A:code B:assign", True),
    Row("coordinator", "none", "G submitted (gold)", "never released", "G:submit", True),
]


@pytest.fixture
def table_world(cast, transcript, other_transcript, pacs, coordinator):
    return {"cast": cast, "transcript": transcript, "other_transcript": other_transcript}


def play(steps: str, world: dict, pacs, coordinator) -> dict[str, Assignment]:
    """Run the steps: `L:assign`, `L:code` (one rating), `L:submit` (complete, then submit),
    `L:reopen` (by the coordinator), `release` (must succeed) and `release!` (must be refused).
    """
    made: dict[str, Assignment] = {}

    def assignment(letter: str) -> Assignment:
        if letter not in made:
            coder, on, purpose = LETTERS[letter]
            made[letter] = assignment_create(
                transcript=world[on],
                coding_system=pacs,
                coder=world["cast"][coder],
                purpose=purpose,
                by=coordinator,
            )
        made[letter].refresh_from_db()
        return made[letter]

    item = pacs.rating_items.filter(required=True).first()
    for step in steps.split():
        if step == "release":
            codings_release(transcript=world["transcript"], coding_system=pacs, by=coordinator)
        elif step == "release!":
            with pytest.raises(ConflictError) as refused:
                codings_release(transcript=world["transcript"], coding_system=pacs, by=coordinator)
            assert refused.value.code == "release_refused"
        else:
            letter, action = step.split(":")
            current = assignment(letter)
            if action == "code":
                rating_set(assignment=current, item_id=item.pk, value=3)
            elif action == "submit":
                complete_pacs_coding(current)
                assignment_submit(assignment=current, by=current.coder)
            elif action == "reopen":
                assignment_reopen(assignment=current, by=coordinator)
            else:
                assert action == "assign", step
    for letter in made:
        made[letter].refresh_from_db()
    return made


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_who_sees_the_other_coding(row, table_world, project, pacs, coordinator):
    made = play(row.steps, table_world, pacs, coordinator)
    viewer = table_world["cast"][row.viewer]
    target = made[row.target]
    # The row says what it claims: the other coding is in the state named.
    named_state = row.other.split()[1]
    expected_state = {
        "submitted": State.SUBMITTED,
        "resubmitted": State.SUBMITTED,
        "reopened": State.REOPENED,
        "in": State.IN_PROGRESS,
        "assigned": State.ASSIGNED,
    }[named_state]
    assert target.state == expected_state

    membership = access_project(viewer, project.pk)
    visible = visible_assignments(viewer, membership).filter(pk=target.pk).exists()
    assert visible is row.sees
    if row.sees:
        assert access_assignment(viewer, target.pk) == target
    else:
        with pytest.raises(NotFoundError):
            access_assignment(viewer, target.pk)
    # Whatever the viewer may see, they change only their own coding.
    own = next((a for a in made.values() if a.coder_id == viewer.pk), None)
    if own is not None:
        assert visible_assignments(viewer, membership).filter(pk=own.pk).exists()


def test_the_table_lists_every_release_state_for_a_coder_with_an_independent_coding():
    """A guard on the table itself: the combinations the issue names are all present."""
    coder_rows = {(r.own, r.release) for r in ROWS if r.viewer == "coder_b"}
    for needed in [
        ("submitted", "never released"),
        ("in progress", "refused"),
        ("submitted", "released"),
        ("reopened", "withdrawn by reopening B"),
        ("submitted", "withdrawn by reopening A"),
        ("assigned after", "released"),
        ("resubmitted", "withdrawn, not released again"),
    ]:
        assert needed in coder_rows, needed
    assert {r.viewer for r in ROWS} >= {"coder_b", "trainee", "trainer", "viewer"}


# Release and withdrawal are audited events ----------------------------------------------


@pytest.fixture
def both_submitted(assignment_a, assignment_b):
    for assignment in (assignment_a, assignment_b):
        complete_pacs_coding(assignment)
        assignment_submit(assignment=assignment, by=assignment.coder)
    assignment_a.refresh_from_db()
    assignment_b.refresh_from_db()
    return assignment_a, assignment_b


def test_reopening_a_released_coding_withdraws_the_release_and_says_so(
    both_submitted, transcript, pacs, coordinator, lead
):
    assignment_a, _ = both_submitted
    release = codings_release(transcript=transcript, coding_system=pacs, by=coordinator)

    reopened = assignment_reopen(assignment=assignment_a, by=lead)

    release.refresh_from_db()
    assert reopened.withdrawn_release == release
    assert "is withdrawn" in reopened.message
    assert (release.withdrawn_by, release.is_current) == (lead, False)
    assert release.withdrawn_because == "coder.a@example.org's coding was reopened"
    # The release row's audit history: created by the coordinator, withdrawn by the lead.
    history = list(release.history.order_by("history_date").values_list("history_type", flat=True))
    users = list(release.history.order_by("history_date").values_list("history_user", flat=True))
    assert (history, users) == (["+", "~"], [coordinator.pk, lead.pk])


def test_reopening_a_coding_that_no_release_covers_withdraws_nothing(both_submitted, coordinator):
    reopened = assignment_reopen(assignment=both_submitted[0], by=coordinator)

    assert reopened.withdrawn_release is None
    assert reopened.message == "The coding is reopened; the coder can change it again."


def test_a_new_release_replaces_the_current_one_when_a_late_coder_has_submitted(
    project, transcript, pacs, both_submitted, coordinator
):
    first = codings_release(transcript=transcript, coding_system=pacs, by=coordinator)
    late_coder = UserFactory(email="coder.c@example.org")
    Membership.objects.create(project=project, user=late_coder, role=Role.CODER)
    late = assignment_create(
        transcript=transcript, coding_system=pacs, coder=late_coder, purpose=Purpose.INDEPENDENT
    )
    complete_pacs_coding(late)
    assignment_submit(assignment=late, by=late_coder)

    second = codings_release(transcript=transcript, coding_system=pacs, by=coordinator)

    first.refresh_from_db()
    assert first.withdrawn_because == "replaced by a release that covers every coding"
    assert list(Release.objects.current()) == [second]
    assert second.coding_count == 3


def test_a_release_and_its_withdrawal_appear_in_the_codings_history(
    both_submitted, transcript, pacs, coordinator
):
    assignment_a, assignment_b = both_submitted
    codings_release(transcript=transcript, coding_system=pacs, by=coordinator)
    assignment_reopen(assignment=assignment_b, by=coordinator)

    events = [
        (e["action"], e["who"]) for e in assignment_history(assignment_a) if e["kind"] == "release"
    ]

    assert events == [("released", coordinator.email), ("withdrawn", coordinator.email)]


# Reliability counts only codings made blind ----------------------------------------------


def test_a_coding_resubmitted_after_a_release_is_left_out_of_reliability(
    project, transcript, pacs, both_submitted, coordinator
):
    third = UserFactory(email="coder.c@example.org")
    Membership.objects.create(project=project, user=third, role=Role.CODER)
    assignment_c = assignment_create(
        transcript=transcript, coding_system=pacs, coder=third, purpose=Purpose.INDEPENDENT
    )
    complete_pacs_coding(assignment_c)
    assignment_submit(assignment=assignment_c, by=third)
    codings_release(transcript=transcript, coding_system=pacs, by=coordinator)

    def coders() -> list[str]:
        dataset = load_dataset(coding_system=pacs, project_id=project.pk, filter={})
        return sorted(c["email"] for c in dataset.coders)

    everyone = ["coder.a@example.org", "coder.b@example.org", "coder.c@example.org"]
    assert coders() == everyone
    # coder_b saw the others' codings, then changed and submitted theirs again.
    assignment_b = both_submitted[1]
    assignment_reopen(assignment=assignment_b, by=coordinator)
    assignment_submit(assignment=Assignment.objects.get(pk=assignment_b.pk), by=assignment_b.coder)

    assert coders() == ["coder.a@example.org", "coder.c@example.org"]
    # The two codings still submitted from before the release stay in: they were made blind.
    assert set(Assignment.objects.blind().values_list("coder__email", flat=True)) == {
        "coder.a@example.org",
        "coder.c@example.org",
    }


# Through the API and the project page ------------------------------------------------------


def release_by_api(client_for, coordinator, transcript, system):
    return client_for(coordinator).post(
        f"/api/projects/{transcript.project_id}/releases/",
        {"transcript": transcript.pk, "coding_system": system.pk},
        format="json",
    )


def test_coder_b_sees_coder_a_through_the_api_only_after_a_valid_release(
    client_for, transcript, pacs, assignment_a, assignment_b, coder_b, coordinator
):
    coding_of_a = f"/api/assignments/{assignment_a.pk}/coding/"
    complete_pacs_coding(assignment_a)
    assignment_submit(assignment=assignment_a, by=assignment_a.coder)

    refused = release_by_api(client_for, coordinator, transcript, pacs)

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "release_refused"
    assert "not submitted yet: coder.b@example.org (assigned)" in error["message"]
    assert error["details"]["not_submitted"][0]["assignment"] == assignment_b.pk
    assert client_for(coder_b).get(coding_of_a).status_code == 404

    complete_pacs_coding(assignment_b)
    assignment_submit(assignment=assignment_b, by=coder_b)
    released = release_by_api(client_for, coordinator, transcript, pacs)

    assert (released.status_code, released.json()["released"]) == (200, 2)
    assert client_for(coder_b).get(coding_of_a).status_code == 200

    reopened = client_for(coordinator).post(f"/api/assignments/{assignment_a.pk}/reopen/")

    body = reopened.json()
    assert (reopened.status_code, body["state"]) == (200, State.REOPENED)
    assert body["withdrawn_release"]["withdrawn_by"] == coordinator.email
    assert "is withdrawn" in body["message"]
    assert client_for(coder_b).get(coding_of_a).status_code == 404

    assert release_by_api(client_for, coordinator, transcript, pacs).status_code == 409


def test_releasing_twice_through_the_api_is_a_409_that_names_the_first_release(
    client_for, transcript, pacs, both_submitted, coordinator
):
    assert release_by_api(client_for, coordinator, transcript, pacs).status_code == 200

    again = release_by_api(client_for, coordinator, transcript, pacs)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_released"
    assert "by coordinator@example.org" in again.json()["error"]["message"]


def test_the_trainee_never_sees_the_gold_coding_through_the_api(
    client_for, transcript, pacs, trainer, trainee, coordinator, both_submitted
):
    gold = assignment_create(
        transcript=transcript, coding_system=pacs, coder=trainer, purpose=Purpose.GOLD
    )
    complete_pacs_coding(gold)
    assignment_submit(assignment=gold, by=trainer)

    assert release_by_api(client_for, coordinator, transcript, pacs).status_code == 200

    client = client_for(trainee)
    for path in ("", "coding/", "history/"):
        assert client.get(f"/api/assignments/{gold.pk}/{path}").status_code == 404
    assert Release.objects.get().coding_count == 2


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_project_page_says_why_a_release_is_refused_and_when_reopening_withdraws_it(
    project, transcript, pacs, assignment_a, assignment_b, coordinator
):
    client = Client()
    client.force_login(coordinator)
    complete_pacs_coding(assignment_a)
    assignment_submit(assignment=assignment_a, by=assignment_a.coder)
    form = {"transcript": transcript.pk, "coding_system": pacs.pk}

    refused = client.post(f"/projects/{project.pk}/releases/", form, follow=True)

    assert any(
        "Release refused" in m and "coder.b@example.org" in m for m in page_messages(refused)
    )
    assert not Release.objects.exists()

    complete_pacs_coding(assignment_b)
    assignment_submit(assignment=assignment_b, by=assignment_b.coder)
    released = client.post(f"/projects/{project.pk}/releases/", form, follow=True)

    assert any(m.startswith("Released 2 independent codings") for m in page_messages(released))
    assert released.content.decode().count('<span class="tag">released</span>') == 2

    reopened = client.post(f"/assignments/{assignment_b.pk}/reopen/", follow=True)

    assert any("is withdrawn" in m for m in page_messages(reopened))
    assert '<span class="tag">released</span>' not in reopened.content.decode()
