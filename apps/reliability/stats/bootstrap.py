"""Seeded percentile bootstrap over units or over clusters (sessions).

Resampling n units with replacement is the same as giving each unit a multinomial(n, 1/n)
count; every counts-based core here takes such per-unit frequency weights, so a batch of
replicates is one vectorised call instead of B re-computations. Cluster resampling draws
sessions with replacement and gives each unit its session's count (turns within a session
are not independent, so the session is the resampling unit; Davison & Hinkley 1997, 3.8).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_BATCH = 256


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile interval with the replicates it came from."""

    ci: tuple[float, float] | None
    n_boot: int
    n_valid: int
    seed: int | None
    level: float
    over: str

    @property
    def method(self) -> str:
        """How the interval was made, for the result's ``ci_method``."""
        return (
            f"percentile bootstrap over {self.over} (B={self.n_boot}, seed={self.seed}, "
            f"{self.n_valid} defined replicates)"
        )


def resample_weights(
    n_units: int,
    n_boot: int,
    rng: np.random.Generator,
    clusters: np.ndarray | None = None,
) -> np.ndarray:
    """Draw (n_boot, n_units) bootstrap frequency weights over units or clusters."""
    if clusters is None:
        if n_units == 0:
            return np.zeros((n_boot, 0))
        return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(float)
    labels, index = np.unique(np.asarray(clusters), return_inverse=True)
    c = labels.shape[0]
    cw = rng.multinomial(c, np.full(c, 1.0 / c), size=n_boot).astype(float)
    return cw[:, index]


def cluster_weights(
    clusters: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (n_boot, n_clusters) weights; also return each unit's cluster index."""
    labels, index = np.unique(np.asarray(clusters), return_inverse=True)
    c = labels.shape[0]
    return rng.multinomial(c, np.full(c, 1.0 / c), size=n_boot).astype(float), index


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile bounds over axis 0 ignoring undefined (NaN) replicates; returns lo, hi, n_valid."""
    reps = np.asarray(replicates, dtype=float)
    n_valid = np.isfinite(reps).sum(0)
    tail = (1.0 - level) / 2.0
    # All-NaN columns (a statistic undefined in every replicate) are expected and counted.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(reps, tail, axis=0)
        hi = np.nanquantile(reps, 1.0 - tail, axis=0)
    return lo, hi, n_valid


def bootstrap_replicates(
    statistic: Callable[[np.ndarray], np.ndarray],
    n_units: int,
    *,
    n_boot: int,
    seed: int | None,
    clusters: np.ndarray | None = None,
    batch: int = DEFAULT_BATCH,
) -> np.ndarray:
    """Evaluate ``statistic(weights)`` on seeded bootstrap weights, in batches of replicates.

    ``statistic`` maps (b, n_units) weights to (b,) or (b, ...) values (NaN when undefined).
    """
    rng = np.random.default_rng(seed)
    chunks = []
    done = 0
    while done < n_boot:
        b = min(batch, n_boot - done)
        chunks.append(np.asarray(statistic(resample_weights(n_units, b, rng, clusters)), float))
        done += b
    return np.concatenate(chunks, axis=0) if chunks else np.zeros((0,))


def bootstrap_ci(
    statistic: Callable[[np.ndarray], np.ndarray],
    n_units: int,
    *,
    n_boot: int,
    seed: int | None,
    clusters: np.ndarray | None = None,
    level: float = 0.95,
    batch: int = DEFAULT_BATCH,
) -> BootstrapCI:
    """Percentile bootstrap CI of a scalar statistic of frequency weights, reproducible by seed."""
    reps = bootstrap_replicates(
        statistic, n_units, n_boot=n_boot, seed=seed, clusters=clusters, batch=batch
    ).reshape(n_boot, -1)[:, 0]
    lo, hi, n_valid = percentile_interval(reps, level)
    ci = (float(lo), float(hi)) if n_valid > 0 and np.isfinite(lo) and np.isfinite(hi) else None
    return BootstrapCI(
        ci=ci,
        n_boot=n_boot,
        n_valid=int(n_valid),
        seed=seed,
        level=level,
        over="units" if clusters is None else "clusters",
    )
