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
the sessions it used and the library versions, so its numbers can be reproduced.
Keys and methods: docs/statistics.md, "Criterion reports (background job)".
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np
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
    RUPTURE_FAMILIES,
    CriterionRead,
    codes_ruptures,
    criterion_read,
    labels_by_coder,
    rupture_scales,
    salience_items,
)
from apps.reliability.filters import report_filter_clean
from apps.reliability.models import CriterionMapping, CriterionReport
from apps.reliability.stats.categories import SECURE_VS_INSECURE
from apps.reliability.stats.criterion import (
    PACS_CRITERION,
    POLICIES,
    UNRESOLVED,
    CodedArrays,
    compare_coded_arrays,
    resolved_criteria,
    scale_against_criterion,
)
from apps.reliability.stats.criterion import CriterionMapping as StatsMapping
from apps.reliability.stats.psq import PsqArrays, RuptureArrays, psq_comparison_arrays
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
AAI_KEYS = ("mapping", "policy", "collapse", "source")
PSQ_KEYS = ("salience_item", "salience_threshold", "no_rupture_as_zero")
CONSENSUS_NOTE = (
    "consensus codings, one per session (the latest submitted where a session has several): "
    "each session counts once"
)
SCALES_POOLED_NOTE = (
    "scores of all coders stacked: a session coded by several coders counts once per coder, "
    "so the scores are not independent and the intervals are too narrow"
)
PSQ_POOLED_NOTE = (
    "sessions of all coders stacked: a session coded by several coders counts once per coder, "
    "so the sessions are not independent and the intervals are too narrow"
)


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


# Computing a report ---------------------------------------------------------------------------


def _scale_source(classification: Classification, coding_system: CodingSystem) -> str | None:
    """Where scale scores come from: the derivation rule's source, else ratings if any scale
    is rated per session, else marker counts if any marker has a scale, else nowhere."""
    source = (classification.derivation or {}).get("source")
    if source in ("ratings", "marker_counts"):
        return source
    if coding_system.rating_items.filter(level="session", scale__isnull=False).exists():
        return "ratings"
    if coding_system.markers.filter(scale__isnull=False).exists():
        return "marker_counts"
    return None


def _scale_classes(
    classification: Classification, scales: list[tuple], mapping: Mapping[str, str]
) -> dict[str, str]:
    """{scale code: AAI class} through the rule's scale -> category, else the scale's group."""
    to_category = dict((classification.derivation or {}).get("scale_to_category") or {})
    out = {}
    for _, code, _, group in scales:
        category = to_category.get(code) or (group if group in mapping else None)
        if category in mapping:
            out[code] = mapping[category]
    return out


def _scales_section(
    read: CriterionRead,
    *,
    mapping: StatsMapping,
    policy: str,
    scale_source: str,
    scale_class: Mapping[str, str],
    scale_names: Mapping[str, str],
    conf: float,
) -> dict:
    """Every scale's scores by AAI class and its AUC for its own class, per coder and pooled."""
    resolved, excluded = resolved_criteria(read.criteria, mapping, policy)
    classes = [
        k
        for k in mapping.to_criterion.values()
        if k not in UNRESOLVED or (policy == "own_class" and k == "U")
    ]
    # Each coding's criterion class as an index into ``classes`` (-1: left out), aligned with
    # the score rows; a class outside ``classes`` (never under these policies) would be -1.
    index = {k: i for i, k in enumerate(classes)}
    per_session = {s: index.get(k, -1) for s, k in resolved.items()}
    codes = np.fromiter(
        (per_session.get(s, -1) for s in read.coding_session.tolist()),
        np.int64,
        count=len(read.coding_session),
    )
    has_class = codes >= 0

    def block(rows: np.ndarray) -> dict:
        out = {}
        for j, scale in enumerate(read.scale_codes):
            values = read.scale_scores[rows, j]
            result = scale_against_criterion(
                scale, codes[rows], values, scale_class.get(scale), classes, conf=conf
            )
            out[scale] = {
                **result.to_dict(),
                "n_no_score": int((has_class[rows] & np.isnan(values)).sum()),
            }
        return out

    per_coder = {
        str(c["id"]): block(np.flatnonzero(read.coding_coder == c["id"])) for c in read.coders
    }
    pooled = block(np.arange(len(read.coding_session)))
    return {
        "score_source": scale_source,
        "classes": classes,
        "scales": [
            {"code": s, "name": scale_names.get(s, s), "own_class": scale_class.get(s)}
            for s in read.scale_codes
        ],
        "per_coder": per_coder,
        "pooled": pooled,
        "n_coders": len(read.coders),
        "note": PSQ_POOLED_NOTE.replace("sessions of", "scores of")
        if len(read.coders) > 1
        else None,
        "n_excluded": len(excluded),
        "exclusions": [e.to_dict() for e in excluded],
    }


def _compact(comparison: dict, *, pooled: bool) -> dict:
    """A PSQ comparison as stored: correlations count their exclusions by reason.

    The sessions behind those counts are listed once, in the section's
    ``sessions_without_answer`` and ``sessions_without_intensity``; a coder's agreement keeps
    its own excluded and not-coded session ids, the pooled one only their number.
    """
    comparison.pop("sessions")
    for measures in comparison["correlation"].values():
        for correlation in measures.values():
            correlation["excluded_by_reason"] = {
                why: len(ids) for why, ids in correlation.pop("excluded").items()
            }
    if pooled:
        for agreement in comparison["agreement"].values():
            agreement.pop("excluded")
            agreement["n_not_coded"] = len(agreement.pop("not_coded"))
    return comparison


def _psq_section(read: CriterionRead, p: dict, family_scales: Mapping[str, list[str]]) -> dict:
    """Any rupture coded against each reporter's PSQ answer; Spearman with the intensity."""
    options = {
        "threshold": p["salience_threshold"],
        "no_rupture_as_zero": p["no_rupture_as_zero"],
        "conf": p["confidence"],
    }
    sessions = np.asarray(read.sessions, dtype=np.int64)
    answered = {who: answer >= 0 for who, (answer, _) in read.psq.items()}

    def arrays(rows: np.ndarray, ids: list) -> tuple[RuptureArrays, dict[str, PsqArrays]]:
        at = read.coding_session_index[rows]
        coded = np.zeros(len(sessions), bool)
        coded[at] = True
        return RuptureArrays(
            ids=ids,
            withdrawal=read.rupture_counts[rows, 0],
            confrontation=read.rupture_counts[rows, 1],
            peak=read.peak[rows],
        ), {
            who: PsqArrays(
                rupture=answer[at],
                intensity=intensity[at],
                not_coded=sessions[answered[who] & ~coded].tolist(),
            )
            for who, (answer, intensity) in read.psq.items()
        }

    per_coder = {}
    for coder in read.coders:
        rows = np.flatnonzero(read.coding_coder == coder["id"])
        codings, answers = arrays(rows, read.coding_session[rows].tolist())
        comparison = psq_comparison_arrays(codings, answers, **options).to_dict()
        per_coder[str(coder["id"])] = {
            "n_sessions": len(rows),
            **_compact(comparison, pooled=False),
        }
    rows = np.arange(len(read.coding_session))
    pairs = list(zip(read.coding_coder.tolist(), read.coding_session.tolist(), strict=True))
    codings, answers = arrays(rows, pairs)
    pooled = _compact(psq_comparison_arrays(codings, answers, **options).to_dict(), pooled=True)
    return {
        "salience_item": p["salience_item"],
        "salience_threshold": p["salience_threshold"],
        "no_rupture_as_zero": p["no_rupture_as_zero"],
        "families": dict(family_scales),
        "n_sessions": len(read.sessions),
        "n_without_answer": {who: int((~a).sum()) for who, a in answered.items()},
        "sessions_without_answer": {who: sessions[~a].tolist() for who, a in answered.items()},
        "sessions_without_intensity": {
            who: sessions[np.isnan(intensity)].tolist() for who, (_, intensity) in read.psq.items()
        },
        "per_coder": per_coder,
        "pooled": {
            "n_codings": len(rows),
            "n_coders": len(read.coders),
            "note": PSQ_POOLED_NOTE if len(read.coders) > 1 else None,
            **pooled,
        },
    }


def criterion_codings(
    report: CriterionReport,
) -> tuple[dict[int, dict[int, str | None]], dict[int, str]]:
    """Per coder {session id: category code or None} of a report's AAI part, and coder emails.

    The codings the report's filter selects, with the classification its ``source`` names (the
    coder's choice or the rule's); a coding without one is None. Empty without an AAI part.
    """
    p = report.parameters
    if "aai" not in (p.get("parts") or ["aai"]):
        return {}, {}
    system = report.coding_system
    classification = system.classifications.prefetch_related("categories").get(
        code=p["classification"]
    )
    read = criterion_read(
        coding_system=system,
        project_id=report.project_id,
        filter=report.filter,
        classification=classification,
        source=p.get("source") or "coder",
        scale_source=None,
        rupture=False,
        salience_item=None,
    )
    return labels_by_coder(read), {c["id"]: c["email"] for c in read.coders}


def criterion_results(report: CriterionReport) -> tuple[dict, list[int]]:
    """Read and compare everything the report's parameters and filter ask for.

    Returns the results JSON and the sessions used: those compared in the 3-way AAI view for
    at least one coder, and those with a coding and a PSQ rupture answer.
    """
    p = report.parameters
    system = report.coding_system
    parts = p.get("parts") or ["aai"]
    classification = (
        system.classifications.prefetch_related("categories").get(code=p["classification"])
        if "aai" in parts
        else None
    )
    scale_source = _scale_source(classification, system) if classification else None
    salience = (
        system.rating_items.get(code=p["salience_item"])
        if "psq" in parts and p.get("salience_item")
        else None
    )
    scales = list(
        system.scales.order_by("position", "id").values_list("pk", "code", "name", "group")
    )
    read = criterion_read(
        coding_system=system,
        project_id=report.project_id,
        filter=report.filter,
        classification=classification,
        source=p.get("source"),
        scale_source=scale_source,
        rupture="psq" in parts,
        salience_item=salience,
    )
    purpose = report.filter.get("purpose") or "independent"
    results: dict = {
        "parts": parts,
        "purpose": purpose,
        "coders": read.coders,
        "n_sessions_read": len(read.sessions),
    }
    used: set[int] = set()
    if classification is not None:
        mapping = StatsMapping(p["mapping"])
        coders = [c["id"] for c in read.coders]
        comparison = compare_coded_arrays(
            CodedArrays(
                coders=tuple(coders),
                coder=np.searchsorted(coders, read.coding_coder),
                session=read.coding_session,
                label=read.label,
                labels=read.label_names,
            ),
            read.criteria,
            mapping=mapping,
            policy=p["policy"],
            collapse=p["collapse"],
            conf=p["confidence"],
        )
        for views in comparison.per_coder.values():
            used.update(views["three_way"].sessions)
        results.update(comparison.to_dict())
        if purpose == "consensus":
            for view in results["pooled"].values():
                view["note"] = CONSENSUS_NOTE
            results["consensus_duplicates"] = read.duplicates
        if scale_source is not None:
            results["scales"] = _scales_section(
                read,
                mapping=mapping,
                policy=p["policy"],
                scale_source=scale_source,
                scale_class=_scale_classes(classification, scales, p["mapping"]),
                scale_names={code: name for _, code, name, _ in scales},
                conf=p["confidence"],
            )
    if "psq" in parts:
        families: dict[str, list[str]] = {f: [] for f in RUPTURE_FAMILIES}
        codes = {pk: code for pk, code, _, _ in scales}
        for scale_id, family in rupture_scales(system).items():
            families[family].append(codes[scale_id])
        results["psq"] = _psq_section(read, p, families)
        answered = np.zeros(len(read.sessions), bool)
        for answer, _ in read.psq.values():
            answered |= answer >= 0
        used.update(np.asarray(read.sessions, dtype=np.int64)[answered].tolist())
    return results, sorted(used)


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
    # The results were just written; they load again only if the caller reads them.
    return CriterionReport.objects.defer("results").get(pk=report_id)
