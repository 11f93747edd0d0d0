"""Turn a project's coding arrays into a reliability report (pure: numpy and our statistics).

Levels, as in PRODUCT.md: marker occurrence per unit (per marker and per scale), session
marker frequencies (ICC), ratings (ICC, weighted kappa, alpha), classification (kappa, %
agreement, alpha, AC1, confusion matrix); overall and for every coder pair; each with n and a
confidence interval. The result is plain JSON, stored once and never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np

from apps.reliability.stats import (
    agreement_battery,
    cohen_kappa,
    icc_many,
    krippendorff_alpha,
)
from apps.reliability.stats.bands import describe
from apps.reliability.stats.results import StatResult

NO_SESSIONS = "no session was coded by two or more of these coders"

OCCURRENCE_STATS = (
    "percent_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "pabak",
    "prevalence_index",
    "bias_index",
    "prevalence",
)
ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")


def _stat(name: str, result: StatResult) -> dict:
    """A statistic as stored: its JSON and its band words (None when no band applies)."""
    out = result.to_dict()
    out["band"] = describe(name, result) or None
    return out


def _pairable(codes: np.ndarray) -> np.ndarray:
    """Per item and unit: rated by at least two coders, i.e. the unit enters the figures."""
    return (codes >= 0).sum(axis=-1) >= 2


def _battery_rows(
    battery: dict, names: list[str], codes: list[str], used: np.ndarray
) -> list[dict]:
    rows = []
    for i, (name, code) in enumerate(zip(names, codes, strict=True)):
        stats = {k: _stat(k, battery[k][i]) for k in OCCURRENCE_STATS if k in battery}
        rows.append(
            {"code": code, "name": name, "n_units": int(used[i].sum()), "statistics": stats}
        )
    return rows


def _occurrence(
    codes: np.ndarray,
    clusters: np.ndarray,
    items: list[dict],
    scales: list[dict],
    parameters: dict,
) -> dict:
    """Marker occurrence per unit, per marker and per scale (a scale present = any marker)."""
    if codes.size == 0 or codes.shape[1] == 0:
        return {"markers": [], "scales": [], "n_units": 0}
    n_boot = int(parameters.get("bootstrap") or 0)
    seed = parameters.get("seed")
    conf = float(parameters.get("confidence", 0.95))
    battery = agreement_battery(
        codes,
        n_categories=2,
        clusters=clusters if n_boot else None,
        n_boot=n_boot,
        seed=seed,
        conf=conf,
    )
    used = _pairable(codes)
    markers = _battery_rows(battery, [m["name"] for m in items], [m["code"] for m in items], used)
    scale_codes, scale_names, scale_arrays = [], [], []
    for scale in scales:
        rows = [i for i, m in enumerate(items) if m.get("scale__code") == scale["code"]]
        if not rows:
            continue
        block = codes[rows]
        present = (block == 1).any(axis=0)
        missing = (block == -1).all(axis=0)
        scale_arrays.append(np.where(missing, -1, present.astype(np.int8)).astype(np.int8))
        scale_codes.append(scale["code"])
        scale_names.append(scale["name"])
    scale_rows = []
    if scale_arrays:
        scale_battery = agreement_battery(
            np.stack(scale_arrays),
            n_categories=2,
            clusters=clusters if n_boot else None,
            n_boot=n_boot,
            seed=seed,
            conf=conf,
        )
        stacked = np.stack(scale_arrays)
        scale_rows = _battery_rows(scale_battery, scale_names, scale_codes, _pairable(stacked))
    # The units the figures use: rated by two or more coders for at least one marker (a
    # patient-turn marker's figures use the patient turns, not every turn of the session).
    return {"n_units": int(used.any(axis=0).sum()), "markers": markers, "scales": scale_rows}


def _session_counts(codes: np.ndarray, clusters: np.ndarray, n_sessions: int) -> np.ndarray:
    """Per-session marker frequencies (n_items, n_sessions, n_coders), NaN where not coded.

    Units arrive grouped by session (the loader orders them), so each session is one
    contiguous run and np.add.reduceat sums it without a Python loop.
    """
    n_items, _, n_coders = codes.shape
    out = np.full((n_items, n_sessions, n_coders), np.nan)
    if codes.shape[1] == 0:
        return out
    order = np.argsort(clusters, kind="stable")
    if np.any(order != np.arange(len(order))):
        codes, clusters = codes[:, order], clusters[order]
    starts = np.flatnonzero(np.r_[True, clusters[1:] != clusters[:-1]])
    present = np.add.reduceat(codes == 1, starts, axis=1, dtype=np.int32)
    seen = np.add.reduceat(codes >= 0, starts, axis=1, dtype=np.int32)
    out[:, clusters[starts], :] = np.where(seen > 0, present, np.nan)
    return out


def _icc_rows(values: np.ndarray, items: list[dict], conf: float) -> list[dict]:
    if values.size == 0 or values.shape[1] == 0:
        return [{"code": it["code"], "name": it["name"], "icc": {}} for it in items]
    forms = icc_many(values, conf=conf)
    return [
        {
            "code": it["code"],
            "name": it["name"],
            "icc": {form: _stat(form, forms[form][i]) for form in ICC_FORMS if form in forms},
        }
        for i, it in enumerate(items)
    ]


def _frequency(codes, clusters, n_sessions, items, scales, conf) -> dict:
    if codes.size == 0:
        return {"markers": [], "scales": []}
    counts = _session_counts(codes, clusters, n_sessions)
    markers = _icc_rows(counts, items, conf)
    scale_items, scale_counts = [], []
    for scale in scales:
        rows = [i for i, m in enumerate(items) if m.get("scale__code") == scale["code"]]
        if rows:
            scale_items.append({"code": scale["code"], "name": scale["name"]})
            scale_counts.append(np.sum(counts[rows], axis=0))
    scale_rows = _icc_rows(np.stack(scale_counts), scale_items, conf) if scale_counts else []
    return {"markers": markers, "scales": scale_rows}


def _ratings(values: np.ndarray, items: list[dict], conf: float) -> list[dict]:
    rows = _icc_rows(values, items, conf) if len(items) else []
    for i, item in enumerate(items):
        table = values[i] if values.size else np.zeros((0, values.shape[-1]))
        categories = list(range(item["min_value"], item["max_value"] + 1))
        cells = [[None if np.isnan(v) else int(v) for v in row] for row in table]
        stats: dict[str, Any] = {}
        if not cells:
            none = StatResult.undefined(NO_SESSIONS)
            names = ["krippendorff_alpha_ordinal", "krippendorff_alpha_interval"]
            if table.shape[1] == 2:
                names += ["cohen_kappa_linear", "cohen_kappa_quadratic"]
            rows[i]["statistics"] = {name: _stat(name, none) for name in names}
            rows[i]["level"], rows[i]["n_units"] = item["level"], 0
            continue
        if table.shape[1:] == (2,):
            for weights in ("linear", "quadratic"):
                name = f"cohen_kappa_{weights}"
                stats[name] = _stat(
                    name, cohen_kappa(cells, categories=categories, weights=weights, conf=conf)
                )
        for level in ("ordinal", "interval"):
            name = f"krippendorff_alpha_{level}"
            stats[name] = _stat(name, krippendorff_alpha(cells, level=level, categories=categories))
        rows[i]["statistics"] = stats
        rows[i]["level"] = item["level"]
        rows[i]["n_units"] = (
            int(np.sum(np.sum(~np.isnan(table), axis=-1) >= 2)) if table.size else 0
        )
    return rows


def _classification(codes: np.ndarray, classifications: list[dict], conf: float) -> list[dict]:
    rows = []
    for i, c in enumerate(classifications):
        labels = [x["code"] for x in c["categories"]]
        table = codes[i]
        cells = [[labels[v] if v >= 0 else None for v in row] for row in table]
        names = (
            "percent_agreement",
            "cohen_kappa",
            "fleiss_kappa",
            "krippendorff_alpha",
            "gwet_ac1",
        )
        if table.shape[0] == 0 or table.shape[1] < 2:
            none = StatResult.undefined(NO_SESSIONS)
            stats = {k: _stat(k, none) for k in names}
        else:
            battery = agreement_battery(table[None], n_categories=len(labels), conf=conf)
            stats = {k: _stat(k, battery[k][0]) for k in names if k in battery}
        confusion = None
        if table.shape[1] == 2:
            both = (table[:, 0] >= 0) & (table[:, 1] >= 0)
            matrix = np.zeros((len(labels), len(labels)), int)
            np.add.at(matrix, (table[both, 0], table[both, 1]), 1)
            confusion = matrix.tolist()
        rows.append(
            {
                "code": c["code"],
                "name": c["name"],
                "categories": labels,
                "n_units": int(np.sum(np.sum(table >= 0, axis=-1) >= 2)),
                "statistics": stats,
                "confusion": confusion,
                "ratings": cells,
            }
        )
    return rows


def _coders(values: np.ndarray, coder_slice: slice | list[int]) -> np.ndarray:
    """The columns of some coders (an empty dataset has no coder axis to index)."""
    return values[..., coder_slice] if values.shape[-1] else values


def compute_results(
    dataset, *, parameters: dict, progress: Callable[[float], None] | None = None
) -> dict:
    """The whole report for one dataset (see apps/reliability/dataset.py)."""
    conf = float(parameters.get("confidence", 0.95))
    tick = progress or (lambda p: None)
    turn_markers = [m for m in dataset.markers if m["unit"] != "segment"]
    segment_markers = [m for m in dataset.markers if m["unit"] == "segment"]
    session_items = [i for i in dataset.rating_items if i["level"] == "session"]
    segment_items = [i for i in dataset.rating_items if i["level"] == "segment"]
    n_sessions = len(dataset.sessions)

    def level_block(coder_slice: slice | list[int]) -> dict:
        turn = _coders(dataset.turn_codes, coder_slice)
        seg = _coders(dataset.segment_codes, coder_slice)
        return {
            "marker_occurrence": {
                "turns": _occurrence(
                    turn, dataset.turn_session, turn_markers, dataset.scales, parameters
                ),
                "segments": _occurrence(
                    seg, dataset.segment_session, segment_markers, dataset.scales, parameters
                ),
            },
            "marker_frequency": {
                "turns": _frequency(
                    turn, dataset.turn_session, n_sessions, turn_markers, dataset.scales, conf
                ),
                "segments": _frequency(
                    seg, dataset.segment_session, n_sessions, segment_markers, dataset.scales, conf
                ),
            },
            "ratings": {
                "session": _ratings(
                    _coders(dataset.session_ratings, coder_slice), session_items, conf
                ),
                "segment": _ratings(
                    _coders(dataset.segment_ratings, coder_slice), segment_items, conf
                ),
            },
            "classification": _classification(
                _coders(dataset.classification_codes, coder_slice), dataset.classifications, conf
            ),
        }

    overall = level_block(slice(None))
    tick(0.6)
    pairs = []
    n_coders = len(dataset.coders)
    pair_list = list(combinations(range(n_coders), 2))
    for k, (a, b) in enumerate(pair_list):
        shared = int(np.sum(dataset.coded[:, a] & dataset.coded[:, b]))
        if shared == 0:
            continue
        block = level_block([a, b])
        pairs.append(
            {
                "coders": [dataset.coders[a]["email"], dataset.coders[b]["email"]],
                "n_sessions": shared,
                "classification": block["classification"],
                "marker_occurrence": block["marker_occurrence"],
                "marker_frequency": block["marker_frequency"],
                "ratings": block["ratings"],
            }
        )
        tick(0.6 + 0.4 * (k + 1) / max(len(pair_list), 1))
    for row in overall["classification"]:
        row.pop("ratings", None)
    for pair in pairs:
        for row in pair["classification"]:
            row.pop("ratings", None)
    return {
        "coding_system": dataset.coding_system,
        "n_sessions": n_sessions,
        "n_coders": n_coders,
        "coders": [c["email"] for c in dataset.coders],
        "sessions": [
            {"case": s["case"], "number": s["number"], "coders": int(dataset.coded[i].sum())}
            for i, s in enumerate(dataset.sessions)
        ],
        "parameters": parameters,
        "overall": overall,
        "pairs": pairs,
        "headline": _headline(overall),
    }


def _headline(overall: dict) -> dict:
    """A few numbers for lists: classification kappa, median marker kappa, rating ICC."""
    out: dict[str, Any] = {}
    if overall["classification"]:
        c = overall["classification"][0]["statistics"]
        chosen = c.get("cohen_kappa") or c.get("fleiss_kappa")
        out["classification_kappa"] = chosen["value"] if chosen else None
        out["classification_agreement"] = c["percent_agreement"]["value"]
    markers = (
        overall["marker_occurrence"]["turns"]["markers"]
        or overall["marker_occurrence"]["segments"]["markers"]
    )
    kappas = [
        (m["statistics"].get("cohen_kappa") or m["statistics"]["fleiss_kappa"])["value"]
        for m in markers
    ]
    kappas = [k for k in kappas if k is not None]
    out["median_marker_kappa"] = float(np.median(kappas)) if kappas else None
    out["markers_with_kappa"] = len(kappas)
    iccs = [r["icc"].get("ICC2", {}).get("value") for r in overall["ratings"]["session"]]
    iccs = [v for v in iccs if v is not None]
    out["median_rating_icc2"] = float(np.median(iccs)) if iccs else None
    return out
