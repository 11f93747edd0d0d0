"""The PI's report: one page per project and coding system, reliability and validity together.

Everything here reads stored, finished reports (their numbers never change); it turns their
JSON into what the page shows: coders by name, parameters as sentences, statistics by their
human names. Who may read what is decided by the gatekeepers in apps/projects/access.py; this
module is given a membership that has passed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.codebooks.models import CodingSystem
from apps.jobs.models import JobState
from apps.jobs.selectors import job_status
from apps.projects.access import can_manage, can_see_criteria
from apps.projects.errors import DomainError
from apps.projects.models import Membership
from apps.reliability.filters import filter_sentences
from apps.reliability.methods import methods_context
from apps.reliability.models import CriterionReport, ReliabilityReport
from apps.reliability.selectors import figure_entries
from apps.transcripts.models import AAIClass, Session

VIEW_TITLES = {
    "three_way": "3-way: each organised class against its AAI class",
    "two_way": "2-way: secure against insecure",
    "four_way": "4-way: with unresolved (U) as a class of its own",
}
POLICY_SENTENCES = {
    "secondary": (
        "Interviews classified U (unresolved) or CC (cannot classify) were compared through "
        "their secondary, organised classification; those without one were excluded."
    ),
    "exclude": "Interviews classified U (unresolved) or CC (cannot classify) were excluded.",
    "own_class": (
        "Interviews classified U (unresolved) were kept as a class of their own in the 4-way "
        "view and compared through their secondary classification in the 3-way and 2-way views."
    ),
}
SOURCE_SENTENCES = {
    "coder": "the classification each coder chose",
    "derived": "the classification derived by the coding system's rule from the coding",
    "consensus": "the consensus coding",
}
HISTORY = 20


@dataclass
class ReportChoice:
    """The stored report a page shows, the others to choose from and one still computing."""

    shown: Any = None
    history: list = field(default_factory=list)
    moving: Any = None


def _choose(model, *, project_id: int, system: CodingSystem, wanted: int | None) -> ReportChoice:
    qs = model.objects.filter(project_id=project_id, coding_system=system)
    done = list(qs.filter(state=JobState.DONE).order_by("-created_at", "-id")[:HISTORY])
    shown = None
    if wanted is not None:
        shown = next((r for r in done if r.pk == wanted), None) or (
            qs.filter(pk=wanted, state=JobState.DONE).first()
        )
    if shown is None and done:
        shown = done[0]
    latest = qs.order_by("-created_at", "-id").first()
    moving = None
    if latest is not None and latest.state != JobState.DONE:
        latest.job_status = job_status(latest, now=timezone.now())
        moving = latest
    return ReportChoice(shown=shown, history=done, moving=moving)


def coder_names(results: dict | None) -> dict[str, str]:
    """{email or str(id): name} for the coders a report's results mention (one query)."""
    if not results:
        return {}
    emails: set[str] = set()
    ids: set[int] = set()
    for c in results.get("coders") or []:
        if isinstance(c, dict):
            ids.add(int(c["id"]))
        else:
            emails.add(str(c))
    User = get_user_model()
    rows = User.objects.filter(email__in=emails) | User.objects.filter(pk__in=ids)
    names: dict[str, str] = {}
    for user in rows:
        names[user.email] = user.display_name
        names[str(user.pk)] = user.display_name
    return names


def reliability_parameter_sentences(report: ReliabilityReport) -> list[str]:
    p = report.parameters or {}
    conf = round(100 * float(p.get("confidence", 0.95)))
    n_boot = int(p.get("bootstrap") or 0)
    if n_boot:
        interval = (
            f"{conf}% confidence intervals for marker occurrence from {n_boot:,} bootstrap "
            f"resamples of whole sessions (seed {p.get('seed')}); the other intervals are "
            "analytic, by the method named on each."
        )
    else:
        interval = f"{conf}% confidence intervals, analytic, by the method named on each figure."
    return [interval]


def _aai_label(code: str) -> str:
    try:
        return AAIClass(code).label
    except ValueError:
        return code


def criterion_parameter_sentences(report: CriterionReport) -> list[str]:
    p = report.parameters or {}
    out = []
    mapping = p.get("mapping") or {}
    if mapping:
        aai_order = {c: i for i, c in enumerate(AAIClass.values)}
        pairs = ", ".join(
            f"{code} ↔ {_aai_label(aai)}"
            for code, aai in sorted(mapping.items(), key=lambda kv: aai_order.get(kv[1], 99))
        )
        classification = (
            report.coding_system.classifications.filter(code=p.get("classification"))
            .values_list("name", flat=True)
            .first()
        ) or p.get("classification")
        source = SOURCE_SENTENCES.get(p.get("source"), p.get("source"))
        out.append(
            f"Compared with the AAI: {source} ({classification}), category to AAI class {pairs}."
        )
        out.append(POLICY_SENTENCES.get(p.get("policy"), ""))
        collapse = p.get("collapse")
        if collapse:
            groups: dict[str, list[str]] = {}
            for code, group in collapse.items():
                groups.setdefault(group, []).append(code)
            parts = "; ".join(f"{g}: {', '.join(c)}" for g, c in groups.items())
            out.append(f"The 2-way view groups the categories as {parts}.")
    conf = round(100 * float(p.get("confidence", 0.95)))
    out.append(
        f"{conf}% confidence intervals: Wilson score for proportions, Wald for kappa, "
        "t-based for AC1 (the method is named on each figure)."
    )
    return [s for s in out if s]


def _kappa_key(results: dict) -> str:
    return "cohen_kappa" if int(results.get("n_coders") or 0) == 2 else "fleiss_kappa"


def _occurrence_blocks(overall: dict) -> list[dict]:
    blocks = []
    for unit, block in (overall.get("marker_occurrence") or {}).items():
        if not block.get("markers"):
            continue
        blocks.append(
            {
                "unit": unit,
                "unit_word": "turn" if unit == "turns" else "segment",
                "n_units": block.get("n_units"),
                "rows": [dict(r, is_scale=True) for r in block.get("scales") or []]
                + [dict(r, is_scale=False) for r in block.get("markers") or []],
            }
        )
    return blocks


def _frequency_blocks(overall: dict) -> list[dict]:
    out = []
    for unit, block in (overall.get("marker_frequency") or {}).items():
        rows = (block.get("scales") or []) + (block.get("markers") or [])
        if rows:
            out.append({"unit": unit, "rows": rows})
    return out


def _pairs(results: dict, names: dict[str, str]) -> list[dict]:
    rows = []
    for pair in results.get("pairs") or []:
        classification = pair.get("classification") or []
        rows.append(
            {
                "coders": [names.get(c, c) for c in pair.get("coders") or []],
                "n_sessions": pair.get("n_sessions"),
                "classification": classification,
            }
        )
    return rows


CLASSIFICATION_STATS = [
    "percent_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
]
VIEW_FIGURE = {"three_way": "3way", "two_way": "2way", "four_way": "4way"}


def reliability_context(report: ReliabilityReport) -> dict:
    results = report.results or {}
    names = coder_names(results)
    overall = results.get("overall") or {}
    figures = {f["name"]: f for f in figure_entries(report)}
    occurrence = _occurrence_blocks(overall)
    for block in occurrence:
        block["figure"] = figures.get(f"forest-kappa-{block['unit']}")
        block["figure_ac1"] = figures.get(f"forest-ac1-{block['unit']}")
    ratings = [
        {"level": level, "rows": rows}
        for level, rows in (overall.get("ratings") or {}).items()
        if rows
    ]
    return {
        "report": report,
        "results": results,
        "coders": [names.get(c, c) for c in results.get("coders") or []],
        "kappa_key": _kappa_key(results),
        "parameters": reliability_parameter_sentences(report),
        "filter": filter_sentences(report.filter or {}),
        "classifications": [
            dict(c, statistics_in_order=in_order(c.get("statistics") or {}, CLASSIFICATION_STATS))
            for c in overall.get("classification") or []
        ],
        "occurrence": occurrence,
        "drift_figure": figures.get("drift"),
        "frequency": _frequency_blocks(overall),
        "ratings": ratings,
        "pairs": _pairs(results, names),
    }


def _view_rows(view: dict, mapping: dict[str, str]) -> dict:
    """A criterion view with the confusion matrix laid out for a table with totals."""
    counts = (view.get("confusion") or {}).get("counts") or []
    row_totals = (view.get("confusion") or {}).get("row_totals") or []
    col_totals = (view.get("confusion") or {}).get("col_totals") or []
    categories = view.get("categories") or []
    n = view.get("n") or 0
    matrix = [
        {"category": cat, "cells": counts[i] if i < len(counts) else [], "total": row_totals[i]}
        for i, cat in enumerate(categories)
        if i < len(row_totals)
    ]
    prevalence = [
        {
            "category": f"{cat} ({mapping[cat]})" if cat in mapping else cat,
            "n": col_totals[i],
            "share": (col_totals[i] / n) if n else None,
        }
        for i, cat in enumerate(categories)
        if i < len(col_totals)
    ]
    per_class = [
        {"category": c, **stats} for c, stats in in_order(view.get("per_class") or {}, categories)
    ]
    return dict(
        view,
        title=VIEW_TITLES.get(view.get("view"), view.get("view")),
        matrix=matrix,
        col_totals=col_totals,
        prevalence=prevalence,
        per_class_rows=per_class,
    )


def _label_exclusions(views: list[dict], names: dict[str, str]) -> None:
    """Name the sessions (case and number) and coders of the exclusions lists, in one query."""
    ids = {int(e["session"]) for v in views for e in v.get("exclusions") or []}
    labels = {
        str(pk): f"{case} session {number}"
        for pk, case, number in Session.objects.filter(pk__in=ids).values_list(
            "pk", "case__code", "number"
        )
    }
    for v in views:
        v["exclusions"] = [
            dict(
                e,
                label=labels.get(str(e["session"]), str(e["session"])),
                coder_name=names.get(str(e.get("coder")), ""),
            )
            for e in v.get("exclusions") or []
        ]


REPORTERS = (("patient", "the patient"), ("therapist", "the therapist"))


def _scales_rows(scales: dict | None) -> list[dict]:
    """Each scale's scores by AAI class (classes in their listed order) and its AUC, pooled."""
    if not scales:
        return []
    classes = scales.get("classes") or []
    pooled = scales.get("pooled") or {}
    rows = []
    for scale in scales.get("scales") or []:
        found = pooled.get(scale["code"]) or {}
        by_class = found.get("by_class") or {}
        rows.append(
            {
                "name": scale["name"],
                "own_class": scale.get("own_class"),
                "by_class": [dict(by_class.get(c) or {}, aai=c) for c in classes],
                "auc": found.get("auc"),
                "n_no_score": found.get("n_no_score"),
            }
        )
    return rows


def _psq_context(psq: dict | None, names: dict[str, str]) -> dict | None:
    """The PSQ part as the page lays it out: pooled per reporter, then each coder's kappa."""
    if not psq:
        return None
    pooled = psq.get("pooled") or {}
    reporters = []
    for key, words in REPORTERS:
        agreement = (pooled.get("agreement") or {}).get(key)
        correlation = (pooled.get("correlation") or {}).get(key) or {}
        if agreement is None and not correlation:
            continue
        confusion = (agreement or {}).get("confusion") or {}
        reporters.append(
            {
                "key": key,
                "words": words,
                "agreement": agreement,
                "matrix": [
                    {"label": label, "cells": cells, "total": total}
                    for label, cells, total in zip(
                        confusion.get("rows") or [],
                        confusion.get("cells") or [],
                        confusion.get("row_totals") or [],
                        strict=False,
                    )
                ],
                "columns": confusion.get("columns") or [],
                "column_totals": confusion.get("column_totals") or [],
                "total": confusion.get("total"),
                "frequency": correlation.get("frequency"),
                "peak_salience": correlation.get("peak_salience"),
                "without_answer": (psq.get("n_without_answer") or {}).get(key, 0),
            }
        )
    per_coder = [
        {
            "coder": names.get(str(coder), str(coder)),
            "n_sessions": part.get("n_sessions"),
            "patient": ((part.get("agreement") or {}).get("patient") or {}).get("kappa"),
            "therapist": ((part.get("agreement") or {}).get("therapist") or {}).get("kappa"),
        }
        for coder, part in (psq.get("per_coder") or {}).items()
    ]
    per_coder.sort(key=lambda c: c["coder"])
    threshold = psq.get("salience_threshold")
    return {
        "psq": psq,
        "note": pooled.get("note"),
        "reporters": reporters,
        "per_coder": per_coder,
        "definition": (
            "a session counts as a coded rupture when the coding has any withdrawal or "
            "confrontation marker"
            + (
                f", or a segment rated {threshold:g} or higher on {psq.get('salience_item')}"
                if threshold is not None
                else ""
            )
        ),
    }


# Stored results are jsonb on PostgreSQL, which does not keep the order of an object's keys:
# every object shown in order is put in order here, from the lists the results carry.
VIEW_ORDER = ("three_way", "two_way", "four_way")


def _views_in_order(views: dict) -> list[dict]:
    return sorted(
        views.values(),
        key=lambda v: VIEW_ORDER.index(v.get("view")) if v.get("view") in VIEW_ORDER else 99,
    )


def in_order(pairs: dict, order: list) -> list[tuple]:
    """The items of ``pairs`` with the keys listed in ``order`` first, in that order."""
    rank = {k: i for i, k in enumerate(order)}
    return sorted(pairs.items(), key=lambda kv: (rank.get(kv[0], len(rank)), str(kv[0])))


def criterion_context(report: CriterionReport) -> dict:
    results = report.results or {}
    names = coder_names(results)
    mapping = (report.parameters or {}).get("mapping") or {}
    pooled = [_view_rows(v, mapping) for v in _views_in_order(results.get("pooled") or {})]
    categories = next((v.get("categories") or [] for v in pooled), [])
    _label_exclusions(pooled, names)
    figures = {f["name"]: f for f in figure_entries(report)}
    for view in pooled:
        view["figure"] = figures.get(f"confusion-{VIEW_FIGURE.get(view.get('view'))}-pooled")
    per_coder = [
        {
            "coder": names.get(str(coder), str(coder)),
            "coder_id": coder,
            "views": [_view_rows(v, mapping) for v in _views_in_order(views)],
        }
        for coder, views in (results.get("per_coder") or {}).items()
    ]
    per_coder.sort(key=lambda c: c["coder"])
    return {
        "report": report,
        "results": results,
        "parameters": criterion_parameter_sentences(report),
        "mapping": [
            {"category": code, "aai": aai, "aai_label": _aai_label(aai)}
            for code, aai in in_order(mapping, categories)
        ],
        "pooled": pooled,
        "per_coder": per_coder,
        "coders": [names.get(str(c["id"]), c.get("email")) for c in results.get("coders") or []],
        "coder_figures": [
            f for name, f in figures.items() if name.startswith("confusion-") and "-coder-" in name
        ],
        "drift_figure": figures.get("drift"),
        "scales": _scales_rows(results.get("scales")),
        "scales_note": (results.get("scales") or {}).get("note"),
        "scales_classes": (results.get("scales") or {}).get("classes") or [],
        "psq": _psq_context(results.get("psq"), names),
        "filter": filter_sentences(report.filter or {}),
    }


def pi_report_context(
    membership: Membership,
    system: CodingSystem,
    *,
    reliability_id: int | None = None,
    criterion_id: int | None = None,
) -> dict:
    """Everything the report page shows for one coding system, for this reader."""
    project_id = membership.project_id
    reliability = _choose(
        ReliabilityReport, project_id=project_id, system=system, wanted=reliability_id
    )
    context: dict[str, Any] = {
        "project": membership.project,
        "system": system,
        "manages": can_manage(membership),
        "sees_criteria": can_see_criteria(membership),
        "reliability_choice": reliability,
        "rel": reliability_context(reliability.shown) if reliability.shown else None,
    }
    criterion_shown = None
    if context["sees_criteria"]:
        criterion = _choose(
            CriterionReport, project_id=project_id, system=system, wanted=criterion_id
        )
        context["criterion_choice"] = criterion
        context["crit"] = criterion_context(criterion.shown) if criterion.shown else None
        criterion_shown = criterion.shown
    context["methods"], context["methods_missing"] = None, []
    if reliability.shown is not None:
        try:
            # The AAI part only for those who may read criterion data (not trainers).
            context.update(
                methods_context(
                    reliability.shown,
                    criterion_shown,
                    criterion_readable=context["sees_criteria"],
                )
            )
        except DomainError as exc:
            context["methods_unavailable"] = exc.message
    return context
