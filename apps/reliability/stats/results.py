"""Result types shared by every statistic: undefined-aware and JSON-safe.

A coefficient that cannot be computed (one category only, no pairable units, zero variance)
is returned with ``value=None`` and a ``note`` giving the reason; it is never NaN in JSON and
never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

UNDEFINED = "undefined"

# Below this many units an estimate is flagged ``unstable`` (docs/statistics.md, "Bounds and
# the instability flag"): one rule for every coefficient, so the flag means one thing.
MIN_UNITS = 30
CLIPPED = "the interval reached outside the coefficient's range [{lo:g}, {hi:g}] and was bounded"
ZERO_SE = "the standard error is 0, so a large-sample interval has no width and is not shown"


def small_sample(n: int | float | None) -> str:
    """The instability reason for an estimate from ``n`` units."""
    return (
        f"n = {int(n or 0)} units is below {MIN_UNITS}: the estimate and its interval are unstable"
    )


def bound_interval(
    low: Any, high: Any, lower: float, upper: float, value: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bound an interval to the coefficient's range [lower, upper], keeping its method.

    An estimate outside the range (an average-measure ICC far below -1, say) stays inside its
    own interval: the bound never cuts past the estimate. Returns the bounded ends and a mask
    of the entries whose interval reached outside. NaN ends stay NaN (and are not counted).
    """
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    floor = np.full(np.broadcast(lo, hi).shape, lower, dtype=float)
    ceil = np.full(floor.shape, upper, dtype=float)
    if value is not None:
        v = np.broadcast_to(np.asarray(value, dtype=float), floor.shape)
        finite = np.isfinite(v)
        floor = np.where(finite, np.minimum(floor, v), floor)
        ceil = np.where(finite, np.maximum(ceil, v), ceil)
    with np.errstate(invalid="ignore"):
        clipped = (lo < floor) | (hi > ceil)
    return np.clip(lo, floor, ceil), np.clip(hi, floor, ceil), clipped


def instability(
    n_units: Any, clipped: Any = False, *, lower: float = -1.0, upper: float = 1.0
) -> tuple[str | None, ...]:
    """One instability reason (or None) per entry: too few units, or a bounded interval."""
    if isinstance(n_units, int | float) and isinstance(clipped, bool):
        # One scalar estimate (a proportion, a kappa): the same words without array set-up,
        # since reports ask this for every one of their hundreds of proportions.
        parts = [small_sample(n_units)] if float(n_units) < MIN_UNITS else []
        if clipped:
            parts.append(CLIPPED.format(lo=lower, hi=upper))
        return ("; ".join(parts) or None,)
    n = np.atleast_1d(np.asarray(n_units, dtype=float))
    c = np.broadcast_to(np.asarray(clipped, dtype=bool), n.shape)
    out: list[str | None] = []
    for ni, ci in zip(n.tolist(), c.tolist(), strict=True):
        parts = [small_sample(ni)] if ni < MIN_UNITS else []
        if ci:
            parts.append(CLIPPED.format(lo=lower, hi=upper))
        out.append("; ".join(parts) or None)
    return tuple(out)


def clean_float(x: Any) -> float | None:
    """Return ``x`` as a finite float, or None when it is missing, NaN or infinite."""
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def clean_ci(low: Any, high: Any) -> tuple[float, float] | None:
    """Return a (low, high) pair of finite floats, or None if either bound is not finite."""
    lo, hi = clean_float(low), clean_float(high)
    if lo is None or hi is None:
        return None
    return (lo, hi)


@dataclass(frozen=True)
class StatResult:
    """One coefficient with its standard error, confidence interval and provenance.

    ``details`` holds further numbers (``pa``, ``pe``, ``z``, ``p``, ``se0``, ``F`` ...), all
    finite floats or None. ``ci_method`` says how the interval was made, e.g.
    ``"wald-z"``, ``"t(n-1)"``, ``"F"``, ``"bootstrap-percentile"``. ``unstable`` is None or
    the reason the estimate should not be trusted (fewer than :data:`MIN_UNITS` units, or an
    interval that had to be bounded to the coefficient's range).
    """

    value: float | None
    se: float | None = None
    ci: tuple[float, float] | None = None
    note: str | None = None
    n_units: int | None = None
    n_coders: int | None = None
    ci_method: str | None = None
    details: Mapping[str, float | None] = field(default_factory=dict)
    unstable: str | None = None

    def __post_init__(self) -> None:
        # Sanitise once here so that every producer may pass raw numpy scalars or NaN.
        value = clean_float(self.value)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "se", clean_float(self.se) if value is not None else None)
        ci = clean_ci(*self.ci) if self.ci is not None and value is not None else None
        object.__setattr__(self, "ci", ci)
        if ci is None:
            object.__setattr__(self, "ci_method", None)
        clean = {k: clean_float(v) for k, v in dict(self.details).items()}
        object.__setattr__(self, "details", clean)
        if value is None and not self.note:
            object.__setattr__(self, "note", UNDEFINED)
        if value is None:
            object.__setattr__(self, "unstable", None)
        for name in ("n_units", "n_coders"):
            n = getattr(self, name)
            object.__setattr__(self, name, None if n is None else int(n))

    @classmethod
    def undefined(cls, reason: str, **kwargs: Any) -> StatResult:
        """Build a result whose value is undefined for the stated reason."""
        return cls(value=None, note=reason, **kwargs)

    @property
    def defined(self) -> bool:
        """True when the coefficient has a value."""
        return self.value is not None

    def with_ci(
        self, ci: tuple[float, float] | None, method: str, note: str | None = None
    ) -> StatResult:
        """Return a copy carrying another confidence interval (e.g. a bootstrap one)."""
        merged = _join_notes(self.note, note)
        return StatResult(
            value=self.value,
            se=self.se,
            ci=ci,
            note=merged,
            n_units=self.n_units,
            n_coders=self.n_coders,
            ci_method=method,
            details=self.details,
            unstable=self.unstable,
        )

    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        """Return a JSON-safe dict: value, se, ci, note, ci_method, n and the details."""
        out: dict[str, Any] = {
            "value": self.value,
            "se": self.se,
            "ci": list(self.ci) if self.ci is not None else None,
            "note": self.note,
            "ci_method": self.ci_method,
            "n_units": self.n_units,
            "n_coders": self.n_coders,
            "unstable": self.unstable,
        }
        if details:
            out.update(self.details)
        return out


def _join_notes(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(parts) if parts else None


@dataclass(frozen=True)
class ItemResults:
    """One coefficient for many items (markers) at once, as parallel arrays.

    Undefined entries hold NaN in the arrays and a reason in ``notes``; indexing with ``[i]``
    gives the JSON-safe :class:`StatResult` for item ``i``.
    """

    value: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    notes: tuple[str | None, ...]
    n_units: np.ndarray
    n_coders: int | None = None
    ci_method: str | None = None
    details: Mapping[str, np.ndarray] = field(default_factory=dict)
    unstable: tuple[str | None, ...] | None = None

    def __len__(self) -> int:
        return int(self.value.shape[0])

    def __getitem__(self, i: int) -> StatResult:
        return StatResult(
            value=self.value[i],
            se=self.se[i],
            ci=(self.ci_low[i], self.ci_high[i]),
            note=self.notes[i],
            n_units=int(self.n_units[i]),
            n_coders=self.n_coders,
            ci_method=self.ci_method,
            details={k: v[i] for k, v in self.details.items()},
            unstable=None if self.unstable is None else self.unstable[i],
        )

    def to_list(self) -> list[dict[str, Any]]:
        """Return one JSON-safe dict per item."""
        return [self[i].to_dict() for i in range(len(self))]


def notes_from_reasons(n: int, reasons: list[tuple[np.ndarray, str]]) -> tuple[str | None, ...]:
    """Turn boolean masks with reasons into one note per item (the first matching reason wins)."""
    notes = np.full(n, None, dtype=object)
    for mask, reason in reversed(reasons):
        notes[np.broadcast_to(mask, (n,))] = reason
    return tuple(notes.tolist())


def item_results(
    value: np.ndarray,
    *,
    se: np.ndarray | None = None,
    ci_low: np.ndarray | None = None,
    ci_high: np.ndarray | None = None,
    reasons: list[tuple[np.ndarray, str]] | None = None,
    remarks: list[tuple[np.ndarray, str]] | None = None,
    n_units: np.ndarray | None = None,
    n_coders: int | None = None,
    ci_method: str | None = None,
    details: Mapping[str, np.ndarray] | None = None,
    unstable: tuple[str | None, ...] | None = None,
) -> ItemResults:
    """Assemble an :class:`ItemResults`, masking values whose reason applies.

    ``remarks`` are notes for defined values (e.g. why a CI is missing); they never mask.
    """
    value = np.atleast_1d(np.asarray(value, dtype=float)).copy()
    n = value.shape[0]

    def arr(x: np.ndarray | None) -> np.ndarray:
        return (
            np.full(n, np.nan) if x is None else np.broadcast_to(np.asarray(x, float), (n,)).copy()
        )

    reasons = reasons or []
    bad = np.zeros(n, dtype=bool)
    for mask, _ in reasons:
        bad |= np.broadcast_to(mask, (n,))
    bad |= ~np.isfinite(value)
    value[bad] = np.nan
    notes = list(notes_from_reasons(n, reasons))
    notes = [nt if (nt or not b) else UNDEFINED for nt, b in zip(notes, bad, strict=True)]
    if remarks:
        extra = notes_from_reasons(n, remarks)
        notes = [nt if b else (ex or nt) for nt, ex, b in zip(notes, extra, bad, strict=True)]
    return ItemResults(
        value=value,
        se=arr(se),
        ci_low=arr(ci_low),
        ci_high=arr(ci_high),
        notes=tuple(notes),
        n_units=np.zeros(n, int) if n_units is None else np.broadcast_to(n_units, (n,)).astype(int),
        n_coders=n_coders,
        ci_method=ci_method,
        details={k: arr(v) for k, v in (details or {}).items()},
        unstable=unstable,
    )
