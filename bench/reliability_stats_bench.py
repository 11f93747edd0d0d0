"""Benchmark: the vectorised agreement battery against per-marker library calls.

Builds a seeded synthetic PACS-sized study (2,000 sessions x 150 patient turns x 3 coders x
59 binary markers, ~53M judgements), then times

- ours: one ``agreement_battery`` call (percent agreement, Fleiss, alpha, AC1, Brennan-
  Prediger/PABAK, Light's kappa, prevalence and bias, all with SEs where they exist);
- libraries: per marker, ``krippendorff.alpha`` (nominal), statsmodels ``aggregate_raters`` +
  ``fleiss_kappa``, and statsmodels ``to_table`` + ``cohens_kappa`` for the three coder pairs;

and prints the speed ratio, the largest absolute difference of equal quantities, and peak
memory of each side (tracemalloc; numpy reports its buffers to it).

Run: ``.venv/bin/python bench/reliability_stats_bench.py [--sessions 2000] [--turns 150]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.reliability.stats import agreement_battery  # noqa: E402


def synthetic_codes(sessions: int, turns: int, coders: int, markers: int, seed: int) -> np.ndarray:
    """Binary marker codes (markers, units, coders): a latent truth seen through noisy coders."""
    rng = np.random.default_rng(seed)
    units = sessions * turns
    prevalence = rng.uniform(0.005, 0.25, size=(markers, 1))
    codes = np.empty((markers, units, coders), dtype=np.int8)
    for m in range(markers):  # generation only; bounded memory per marker
        truth = rng.random(units) < prevalence[m]
        sens = rng.uniform(0.6, 0.95, size=coders)
        fpr = rng.uniform(0.002, 0.03, size=coders)
        u = rng.random((units, coders))
        codes[m] = np.where(truth[:, None], u < sens, u < fpr)
    return codes


def library_battery(codes: np.ndarray) -> dict[str, np.ndarray]:
    """The same quantities from krippendorff and statsmodels, one call per marker."""
    import krippendorff
    from statsmodels.stats import inter_rater

    markers, _, coders = codes.shape
    alpha = np.empty(markers)
    fleiss = np.empty(markers)
    light = np.empty(markers)
    pairs = [(a, b) for a in range(coders) for b in range(a + 1, coders)]
    for m in range(markers):
        x = codes[m]
        alpha[m] = krippendorff.alpha(
            reliability_data=x.T, level_of_measurement="nominal", value_domain=[0, 1]
        )
        fleiss[m] = inter_rater.fleiss_kappa(inter_rater.aggregate_raters(x, n_cat=2)[0])
        light[m] = np.mean(
            [
                inter_rater.cohens_kappa(inter_rater.to_table(x[:, [a, b]], bins=2)[0]).kappa
                for a, b in pairs
            ]
        )
    return {"krippendorff_alpha": alpha, "fleiss_kappa": fleiss, "light_kappa": light}


def measure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """Run fn once, returning (result, seconds, peak traced MB)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--coders", type=int, default=3)
    parser.add_argument("--markers", type=int, default=59)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--bootstrap", type=int, default=0, help="also time a cluster bootstrap")
    args = parser.parse_args()

    codes = synthetic_codes(args.sessions, args.turns, args.coders, args.markers, args.seed)
    n = codes.size
    print(
        f"data: {args.markers} markers x {args.sessions * args.turns:,} turns x {args.coders} coders "
        f"= {n:,} judgements ({codes.nbytes / 2**20:.0f} MB int8)"
    )

    ours, t_ours, mem_ours = measure(agreement_battery, codes)
    print(
        f"ours (vectorised battery, {len(ours)} statistics): {t_ours:.3f} s, peak {mem_ours:.1f} MB"
    )
    libs, t_libs, mem_libs = measure(library_battery, codes)
    print(
        f"libraries (per marker: alpha, fleiss, 3x cohen): {t_libs:.3f} s, peak {mem_libs:.1f} MB"
    )
    print(f"speed-up: {t_libs / t_ours:.1f}x")
    worst = 0.0
    for name, ref in libs.items():
        diff = float(np.nanmax(np.abs(ours[name].value - ref)))
        worst = max(worst, diff)
        print(f"  max |ours - library| {name}: {diff:.2e}")
    print(f"largest absolute difference: {worst:.2e}")

    if args.bootstrap:
        sessions = np.repeat(np.arange(args.sessions), args.turns)
        _, t_boot, mem_boot = measure(
            agreement_battery, codes, clusters=sessions, n_boot=args.bootstrap, seed=1
        )
        print(
            f"ours + cluster bootstrap B={args.bootstrap}: {t_boot:.3f} s, peak {mem_boot:.1f} MB"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS: {rss:.0f} MB (includes the {codes.nbytes / 2**20:.0f} MB input)")


if __name__ == "__main__":
    main()
