"""The agreement battery for every marker of a coding system in one vectorised call.

Input: codes shaped (n_items, n_units, n_coders), category indices 0..q-1 (0/1 for marker
absence/presence), -1 or NaN for missing. Each unit is reduced to its *count pattern* (how
many coders chose each category), encoded as one integer; a histogram of patterns per item
(and per cluster, for the bootstrap) is all the count-based coefficients need, and each
coder pair's q x q table is all the pairwise ones need. So the work is a few passes over the
int8 codes plus arithmetic on (items x patterns) arrays: 59 markers x 300,000 turns x 3 coders
take well under a second and a few tens of MB, with no loop over units or markers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .agreement import indices_core
from .alpha import NO_PAIRABLE, NO_VARIATION, alpha_core
from .bootstrap import cluster_weights, percentile_interval
from .gwet import CI_METHOD, NO_PAIRS, ONE_CATEGORY, TOO_FEW_UNITS, gwet_core
from .kappa import CONSTANT_CODER, WALD_METHOD, cohen_core, wald_ci
from .results import ZERO_SE, ItemResults, instability, item_results

MAX_PATTERNS = 1 << 16
CHUNK_ELEMENTS = 1 << 22  # codes per pass: bounds temporaries to ~32 MB
BOOTSTRAPPABLE = ("krippendorff_alpha", "prevalence_index", "bias_index", "prevalence")


@dataclass(frozen=True)
class Histograms:
    """Per-item unit-pattern frequencies and coder-pair tables, optionally per cluster.

    ``patterns``: (P, q) category counts of each pattern; ``freq``: (I, [C,] P);
    ``pairs``: {(a, b): (I, [C,] q, q)} tables of coder a (rows) against coder b.
    """

    patterns: np.ndarray
    freq: np.ndarray
    pairs: dict[tuple[int, int], np.ndarray]
    n_categories: int
    n_coders: int


def as_codes(codes: Any, n_categories: int | None = None) -> tuple[np.ndarray, int]:
    """Validate codes and return them as int8 with -1 for missing, plus the category count."""
    arr = np.asarray(codes)
    if arr.ndim != 3:
        raise ValueError(f"codes must be (items, units, coders), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        arr = np.where(np.isnan(arr), -1, arr)
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError("codes must be whole numbers (category indices)")
    if arr.dtype != np.int8:
        arr = arr.astype(np.int8)
    arr = np.where(arr < 0, np.int8(-1), arr) if (arr < -1).any() else arr
    q = int(arr.max()) + 1 if n_categories is None else int(n_categories)
    if q < 1:
        q = 2  # all missing: keep the binary shape so results are "undefined", not errors
    if int(arr.max()) >= q:
        raise ValueError(f"codes must be < n_categories={q}")
    return arr, q


def histograms(
    codes: np.ndarray, n_categories: int, clusters: np.ndarray | None = None
) -> Histograms:
    """Reduce (I, U, r) int8 codes to unit-pattern histograms and pair tables.

    A unit's pattern is its tuple of codes, sum_g (code_g + 1) (q + 1)^g, computed in the
    narrowest integer type; one bincount per chunk of items gives the pattern frequencies,
    from which category counts and every coder pair's table follow by small matrix products.
    """
    n_items, n_units, r = codes.shape
    q = n_categories
    base = q + 1
    n_pat = base**r
    if n_pat > MAX_PATTERNS:
        raise ValueError(
            f"{q} categories and {r} coders give {n_pat} code patterns (max {MAX_PATTERNS}); "
            "use the single-item functions for this design"
        )
    if clusters is None:
        cl_index, n_cl = None, 1
    else:
        _, cl_index = np.unique(np.asarray(clusters), return_inverse=True)
        n_cl = int(cl_index.max()) + 1 if n_units else 1
    small = np.uint8 if n_pat <= 256 else np.uint16
    freq = np.zeros((n_items, n_cl * n_pat))
    step = max(1, CHUNK_ELEMENTS // max(n_units * r, 1))
    for i0 in range(0, n_items, step):  # chunks bound memory; each chunk is fully vectorised
        block = codes[i0 : i0 + step]
        ni = block.shape[0]
        tup = np.zeros(block.shape[:2], dtype=small)
        for g in range(r):  # coders are few; units and items are vectorised
            tup += (block[..., g] + 1).astype(small) * small(base**g)
        idx = tup.astype(np.intp)
        if cl_index is not None:
            idx += cl_index[None, :] * n_pat
        idx += (np.arange(ni, dtype=np.intp) * (n_cl * n_pat))[:, None]
        freq[i0 : i0 + ni] = np.bincount(idx.ravel(), minlength=ni * n_cl * n_pat).reshape(ni, -1)
    freq = freq.reshape(n_items, n_cl, n_pat)
    digits = (np.arange(n_pat)[:, None] // base ** np.arange(r)[None, :]) % base - 1  # (P, r)
    patterns = (digits[..., None] == np.arange(q)).sum(1).astype(float)  # (P, q) counts
    tables = {}
    for a in range(r):
        for b in range(a + 1, r):
            both = (digits[:, a] >= 0) & (digits[:, b] >= 0)
            cell = np.where(both, digits[:, a] * q + digits[:, b], 0)
            onehot = np.zeros((n_pat, q * q))
            onehot[np.arange(n_pat)[both], cell[both]] = 1.0
            tables[(a, b)] = (freq @ onehot).reshape(n_items, n_cl, q, q)
    if clusters is None:
        freq = freq[:, 0]
        tables = {k: v[:, 0] for k, v in tables.items()}
    return Histograms(patterns=patterns, freq=freq, pairs=tables, n_categories=q, n_coders=r)


def _values(
    h: Histograms,
    freq: np.ndarray,
    pairs: dict[tuple[int, int], np.ndarray],
    conf: float = 0.95,
) -> dict[str, dict[str, np.ndarray]]:
    """Every battery statistic for pattern frequencies ``freq`` (..., I, P); arrays over (..., I)."""
    q, r = h.n_categories, h.n_coders
    eye = np.eye(q)
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, kind in (
        ("percent_agreement", "pa"),
        ("fleiss_kappa", "fleiss"),
        ("gwet_ac1", "ac"),
        ("brennan_prediger", "bp"),
    ):
        out[name] = gwet_core(h.patterns, eye, kind, freq=freq, conf=conf)
    out["krippendorff_alpha"] = alpha_core(h.patterns, level="nominal", freq=freq)
    tables = np.stack([pairs[k] for k in sorted(pairs)], axis=-3) if pairs else None
    if tables is not None:
        ck = cohen_core(tables, eye)  # (..., I, n_pairs)
        if r == 2:
            out["cohen_kappa"] = {k: v[..., 0] for k, v in ck.items()}
        else:
            out["light_kappa"] = {
                "kappa": ck["kappa"].mean(-1),
                "n": ck["n"].min(-1),
                "bad": np.isnan(ck["kappa"]).any(-1),
            }
        if q == 2 and r == 2:
            cells = np.eye(2)[[0, 0, 1, 1]] + np.eye(2)[[0, 1, 0, 1]]  # patterns of (a, b) cells
            flat = tables[..., 0, :, :].reshape(*tables.shape[:-3], 4)
            out["pabak"] = gwet_core(cells, eye, "bp", freq=flat, conf=conf)
        if q == 2:
            ind = indices_core(tables)
            bias = ind["bias_index"][..., 0] if r == 2 else np.abs(ind["bias_index"]).mean(-1)
            out["indices"] = {
                "prevalence_index": ind["prevalence_index"].mean(-1),
                "bias_index": bias,
                "n": ind["n"].min(-1),
            }
    if q == 2:
        tot = (freq * h.patterns.sum(-1)).sum(-1)
        present = (freq * h.patterns[:, 1]).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["prevalence"] = {
                "value": np.where(tot > 0, present / np.where(tot > 0, tot, 1), np.nan),
                "n": tot,
            }
    return out


def _fleiss_null(h: Histograms, freq: np.ndarray, value: np.ndarray) -> dict[str, np.ndarray]:
    """Fleiss-Nee-Landis null SE, z and p per item where every rated unit has the same m."""
    from scipy import stats

    m_pat = h.patterns.sum(-1)
    used = (freq > 0) & (m_pat >= 1)
    m_max = np.where(used, m_pat, 0).max(-1)
    m_min = np.where(used, m_pat, np.inf).min(-1)
    const = (m_max == m_min) & (m_max >= 2)
    f = freq * (m_pat >= 1)
    n = f.sum(-1)
    m = np.where(const, m_max, 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pj = (f @ h.patterns) / (n * m)[..., None]
        pq = pj * (1 - pj)
        s = pq.sum(-1)
        var = 2.0 / (s**2 * n * m * (m - 1)) * (s**2 - (pq * (1 - 2 * pj)).sum(-1))
        se0 = np.where(const & (var > 0), np.sqrt(np.abs(var)), np.nan)
        z = value / se0
    return {"se0": se0, "z": z, "p": 2 * stats.norm.sf(np.abs(z))}


def agreement_battery(
    codes: Any,
    *,
    n_categories: int | None = None,
    clusters: np.ndarray | None = None,
    n_boot: int = 0,
    seed: int | None = None,
    conf: float = 0.95,
    bootstrap_all: bool = False,
) -> dict[str, ItemResults]:
    """Compute the agreement battery for every item (marker) at once.

    Always: percent_agreement, fleiss_kappa, krippendorff_alpha (nominal), gwet_ac1,
    brennan_prediger (Gwet SEs, t CIs; Fleiss also FNL z/p). Two coders: cohen_kappa (FCE
    SEs, Wald CI, z/p). More coders: light_kappa (mean pairwise Cohen). Two categories: pabak
    (= Brennan-Prediger with q=2), prevalence_index and bias_index (Byrt; with more than two
    coders PI is the mean over coder pairs and BI the mean |BI| over pairs) and prevalence
    (share of judgements in category 1, "present").

    With ``n_boot`` > 0 and ``clusters`` (e.g. the session of each unit), percentile
    bootstrap CIs over clusters are added to the statistics without an analytic CI (or to all
    with ``bootstrap_all``); without clusters each unit is its own cluster.
    """
    arr, q = as_codes(codes, n_categories)
    n_items, n_units, r = arr.shape
    over = "clusters"
    if n_boot and clusters is None:
        if n_items * n_units * (q + 1) ** r > 5e7:
            raise ValueError("too many units to bootstrap one by one: pass clusters (sessions)")
        clusters, over = np.arange(n_units), "units"
    h = histograms(arr, q, clusters)
    total = h.freq.sum(-2) if clusters is not None else h.freq
    pairs = {k: (v.sum(-3) if clusters is not None else v) for k, v in h.pairs.items()}
    vals = _values(h, total, pairs, conf)
    res = _assemble(vals, h, total, r, q, conf)
    if n_boot:
        res = _bootstrap(res, h, n_boot, seed, conf, bootstrap_all, over)
    return res


def _gwet_items(o: dict[str, np.ndarray], r: int) -> ItemResults:
    lower, upper = o["range"]
    return item_results(
        o["value"],
        se=o["se"],
        ci_low=o["ci_low"],
        ci_high=o["ci_high"],
        reasons=[(o["no_pairs"], NO_PAIRS), (o["one_category"], ONE_CATEGORY)],
        remarks=[(o["few"], TOO_FEW_UNITS), (o["zero_se"], ZERO_SE)],
        n_units=o["n"],
        n_coders=r,
        ci_method=CI_METHOD,
        details={"pa": o["pa"], "pe": o["pe"], "p_one_sided": o["p_one_sided"]},
        unstable=instability(o["n2"], o["clipped"], lower=lower, upper=upper),
    )


def _assemble(
    vals: dict[str, dict[str, np.ndarray]],
    h: Histograms,
    total: np.ndarray,
    r: int,
    q: int,
    conf: float = 0.95,
) -> dict[str, ItemResults]:
    from .kappa import NO_COMMON_UNITS
    from .kappa import ONE_CATEGORY as K_ONE

    out: dict[str, ItemResults] = {}
    for name in ("percent_agreement", "fleiss_kappa", "gwet_ac1", "brennan_prediger"):
        out[name] = _gwet_items(vals[name], r)
    fl = vals["fleiss_kappa"]
    out["fleiss_kappa"] = ItemResults(
        **{
            **out["fleiss_kappa"].__dict__,
            "details": {**out["fleiss_kappa"].details, **_fleiss_null(h, total, fl["value"])},
        }
    )
    a = vals["krippendorff_alpha"]
    out["krippendorff_alpha"] = item_results(
        a["value"],
        reasons=[(a["few"], NO_PAIRABLE), (a["flat"], NO_VARIATION)],
        n_units=a["n_units"],
        n_coders=r,
        details={"n_pairable_values": a["n"]},
        unstable=instability(a["n_units"]),
    )
    if "cohen_kappa" in vals:
        c = vals["cohen_kappa"]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(c["se0"] > 0, c["kappa"] / np.where(c["se0"] > 0, c["se0"], 1.0), np.nan)
        from scipy import stats

        lo, hi, clipped = wald_ci(c["kappa"], c["se"], conf)
        out["cohen_kappa"] = item_results(
            c["kappa"],
            se=c["se"],
            ci_low=lo,
            ci_high=hi,
            reasons=[(c["empty"], NO_COMMON_UNITS), (c["one_category"], K_ONE)],
            remarks=[(c["constant"], CONSTANT_CODER), (c["se"] == 0, ZERO_SE)],
            n_units=c["n"],
            n_coders=r,
            ci_method=WALD_METHOD,
            unstable=instability(c["n"], clipped),
            details={
                "se0": c["se0"],
                "z": z,
                "p": 2 * stats.norm.sf(np.abs(z)),
                "po": c["po"],
                "pe": c["pe"],
            },
        )
    if "light_kappa" in vals:
        lk = vals["light_kappa"]
        out["light_kappa"] = item_results(
            lk["kappa"],
            reasons=[(lk["bad"], "Cohen's kappa is undefined for at least one coder pair")],
            n_units=lk["n"],
            n_coders=r,
            unstable=instability(lk["n"]),
        )
    if q == 2:
        bp = out["brennan_prediger"]
        if "pabak" in vals:  # two coders: on the units both rated, as Byrt et al. define it
            pb = _gwet_items(vals["pabak"], r)
            out["pabak"] = ItemResults(**{**pb.__dict__, "details": {"po": pb.details["pa"]}})
        else:
            out["pabak"] = ItemResults(**{**bp.__dict__, "details": {"po": bp.details["pa"]}})
        ind = vals["indices"]
        empty = ind["n"] == 0
        for key in ("prevalence_index", "bias_index"):
            out[key] = item_results(
                ind[key],
                reasons=[(empty, "no unit was rated by both coders of a pair")],
                n_units=ind["n"],
                n_coders=r,
                unstable=instability(ind["n"]),
            )
        pv = vals["prevalence"]
        out["prevalence"] = item_results(
            pv["value"], reasons=[(pv["n"] == 0, "no ratings")], n_units=pv["n"], n_coders=r
        )
    return out


def _bootstrap(
    res: dict[str, ItemResults],
    h: Histograms,
    n_boot: int,
    seed: int | None,
    conf: float,
    every: bool,
    over: str,
) -> dict[str, ItemResults]:
    """Add cluster-bootstrap percentile CIs, one vectorised batch of replicates at a time."""
    rng = np.random.default_rng(seed)
    n_cl = h.freq.shape[-2]
    names = [n for n in res if every or n in BOOTSTRAPPABLE]
    reps: dict[str, list[np.ndarray]] = {n: [] for n in names}
    key = {
        "percent_agreement": "value",
        "fleiss_kappa": "value",
        "gwet_ac1": "value",
        "brennan_prediger": "value",
        "pabak": "value",
        "krippendorff_alpha": "value",
        "cohen_kappa": "kappa",
        "light_kappa": "kappa",
        "prevalence": "value",
    }
    n_items, _, n_pat = h.freq.shape
    q = h.n_categories
    # Replicates per batch: the cores hold a few (batch, items, patterns, q) float arrays.
    batch = max(1, int(4e6 // max(n_items * n_pat * q, 1)))
    # Clusters first, so each batch is one BLAS product (batch x clusters) @ (clusters x rest).
    freq_c = h.freq.transpose(1, 0, 2).reshape(n_cl, -1)
    pairs_c = {k: v.transpose(1, 0, 2, 3).reshape(n_cl, -1) for k, v in h.pairs.items()}
    done = 0
    while done < n_boot:
        b = min(batch, n_boot - done)
        w, _ = cluster_weights(np.arange(n_cl), b, rng)
        freq = (w @ freq_c).reshape(b, n_items, n_pat)
        pairs = {k: (w @ v).reshape(b, n_items, q, q) for k, v in pairs_c.items()}
        vals = _values(h, freq, pairs)
        for n in names:
            src = "brennan_prediger" if n == "pabak" and "pabak" not in vals else n
            if n in ("prevalence_index", "bias_index"):
                reps[n].append(vals["indices"][n])
            else:
                reps[n].append(vals[src][key[n]])
        done += b
    out = dict(res)
    for n in names:
        lo, hi, n_valid = percentile_interval(np.concatenate(reps[n], axis=0), conf)
        old = res[n]
        out[n] = ItemResults(
            **{
                **old.__dict__,
                "ci_low": np.where(np.isnan(old.value), np.nan, lo),
                "ci_high": np.where(np.isnan(old.value), np.nan, hi),
                "ci_method": f"percentile bootstrap over {over} (B={n_boot}, seed={seed})",
                "details": {**old.details, "n_valid_replicates": n_valid.astype(float)},
            }
        )
    return out
