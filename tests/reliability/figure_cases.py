"""Hand-made results for the figure tests, in the shapes the reports store.

Reliability: results["overall"]["marker_occurrence"][unit] rows as compute.py writes them
(code, name, n_units, statistics{cohen_kappa, gwet_ac1: StatResult.to_dict()}). Criterion:
per_coder / pooled views as stats/criterion.py ViewAgreement.to_dict writes them. Drift: the
agreement-over-time structure of docs/figures.md.
"""

from __future__ import annotations

import copy


def stat(value, low=None, high=None, *, note=None, unstable=None, n=None) -> dict:
    return {
        "value": value,
        "se": None,
        "ci": [low, high] if low is not None else None,
        "note": note,
        "ci_method": "wald-z" if low is not None else None,
        "n_units": n,
        "n_coders": 2,
        "unstable": unstable,
    }


def marker_row(code, name, n, kappa, ac1) -> dict:
    return {
        "code": code,
        "name": name,
        "n_units": n,
        "statistics": {"percent_agreement": stat(0.9), "cohen_kappa": kappa, "gwet_ac1": ac1},
    }


ONE_CATEGORY = (
    "only one category was used by both coders: chance agreement is 1, kappa is undefined"
)

OCCURRENCE = {
    "n_units": 420,
    "scales": [
        marker_row(
            "proximity_seeking",
            "Proximity Seeking",
            420,
            stat(0.71, 0.60, 0.80),
            stat(0.80, 0.72, 0.88),
        ),
        marker_row("avoidance", "Avoidance", 410, stat(0.45, 0.30, 0.60), stat(0.62, 0.5, 0.74)),
    ],
    "markers": [
        marker_row("m01", "Asks for help", 420, stat(0.82, 0.70, 0.93), stat(0.9, 0.85, 0.95)),
        marker_row(
            "m06",
            "Gives a vivid narrative of a past distressful event",
            418,
            stat(0.15, -0.35, 0.40),
            stat(0.5, 0.3, 0.7),
        ),
        marker_row(
            "m25",
            "Fails to respond to inquiry about distress",
            12,
            stat(None, note=ONE_CATEGORY),
            stat(0.95, 0.9, 1.0, unstable="n = 12 units is below 30"),
        ),
    ],
}


def reliability_results() -> dict:
    return {
        "coding_system": {"id": 1, "key": "pacs", "version": "2.0"},
        "n_sessions": 40,
        "n_coders": 2,
        "coders": ["ana@example.org", "ben@example.org"],
        "parameters": {"confidence": 0.95, "bootstrap": 0, "seed": 1},
        "overall": {
            "marker_occurrence": {
                "turns": copy.deepcopy(OCCURRENCE),
                "segments": {"n_units": 0, "markers": [], "scales": []},
            }
        },
        "pairs": [],
        "headline": {},
    }


def view(name: str, categories: list[str], counts: list[list[int]], n_coders: int = 1) -> dict:
    n = sum(map(sum, counts))
    return {
        "view": name,
        "categories": categories,
        "n": n,
        "n_coders": n_coders,
        "note": None,
        "confusion": {
            "rows": "coded",
            "columns": "criterion",
            "counts": counts,
            "row_totals": [sum(r) for r in counts],
            "col_totals": [sum(c) for c in zip(*counts, strict=True)],
        },
        "percent_agreement": stat(0.77, 0.6, 0.88),
        "kappa": stat(0.64, 0.42, 0.86),
        "ac1": stat(0.67, 0.47, 0.87),
        "per_class": {},
        "n_excluded": 2,
        "excluded_by_reason": {"U/CC excluded": 1, "no classification": 1},
        "exclusions": [],
    }


PACS3 = ["secure", "avoidant", "preoccupied"]
# Ana's and Ben's 3-way tables and the pooled one (their cell-by-cell sum).
ANA = [[5, 1, 0], [1, 4, 1], [0, 0, 3]]
BEN = [[5, 1, 1], [0, 4, 1], [0, 1, 2]]
POOLED = [[10, 2, 1], [1, 8, 2], [0, 1, 5]]


def criterion_results(ana_id: int = 4, ben_id: int = 7) -> dict:
    return {
        "policy": "secondary",
        "n_coders": 2,
        "per_coder": {
            str(ana_id): {
                "three_way": view("three_way", PACS3, ANA),
                "two_way": view("two_way", ["secure", "insecure"], [[5, 1], [1, 8]]),
            },
            str(ben_id): {
                "three_way": view("three_way", PACS3, BEN),
                "two_way": view("two_way", ["secure", "insecure"], [[5, 2], [0, 8]]),
            },
        },
        "pooled": {
            "three_way": view("three_way", PACS3, POOLED, n_coders=2),
            "two_way": view("two_way", ["secure", "insecure"], [[10, 3], [1, 16]], n_coders=2),
        },
        "coders": [{"id": ana_id, "email": "ana@example.org"}, {"id": ben_id, "email": "ben@x"}],
        "n_sessions_read": 17,
    }


CRITERION_PARAMETERS = {
    "classification": "attachment",
    "mapping": {"secure": "F", "avoidant": "Ds", "preoccupied": "E"},
    "policy": "secondary",
    "collapse": {"secure": "secure", "avoidant": "insecure", "preoccupied": "insecure"},
    "source": "coder",
    "confidence": 0.95,
}


def drift() -> dict:
    return {
        "period": "month",
        "block_size": None,
        "statistic": "cohen_kappa",
        "series": [
            {
                "kind": "pair",
                "label": "Ana Ruiz · Ben Cho",
                "points": [
                    {"period": "2026-01", "n": 40, "value": 0.6, "ci": [0.45, 0.75]},
                    {"period": "2026-02", "n": 14, "value": 0.71, "ci": [0.5, 0.9]},
                    {"period": "2026-03", "n": 3, "value": None, "ci": None},
                    {"period": "2026-04", "n": 35, "value": 0.55, "ci": [0.4, 0.7]},
                ],
            },
            {
                "kind": "criterion",
                "label": "Ana Ruiz against the AAI",
                "points": [
                    {"period": "2026-04", "n": 31, "value": 0.5, "ci": [0.3, 0.7]},
                    {"period": "2026-02", "n": 33, "value": 0.4, "ci": [0.2, 0.6]},
                ],
            },
        ],
    }
