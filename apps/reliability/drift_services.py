"""Drift over time: the reports' drift results, drift settings, the scheduled drift check.

The arrays come from the same loader as the reports (apps/reliability/dataset.py); the
numbers from the pure apps/reliability/drift.py. The check runs daily under Celery beat
(coding_platform/celery.py, docs/jobs.md): for each project and coding system with drift
settings, each coder's agreement over the recent window is compared with the threshold, and
a coder below it gets one open DriftAlert and the project's leads and trainers an email.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

import numpy as np
from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from apps.accounts.selectors import display_names
from apps.annotations.models import ClassificationValue, MarkerApplication
from apps.assignments.models import Assignment, Purpose, State
from apps.codebooks.models import CodingSystem, Unit
from apps.jobs.services import BROKER_ERRORS
from apps.projects.errors import ConflictError, DomainError
from apps.projects.models import Membership, Project, Role
from apps.reliability.dataset import (
    Dataset,
    double_coded_transcripts,
    load_dataset,
    submitted_independent,
)
from apps.reliability.drift import (
    PERIODS,
    ClassificationCodes,
    DriftCoder,
    Occurrence,
    check_period,
    coder_window_agreement,
    criterion_drift,
    reliability_drift,
)
from apps.reliability.models import (
    DriftAgainst,
    DriftAlert,
    DriftSettings,
    DriftWindow,
)
from apps.reliability.stats.criterion import CriterionMapping, CriterionRecord
from apps.transcripts.models import Session

logger = logging.getLogger(__name__)

DRIFT_PARAMETER_KEYS = frozenset({"drift_period", "drift_block_size"})
WINDOW_LIMITS = {DriftWindow.SESSIONS: 10_000, DriftWindow.DAYS: 3650}
# Who is emailed about a new alert (the dashboard also shows alerts to coordinators).
ALERT_RECIPIENTS = (Role.LEAD, Role.TRAINER)
CHECK_CONFIDENCE = 0.95


# Report parameters -------------------------------------------------------------------------


def clean_drift_parameters(parameters: Mapping[str, Any]) -> dict:
    """The drift parameters given, checked; none given stores none (the default is month).

    ``drift_period`` is ``month`` or ``block``; ``drift_block_size`` (sessions per block)
    goes with ``block`` only, and giving it alone means ``block``.
    """
    period = parameters.get("drift_period")
    block = parameters.get("drift_block_size")
    if period in (None, "") and block in (None, ""):
        return {}
    if period in (None, ""):
        period = "block"
    if period not in PERIODS:
        raise DomainError(
            f"drift_period must be one of {', '.join(PERIODS)}.",
            details={"drift_period": list(PERIODS)},
        )
    if isinstance(block, str):
        # A form sends text: digits are a number, an empty field is no block size.
        block = int(block) if block.strip().isdigit() else (block.strip() or None)
    try:
        check_period(period, block)
    except ValueError as exc:
        raise DomainError(f"{exc}.", details={"drift_block_size": [str(exc)]}) from None
    out = {"drift_period": period}
    if block is not None:
        out["drift_block_size"] = block
    return out


def drift_period(parameters: Mapping[str, Any]) -> tuple[str, int | None]:
    """The period and block size a report's stored parameters ask for (month by default)."""
    return parameters.get("drift_period") or "month", parameters.get("drift_block_size")


# Loaders -----------------------------------------------------------------------------------


def _drift_coders(coder_ids) -> list[DriftCoder]:
    names = display_names(coder_ids)
    return [DriftCoder(id=c, name=names.get(c, str(c))) for c in coder_ids]


def _session_dates(session_ids) -> dict:
    return dict(Session.objects.filter(pk__in=list(session_ids)).values_list("id", "date"))


def _consensus_assignments(
    *, project_id: int, coding_system_id: int, transcript_ids
) -> dict[int, int]:
    """{transcript id: the submitted consensus assignment} (the latest, if several)."""
    rows = (
        Assignment.objects.filter(
            project_id=project_id,
            coding_system_id=coding_system_id,
            purpose=Purpose.CONSENSUS,
            state=State.SUBMITTED,
            transcript_id__in=list(transcript_ids),
        )
        .order_by("transcript_id", "-submitted_at", "-id")
        .values_list("transcript_id", "id")
    )
    chosen: dict[int, int] = {}
    for transcript_id, assignment_id in rows:
        chosen.setdefault(transcript_id, assignment_id)
    return chosen


def _consensus_codes(
    dataset: Dataset, *, project_id: int, coding_system_id: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The consensus coding aligned with the dataset's units, or no consensus at all.

    Returns (sessions with a consensus, turn codes, segment codes, classification index
    per session of the first classification); the codes are -1 where a session has none.
    """
    transcripts = [s["transcript"] for s in dataset.sessions]
    has = np.zeros(len(transcripts), bool)
    chosen = _consensus_assignments(
        project_id=project_id, coding_system_id=coding_system_id, transcript_ids=transcripts
    )
    if not chosen:
        return has, None, None, None
    index = {t: i for i, t in enumerate(transcripts)}
    has[[index[t] for t in chosen]] = True
    turn_rows = {
        m["id"]: i for i, m in enumerate(m for m in dataset.markers if m["unit"] != Unit.SEGMENT)
    }
    segment_rows = {
        m["id"]: i for i, m in enumerate(m for m in dataset.markers if m["unit"] == Unit.SEGMENT)
    }
    turns = np.repeat(
        np.where(has[dataset.turn_session], 0, -1).astype(np.int8)[None], len(turn_rows), axis=0
    )
    segments = np.repeat(
        np.where(has[dataset.segment_session], 0, -1).astype(np.int8)[None],
        len(segment_rows),
        axis=0,
    )
    turn_order = np.argsort(dataset.turn_ids)
    sorted_turns = dataset.turn_ids[turn_order]
    segment_pos = {int(s): i for i, s in enumerate(dataset.segment_ids)}
    for marker_id, turn_id, segment_id in MarkerApplication.objects.filter(
        assignment_id__in=list(chosen.values())
    ).values_list("marker_id", "turn_id", "segment_id"):
        if turn_id is not None and marker_id in turn_rows and len(sorted_turns):
            at = int(np.searchsorted(sorted_turns, turn_id))
            if at < len(sorted_turns) and sorted_turns[at] == turn_id:
                turns[turn_rows[marker_id], turn_order[at]] = 1
        elif segment_id is not None and marker_id in segment_rows and segment_id in segment_pos:
            segments[segment_rows[marker_id], segment_pos[segment_id]] = 1
    classification = None
    if dataset.classifications:
        first = dataset.classifications[0]
        category = {x["id"]: j for j, x in enumerate(first["categories"])}
        classification = np.full(len(transcripts), -1, np.int64)
        session_of = {a: index[t] for t, a in chosen.items()}
        for assignment_id, category_id in ClassificationValue.objects.filter(
            assignment_id__in=list(chosen.values()), classification_id=first["id"]
        ).values_list("assignment_id", "category_id"):
            classification[session_of[assignment_id]] = category[category_id]
    return has, turns, segments, classification


def _occurrence_blocks(dataset: Dataset, turns=None, segments=None) -> list[Occurrence]:
    return [
        Occurrence(dataset.turn_codes, dataset.turn_session, turns),
        Occurrence(dataset.segment_codes, dataset.segment_session, segments),
    ]


# The reports' drift results ----------------------------------------------------------------


def reliability_report_drift(
    dataset: Dataset, *, project_id: int, coding_system_id: int, parameters: Mapping[str, Any]
) -> dict:
    """results["drift"] of a reliability report: the report's own dataset, over time."""
    period, block = drift_period(parameters)
    coder_ids = [c["id"] for c in dataset.coders]
    dates = _session_dates(s["session"] for s in dataset.sessions)
    has, turns, segments, consensus_class = _consensus_codes(
        dataset, project_id=project_id, coding_system_id=coding_system_id
    )
    classification = None
    if dataset.classifications:
        first = dataset.classifications[0]
        classification = ClassificationCodes(
            code=first["code"],
            name=first["name"],
            labels=dataset.classification_codes[0].astype(np.int64),
            consensus=consensus_class,
        )
    return reliability_drift(
        dates=[dates.get(s["session"]) for s in dataset.sessions],
        coded=dataset.coded,
        occurrence=_occurrence_blocks(dataset, turns, segments),
        coders=_drift_coders(coder_ids),
        classification=classification,
        consensus_coded=has,
        period=period,
        block_size=block,
        conf=float(parameters.get("confidence", 0.95)),
    )


def criterion_report_drift(
    report,
    *,
    codings: Mapping[int, Mapping[int, str | None]],
    criteria: Mapping[int, CriterionRecord],
    dates: Mapping[int, Any] | None = None,
    coder_names: Mapping[int, str] | None = None,
    classification_name: str | None = None,
) -> dict:
    """results["drift"] of a criterion report: each coder against the AAI, over time.

    ``codings`` and ``criteria`` are the ones the report computed with ({coder: {session:
    label}}, {session: CriterionRecord}); ``dates`` {session: date or None}, ``coder_names``
    {coder: name} and ``classification_name`` when the report read them too, else they are
    read here.
    """
    p = report.parameters
    period, block = drift_period(p)
    sessions = {s for coded in codings.values() for s in coded}
    if dates is None:
        dates = _session_dates(sessions)
    name = classification_name or (
        report.coding_system.classifications.filter(code=p["classification"])
        .values_list("name", flat=True)
        .first()
    )
    coders = (
        [DriftCoder(id=c, name=coder_names.get(c, str(c))) for c in sorted(codings)]
        if coder_names is not None
        else _drift_coders(sorted(codings))
    )
    return criterion_drift(
        dates=dates,
        codings=codings,
        criteria=criteria,
        mapping=CriterionMapping(p["mapping"]),
        policy=p["policy"],
        coders=coders,
        classification={"code": p["classification"], "name": name or p["classification"]},
        period=period,
        block_size=block,
        conf=float(p.get("confidence", 0.95)),
    )


# Drift settings ----------------------------------------------------------------------------


@transaction.atomic
def drift_settings_set(
    *,
    project: Project,
    coding_system: CodingSystem,
    threshold: float,
    window_kind: str,
    window_size: int,
    against: str = DriftAgainst.OTHERS,
    enabled: bool = True,
    by=None,
) -> DriftSettings:
    """Store the drift check of a coding system, after checking every field."""
    if coding_system.project_id != project.pk:
        raise DomainError("The coding system belongs to another project.")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        raise DomainError(
            "threshold must be a number.", details={"threshold": ["A kappa, -1 to 1."]}
        ) from None
    if not -1 <= threshold <= 1:
        raise DomainError(
            "threshold must be a kappa between -1 and 1.", details={"threshold": ["-1 to 1"]}
        )
    if window_kind not in DriftWindow.values:
        raise DomainError(
            f"window_kind must be one of {', '.join(DriftWindow.values)}.",
            details={"window_kind": list(DriftWindow.values)},
        )
    limit = WINDOW_LIMITS[DriftWindow(window_kind)]
    if isinstance(window_size, bool) or not isinstance(window_size, int):
        raise DomainError(
            "window_size must be a whole number.", details={"window_size": [f"1-{limit}"]}
        )
    if not 1 <= window_size <= limit:
        raise DomainError(
            f"window_size must be 1-{limit} {DriftWindow(window_kind).label}.",
            details={"window_size": [f"1-{limit}"]},
        )
    if against not in DriftAgainst.values:
        raise DomainError(
            f"against must be one of {', '.join(DriftAgainst.values)}.",
            details={"against": list(DriftAgainst.values)},
        )
    stored, _ = DriftSettings.objects.update_or_create(
        project=project,
        coding_system=coding_system,
        defaults={
            "threshold": threshold,
            "window_kind": window_kind,
            "window_size": window_size,
            "against": against,
            "enabled": bool(enabled),
            "updated_by": by,
        },
    )
    return stored


# The drift check ---------------------------------------------------------------------------


def drift_checks_queue() -> int:
    """Queue one drift check per enabled drift settings row (what Celery beat runs daily)."""
    ids = list(
        DriftSettings.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True)
    )
    for pk in ids:
        transaction.on_commit(partial(_send_check, pk))
    return len(ids)


def _send_check(settings_id: int) -> None:
    from apps.reliability.tasks import drift_check_task

    try:
        drift_check_task.delay(settings_id)
    except BROKER_ERRORS as exc:
        # Tomorrow's run queues it again; nothing is half done.
        logger.warning("Drift check %s not queued (%s)", settings_id, type(exc).__name__)


def _windows(drift: DriftSettings, now) -> dict[int, set[int]]:
    """{coder id: the session ids of the coder's recent window}.

    The coder's double-coded sessions (with a consensus coding too, when checked against
    consensus), newest submission first: the last N of them, or those the coder submitted in
    the last K days.
    """
    assignments = submitted_independent(
        coding_system_id=drift.coding_system_id, project_id=drift.project_id, filter={}
    )
    eligible = assignments.filter(
        transcript_id__in=double_coded_transcripts(assignments).values("transcript_id")
    )
    if drift.against == DriftAgainst.CONSENSUS:
        consensus = Assignment.objects.filter(
            transcript_id=OuterRef("transcript_id"),
            coding_system_id=drift.coding_system_id,
            purpose=Purpose.CONSENSUS,
            state=State.SUBMITTED,
        )
        eligible = eligible.filter(Exists(consensus))
    if drift.window_kind == DriftWindow.DAYS:
        eligible = eligible.filter(submitted_at__gte=now - timedelta(days=drift.window_size))
    rows = eligible.order_by("coder_id", "-submitted_at", "-id").values_list(
        "coder_id", "transcript__session_id"
    )
    windows: dict[int, set[int]] = {}
    for coder_id, session_id in rows:
        window = windows.setdefault(coder_id, set())
        if drift.window_kind == DriftWindow.DAYS or len(window) < drift.window_size:
            window.add(session_id)
    return windows


def drift_check(*, settings_id: int, now=None) -> list[DriftAlert]:
    """Check one coding system's coders against its drift threshold; returns new alerts.

    A coder whose Cohen's kappa (marker occurrence, pooled over the markers, against the
    other coders or the consensus) over the recent window is below the threshold gets an
    alert, unless one is still open; an undefined kappa raises none. Safe to run twice.
    """
    drift = (
        DriftSettings.objects.select_related("project", "coding_system")
        .filter(pk=settings_id, enabled=True)
        .first()
    )
    if drift is None:
        return []
    now = now or timezone.now()
    windows = _windows(drift, now)
    if not windows:
        return []
    sessions = sorted(set().union(*windows.values()))
    dataset = load_dataset(
        coding_system=drift.coding_system,
        project_id=drift.project_id,
        filter={"sessions": sessions},
    )
    turns = segments = None
    if drift.against == DriftAgainst.CONSENSUS:
        _, turns, segments, _ = _consensus_codes(
            dataset, project_id=drift.project_id, coding_system_id=drift.coding_system_id
        )
    blocks = _occurrence_blocks(dataset, turns, segments)
    session_ids = np.array([s["session"] for s in dataset.sessions], dtype=np.int64)
    already_open = set(
        DriftAlert.objects.open()
        .filter(coding_system_id=drift.coding_system_id)
        .values_list("coder_id", flat=True)
    )
    created = []
    for c, coder in enumerate(dataset.coders):
        window = np.isin(session_ids, list(windows.get(coder["id"], ()))) & dataset.coded[:, c]
        if coder["id"] in already_open or not window.any():
            continue
        result = coder_window_agreement(
            blocks, dataset.coded, c, window, against=drift.against, conf=CHECK_CONFIDENCE
        )
        if result.value is None or result.value >= drift.threshold:
            continue
        alert = _alert_create(drift, coder["id"], result, int(window.sum()))
        if alert is not None:
            created.append(alert)
    if created:
        transaction.on_commit(partial(_email_alerts, drift.pk, [a.pk for a in created]))
    return created


def _alert_create(drift: DriftSettings, coder_id: int, result, n_sessions: int):
    try:
        with transaction.atomic():
            return DriftAlert.objects.create(
                project_id=drift.project_id,
                coding_system_id=drift.coding_system_id,
                coder_id=coder_id,
                statistic="cohen_kappa",
                against=drift.against,
                value=result.value,
                ci_low=result.ci[0] if result.ci else None,
                ci_high=result.ci[1] if result.ci else None,
                n_units=result.n_units or 0,
                n_sessions=n_sessions,
                threshold=drift.threshold,
                window=drift.window_description,
            )
    except IntegrityError:
        # A check running at the same time opened this coder's alert first.
        return None


def _alert_sentence(alert: DriftAlert) -> str:
    ci = (
        f"95% CI {alert.ci_low:.2f} to {alert.ci_high:.2f}; "
        if alert.ci is not None
        else "no interval; "
    )
    return (
        f"- {alert.coder.display_name}: Cohen's kappa {alert.value:.2f} ({ci}"
        f"{alert.n_units} marker-unit pairs in {alert.n_sessions} sessions) against "
        f"{alert.get_against_display()}, below the threshold {alert.threshold:.2f}"
    )


def _email_alerts(settings_id: int, alert_ids: list[int]) -> None:
    """One email to each lead and trainer of the project listing the new alerts."""
    drift = DriftSettings.objects.select_related("project", "coding_system").get(pk=settings_id)
    alerts = list(DriftAlert.objects.filter(pk__in=alert_ids).select_related("coder"))
    recipients = sorted(
        set(
            Membership.objects.filter(project=drift.project, role__in=ALERT_RECIPIENTS)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not alerts or not recipients:
        return
    link = settings.SITE_URL + reverse("projects:detail", kwargs={"project_id": drift.project_id})
    subject = f"Coder drift in {drift.project.name} ({drift.coding_system.name})"
    body = (
        f'The daily drift check of {drift.coding_system} in the study "{drift.project.name}" '
        f"found agreement below the threshold over {drift.window_description} "
        "(marker occurrence, pooled over the markers):\n\n"
        + "\n".join(_alert_sentence(a) for a in alerts)
        + f"\n\nThe alerts are on the project's overview page, where you can acknowledge them: "
        f"{link}\n"
    )
    send_mass_mail([(subject, body, None, [email]) for email in recipients])


@transaction.atomic
def drift_alert_acknowledge(*, alert: DriftAlert, by) -> DriftAlert:
    """Close an open alert; the next check may open a new one if agreement stays low."""
    locked = DriftAlert.objects.select_for_update().get(pk=alert.pk)
    if locked.acknowledged_at is not None:
        raise ConflictError("This drift alert was already acknowledged.")
    locked.acknowledged_by = by
    locked.acknowledged_at = timezone.now()
    locked.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return locked
