"""Rupture coding (3RS) against the post-session questionnaire (PSQ) rupture item.

Per session a coder's withdrawal and confrontation marker counts and per-segment salience
ratings give "any rupture coded" (:func:`coded_ruptures`), the coded rupture frequency and the
peak salience. These are compared with the patient's and the therapist's PSQ answer:

- :func:`psq_agreement`: 2x2 confusion matrix (rows coded yes/no, columns PSQ yes/no), percent
  agreement with a Wilson CI, Cohen's kappa (:mod:`.kappa`, Fleiss, Cohen & Everitt 1969 SE,
  Wald CI), sensitivity and specificity with the PSQ as the reference, Wilson CIs.
- :func:`spearman`, :func:`psq_intensity_correlation`: Spearman's rank correlation (average
  ranks for ties) between frequency or peak salience and the PSQ intensity, Fisher-z CI with
  the Bonett & Wright (2000) standard error sqrt((1 + r^2/2) / (n - 3)).

Sessions without a PSQ answer are excluded and listed by id. Formulas and sources:
docs/statistics.md, "Rupture coding against the PSQ".
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from .kappa import cohen_kappa_table
from .proportions import wilson_proportion, z_quantile
from .results import StatResult, instability

Measure = Literal["frequency", "peak_salience"]
REPORTERS = ("patient", "therapist")
MEASURES: tuple[Measure, ...] = ("frequency", "peak_salience")

SPEARMAN_MIN_N = 4
SPEARMAN_METHOD = (
    "Fisher z, SE sqrt((1 + r^2/2) / (n - 3)) (Bonett & Wright 2000), back-transformed"
)
TOO_FEW = "fewer than 4 sessions: the Fisher-z interval needs n - 3 > 0"
PERFECT_RANKS = "the ranks agree perfectly (|r| = 1): Fisher z is infinite, so there is no interval"
NO_PSQ_ANSWER = "no session has both a coding and a PSQ rupture answer"
NO_PSQ_YES = "no session with a PSQ rupture answer of yes: sensitivity has no denominator"
NO_PSQ_NO = "no session with a PSQ rupture answer of no: specificity has no denominator"


@dataclass(frozen=True)
class SessionCoding:
    """One coder's rupture coding of one session: marker counts by family, segment salience."""

    session_id: Hashable
    withdrawal: int = 0
    confrontation: int = 0
    salience: Sequence[float | None] = ()


@dataclass(frozen=True)
class PsqAnswer:
    """One reporter's PSQ rupture item for one session: yes/no (None = not answered), intensity."""

    rupture: bool | None
    intensity: float | None = None


@dataclass(frozen=True)
class CodedRupture:
    """Per session: whether a rupture was coded, and why; frequency; peak salience."""

    session_id: Hashable
    any_rupture: bool
    by_markers: bool
    by_salience: bool
    withdrawal: int
    confrontation: int
    frequency: int
    peak_salience: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return dict(self.__dict__)


def session_rupture(coding: SessionCoding, *, threshold: float | None = None) -> CodedRupture:
    """Derive "any rupture coded", the frequency and the peak salience of one session.

    A rupture is coded when a withdrawal or confrontation marker was coded, or, unless
    ``threshold`` is None (markers only), when some segment's salience is >= ``threshold``.
    The frequency is withdrawal + confrontation markers; the peak salience is the largest
    rated segment salience (None when no segment was rated).
    """
    w, c = int(coding.withdrawal), int(coding.confrontation)
    if w < 0 or c < 0:
        raise ValueError(f"session {coding.session_id!r}: marker counts must be non-negative")
    rated = [float(s) for s in coding.salience if s is not None and not math.isnan(float(s))]
    peak = max(rated) if rated else None
    by_markers = w + c > 0
    by_salience = threshold is not None and peak is not None and peak >= threshold
    return CodedRupture(
        session_id=coding.session_id,
        any_rupture=by_markers or by_salience,
        by_markers=by_markers,
        by_salience=by_salience,
        withdrawal=w,
        confrontation=c,
        frequency=w + c,
        peak_salience=peak,
    )


def coded_ruptures(
    codings: Iterable[SessionCoding], *, threshold: float | None = None
) -> dict[Hashable, CodedRupture]:
    """:func:`session_rupture` for every session, keyed by session id (ids must be unique)."""
    out: dict[Hashable, CodedRupture] = {}
    for coding in codings:
        if coding.session_id in out:
            raise ValueError(f"session {coding.session_id!r} appears twice")
        out[coding.session_id] = session_rupture(coding, threshold=threshold)
    return out


@dataclass(frozen=True)
class BinaryAgreement:
    """Coded rupture (yes/no) against one reporter's PSQ answer over the sessions with both.

    ``confusion`` is [[a, b], [c, d]]: rows coded yes / coded no, columns PSQ yes / PSQ no.
    ``excluded`` lists coded sessions without a PSQ answer; ``not_coded`` PSQ sessions
    missing from the codings.
    """

    reporter: str
    n: int
    confusion: np.ndarray
    percent_agreement: StatResult
    kappa: StatResult
    sensitivity: StatResult
    specificity: StatResult
    excluded: tuple[Hashable, ...] = ()
    not_coded: tuple[Hashable, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form with the confusion matrix and its totals."""
        t = self.confusion.astype(int)
        return {
            "reporter": self.reporter,
            "n": self.n,
            "confusion": {
                "rows": ["coded rupture", "no coded rupture"],
                "columns": ["PSQ rupture", "no PSQ rupture"],
                "cells": t.tolist(),
                "row_totals": t.sum(1).tolist(),
                "column_totals": t.sum(0).tolist(),
                "total": int(t.sum()),
            },
            "percent_agreement": self.percent_agreement.to_dict(),
            "kappa": self.kappa.to_dict(),
            "sensitivity": self.sensitivity.to_dict(),
            "specificity": self.specificity.to_dict(),
            "n_excluded": len(self.excluded),
            "excluded": list(self.excluded),
            "not_coded": list(self.not_coded),
        }


def _coded_flag(value: CodedRupture | bool) -> bool:
    return value.any_rupture if isinstance(value, CodedRupture) else bool(value)


def _psq_flag(answer: PsqAnswer | bool | None) -> bool | None:
    return answer.rupture if isinstance(answer, PsqAnswer) else answer


def psq_agreement(
    coded: Mapping[Hashable, CodedRupture | bool],
    psq: Mapping[Hashable, PsqAnswer | bool | None],
    *,
    reporter: str = "",
    conf: float = 0.95,
) -> BinaryAgreement:
    """Binary agreement of coded rupture with one reporter's PSQ answer (the reference).

    Sessions of ``coded`` whose PSQ answer is missing or None are excluded and listed.
    Sensitivity = a / (a + c) (PSQ yes sessions coded yes), specificity = d / (b + d),
    percent agreement = (a + d) / n, all with Wilson CIs; kappa as :func:`cohen_kappa_table`.
    """
    ids = list(coded)
    flags = np.fromiter((_coded_flag(coded[s]) for s in ids), dtype=bool, count=len(ids))
    answers = np.fromiter(
        (_answer_code(_psq_flag(psq.get(s))) for s in ids), dtype=np.int8, count=len(ids)
    )
    not_coded = tuple(s for s in psq if s not in coded and _psq_flag(psq[s]) is not None)
    return agreement_from_arrays(
        ids, flags, answers, reporter=reporter, conf=conf, not_coded=not_coded
    )


def _answer_code(answer: bool | None) -> int:
    return -1 if answer is None else int(bool(answer))


def agreement_from_arrays(
    ids: Sequence[Hashable],
    coded: np.ndarray,
    answers: np.ndarray,
    *,
    reporter: str = "",
    conf: float = 0.95,
    not_coded: Sequence[Hashable] = (),
) -> BinaryAgreement:
    """:func:`psq_agreement` on aligned arrays: coded rupture (bool) and the PSQ answer per
    session (1 yes, 0 no, -1 none, excluded). A report passes thousands of sessions so."""
    coded = np.asarray(coded, dtype=bool)
    answers = np.asarray(answers)
    answered = answers >= 0
    cell = np.where(coded, 0, 2) + np.where(answers == 1, 0, 1)
    table = np.bincount(cell[answered], minlength=4).reshape(2, 2).astype(int)
    excluded = tuple(ids[i] for i in np.flatnonzero(~answered).tolist())
    n = int(table.sum())
    (a, b), (c, d) = table.tolist()
    if n == 0:
        kappa = StatResult.undefined(NO_PSQ_ANSWER, n_units=0, n_coders=2)
    else:
        kappa = cohen_kappa_table(table, conf=conf)
    return BinaryAgreement(
        reporter=reporter,
        n=n,
        confusion=table,
        percent_agreement=wilson_proportion(a + d, n, conf, empty_reason=NO_PSQ_ANSWER),
        kappa=kappa,
        sensitivity=wilson_proportion(a, a + c, conf, empty_reason=NO_PSQ_YES),
        specificity=wilson_proportion(d, b + d, conf, empty_reason=NO_PSQ_NO),
        excluded=excluded,
        not_coded=tuple(not_coded),
    )


def spearman(x: Sequence[float], y: Sequence[float], *, conf: float = 0.95) -> StatResult:
    """Spearman's rank correlation with ties (average ranks) and a Fisher-z CI.

    r is Pearson's correlation of the average ranks. CI: tanh(atanh(r) +- z_q SE) with the
    Bonett & Wright (2000) SE sqrt((1 + r^2/2) / (n - 3)). ``details``: ``z`` = atanh(r),
    ``se_z``, and ``p`` from t = r sqrt((n - 2) / (1 - r^2)) on n - 2 df (as scipy's
    ``spearmanr``). Undefined for n < 4 or when either variable is constant.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError("x and y must be 1-D sequences of the same length")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError("x and y must be finite: drop sessions without a value first")
    n = int(xa.size)
    if n < SPEARMAN_MIN_N:
        return StatResult.undefined(f"{TOO_FEW} (n = {n})", n_units=n)
    rx, ry = stats.rankdata(xa), stats.rankdata(ya)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    constant = [name for name, s in (("the coded measure", sxx), ("the PSQ rating", syy)) if s == 0]
    if constant:
        return StatResult.undefined(
            f"{' and '.join(constant)} is constant across the sessions: no rank correlation",
            n_units=n,
        )
    r = float(np.clip((dx @ dy) / math.sqrt(sxx * syy), -1.0, 1.0))
    if abs(r) == 1.0:
        return StatResult(
            value=r, note=PERFECT_RANKS, n_units=n, details={"p": 0.0}, unstable=instability(n)[0]
        )
    se_z = math.sqrt((1 + r * r / 2) / (n - 3))
    zq = z_quantile(conf)
    fz = math.atanh(r)
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return StatResult(
        value=r,
        ci=(math.tanh(fz - zq * se_z), math.tanh(fz + zq * se_z)),
        n_units=n,
        ci_method=SPEARMAN_METHOD,
        details={"z": fz, "se_z": se_z, "p": float(2 * stats.t.sf(abs(t), n - 2))},
        unstable=instability(n)[0],
    )


@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's r between a coded measure and one reporter's PSQ intensity.

    ``excluded`` maps a reason ("no PSQ intensity", "no salience rated") to session ids.
    """

    reporter: str
    measure: Measure
    result: StatResult
    excluded: Mapping[str, tuple[Hashable, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "reporter": self.reporter,
            "measure": self.measure,
            **self.result.to_dict(),
            "excluded": {k: list(v) for k, v in self.excluded.items()},
        }


def psq_intensity_correlation(
    coded: Mapping[Hashable, CodedRupture],
    psq: Mapping[Hashable, PsqAnswer],
    *,
    measure: Measure = "frequency",
    reporter: str = "",
    no_rupture_as_zero: bool = False,
    conf: float = 0.95,
) -> RankCorrelation:
    """Spearman's r of coded frequency or peak salience against the PSQ intensity rating.

    Sessions enter with an intensity rating; with ``no_rupture_as_zero`` a PSQ "no" answer
    without a rating counts as intensity 0 (the PSQ asks for intensity only after a "yes").
    For ``peak_salience`` sessions with no rated segment are excluded too.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    ids = list(coded)
    values = np.array(
        [
            np.nan
            if (v := (row.frequency if measure == "frequency" else row.peak_salience)) is None
            else float(v)
            for row in coded.values()
        ],
        dtype=float,
    )
    answers = [psq.get(s) for s in ids]
    intensity = np.array(
        [np.nan if a is None or a.intensity is None else float(a.intensity) for a in answers],
        dtype=float,
    )
    rupture = np.array(
        [_answer_code(None if a is None else a.rupture) for a in answers], dtype=np.int8
    )
    return correlation_from_arrays(
        ids,
        values,
        intensity,
        rupture,
        measure=measure,
        reporter=reporter,
        no_rupture_as_zero=no_rupture_as_zero,
        conf=conf,
    )


def correlation_from_arrays(
    ids: Sequence[Hashable],
    values: np.ndarray,
    intensity: np.ndarray,
    rupture: np.ndarray,
    *,
    measure: Measure = "frequency",
    reporter: str = "",
    no_rupture_as_zero: bool = False,
    conf: float = 0.95,
) -> RankCorrelation:
    """:func:`psq_intensity_correlation` on aligned arrays: the coded measure (NaN: no
    salience rated), the PSQ intensity (NaN: none) and answer (1 yes, 0 no, -1 none)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    values = np.asarray(values, dtype=float)
    level = np.asarray(intensity, dtype=float).copy()
    if no_rupture_as_zero:
        level[np.isnan(level) & (np.asarray(rupture) == 0)] = 0.0
    no_level = np.isnan(level)
    no_value = ~no_level & np.isnan(values)
    keep = ~no_level & ~no_value
    excluded = {"no PSQ intensity": tuple(ids[i] for i in np.flatnonzero(no_level).tolist())}
    if measure == "peak_salience":
        excluded["no salience rated"] = tuple(ids[i] for i in np.flatnonzero(no_value).tolist())
    return RankCorrelation(
        reporter=reporter,
        measure=measure,
        result=spearman(values[keep], level[keep], conf=conf),
        excluded=excluded,
    )


@dataclass(frozen=True)
class PsqComparison:
    """Everything of the PSQ comparison for one coder: sessions, agreement, correlations."""

    threshold: float | None
    sessions: Mapping[Hashable, CodedRupture]
    agreement: Mapping[str, BinaryAgreement]
    correlation: Mapping[str, Mapping[str, RankCorrelation]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: per reporter agreement and per reporter and measure correlation."""
        return {
            "threshold": self.threshold,
            "sessions": [r.to_dict() for r in self.sessions.values()],
            "agreement": {k: v.to_dict() for k, v in self.agreement.items()},
            "correlation": {
                k: {m: c.to_dict() for m, c in v.items()} for k, v in self.correlation.items()
            },
        }


def psq_comparison(
    codings: Iterable[SessionCoding],
    psq: Mapping[str, Mapping[Hashable, PsqAnswer]],
    *,
    threshold: float | None = None,
    no_rupture_as_zero: bool = False,
    conf: float = 0.95,
) -> PsqComparison:
    """Coded ruptures against each reporter's PSQ (``psq``: reporter -> session -> answer).

    Runs :func:`coded_ruptures`, then :func:`psq_agreement` and, for both measures,
    :func:`psq_intensity_correlation` per reporter (usually "patient" and "therapist").
    """
    sessions = coded_ruptures(codings, threshold=threshold)
    agreement = {
        who: psq_agreement(sessions, answers, reporter=who, conf=conf)
        for who, answers in psq.items()
    }
    correlation = {
        who: {
            m: psq_intensity_correlation(
                sessions,
                answers,
                measure=m,
                reporter=who,
                no_rupture_as_zero=no_rupture_as_zero,
                conf=conf,
            )
            for m in MEASURES
        }
        for who, answers in psq.items()
    }
    return PsqComparison(
        threshold=threshold, sessions=sessions, agreement=agreement, correlation=correlation
    )


@dataclass(frozen=True)
class RuptureArrays:
    """Many codings' rupture coding as aligned arrays, one entry per coding.

    ``peak`` is the peak segment salience (NaN: no segment rated); ``ids`` name the entries
    (session ids, or (coder, session) pairs when coders are pooled).
    """

    ids: Sequence[Hashable]
    withdrawal: np.ndarray
    confrontation: np.ndarray
    peak: np.ndarray

    def any_rupture(self, threshold: float | None) -> np.ndarray:
        """:func:`session_rupture`'s rule: a marker coded, or a peak at or above threshold."""
        markers = (np.asarray(self.withdrawal) + np.asarray(self.confrontation)) > 0
        if threshold is None:
            return markers
        with np.errstate(invalid="ignore"):
            return markers | (np.asarray(self.peak, dtype=float) >= threshold)


@dataclass(frozen=True)
class PsqArrays:
    """One reporter's PSQ answers aligned with a :class:`RuptureArrays`: the answer (1 yes,
    0 no, -1 none) and intensity (NaN: none), and the answered sessions nobody here coded."""

    rupture: np.ndarray
    intensity: np.ndarray
    not_coded: Sequence[Hashable] = ()


def psq_comparison_arrays(
    codings: RuptureArrays,
    psq: Mapping[str, PsqArrays],
    *,
    threshold: float | None = None,
    no_rupture_as_zero: bool = False,
    conf: float = 0.95,
) -> PsqComparison:
    """:func:`psq_comparison` on arrays, for reports over thousands of codings.

    The same formulas through the same array cores; ``sessions`` (the per-session rows) is
    left empty, since a report stores the statistics, not one row per coding.
    """
    if (np.asarray(codings.withdrawal) < 0).any() or (np.asarray(codings.confrontation) < 0).any():
        raise ValueError("marker counts must be non-negative")
    flags = codings.any_rupture(threshold)
    frequency = (np.asarray(codings.withdrawal) + np.asarray(codings.confrontation)).astype(float)
    agreement = {
        who: agreement_from_arrays(
            codings.ids,
            flags,
            answers.rupture,
            reporter=who,
            conf=conf,
            not_coded=answers.not_coded,
        )
        for who, answers in psq.items()
    }
    correlation = {
        who: {
            m: correlation_from_arrays(
                codings.ids,
                frequency if m == "frequency" else codings.peak,
                answers.intensity,
                answers.rupture,
                measure=m,
                reporter=who,
                no_rupture_as_zero=no_rupture_as_zero,
                conf=conf,
            )
            for m in MEASURES
        }
        for who, answers in psq.items()
    }
    return PsqComparison(
        threshold=threshold, sessions={}, agreement=agreement, correlation=correlation
    )
