"""Schema-driven fuzzing of the whole API as every member of the cast, an outsider and anonymous.

Schemathesis reads the OpenAPI schema the platform generates and sends requests built from it
(valid ones and deliberately invalid ones) to the Django WSGI application. Every response
must be no server error, have a status code and content type the schema documents, and match
the documented response schema. Path ids point at the real objects of a small study, so the
requests reach the views' validation and services, not only the 404 of an unknown id.

Each generated request is sent as every role (lead, coordinator, coder, trainer, trainee,
viewer, outsider, anonymous), each time inside a savepoint that is rolled back, so one
request's deletes do not empty the world for the next. The coverage phase is deterministic
and Hypothesis runs derandomized: CI sends the same requests every time. The run prints how
many requests it sent and how many answers were server errors (pytest's terminal summary).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.services import api_token_create
from apps.annotations.services import marker_apply
from apps.assignments.models import Purpose, State
from apps.assignments.services import assignment_create
from apps.projects.models import Membership
from apps.reliability.models import CriterionReport, ReliabilityReport
from apps.transcripts.services import recording_attach
from coding_platform.api_fields import ID_MAX
from tests.factories import (
    AssignmentFactory,
    MembershipFactory,
    SessionFactory,
    UserFactory,
    complete_pacs_coding,
    wav_bytes,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Random (fuzzing phase) examples per operation, on top of the deterministic coverage phase
# (boundary values, wrong types, missing fields: about 65 cases per operation). Each case is
# sent once per role: 50 operations x ~70 cases x 8 roles is about 28,000 requests, a
# minute and a half of CPU on SQLite.
EXAMPLES = 6
ROLE_NAMES = (
    "lead",
    "coordinator",
    "coder",
    "trainer",
    "trainee",
    "viewer",
    "outsider",
    "anonymous",
)
OPENAPI_JSON = "application/vnd.oai.openapi+json"


@dataclass
class FuzzTally:
    """Requests sent and failures found, over the whole run (printed at the end)."""

    requests: Counter = field(default_factory=Counter)
    server_errors: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


TALLY = FuzzTally()


class _CountsReport:
    """Prints the run's request and error counts in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter):
        total = sum(TALLY.requests.values())
        if not total:
            return
        errors = sum(TALLY.server_errors.values())
        terminalreporter.section("API fuzz")
        terminalreporter.write_line(
            f"{total} requests, {errors} server errors (5xx), {len(TALLY.failures)} check failures"
        )
        for role in ROLE_NAMES:
            if TALLY.requests[role]:
                terminalreporter.write_line(
                    f"  {role:<12} {TALLY.requests[role]:>6} requests "
                    f"{TALLY.server_errors[role]:>4} server errors"
                )


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    if not request.config.pluginmanager.has_plugin("api-fuzz-counts"):
        request.config.pluginmanager.register(_CountsReport(), "api-fuzz-counts")


@pytest.fixture
def wsgi_requests_share_the_test_transaction():
    """Like Django's test client: requests must not close the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def study(project, pacs, threers, lab, transcript, other_transcript, cast):
    """Every kind of object the API addresses by id, and a token per person of the cast."""
    lead, coder = cast["lead"], cast["coder_a"]
    assignment = assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder, purpose=Purpose.INDEPENDENT
    )
    patient_turn = transcript.turns.filter(speaker_role="patient").first()
    applied, _ = marker_apply(
        assignment=assignment, marker_id=pacs.markers.get(code="m05").pk, turn_id=patient_turn.pk
    )
    complete_pacs_coding(assignment)
    AssignmentFactory(
        transcript=transcript,
        coding_system=threers,
        coder=coder,
        state=State.SUBMITTED,
        submitted_at=timezone.now(),
    )
    # The trainee's own training coding, so their lists are not empty.
    assignment_create(
        transcript=other_transcript,
        coding_system=pacs,
        coder=cast["trainee"],
        purpose=Purpose.TRAINING,
    )
    recording_attach(
        session=transcript.session,
        upload=SimpleUploadedFile("s1.wav", wav_bytes(), content_type="audio/wav"),
        by=lead,
    )
    SessionFactory(case=transcript.session.case, number=2)
    spare = MembershipFactory(
        project=project, user=UserFactory(email="spare@example.org"), role="viewer"
    )
    report = ReliabilityReport.objects.create(project=project, coding_system=pacs)
    criterion_report = CriterionReport.objects.create(project=project, coding_system=pacs)
    ids = {
        "project_id": project.pk,
        "membership_id": spare.pk,
        "coding_system_id": lab.pk,
        "case_id": transcript.session.case_id,
        "session_id": transcript.session_id,
        "transcript_id": transcript.pk,
        "assignment_id": assignment.pk,
        "application_id": applied.pk,
        "report_id": report.pk,
        "criterion_report_id": criterion_report.pk,
    }
    people = {
        "lead": lead,
        "coordinator": cast["coordinator"],
        "coder": coder,
        "trainer": cast["trainer"],
        "trainee": cast["trainee"],
        "viewer": cast["viewer"],
        "outsider": cast["outsider"],
    }
    assert Membership.objects.filter(project=project).count() == 8
    headers = {"anonymous": {}}
    for role, person in people.items():
        headers[role] = {"Authorization": f"Token {api_token_create(user=person).key}"}
    yield {"ids": ids, "headers": headers}
    # The run calls the token endpoint hundreds of times: leave no throttle history (kept in
    # the cache) behind for the tests that come after it.
    cache.clear()


def _aim_at_the_study(case, ids: dict) -> None:
    """Point generated ids at the study's objects; invalid ones (negative mode) stay."""
    for name, value in (case.path_parameters or {}).items():
        # The coverage phase sends ids as strings, the fuzzing phase as integers.
        if name in ids and str(value).isdecimal() and int(value) <= ID_MAX:
            case.path_parameters[name] = ids[name]


# Loaded from the application itself at collection (no database involved), so the test
# covers every operation the platform documents.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", WSGIHandler(), headers={"Accept": OPENAPI_JSON}
)


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
def test_no_api_request_gets_a_server_error_or_breaks_the_schema(
    case, study, wsgi_requests_share_the_test_transaction
):
    """Each generated request is sent once per role of the cast, each answer checked."""
    _aim_at_the_study(case, study["ids"])
    found = []
    for role in ROLE_NAMES:
        headers = study["headers"][role]
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        TALLY.requests[role] += 1
        if response.status_code >= 500:
            TALLY.server_errors[role] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as failures:
            found.append(f"[{role}] {case.operation.label}: {failures}")
    TALLY.failures.extend(found)
    assert not found, "\n\n".join(found)
