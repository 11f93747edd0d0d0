"""Compute a criterion report's results: the AAI part (with scale scores) and the PSQ part.

Reads everything through apps/reliability/criterion_data.py (a few queries for all codings)
and runs the statistics of stats/criterion.py and stats/psq.py on arrays. The services that
request, queue and run reports are in apps/reliability/criterion_reports.py; the JSON keys are
documented in docs/statistics.md, "Criterion reports (background job)".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from apps.codebooks.models import Classification, CodingSystem
from apps.reliability.criterion_data import (
    RUPTURE_FAMILIES,
    CriterionRead,
    criterion_read,
    labels_by_coder,
    rupture_scales,
    scale_rows,
)
from apps.reliability.drift_services import criterion_report_drift
from apps.reliability.models import CriterionReport
from apps.reliability.stats.criterion import (
    UNRESOLVED,
    CodedArrays,
    compare_coded_arrays,
    resolved_criteria,
    scale_against_criterion,
)
from apps.reliability.stats.criterion import CriterionMapping as StatsMapping
from apps.reliability.stats.psq import PsqArrays, RuptureArrays, psq_comparison_arrays

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
        "note": SCALES_POOLED_NOTE if len(read.coders) > 1 else None,
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
    scales = scale_rows(system)
    read = criterion_read(
        coding_system=system,
        project_id=report.project_id,
        filter=report.filter,
        classification=classification,
        source=p.get("source"),
        scale_source=scale_source,
        rupture="psq" in parts,
        salience_item=salience,
        scales=scales,
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
        # Drift over time: each coder against the AAI per period (drift_services.py).
        results["drift"] = criterion_report_drift(
            report,
            codings=labels_by_coder(read),
            criteria=read.criteria,
            dates=read.session_dates,
            coder_names={c["id"]: c["name"] for c in read.coders},
            classification_name=classification.name,
        )
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
        for scale_id, family in rupture_scales(system, scales).items():
            families[family].append(codes[scale_id])
        results["psq"] = _psq_section(read, p, families)
        answered = np.zeros(len(read.sessions), bool)
        for answer, _ in read.psq.values():
            answered |= answer >= 0
        used.update(np.asarray(read.sessions, dtype=np.int64)[answered].tolist())
    return results, sorted(used)
