"""Criterion reports: coded classifications against the AAI, as background jobs.

The mapping from a coding system's categories to AAI classes is stored per project and coding
system (or defaults to the PACS one); a report keeps the mapping, U/CC policy, collapse and
classification source it was computed with, the sessions it read and the library versions,
so its numbers can be reproduced. The statistics are apps/reliability/stats/criterion.py.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata

import numpy as np
import scipy
from django.conf import settings
from django.db import transaction

from apps.annotations.models import ClassificationValue, MarkerApplication, RatingValue
from apps.annotations.selectors import derived_classifications
from apps.codebooks.models import Classification, CodingSystem
from apps.jobs.services import (
    job_claim,
    job_finish,
    job_heartbeat,
    job_keepalive,
    job_pending_for_submissions,
    job_queue,
)
from apps.projects.errors import DomainError
from apps.projects.models import Project
from apps.reliability.dataset import submitted_independent
from apps.reliability.models import CriterionMapping, CriterionReport
from apps.reliability.services import report_figures_queue
from apps.reliability.stats.categories import SECURE_VS_INSECURE
from apps.reliability.stats.criterion import (
    PACS_CRITERION,
    POLICIES,
    CriterionRecord,
    Policy,
    compare_coders_with_criterion,
    pair_with_criterion,
)
from apps.reliability.stats.criterion import CriterionMapping as StatsMapping
from apps.transcripts.models import AAIClass, Case

SOURCES = ("coder", "derived")
PARAMETER_KEYS = {"mapping", "policy", "collapse", "source", "confidence"}


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


def _clean_parameters(coding_system: CodingSystem, project: Project, parameters: dict) -> dict:
    unknown = set(parameters) - PARAMETER_KEYS
    if unknown:
        raise DomainError(
            f"Unknown parameters: {', '.join(sorted(unknown))}.",
            details={"parameters": [f"Allowed: {', '.join(sorted(PARAMETER_KEYS))}."]},
        )
    if parameters.get("mapping"):
        classification, mapping = _clean_mapping(coding_system, parameters["mapping"])
    else:
        found = criterion_mapping_for(project=project, coding_system=coding_system)
        if found is None:
            raise DomainError(
                "This coding system has no mapping to AAI classes; set one first.",
                details={"mapping": ["No stored or default mapping."]},
            )
        classification, mapping = found.classification, dict(found.mapping)
    policy = parameters.get("policy") or "secondary"
    if policy not in POLICIES:
        raise DomainError(
            f"policy must be one of {', '.join(POLICIES)}.", details={"policy": list(POLICIES)}
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
        if not isinstance(collapse, Mapping) or set(mapping) - set(collapse):
            raise DomainError(
                "collapse must give a group for every mapped category.",
                details={"collapse": [f"Categories: {', '.join(sorted(mapping))}."]},
            )
        collapse = {str(k): str(v) for k, v in collapse.items()}
    confidence = float(parameters.get("confidence", 0.95))
    if not 0.5 <= confidence < 1:
        raise DomainError(
            "confidence must be between 0.5 and 1.", details={"confidence": ["0.5-1"]}
        )
    return {
        "classification": classification.code,
        "mapping": mapping,
        "policy": policy,
        "collapse": collapse,
        "source": source,
        "confidence": confidence,
    }


@transaction.atomic
def criterion_report_request(
    *, project: Project, coding_system: CodingSystem, parameters: dict | None = None, by=None
) -> CriterionReport:
    """Queue a criterion report with checked parameters, kept with it for reproducibility."""
    if coding_system.project_id != project.pk:
        raise DomainError("The coding system belongs to another project.")
    report = CriterionReport(
        project=project,
        coding_system=coding_system,
        parameters=_clean_parameters(coding_system, project, parameters or {}),
        requested_by=by,
        trigger="manual",
    )
    job_queue(job=report)
    return report


def criterion_report_queue_after_submission(
    *, project_id: int, coding_system_id: int
) -> CriterionReport | None:
    """Queue a criterion report after a submission, when there is something to compare.

    Only when the coding system has a (stored or default) mapping and some case of the
    project has an AAI label; a burst of submissions joins the report still queued.
    """
    with transaction.atomic():
        pending = job_pending_for_submissions(
            model=CriterionReport, project_id=project_id, coding_system_id=coding_system_id
        )
        if pending is not None:
            return pending
        if not Case.objects.filter(project_id=project_id).exclude(aai_primary="").exists():
            return None
        project = Project.objects.get(pk=project_id)
        system = CodingSystem.objects.get(pk=coding_system_id)
        if criterion_mapping_for(project=project, coding_system=system) is None:
            return None
        report = CriterionReport(
            project=project,
            coding_system=system,
            trigger="submission",
            parameters=_clean_parameters(system, project, {}),
        )
        job_queue(job=report, countdown=settings.RELIABILITY_DEBOUNCE_SECONDS)
        return report


def criterion_codings(
    report: CriterionReport,
) -> tuple[dict[int, dict[int, str | None]], dict[int, str]]:
    """Per coder {session id: category code or None}, from submitted blind independent codings.

    The classification is the coder's choice or the rule-derived one (parameter ``source``);
    a coding without one is None (listed as "no classification"). Also returns coder emails.
    """
    classification = report.coding_system.classifications.get(
        code=report.parameters["classification"]
    )
    assignments = list(
        submitted_independent(
            coding_system_id=report.coding_system_id, project_id=report.project_id, filter={}
        )
        .order_by("id")
        .values_list("id", "coder_id", "coder__email", "transcript__session_id")
    )
    codings: dict[int, dict[int, str | None]] = {}
    emails: dict[int, str] = {}
    label: dict[int, str | None] = dict.fromkeys((a[0] for a in assignments), None)
    if report.parameters["source"] == "derived":
        for assignment in submitted_independent(
            coding_system_id=report.coding_system_id, project_id=report.project_id, filter={}
        ).filter(pk__in=label):
            applications = list(MarkerApplication.objects.filter(assignment=assignment))
            ratings = list(RatingValue.objects.filter(assignment=assignment))
            for d in derived_classifications(assignment, applications, ratings):
                if d["classification"] == classification.pk:
                    label[assignment.pk] = d["category_code"]
    else:
        label.update(
            ClassificationValue.objects.filter(
                assignment_id__in=label, classification=classification
            ).values_list("assignment_id", "category__code")
        )
    for assignment_id, coder_id, email, session_id in assignments:
        codings.setdefault(coder_id, {})[session_id] = label[assignment_id]
        emails[coder_id] = email
    return codings, emails


def library_versions() -> dict[str, str]:
    """The versions a report was computed with: numpy, scipy, Python and the platform."""
    try:
        ours = metadata.version("coding-platform")
    except metadata.PackageNotFoundError:
        ours = "unknown (not installed as a package)"
    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "platform": ours,
    }


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
    p = report.parameters
    with job_keepalive(**job):
        job_heartbeat(**job, progress=5)
        codings, emails = criterion_codings(report)
        sessions = {s for c in codings.values() for s in c}
        criteria = {
            s: CriterionRecord(primary or None, secondary or None)
            for s, primary, secondary in Case.objects.filter(sessions__id__in=sessions).values_list(
                "sessions__id", "aai_primary", "aai_secondary"
            )
        }
        job_heartbeat(**job, progress=40)
        mapping = StatsMapping(p["mapping"])
        comparison = compare_coders_with_criterion(
            codings,
            criteria,
            mapping=mapping,
            policy=p["policy"],
            collapse=p["collapse"],
            conf=p["confidence"],
        )
        # The sessions of the 3-way view, which (as in the statistics) resolves U/CC to their
        # secondary class under own_class; the 4-way view only adds U to these.
        three_way: Policy = "secondary" if p["policy"] == "own_class" else p["policy"]
        used = sorted(
            {
                s
                for coded in codings.values()
                for s in pair_with_criterion(
                    coded, criteria, mapping=mapping, policy=three_way
                ).sessions
            }
        )
        results = comparison.to_dict()
        results["coders"] = [{"id": c, "email": emails[c]} for c in sorted(codings)]
        results["n_sessions_read"] = len(sessions)
    job_finish(
        **job,
        results=results,
        sessions_used=used,
        versions=library_versions(),
    )
    report_figures_queue(kind="criterion", report_id=report_id)
    return CriterionReport.objects.get(pk=report_id)
