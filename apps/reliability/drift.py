"""Agreement over time: per month or per block of N sessions, per coder pair and per coder.

Pure (numpy and our statistics, no Django), like compute.py; the loader that reads a report's
rows into these arrays is apps/reliability/drift_services.py. The statistics are the existing
ones: Cohen's kappa from a 2 x 2 table (stats.kappa.cohen_kappa_table, Wald CI), percent
agreement as a proportion with its Wilson interval (stats.proportions.wilson_proportion), and
for the criterion the 3-way pairing of stats.criterion (pair_with_criterion).

Marker occurrence is pooled over the coding system's markers: every (marker, unit) both sides
coded is one observation of one 2 x 2 table (turn markers over their turns, segment markers
over segments). A coder's agreement with the others is Cohen's kappa of the table that stacks
the coder's pairs with every other coder (the coder in rows), so with two coders it equals the
pair's kappa; with more, a unit counts once per partner and the pairs are not independent.

Sessions without a date belong to no period: they are left out and counted (``undated``).
Docs: docs/statistics.md, "Drift over time".
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from apps.reliability.stats.criterion import (
    CriterionMapping,
    CriterionRecord,
    Policy,
    pair_with_criterion,
)
from apps.reliability.stats.kappa import cohen_kappa_table
from apps.reliability.stats.proportions import wilson_proportion
from apps.reliability.stats.results import StatResult

PERIODS = ("month", "block")
STATISTIC = "cohen_kappa"
AGAINST = ("others", "consensus")
MAX_BLOCK_SIZE = 10_000
NO_CRITERION_PAIRS = "no session of this period has both a coded and a criterion class"


@dataclass(frozen=True)
class DriftCoder:
    """A coder as the drift series name them: id and name (full name, else email)."""

    id: int
    name: str


@dataclass(frozen=True)
class Periods:
    """Which period each session falls in (-1: no date), and the periods in time order."""

    of_session: np.ndarray
    labels: tuple[dict[str, Any], ...]
    undated: int

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Occurrence:
    """Marker occurrence of one unit kind: codes (n_markers, n_units, n_coders) int8 with -1
    missing, the session index of each unit, and the consensus codes (n_markers, n_units)
    aligned with them (None: no consensus coding was read)."""

    codes: np.ndarray
    unit_session: np.ndarray
    consensus: np.ndarray | None = None


@dataclass(frozen=True)
class ClassificationCodes:
    """One classification: category index per session and coder, -1 missing; the consensus
    coding's category per session (-1 none) or None."""

    code: str
    name: str
    labels: np.ndarray
    consensus: np.ndarray | None = None


def check_period(period: str, block_size: int | None) -> None:
    """Raise ValueError unless ``period`` is month (no block size) or block with 1..10000."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if period == "block":
        if isinstance(block_size, bool) or not isinstance(block_size, int):
            raise ValueError("a block period needs block_size, a whole number of sessions")
        if not 1 <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be 1-{MAX_BLOCK_SIZE}, got {block_size}")
    elif block_size is not None:
        raise ValueError("block_size applies only to the block period")


def session_periods(
    dates: Sequence[date | None], *, period: str = "month", block_size: int | None = None
) -> Periods:
    """Assign each session to a calendar month, or to a block of ``block_size`` sessions.

    Blocks follow date order (sessions on the same date in the order given); the last block
    may be shorter. A block is labelled by its sessions' positions in that order
    ("sessions 1-10"), a month as "YYYY-MM"; each label carries its first and last date.
    """
    check_period(period, block_size)
    n = len(dates)
    of_session = np.full(n, -1, np.int64)
    dated = [i for i in range(n) if dates[i] is not None]
    order = sorted(dated, key=lambda i: (dates[i], i))
    groups: list[list[int]] = []
    names: list[str] = []
    if period == "month":
        months: dict[str, list[int]] = {}
        for i in order:
            months.setdefault(f"{dates[i].year:04d}-{dates[i].month:02d}", []).append(i)
        names, groups = list(months), list(months.values())
    else:
        size = int(block_size)
        for start in range(0, len(order), size):
            groups.append(order[start : start + size])
            names.append(f"sessions {start + 1}–{start + len(groups[-1])}")
    labels = []
    for k, (name, members) in enumerate(zip(names, groups, strict=True)):
        of_session[members] = k
        labels.append(
            {
                "period": name,
                "first_date": dates[members[0]].isoformat(),
                "last_date": dates[members[-1]].isoformat(),
                "sessions": len(members),
            }
        )
    return Periods(of_session=of_session, labels=tuple(labels), undated=n - len(dated))


# Tables ------------------------------------------------------------------------------------


def occurrence_tables(
    x: np.ndarray, y: np.ndarray, unit_period: np.ndarray, n_periods: int
) -> np.ndarray:
    """2 x 2 tables (n_periods, 2, 2) of x (rows) against y over (marker, unit) pairs.

    ``x`` and ``y`` are (n_markers, n_units) with 1 present, 0 absent, -1 missing; a pair
    enters where both sides coded it and its unit's period is not -1. The cells are counted
    per unit first (one pass over the markers), then summed per period.
    """
    out = np.zeros((n_periods, 2, 2), np.int64)
    if x.size == 0 or n_periods == 0:
        return out
    x_present, y_present = x == 1, y == 1
    both = (x_present & y_present).sum(axis=0)
    x_only = (x_present & (y == 0)).sum(axis=0)
    y_only = ((x == 0) & y_present).sum(axis=0)
    pairs = ((x >= 0) & (y >= 0)).sum(axis=0)
    keep = unit_period >= 0
    period = unit_period[keep]
    # Rows x, columns y, categories in the order absent (0), present (1).
    for (i, j), cell in (
        ((0, 0), pairs - both - x_only - y_only),
        ((0, 1), y_only),
        ((1, 0), x_only),
        ((1, 1), both),
    ):
        summed = np.bincount(period, weights=cell[keep], minlength=n_periods)[:n_periods]
        out[:, i, j] = np.rint(summed).astype(np.int64)
    return out


def _pooled_tables(
    blocks: Sequence[Occurrence], a: int, b: int | None, session_period: np.ndarray, n: int
) -> np.ndarray:
    """Coder a (rows) against coder b, or against the consensus when b is None."""
    total = np.zeros((n, 2, 2), np.int64)
    for block in blocks:
        if block.codes.size == 0:
            continue
        other = block.consensus if b is None else block.codes[..., b]
        if other is None:
            continue
        total += occurrence_tables(
            block.codes[..., a], other, session_period[block.unit_session], n
        )
    return total


def _kappa(table: np.ndarray, conf: float) -> StatResult:
    if table.sum() == 0:
        return StatResult.undefined("no unit coded by both in this period", n_units=0)
    return cohen_kappa_table(table, conf=conf)


def _point(label: str, n: int, result: StatResult, sessions: int) -> dict[str, Any]:
    return {
        "period": label,
        "n": int(n),
        "value": result.value,
        "ci": list(result.ci) if result.ci is not None else None,
        "sessions": int(sessions),
    }


def _count_sessions(mask: np.ndarray, session_period: np.ndarray, n: int) -> np.ndarray:
    keep = mask & (session_period >= 0)
    return np.bincount(session_period[keep], minlength=n)[:n]


def _series(kind: str, against: str, label: str, coders: list[int], points: list) -> dict:
    return {"kind": kind, "label": label, "coders": coders, "against": against, "points": points}


def _pairs(coded: np.ndarray) -> list[tuple[int, int]]:
    """Coder pairs (index order) who share at least one session, as in the report's pairs."""
    n = coded.shape[1]
    return [(a, b) for a in range(n) for b in range(a + 1, n) if np.any(coded[:, a] & coded[:, b])]


# Reliability drift -------------------------------------------------------------------------


def occurrence_series(
    blocks: Sequence[Occurrence],
    coded: np.ndarray,
    coders: Sequence[DriftCoder],
    periods: Periods,
    *,
    consensus_coded: np.ndarray | None = None,
    conf: float = 0.95,
) -> list[dict[str, Any]]:
    """Cohen's kappa of marker occurrence per period: pairs, coder vs others, vs consensus."""
    n = len(periods)
    sp = periods.of_session
    labels = [p["period"] for p in periods.labels]
    pair_tables: dict[tuple[int, int], np.ndarray] = {}
    out = []
    for a, b in _pairs(coded):
        tables = _pooled_tables(blocks, a, b, sp, n)
        pair_tables[(a, b)] = tables
        sessions = _count_sessions(coded[:, a] & coded[:, b], sp, n)
        points = [
            _point(labels[k], tables[k].sum(), _kappa(tables[k], conf), sessions[k])
            for k in range(n)
        ]
        name = f"{coders[a].name} · {coders[b].name}"
        out.append(_series("pair", "coder", name, [coders[a].id, coders[b].id], points))
    for a, coder in enumerate(coders):
        # The coder in rows: a pair's table as it is when a comes first, transposed otherwise.
        tables = np.zeros((n, 2, 2), np.int64)
        for (i, j), t in pair_tables.items():
            if i == a:
                tables += t
            elif j == a:
                tables += t.transpose(0, 2, 1)
        others = np.delete(coded, a, axis=1).any(axis=1)
        sessions = _count_sessions(coded[:, a] & others, sp, n)
        points = [
            _point(labels[k], tables[k].sum(), _kappa(tables[k], conf), sessions[k])
            for k in range(n)
        ]
        out.append(_series("coder", "others", f"{coder.name} · others", [coder.id], points))
    if consensus_coded is not None and consensus_coded.any():
        for a, coder in enumerate(coders):
            tables = _pooled_tables(blocks, a, None, sp, n)
            sessions = _count_sessions(coded[:, a] & consensus_coded, sp, n)
            points = [
                _point(labels[k], tables[k].sum(), _kappa(tables[k], conf), sessions[k])
                for k in range(n)
            ]
            name = f"{coder.name} · consensus"
            out.append(_series("coder", "consensus", name, [coder.id], points))
    return out


def _agreement_counts(x: np.ndarray, y: np.ndarray, sp: np.ndarray, n: int):
    keep = (x >= 0) & (y >= 0) & (sp >= 0)
    agree = np.bincount(sp[keep & (x == y)], minlength=n)[:n]
    total = np.bincount(sp[keep], minlength=n)[:n]
    return agree, total


def _proportion(agree: int, total: int, conf: float) -> StatResult:
    return wilson_proportion(
        int(agree), int(total), conf, empty_reason="no session classified by both in this period"
    )


def classification_series(
    classification: ClassificationCodes,
    coded: np.ndarray,
    coders: Sequence[DriftCoder],
    periods: Periods,
    *,
    conf: float = 0.95,
) -> list[dict[str, Any]]:
    """Percent agreement on the classification per period (Wilson CI), as for occurrence.

    A coder against the others pools the coder's pairs: n counts (session, partner) pairs,
    ``sessions`` the distinct sessions.
    """
    n = len(periods)
    sp = periods.of_session
    labels = [p["period"] for p in periods.labels]
    codes = classification.labels
    classified = codes >= 0
    out = []
    counts: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for a, b in _pairs(coded):
        agree, total = _agreement_counts(codes[:, a], codes[:, b], sp, n)
        counts[(a, b)] = (agree, total)
        sessions = _count_sessions(classified[:, a] & classified[:, b], sp, n)
        points = [
            _point(labels[k], total[k], _proportion(agree[k], total[k], conf), sessions[k])
            for k in range(n)
        ]
        name = f"{coders[a].name} · {coders[b].name}"
        out.append(_series("pair", "coder", name, [coders[a].id, coders[b].id], points))
    for a, coder in enumerate(coders):
        agree = np.zeros(n, np.int64)
        total = np.zeros(n, np.int64)
        partner = np.zeros(len(codes), bool)
        for (i, j), (g, t) in counts.items():
            if a in (i, j):
                agree += g
                total += t
                partner |= classified[:, j if i == a else i]
        sessions = _count_sessions(classified[:, a] & partner, sp, n)
        points = [
            _point(labels[k], total[k], _proportion(agree[k], total[k], conf), sessions[k])
            for k in range(n)
        ]
        out.append(_series("coder", "others", f"{coder.name} · others", [coder.id], points))
    consensus = classification.consensus
    if consensus is not None and (consensus >= 0).any():
        for a, coder in enumerate(coders):
            agree, total = _agreement_counts(codes[:, a], consensus, sp, n)
            sessions = _count_sessions(classified[:, a] & (consensus >= 0), sp, n)
            points = [
                _point(labels[k], total[k], _proportion(agree[k], total[k], conf), sessions[k])
                for k in range(n)
            ]
            name = f"{coder.name} · consensus"
            out.append(_series("coder", "consensus", name, [coder.id], points))
    return out


def reliability_drift(
    *,
    dates: Sequence[date | None],
    coded: np.ndarray,
    occurrence: Sequence[Occurrence],
    coders: Sequence[DriftCoder],
    classification: ClassificationCodes | None = None,
    consensus_coded: np.ndarray | None = None,
    period: str = "month",
    block_size: int | None = None,
    conf: float = 0.95,
) -> dict[str, Any]:
    """The drift structure of a reliability report (docs/statistics.md, "Drift over time").

    ``dates`` and ``coded`` (n_sessions, n_coders) are per session of the dataset;
    ``occurrence`` holds the turn and segment marker blocks; ``consensus_coded`` marks the
    sessions with a consensus coding. ``series`` is Cohen's kappa of marker occurrence;
    ``percent_agreement`` the classification's percent agreement with the same series.
    """
    periods = session_periods(dates, period=period, block_size=block_size)
    series = occurrence_series(
        occurrence, coded, coders, periods, consensus_coded=consensus_coded, conf=conf
    )
    agreement = None
    if classification is not None:
        agreement = {
            "statistic": "percent_agreement",
            "classification": {"code": classification.code, "name": classification.name},
            "series": classification_series(classification, coded, coders, periods, conf=conf),
        }
    return {
        "period": period,
        "block_size": block_size,
        "statistic": STATISTIC,
        "series": series,
        "percent_agreement": agreement,
        "periods": list(periods.labels),
        "undated_sessions": periods.undated,
        "measure": "marker occurrence, pooled over the coding system's markers and their units",
    }


# Criterion drift ---------------------------------------------------------------------------


def criterion_drift(
    *,
    dates: Mapping[Hashable, date | None],
    codings: Mapping[int, Mapping[Hashable, Any]],
    criteria: Mapping[Hashable, CriterionRecord],
    mapping: CriterionMapping,
    policy: Policy,
    coders: Sequence[DriftCoder],
    classification: Mapping[str, str],
    period: str = "month",
    block_size: int | None = None,
    conf: float = 0.95,
) -> dict[str, Any]:
    """Each coder's classification against the criterion per period: kappa and % agreement.

    The 3-way view of the criterion report (organised classes; under ``own_class`` U/CC use
    their secondary class, as there), per coder: the sessions ``pair_with_criterion`` keeps,
    their confusion matrix per period, Cohen's kappa of it and the share on its diagonal with
    a Wilson CI (the numbers ``view_agreement`` gives for the same sessions). Periods come from
    the dates of every session in ``dates``. ``codings`` is {coder id: {session: label}}.
    """
    sessions = sorted(dates)
    periods = session_periods([dates[s] for s in sessions], period=period, block_size=block_size)
    period_of = {s: int(periods.of_session[i]) for i, s in enumerate(sessions)}
    labels = [p["period"] for p in periods.labels]
    organised: Policy = "secondary" if policy == "own_class" else policy
    n = len(periods)
    kappas, agreements = [], []
    for coder in coders:
        paired = pair_with_criterion(
            codings.get(coder.id, {}), criteria, mapping=mapping, policy=organised
        )
        # The view's confusion matrices (coded rows, criterion columns), one per period.
        q = len(paired.categories)
        index = {c: i for i, c in enumerate(paired.categories)}
        of = np.array([period_of.get(s, -1) for s in paired.sessions], np.int64)
        cell = np.array(
            [index[a] * q + index[b] for a, b in zip(paired.coded, paired.criterion, strict=True)],
            np.int64,
        )
        keep = of >= 0
        tables = np.bincount(of[keep] * q * q + cell[keep], minlength=n * q * q)
        tables = tables[: n * q * q].reshape(n, q, q)
        k_points, a_points = [], []
        for k, label in enumerate(labels):
            table, m = tables[k], int(tables[k].sum())
            kappa = (
                cohen_kappa_table(table, conf=conf)
                if m
                else StatResult.undefined(NO_CRITERION_PAIRS, n_units=0)
            )
            agree = wilson_proportion(
                int(np.trace(table)), m, conf, empty_reason=NO_CRITERION_PAIRS
            )
            k_points.append(_point(label, m, kappa, m))
            a_points.append(_point(label, m, agree, m))
        name = f"{coder.name} · AAI"
        kappas.append(_series("criterion", "criterion", name, [coder.id], k_points))
        agreements.append(_series("criterion", "criterion", name, [coder.id], a_points))
    return {
        "period": period,
        "block_size": block_size,
        "statistic": STATISTIC,
        "series": kappas,
        "percent_agreement": {
            "statistic": "percent_agreement",
            "classification": dict(classification),
            "series": agreements,
        },
        "periods": list(periods.labels),
        "undated_sessions": periods.undated,
        "measure": "the coder's classification against the AAI (3-way view)",
    }


# The drift check ---------------------------------------------------------------------------


def coder_window_agreement(
    occurrence: Sequence[Occurrence],
    coded: np.ndarray,
    coder: int,
    window: np.ndarray,
    *,
    against: str = "others",
    conf: float = 0.95,
) -> StatResult:
    """Kappa of one coder's marker occurrence against the others (or the consensus) over the
    sessions of ``window`` (a boolean mask over sessions), pooled as in the drift series."""
    if against not in AGAINST:
        raise ValueError(f"against must be one of {', '.join(AGAINST)}, got {against!r}")
    sp = np.where(window, 0, -1).astype(np.int64)
    if against == "consensus":
        table = _pooled_tables(occurrence, coder, None, sp, 1)[0]
    else:
        table = np.zeros((2, 2), np.int64)
        for other in range(coded.shape[1]):
            if other != coder:
                table += _pooled_tables(occurrence, coder, other, sp, 1)[0]
    return _kappa(table, conf)
