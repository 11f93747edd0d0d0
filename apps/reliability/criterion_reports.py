"""Criterion reports: coded classifications against the AAI, rupture coding against the PSQ.

A criterion report has up to two parts, by what the coding system codes:

- ``aai``: a classification mapped to AAI classes (stored mapping, or the PACS default):
  agreement per coder and pooled (stats/criterion.py) and each scale's scores by AAI class
  with its ROC AUC (``results["scales"]``);
- ``psq``: rupture markers (a withdrawal or confrontation scale, apps/reliability/
  criterion_data.py): "any rupture coded" against the patient's and the therapist's PSQ
  answer, and Spearman's r of the rupture frequency and peak salience with the reported
  intensity (stats/psq.py), per coder and pooled (``results["psq"]``).

A report keeps the parameters and filter it was computed with (apps/reliability/filters.py),
the sessions it used and the library versions, so its numbers can be reproduced. This module
holds the services (mapping, parameters, request, queue, compute); the results are computed
in apps/reliability/criterion_results.py.
Keys and methods: docs/statistics.md, "Criterion reports (background job)".
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from apps.codebooks.models import Classification, CodingSystem
from apps.jobs.services import (
    job_claim,
    job_finish,
    job_keepalive,
    job_pending_for_submissions,
    job_queue,
)
from apps.projects.errors import DomainError
from apps.projects.models import Project
from apps.reliability.criterion_data import (
    codes_ruptures,
    salience_items,
)
from apps.reliability.criterion_results import criterion_results
from apps.reliability.drift_services import DRIFT_PARAMETER_KEYS, clean_drift_parameters
from apps.reliability.filters import report_filter_clean
from apps.reliability.models import CriterionMapping, CriterionReport
from apps.reliability.services import report_figures_queue
from apps.reliability.stats.categories import SECURE_VS_INSECURE
from apps.reliability.stats.criterion import (
    PACS_CRITERION,
    POLICIES,
    UNRESOLVED,
)
from apps.reliability.versions import library_versions
from apps.transcripts.models import AAIClass, Case, Session

SOURCES = ("coder", "derived")
PARAMETER_KEYS = {
    "mapping",
    "policy",
    "collapse",
    "source",
    "confidence",
    "salience_item",
    "salience_threshold",
    "no_rupture_as_zero",
}
PARAMETER_KEYS |= DRIFT_PARAMETER_KEYS  # drift over time (apps/reliability/drift_services.py)
AAI_KEYS = ("mapping", "policy", "collapse", "source")
PSQ_KEYS = ("salience_item", "salience_threshold", "no_rupture_as_zero")


def _classification_for(coding_system: CodingSystem, codes: set[str]) -> Classification | None:
    """The first classification of the coding system whose categories include ``codes``."""
    for c in coding_system.classifications.order_by("position", "id").prefetch_related(
        "categories"
    ):
        if codes <= {x.code for x in c.categories.all()}:
            return c
    return None


def criterion_mapping_for(
    *, project: Project, coding_system: CodingSystem
) -> CriterionMapping | None:
    """The stored mapping, else the PACS default (unsaved) when it fits, else None."""
    stored = (
        CriterionMapping.objects.filter(project=project, coding_system=coding_system)
        .select_related("classification")
        .first()
    )
    if stored is not None:
        return stored
    default = dict(PACS_CRITERION.to_criterion)
    classification = _classification_for(coding_system, set(default))
    if classification is None:
        return None
    return CriterionMapping(
        project=project,
        coding_system=coding_system,
        classification=classification,
        mapping=default,
    )


def _clean_mapping(coding_system: CodingSystem, mapping: object) -> tuple[Classification, dict]:
    if not isinstance(mapping, Mapping) or not mapping:
        raise DomainError(
            "The mapping must name at least one category.",
            details={"mapping": ["A non-empty object {category code: AAI class}."]},
        )
    clean = {str(k): str(v) for k, v in mapping.items()}
    valid = set(AAIClass.values)
    bad = sorted(v for v in clean.values() if v not in valid)
    if bad:
        raise DomainError(
            f"Unknown AAI classes: {', '.join(bad)}.",
            details={"mapping": [f"AAI classes are {', '.join(AAIClass.values)}."]},
        )
    if len(set(clean.values())) != len(clean):
        raise DomainError(
            "Two categories map to one AAI class; the mapping must be one-to-one.",
            details={"mapping": ["Each AAI class may be used once."]},
        )
    classification = _classification_for(coding_system, set(clean))
    if classification is None:
        raise DomainError(
            "No classification of this coding system has all these categories: "
            f"{', '.join(sorted(clean))}.",
            details={"mapping": ["Use the category codes of one classification."]},
        )
    return classification, clean


@transaction.atomic
def criterion_mapping_set(
    *, project: Project, coding_system: CodingSystem, mapping: dict, by=None
) -> CriterionMapping:
    """Store the mapping of a coding system's categories to AAI classes, after checking it.

    The categories must belong to one classification of the coding system, the classes must
    be AAI classes, and no class may be used twice.
    """
    if coding_system.project_id != project.pk:
        raise DomainError("The coding system belongs to another project.")
    classification, clean = _clean_mapping(coding_system, mapping)
    stored, _ = CriterionMapping.objects.update_or_create(
        project=project,
        coding_system=coding_system,
        defaults={"classification": classification, "mapping": clean, "updated_by": by},
    )
    return stored


def default_collapse(mapping: Mapping[str, str]) -> dict | None:
    """Secure vs insecure when the mapping's categories are the PACS ones, else no 2-way view."""
    return dict(SECURE_VS_INSECURE) if set(mapping) <= set(SECURE_VS_INSECURE) else None


def _refuse(key: str, message: str, hint: str) -> DomainError:
    return DomainError(f"{key}: {message}", details={key: [hint]})


def _clean_aai(coding_system: CodingSystem, project: Project, parameters: dict) -> dict | None:
    """The AAI part's parameters, or None when the coding system has no mapping to AAI."""
    if parameters.get("mapping"):
        classification, mapping = _clean_mapping(coding_system, parameters["mapping"])
    else:
        found = criterion_mapping_for(project=project, coding_system=coding_system)
        if found is None:
            given = [k for k in AAI_KEYS if parameters.get(k) is not None]
            if given:
                raise _refuse(
                    given[0],
                    "this coding system has no mapping to AAI classes, so there is no AAI "
                    "comparison to set it for.",
                    "Set a criterion mapping first, or leave it out.",
                )
            return None
        classification, mapping = found.classification, dict(found.mapping)
    policy = parameters.get("policy") or "secondary"
    if policy not in POLICIES:
        raise DomainError(
            f"policy must be one of {', '.join(POLICIES)}.", details={"policy": list(POLICIES)}
        )
    if policy == "own_class" and "U" not in mapping.values():
        raise DomainError(
            "policy own_class keeps U as its own class, but no category is mapped to U.",
            details={"policy": ["Map a category to U, or use secondary or exclude."]},
        )
    source = parameters.get("source") or "coder"
    if source not in SOURCES:
        raise DomainError(
            f"source must be one of {', '.join(SOURCES)}.", details={"source": list(SOURCES)}
        )
    if source == "derived" and not classification.derivation:
        raise DomainError(
            f"{classification.name} has no derivation rule, so nothing can be derived.",
            details={"source": ["Use the coder's classification."]},
        )
    collapse = parameters["collapse"] if "collapse" in parameters else default_collapse(mapping)
    if collapse is not None:
        organised = [c for c, k in mapping.items() if k not in UNRESOLVED]
        if not isinstance(collapse, Mapping) or set(organised) - set(collapse):
            raise DomainError(
                "collapse must give a group for every mapped category.",
                details={"collapse": [f"Categories: {', '.join(sorted(organised))}."]},
            )
        collapse = {str(k): str(v) for k, v in collapse.items()}
    return {
        "classification": classification.code,
        "mapping": mapping,
        "policy": policy,
        "collapse": collapse,
        "source": source,
    }


def _clean_psq(coding_system: CodingSystem, parameters: dict) -> dict | None:
    """The PSQ part's parameters, or None when the coding system codes no ruptures."""
    if not codes_ruptures(coding_system):
        given = [k for k in PSQ_KEYS if parameters.get(k) is not None]
        if given:
            raise _refuse(
                given[0],
                "this coding system has no withdrawal or confrontation markers, so there is "
                "no rupture coding to compare with the PSQ.",
                "Leave it out for this coding system.",
            )
        return None
    items = {i.code: i for i in salience_items(coding_system)}
    code = parameters.get("salience_item")
    if code is None:
        item = next(iter(items.values())) if len(items) == 1 else None
    elif code not in items:
        choices = ", ".join(items) or "none: this coding system rates no segments"
        raise DomainError(
            f"salience_item {code!r} is not a segment rating of this coding system.",
            details={"salience_item": [f"Segment ratings: {choices}."]},
        )
    else:
        item = items[code]
    threshold = parameters.get("salience_threshold")
    if threshold is not None:
        if item is None:
            raise DomainError(
                "salience_threshold needs a segment salience rating; none is chosen.",
                details={"salience_threshold": ["Choose salience_item, or leave this out."]},
            )
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not math.isfinite(threshold)
            or not item.min_value <= threshold <= item.max_value
        ):
            raise DomainError(
                f"salience_threshold must be a number from {item.min_value} to "
                f"{item.max_value} (the range of {item.name}).",
                details={"salience_threshold": [f"{item.min_value}-{item.max_value}"]},
            )
        threshold = float(threshold)
    as_zero = parameters.get("no_rupture_as_zero", False)
    if not isinstance(as_zero, bool):
        raise DomainError(
            "no_rupture_as_zero must be true or false.",
            details={"no_rupture_as_zero": ["true or false"]},
        )
    return {
        "salience_item": item.code if item else None,
        "salience_threshold": threshold,
        "no_rupture_as_zero": as_zero,
    }


def _clean_parameters(coding_system: CodingSystem, project: Project, parameters: dict) -> dict:
    """Check a criterion report's parameters; return them as stored, every key present.

    ``parts`` says what the report computes: ``aai`` when the coding system has a mapping to
    AAI classes, ``psq`` when it codes ruptures; the keys of a part that does not apply are
    None. A key given for a part that does not apply is refused, naming the key.
    """
    unknown = set(parameters) - PARAMETER_KEYS
    if unknown:
        raise DomainError(
            f"Unknown parameters: {', '.join(sorted(unknown))}.",
            details={"parameters": [f"Allowed: {', '.join(sorted(PARAMETER_KEYS))}."]},
        )
    aai = _clean_aai(coding_system, project, parameters)
    psq = _clean_psq(coding_system, parameters)
    if aai is None and psq is None:
        raise DomainError(
            "This coding system has no mapping to AAI classes and no rupture markers, so "
            "there is no criterion to compare it with; set a criterion mapping first.",
            details={"mapping": ["No stored or default mapping, and no rupture markers."]},
        )
    confidence = parameters.get("confidence", 0.95)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not 0.5 <= confidence < 1
    ):
        raise DomainError(
            "confidence must be between 0.5 and 1.", details={"confidence": ["0.5-1"]}
        )
    return {
        "parts": [part for part, found in (("aai", aai), ("psq", psq)) if found is not None],
        **(aai or {"classification": None, **dict.fromkeys(AAI_KEYS)}),
        "confidence": float(confidence),
        **(psq or dict.fromkeys(PSQ_KEYS)),
        # Drift over time: only what was given is stored (month by default).
        **clean_drift_parameters(parameters),
    }


@transaction.atomic
def criterion_report_request(
    *,
    project: Project,
    coding_system: CodingSystem,
    parameters: dict | None = None,
    filter: dict | None = None,
    by=None,
) -> CriterionReport:
    """Queue a criterion report with checked parameters and filter, kept with it."""
    if coding_system.project_id != project.pk:
        raise DomainError("The coding system belongs to another project.")
    report = CriterionReport(
        project=project,
        coding_system=coding_system,
        parameters=_clean_parameters(coding_system, project, parameters or {}),
        filter=report_filter_clean(project=project, filter=filter, kind="criterion"),
        requested_by=by,
        trigger="manual",
    )
    job_queue(job=report)
    return report


def criterion_report_queue_after_submission(
    *, project_id: int, coding_system_id: int
) -> CriterionReport | None:
    """Queue a criterion report after a submission, when there is something to compare.

    When the coding system has a (stored or default) mapping and some case of the project
    has an AAI label, or it codes ruptures and some session has a PSQ rupture answer; a
    burst of submissions joins the report still queued.
    """
    with transaction.atomic():
        pending = job_pending_for_submissions(
            model=CriterionReport, project_id=project_id, coding_system_id=coding_system_id
        )
        if pending is not None:
            return pending
        project = Project.objects.get(pk=project_id)
        system = CodingSystem.objects.get(pk=coding_system_id)
        aai = (
            criterion_mapping_for(project=project, coding_system=system) is not None
            and Case.objects.filter(project_id=project_id).exclude(aai_primary="").exists()
        )
        psq = (
            not aai
            and codes_ruptures(system)
            and Session.objects.filter(project_id=project_id)
            .exclude(psq_patient_rupture=None, psq_therapist_rupture=None)
            .exists()
        )
        if not (aai or psq):
            return None
        report = CriterionReport(
            project=project,
            coding_system=system,
            trigger="submission",
            parameters=_clean_parameters(system, project, {}),
            filter=report_filter_clean(project=project, filter={}, kind="criterion"),
        )
        job_queue(job=report, countdown=settings.RELIABILITY_DEBOUNCE_SECONDS)
        return report


@contextmanager
def _collect_new_objects_only() -> Iterator[None]:
    """Let the garbage collector skip the objects that existed before the job.

    A job allocates many small objects (one per coding and statistic); each full collection
    would also walk everything Django and the worker hold, a pause of 50-100 ms on a report
    that otherwise takes about as long. Freezing moves the objects already there out of the
    collector's sight for the job's duration (gc.freeze); unfreezing hands them back.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def criterion_report_compute(
    *, report_id: int, task_id: str | None = None
) -> CriterionReport | None:
    """Compute a criterion report once; finished reports are left alone (numbers stay fixed).

    Claimed, heartbeated and finished through the job services like a reliability report;
    errors propagate to the task, which records them on the report.
    """
    report = job_claim(model=CriterionReport, job_id=report_id, task_id=task_id)
    if report is None:
        return CriterionReport.objects.filter(pk=report_id).first()
    job = {"model": CriterionReport, "job_id": report_id, "task_id": report.task_id}
    # Claiming wrote the first heartbeat; the keepalive thread writes the next ones.
    with job_keepalive(**job), _collect_new_objects_only():
        results, used = criterion_results(report)
    job_finish(**job, results=results, sessions_used=used, versions=library_versions())
    report_figures_queue(kind="criterion", report_id=report_id)
    # The results were just written; they load again only if the caller reads them.
    return CriterionReport.objects.defer("results").get(pk=report_id)
