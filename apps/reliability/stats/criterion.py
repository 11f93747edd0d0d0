"""Agreement of coded classifications with an external criterion (e.g. PACS against the AAI).

The confusion matrix has the coded class in rows and the criterion in columns. Per criterion
class c: sensitivity, specificity, PPV and NPV, each with a Wilson (1927) score CI (Newcombe
1998; Brown, Cai & DasGupta 2001 recommend it over Wald for small n). Kappa, AC1 and percent
agreement treat the criterion as the second coder (:mod:`.kappa`, :mod:`.gwet`). Sessions are
paired with their criterion through a :class:`CriterionMapping` and a U/CC policy; every
session left out is listed with its reason. Scale scores are summarised by criterion class
with the ROC AUC (Mann-Whitney) and the Hanley & McNeil (1982) SE. Formulas and sources:
docs/statistics.md, "Agreement with an external criterion (AAI)".
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from .categories import (
    SECURE_VS_INSECURE,
    Ratings,
    _is_number,
    collapse_categories,
    encode_ratings,
    is_missing,
    order_categories,
)
from .gwet import gwet_ac1, percent_agreement
from .kappa import cohen_kappa_table, contingency_table
from .proportions import WILSON_METHOD, wilson_interval, z_quantile
from .results import ZERO_SE, StatResult, bound_interval, instability


@dataclass(frozen=True)
class CriterionAgreement:
    """Confusion matrix, kappa, percent agreement and per-class accuracy against a criterion."""

    categories: tuple[Hashable, ...]
    confusion: np.ndarray
    kappa: StatResult
    percent_agreement: StatResult
    per_class: Mapping[Hashable, Mapping[str, StatResult]]
    n_units: int
    n_excluded: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (category labels become strings in per_class keys)."""
        return {
            "categories": list(self.categories),
            "confusion": self.confusion.astype(int).tolist(),
            "kappa": self.kappa.to_dict(),
            "percent_agreement": self.percent_agreement.to_dict(),
            "per_class": {
                str(c): {k: r.to_dict() for k, r in d.items()} for c, d in self.per_class.items()
            },
            "n_units": self.n_units,
            "n_excluded": self.n_excluded,
        }


def proportion(
    successes: int, trials: int, conf: float = 0.95, *, empty: str = "no cases in the denominator"
) -> StatResult:
    """A proportion with its Wilson score CI; undefined (with ``empty`` as reason) without trials."""
    if trials == 0:
        return StatResult.undefined(empty, n_units=0)
    return StatResult(
        value=successes / trials,
        ci=wilson_interval(successes, trials, conf),
        n_units=trials,
        ci_method=WILSON_METHOD,
        details={"successes": float(successes), "trials": float(trials)},
        unstable=instability(trials, lower=0.0, upper=1.0)[0],
    )


NO_CRITERION_CASES = "no session has this criterion class, so sensitivity is undefined"
NO_OTHER_CASES = "every session has this criterion class, so specificity is undefined"
NEVER_CODED = "no session was coded in this class, so the PPV is undefined"
ALWAYS_CODED = "every session was coded in this class, so the NPV is undefined"


def class_accuracy(confusion: np.ndarray, conf: float = 0.95) -> list[dict[str, StatResult]]:
    """Sensitivity, specificity, PPV and NPV of each class (rows coded, columns criterion).

    For class c: sensitivity TP/(TP+FN) over criterion-c sessions, specificity TN/(TN+FP)
    over the others, PPV TP/(TP+FP) over sessions coded c, NPV TN/(TN+FN) over sessions not
    coded c; each with a Wilson CI, undefined with a reason when its denominator is 0.
    """
    t = np.asarray(confusion, dtype=int)
    n = int(t.sum())
    col = t.sum(0)
    row = t.sum(1)
    out = []
    for c in range(t.shape[0]):  # one entry per class: a handful at most
        tp = int(t[c, c])
        tn = n - int(row[c]) - int(col[c]) + tp
        out.append(
            {
                "sensitivity": proportion(tp, int(col[c]), conf, empty=NO_CRITERION_CASES),
                "specificity": proportion(tn, n - int(col[c]), conf, empty=NO_OTHER_CASES),
                "ppv": proportion(tp, int(row[c]), conf, empty=NEVER_CODED),
                "npv": proportion(tn, n - int(row[c]), conf, empty=ALWAYS_CODED),
            }
        )
    return out


def criterion_agreement(
    coded: Sequence[Any],
    criterion: Sequence[Any],
    *,
    categories: Sequence[Hashable] | None = None,
    collapse: Mapping[Any, Any] | None = None,
    criterion_map: Mapping[Any, Any] | None = None,
    conf: float = 0.95,
) -> CriterionAgreement:
    """Compare coded classes with criterion classes session by session.

    ``criterion_map`` translates criterion labels first (e.g. :data:`AAI_TO_PACS`; labels it
    lacks, such as U or CC, are excluded and counted in ``n_excluded``). ``collapse`` is then
    applied to both sides (e.g. :data:`SECURE_VS_INSECURE`). Pairs with a missing side are
    excluded too.
    """
    if len(coded) != len(criterion):
        raise ValueError("coded and criterion must have the same length")
    crit = list(criterion)
    if criterion_map is not None:
        crit = collapse_categories(crit, criterion_map, strict=False)
    cod = list(coded)
    if collapse is not None:
        cod = collapse_categories(cod, collapse, strict=False)
        crit = collapse_categories(crit, collapse, strict=False)
    keep = [not (is_missing(a) or is_missing(b)) for a, b in zip(cod, crit, strict=True)]
    pairs = [(a, b) for a, b, k in zip(cod, crit, keep, strict=True) if k]
    n_excluded = len(keep) - len(pairs)
    rt = encode_ratings(np.array(pairs, dtype=object).reshape(-1, 2), categories)
    table = contingency_table(rt) if rt.n_categories else np.zeros((0, 0), int)
    kappa = (
        cohen_kappa_table(table, conf=conf)
        if rt.n_categories
        else StatResult.undefined("no sessions with both a coded and a criterion class")
    )
    pa = (
        percent_agreement(rt, conf=conf)
        if rt.n_categories
        else StatResult.undefined("no sessions with both a coded and a criterion class")
    )
    per = class_accuracy(table, conf) if rt.n_categories else []
    return CriterionAgreement(
        categories=rt.categories,
        confusion=table,
        kappa=kappa,
        percent_agreement=pa,
        per_class=dict(zip(rt.categories, per, strict=True)),
        n_units=len(pairs),
        n_excluded=n_excluded,
    )


# ---------------------------------------------------------------------------------------------
# Agreement with an external criterion per session (issue 8): mapping, U/CC policy, views.
# ---------------------------------------------------------------------------------------------

UNRESOLVED: tuple[str, ...] = ("U", "CC")
Policy = Literal["secondary", "exclude", "own_class"]
POLICIES: tuple[str, ...] = ("secondary", "exclude", "own_class")

EXCLUDED_UNRESOLVED = "U/CC excluded"
NO_CRITERION = "no criterion label"
NO_SECONDARY = "U/CC without a secondary classification"
NO_CLASSIFICATION = "no classification"
UNMAPPED = "unmapped category"
UNMAPPED_CRITERION = "criterion class not in the mapping"
POOLED_NOTE = (
    "pairs of all coders stacked: a session coded by several coders counts once per coder, so "
    "the pairs are not independent and the intervals are too narrow"
)


@dataclass(frozen=True)
class CriterionMapping:
    """Which criterion class each coded category stands for (coded category -> class)."""

    to_criterion: Mapping[str, str]

    def __post_init__(self) -> None:
        classes = list(self.to_criterion.values())
        if len(set(classes)) != len(classes):
            raise ValueError("two coded categories map to one criterion class")
        object.__setattr__(self, "to_criterion", dict(self.to_criterion))

    @cached_property
    def to_coded(self) -> dict[str, str]:
        """The inverse map: criterion class -> coded category (do not change it)."""
        return {v: k for k, v in self.to_criterion.items()}

    @property
    def categories(self) -> tuple[str, ...]:
        """The coded categories in the mapping's order (the class order of every table)."""
        return tuple(self.to_criterion)

    def has_class(self, criterion_class: str) -> bool:
        """True when some coded category is mapped to ``criterion_class``."""
        return criterion_class in self.to_coded


PACS_CRITERION = CriterionMapping({"secure": "F", "avoidant": "Ds", "preoccupied": "E"})


@dataclass(frozen=True)
class CriterionRecord:
    """One session's criterion: the primary AAI class (may be U or CC) and the secondary."""

    primary: str | None
    secondary: str | None = None


@dataclass(frozen=True)
class Exclusion:
    """A session left out of a comparison, and why."""

    session: Hashable
    reason: str
    coder: Hashable | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (ids become strings)."""
        out: dict[str, Any] = {"session": str(self.session), "reason": self.reason}
        if self.coder is not None:
            out["coder"] = str(self.coder)
        return out


def resolve_criterion(
    record: CriterionRecord | None, mapping: CriterionMapping, policy: Policy
) -> tuple[str | None, str | None]:
    """The criterion class a session is compared through, or None and the exclusion reason.

    ``secondary``: U/CC use their organised secondary class; ``exclude``: U/CC are left out;
    ``own_class``: a U/CC primary that the mapping has a coded category for stays itself (U
    in a 4-way comparison), otherwise it falls back to the secondary class.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if record is None or is_missing(record.primary):
        return None, NO_CRITERION
    primary = str(record.primary).strip()
    if primary in UNRESOLVED:
        if policy == "exclude":
            return None, EXCLUDED_UNRESOLVED
        if policy == "own_class" and mapping.has_class(primary):
            return primary, None
        if is_missing(record.secondary):
            return None, NO_SECONDARY
        primary = str(record.secondary).strip()
    if not mapping.has_class(primary):
        return None, UNMAPPED_CRITERION
    return primary, None


def resolved_criteria(
    criteria: Mapping[Hashable, CriterionRecord | None],
    mapping: CriterionMapping = PACS_CRITERION,
    policy: Policy = "secondary",
) -> tuple[dict[Hashable, str], tuple[Exclusion, ...]]:
    """Every session's criterion class under ``policy`` (for scale summaries), and the rest.

    Returns {session: criterion class} and an :class:`Exclusion` for each session without one.
    """
    kept: dict[Hashable, str] = {}
    excluded = []
    by_record: dict[CriterionRecord | None, tuple[str | None, str | None]] = {}
    for session, record in criteria.items():
        found = by_record.get(record)
        if found is None:
            found = by_record[record] = resolve_criterion(record, mapping, policy)
        target, why = found
        if target is None:
            excluded.append(Exclusion(session, str(why)))
        else:
            kept[session] = target
    return kept, tuple(excluded)


@dataclass(frozen=True)
class PairedLabels:
    """Sessions kept for one comparison with their coded and criterion labels, and exclusions.

    Both label lists are in coded-category names (the criterion translated through the
    mapping, then collapsed when a collapse map applies); ``categories`` is the class order.
    """

    sessions: tuple[Hashable, ...]
    coded: tuple[Hashable, ...]
    criterion: tuple[Hashable, ...]
    categories: tuple[Hashable, ...]
    exclusions: tuple[Exclusion, ...]
    coders: tuple[Hashable, ...] = ()


def pair_with_criterion(
    coded: Mapping[Hashable, Any],
    criteria: Mapping[Hashable, CriterionRecord],
    *,
    mapping: CriterionMapping = PACS_CRITERION,
    policy: Policy = "secondary",
    collapse: Mapping[str, str] | None = None,
    coder: Hashable | None = None,
) -> PairedLabels:
    """Pair each coded session with its criterion class; list every session left out and why.

    The sessions are those in ``coded`` (one coder's classifications). A coded label outside
    the mapping is ``unmapped category``; an empty one ``no classification``.
    """
    resolved = _Resolved(criteria, mapping, policy)
    return _pair(coded, resolved, mapping, policy, collapse, coder)


class _Resolved:
    """Each session's criterion under one policy, as the coded category it is compared with.

    A report pairs the same sessions for every coder and view; resolving each distinct AAI
    record once per policy (sessions share a handful), and each session once, keeps that
    linear. Each entry is (coded category, None) or (None, the reason the session is left
    out); a session without a record has no criterion label.
    """

    def __init__(
        self, criteria: Mapping[Hashable, CriterionRecord], mapping: CriterionMapping, policy
    ) -> None:
        self.criteria = criteria
        self.mapping = mapping
        self.policy = policy
        self._by_record: dict[CriterionRecord | None, tuple[str | None, str | None]] = {}
        self._cache: dict[Hashable, tuple[str | None, str | None]] = {}

    def _resolve(self, record: CriterionRecord | None) -> tuple[str | None, str | None]:
        target, why = resolve_criterion(record, self.mapping, self.policy)
        if target is None:
            return None, why
        coded = self.mapping.to_coded[str(target)]
        if self.policy != "own_class" and self.mapping.to_criterion[coded] in UNRESOLVED:
            return None, UNMAPPED_CRITERION
        return coded, None

    def __call__(self, session: Hashable) -> tuple[str | None, str | None]:
        found = self._cache.get(session)
        if found is None:
            record = self.criteria.get(session)
            found = self._by_record.get(record)
            if found is None:
                found = self._by_record[record] = self._resolve(record)
            self._cache[session] = found
        return found


def _pair(
    coded: Mapping[Hashable, Any],
    resolved: _Resolved,
    mapping: CriterionMapping,
    policy: Policy,
    collapse: Mapping[str, str] | None,
    coder: Hashable | None,
) -> PairedLabels:
    cats = _view_categories(mapping, policy, collapse)
    # The coded labels this view can compare: mapped, and not to U/CC in an organised view,
    # each with its name in the view (collapsed in the 2-way view).
    comparable = {
        c: (collapse[c] if collapse is not None else c)
        for c, k in mapping.to_criterion.items()
        if policy == "own_class" or k not in UNRESOLVED
    }
    lookup = resolved.__call__
    sessions, cod, crit, excl = [], [], [], []
    for session, label in coded.items():
        try:
            a = comparable.get(label)
        except TypeError:  # an unhashable label is no category of the mapping
            a = None
        if a is None:
            reason = NO_CLASSIFICATION if is_missing(label) else UNMAPPED
            excl.append(Exclusion(session, reason, coder))
            continue
        b, why = lookup(session)
        if why is not None:
            excl.append(Exclusion(session, why, coder))
            continue
        sessions.append(session)
        cod.append(a)
        crit.append(collapse[b] if collapse is not None else b)
    return PairedLabels(tuple(sessions), tuple(cod), tuple(crit), cats, tuple(excl))


def _view_categories(
    mapping: CriterionMapping, policy: Policy, collapse: Mapping[str, str] | None
) -> tuple[Hashable, ...]:
    if policy == "own_class" and not mapping.has_class("U"):
        raise ValueError("policy 'own_class' needs a coded category mapped to U")
    cats = [
        c
        for c in mapping.categories
        if policy == "own_class" or mapping.to_criterion[c] not in UNRESOLVED
    ]
    if collapse is None:
        return tuple(cats)
    missing = [c for c in cats if c not in collapse]
    if missing:
        raise ValueError(f"the collapse map has no entry for {', '.join(missing)}")
    return tuple(dict.fromkeys(collapse[c] for c in cats))


@dataclass(frozen=True)
class ClassAccuracy:
    """Sensitivity, specificity, PPV and NPV of one class, each a proportion with a Wilson CI."""

    sensitivity: StatResult
    specificity: StatResult
    ppv: StatResult
    npv: StatResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {k: getattr(self, k).to_dict() for k in ("sensitivity", "specificity", "ppv", "npv")}


@dataclass(frozen=True)
class ViewAgreement:
    """Agreement of coded classes with the criterion in one view (3-way, 2-way or 4-way).

    ``confusion`` has coded classes in rows and criterion classes in columns, in
    ``categories`` order; ``row_totals``/``col_totals`` are its margins.
    """

    view: str
    categories: tuple[Hashable, ...]
    n: int
    confusion: np.ndarray
    row_totals: tuple[int, ...]
    col_totals: tuple[int, ...]
    percent_agreement: StatResult
    kappa: StatResult
    ac1: StatResult
    per_class: Mapping[Hashable, ClassAccuracy]
    exclusions: tuple[Exclusion, ...]
    n_coders: int = 1
    note: str | None = None
    # The sessions of the pairs, in pair order (not serialised: a report stores its own list).
    sessions: tuple[Hashable, ...] = ()

    @property
    def excluded_by_reason(self) -> dict[str, int]:
        """How many sessions each reason excluded."""
        out: dict[str, int] = {}
        for e in self.exclusions:
            out[e.reason] = out.get(e.reason, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the keys are documented in docs/statistics.md)."""
        return {
            "view": self.view,
            "categories": [str(c) for c in self.categories],
            "n": self.n,
            "n_coders": self.n_coders,
            "note": self.note,
            "confusion": {
                "rows": "coded",
                "columns": "criterion",
                "counts": np.asarray(self.confusion, dtype=int).tolist(),
                "row_totals": list(self.row_totals),
                "col_totals": list(self.col_totals),
            },
            "percent_agreement": self.percent_agreement.to_dict(),
            "kappa": self.kappa.to_dict(),
            "ac1": self.ac1.to_dict(),
            "per_class": {str(c): a.to_dict() for c, a in self.per_class.items()},
            "n_excluded": len(self.exclusions),
            "excluded_by_reason": self.excluded_by_reason,
            "exclusions": [e.to_dict() for e in self.exclusions],
        }


def view_agreement(
    pairs: PairedLabels, *, view: str = "three_way", conf: float = 0.95, n_coders: int = 1
) -> ViewAgreement:
    """Percent agreement (Wilson), Cohen's kappa, AC1, confusion matrix and per-class accuracy."""
    return _view_from_ratings(
        _encode_pairs(pairs),
        view=view,
        exclusions=pairs.exclusions,
        sessions=pairs.sessions,
        conf=conf,
        n_coders=n_coders,
    )


def _view_from_ratings(
    rt: Ratings,
    *,
    view: str,
    exclusions: tuple[Exclusion, ...],
    sessions: tuple[Hashable, ...],
    conf: float,
    n_coders: int,
) -> ViewAgreement:
    """One view from its pairs as (n, 2) codes over the view's categories (coded, criterion)."""
    cats = rt.categories
    n = rt.n_units
    table = contingency_table(rt)
    empty = "no session has both a coded and a criterion class"
    agree = int(np.trace(table))
    pa = proportion(agree, n, conf)
    if n == 0:
        kappa = StatResult.undefined(empty, n_units=0, n_coders=2)
        ac1 = StatResult.undefined(empty, n_units=0, n_coders=2)
    else:
        kappa = cohen_kappa_table(table, conf=conf)
        ac1 = gwet_ac1(rt, conf=conf)
    per = class_accuracy(table, conf)
    per_class = {
        c: ClassAccuracy(d["sensitivity"], d["specificity"], d["ppv"], d["npv"])
        for c, d in zip(cats, per, strict=True)
    }
    return ViewAgreement(
        view=view,
        categories=cats,
        n=n,
        confusion=table,
        row_totals=tuple(int(x) for x in table.sum(1)),
        col_totals=tuple(int(x) for x in table.sum(0)),
        percent_agreement=pa,
        kappa=kappa,
        ac1=ac1,
        per_class=per_class,
        exclusions=exclusions,
        n_coders=n_coders,
        note=POOLED_NOTE if n_coders > 1 else None,
        sessions=sessions,
    )


def _encode_pairs(pairs: PairedLabels) -> Ratings:
    """The pairs as (n, 2) category codes; labels are already the view's category names."""
    cats = pairs.categories
    index = {c: i for i, c in enumerate(cats)}
    n = len(pairs.coded)
    try:
        codes = np.fromiter(
            (index[x] for x in (*pairs.coded, *pairs.criterion)), dtype=np.int64, count=2 * n
        )
    except (KeyError, TypeError):
        # Labels that only match after normalising (1 and 1.0), or an error to report:
        # the general encoder does both.
        return encode_ratings(
            np.array(list(zip(pairs.coded, pairs.criterion, strict=True)), dtype=object).reshape(
                n, 2
            ),
            cats,
        )
    scores = (
        np.array([float(c) for c in cats]) if cats and all(_is_number(c) for c in cats) else None
    )
    return Ratings(codes=codes.reshape(2, n).T.copy(), categories=tuple(cats), scores=scores)


VIEW_NAMES: tuple[str, ...] = ("three_way", "two_way", "four_way")


def criterion_views(
    coded: Mapping[Hashable, Any],
    criteria: Mapping[Hashable, CriterionRecord],
    *,
    mapping: CriterionMapping = PACS_CRITERION,
    policy: Policy = "secondary",
    collapse: Mapping[str, str] | None = SECURE_VS_INSECURE,
    conf: float = 0.95,
) -> dict[str, ViewAgreement]:
    """Every view that applies to one coder's classifications.

    ``three_way``: the organised classes, U/CC by ``policy`` (``own_class`` counts as
    ``secondary`` here); ``two_way``: the same pairs through ``collapse`` (skipped when None);
    ``four_way``: U as its own class, only when the mapping has a category for U.
    """
    return _views([(None, coded)], criteria, mapping, policy, collapse, conf)


def _view_specs(
    mapping: CriterionMapping, policy: Policy, collapse: Mapping[str, str] | None
) -> list[tuple[str, Policy, Mapping[str, str] | None]]:
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    organised: Policy = "secondary" if policy == "own_class" else policy
    specs: list[tuple[str, Policy, Mapping[str, str] | None]] = [("three_way", organised, None)]
    if collapse is not None:
        specs.append(("two_way", organised, collapse))
    if mapping.has_class("U"):
        specs.append(("four_way", "own_class", None))
    return specs


def _paired_views(
    codings: Sequence[tuple[Hashable | None, Mapping[Hashable, Any]]],
    criteria: Mapping[Hashable, CriterionRecord],
    mapping: CriterionMapping,
    policy: Policy,
    collapse: Mapping[str, str] | None,
) -> dict[str, list[PairedLabels]]:
    """Every view's pairs, one PairedLabels per coder (sessions resolved once per policy)."""
    resolvers: dict[str, _Resolved] = {}
    out = {}
    for name, pol, col in _view_specs(mapping, policy, collapse):
        resolved = resolvers.setdefault(pol, _Resolved(criteria, mapping, pol))
        out[name] = [_pair(c, resolved, mapping, pol, col, k) for k, c in codings]
    return out


def _merge(stacked: Sequence[PairedLabels], categories: tuple[Hashable, ...]) -> PairedLabels:
    if len(stacked) == 1:
        return stacked[0]
    return PairedLabels(
        sessions=tuple(s for p in stacked for s in p.sessions),
        coded=tuple(s for p in stacked for s in p.coded),
        criterion=tuple(s for p in stacked for s in p.criterion),
        categories=stacked[0].categories if stacked else categories,
        exclusions=tuple(e for p in stacked for e in p.exclusions),
    )


def _views(
    codings: Sequence[tuple[Hashable | None, Mapping[Hashable, Any]]],
    criteria: Mapping[Hashable, CriterionRecord],
    mapping: CriterionMapping,
    policy: Policy,
    collapse: Mapping[str, str] | None,
    conf: float,
) -> dict[str, ViewAgreement]:
    paired = _paired_views(codings, criteria, mapping, policy, collapse)
    return _agreements(paired, conf, n_coders=len(codings))


def _agreements(
    paired: Mapping[str, Sequence[PairedLabels]], conf: float, *, n_coders: int
) -> dict[str, ViewAgreement]:
    return {
        name: view_agreement(_merge(stacked, ()), view=name, conf=conf, n_coders=n_coders)
        for name, stacked in paired.items()
    }


@dataclass(frozen=True)
class CoderComparison:
    """Agreement with the criterion per coder and pooled over coders, view by view."""

    per_coder: Mapping[Hashable, Mapping[str, ViewAgreement]]
    pooled: Mapping[str, ViewAgreement]
    n_coders: int
    policy: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``per_coder`` {coder: {view: ...}}, ``pooled`` {view: ...}."""
        return {
            "policy": self.policy,
            "n_coders": self.n_coders,
            "per_coder": {
                str(k): {v: r.to_dict() for v, r in views.items()}
                for k, views in self.per_coder.items()
            },
            "pooled": {v: r.to_dict() for v, r in self.pooled.items()},
        }


def compare_coders_with_criterion(
    codings: Mapping[Hashable, Mapping[Hashable, Any]],
    criteria: Mapping[Hashable, CriterionRecord],
    *,
    mapping: CriterionMapping = PACS_CRITERION,
    policy: Policy = "secondary",
    collapse: Mapping[str, str] | None = SECURE_VS_INSECURE,
    conf: float = 0.95,
) -> CoderComparison:
    """One result per coder and one pooled result (all coders' pairs stacked, n in pairs).

    ``codings`` is {coder: {session: coded label}}. Pooled exclusions name their coder. Each
    coder's sessions are paired once per view; the pooled view stacks those same pairs.
    """
    order = list(codings)
    paired = _paired_views([(k, codings[k]) for k in order], criteria, mapping, policy, collapse)
    per = {
        coder: _agreements({name: [p[i]] for name, p in paired.items()}, conf, n_coders=1)
        for i, coder in enumerate(order)
    }
    pooled = _agreements(paired, conf, n_coders=len(order))
    return CoderComparison(per_coder=per, pooled=pooled, n_coders=len(order), policy=policy)


@dataclass(frozen=True)
class CodedArrays:
    """Many codings' classifications as aligned arrays, for reports over thousands of codings.

    Entry i is one coding: ``coder[i]`` indexes ``coders`` (the output order), ``session[i]``
    is its session id and ``label[i]`` indexes ``labels`` (the classification's category
    codes, mapped or not), -1 for no classification. Entries of one coder keep their order.
    """

    coders: tuple[Hashable, ...]
    coder: np.ndarray
    session: np.ndarray
    label: np.ndarray
    labels: tuple[str, ...]


def compare_coded_arrays(
    coded: CodedArrays,
    criteria: Mapping[Hashable, CriterionRecord],
    *,
    mapping: CriterionMapping = PACS_CRITERION,
    policy: Policy = "secondary",
    collapse: Mapping[str, str] | None = SECURE_VS_INSECURE,
    conf: float = 0.95,
) -> CoderComparison:
    """:func:`compare_coders_with_criterion` on arrays: the same pairs, exclusions and views.

    Each session's criterion is resolved once per distinct AAI record and policy, each coded
    label once per category; the pairs are then array lookups, so no step loops over codings
    in Python except to name the sessions left out.
    """
    n_coders = len(coded.coders)
    coder = np.asarray(coded.coder, dtype=np.int64)
    label = np.asarray(coded.label, dtype=np.int64)
    # Coder by coder, each coder's entries in their given order (the pooled stacking order).
    order = np.argsort(coder, kind="stable")
    coder, label = coder[order], label[order]
    session = np.asarray(coded.session)[order]
    session_list = session.tolist()
    known = list(criteria)
    position = {s: i for i, s in enumerate(known)}
    at = np.fromiter((position.get(s, -1) for s in session_list), np.int64, count=len(order))
    reasons: list[str] = []

    def reason_code(why: str) -> int:
        if why not in reasons:
            reasons.append(why)
        return reasons.index(why)

    no_criterion = reason_code(NO_CRITERION)
    categories = mapping.categories
    category_index = {c: i for i, c in enumerate(categories)}
    resolved_by_policy: dict[str, np.ndarray] = {}

    def resolved(pol: Policy) -> np.ndarray:
        """Per coding: the compared coded category's index, or -1 - reason code."""
        if pol not in resolved_by_policy:
            per_record = _Resolved(criteria, mapping, pol)
            per_session = np.array(
                [
                    category_index[b] if b is not None else -1 - reason_code(str(why))
                    for b, why in (per_record(k) for k in known)
                ],
                dtype=np.int64,
            ).reshape(-1)
            resolved_by_policy[pol] = np.where(
                at >= 0, per_session[np.maximum(at, 0)] if len(known) else -1, -1 - no_criterion
            )
        return resolved_by_policy[pol]

    no_classification = reason_code(NO_CLASSIFICATION)
    unmapped = reason_code(UNMAPPED)
    paired: dict[str, list[tuple[np.ndarray, tuple[Exclusion, ...], tuple[Hashable, ...]]]] = {}
    view_cats: dict[str, tuple[Hashable, ...]] = {}
    for name, pol, col in _view_specs(mapping, policy, collapse):
        cats = _view_categories(mapping, pol, col)
        view_cats[name] = cats
        in_view = {c: i for i, c in enumerate(cats)}
        comparable = {
            c: in_view[col[c] if col is not None else c]
            for c, k in mapping.to_criterion.items()
            if pol == "own_class" or k not in UNRESOLVED
        }
        label_lut = np.array([comparable.get(x, -1) for x in coded.labels] + [-1], np.int64)
        a = label_lut[label]  # label -1 reads the last entry, -1
        b_category = resolved(pol)
        # A category outside this view (mapped to U in an organised view) was already left
        # out by the resolution; -1 keeps the lookup total.
        criterion_lut = np.array(
            [in_view.get(col.get(c) if col is not None else c, -1) for c in categories] + [-1],
            np.int64,
        )
        b = np.where(b_category >= 0, criterion_lut[np.maximum(b_category, 0)], -1)
        why = np.where(
            label < 0,
            no_classification,
            np.where(a < 0, unmapped, np.where(b_category < 0, -1 - b_category, -1)),
        )
        keep = why < 0
        codes = np.stack([a, b], axis=1)
        blocks = []
        for k in range(n_coders):
            mine = coder == k
            kept = mine & keep
            left = np.flatnonzero(mine & ~keep).tolist()
            exclusions = tuple(
                Exclusion(session_list[i], reasons[int(why[i])], coded.coders[k]) for i in left
            )
            blocks.append(
                (
                    codes[kept],
                    exclusions,
                    tuple(session[kept].tolist()),
                )
            )
        paired[name] = blocks

    def view(name: str, blocks, n: int) -> ViewAgreement:
        cats = view_cats[name]
        codes = np.concatenate([c for c, _, _ in blocks]) if blocks else np.zeros((0, 2), np.int64)
        scores = (
            np.array([float(c) for c in cats])
            if cats and all(_is_number(c) for c in cats)
            else None
        )
        return _view_from_ratings(
            Ratings(codes=codes.reshape(-1, 2), categories=tuple(cats), scores=scores),
            view=name,
            exclusions=tuple(e for _, ex, _ in blocks for e in ex),
            sessions=tuple(s for _, _, ss in blocks for s in ss),
            conf=conf,
            n_coders=n,
        )

    per = {
        key: {name: view(name, [blocks[k]], 1) for name, blocks in paired.items()}
        for k, key in enumerate(coded.coders)
    }
    pooled = {name: view(name, blocks, n_coders) for name, blocks in paired.items()}
    return CoderComparison(per_coder=per, pooled=pooled, n_coders=n_coders, policy=policy)


# ---------------------------------------------------------------------------------------------
# Scale scores against the criterion: means, SDs and the ROC AUC (Hanley & McNeil 1982).
# ---------------------------------------------------------------------------------------------

AUC_METHOD = "Wald z, Hanley & McNeil (1982) SE, bounded to [0, 1]"


def _scores(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """The present scores as floats (None, NaN and blanks left out)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values[~np.isnan(values)]
    return np.asarray([float(x) for x in values if not is_missing(x)], dtype=float)


def auc_mann_whitney(
    positives: Sequence[float], negatives: Sequence[float], conf: float = 0.95
) -> StatResult:
    """ROC AUC = U / (n1 n0), ties counted 1/2, with the Hanley & McNeil (1982) SE and CI.

    SE^2 = [A(1-A) + (n1-1)(Q1-A^2) + (n0-1)(Q2-A^2)] / (n1 n0) with Q1 = A/(2-A) and
    Q2 = 2A^2/(1+A) (their eq. 1-2); the Wald interval is bounded to [0, 1].
    """
    pos, neg = _scores(positives), _scores(negatives)
    n1, n0 = pos.size, neg.size
    if n1 == 0 or n0 == 0:
        which = "the class" if n1 == 0 else "the rest"
        return StatResult.undefined(f"no session with a score in {which}", n_units=n1 + n0)
    # Sorting the negatives makes U two binary searches per positive, not an n1 x n0 grid.
    s = np.sort(neg)
    below = np.searchsorted(s, pos, side="left")
    ties = np.searchsorted(s, pos, side="right") - below
    u = float(below.sum() + 0.5 * ties.sum())
    a = u / (n1 * n0)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    se = float(np.sqrt(max(var, 0.0)))
    zq = z_quantile(conf)
    ci = None
    clipped = False
    if se > 0:
        lo, hi, clip = bound_interval(a - zq * se, a + zq * se, 0.0, 1.0, a)
        ci, clipped = (float(lo), float(hi)), bool(clip)
    return StatResult(
        value=a,
        se=se,
        ci=ci,
        note=None if se > 0 else ZERO_SE,
        n_units=n1 + n0,
        ci_method=AUC_METHOD,
        details={"U": u, "n1": float(n1), "n0": float(n0), "q1": q1, "q2": q2},
        unstable=instability(min(n1, n0), clipped, lower=0.0, upper=1.0)[0],
    )


@dataclass(frozen=True)
class ClassSummary:
    """Mean and SD (n - 1) of one scale within one criterion class."""

    n: int
    mean: float | None
    sd: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"n": self.n, "mean": self.mean, "sd": self.sd}


@dataclass(frozen=True)
class ScaleCriterion:
    """One scale against the criterion: summaries by class and AUC for its own class."""

    scale: str
    own_class: str | None
    by_class: Mapping[str, ClassSummary]
    auc: StatResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "scale": self.scale,
            "own_class": self.own_class,
            "by_class": {c: s.to_dict() for c, s in self.by_class.items()},
            "auc": self.auc.to_dict(),
        }


def _summary(x: np.ndarray) -> ClassSummary:
    n = int(x.size)
    mean = float(x.mean()) if n else None
    sd = float(x.std(ddof=1)) if n >= 2 else None
    return ClassSummary(n=n, mean=mean, sd=sd)


def scale_against_criterion(
    scale: str,
    codes: np.ndarray,
    values: np.ndarray,
    own_class: str | None,
    classes: Sequence[str],
    *,
    shown: int | None = None,
    conf: float = 0.95,
) -> ScaleCriterion:
    """One scale from aligned arrays: each entry's criterion class and score.

    ``codes[i]`` indexes ``classes`` (-1: no class, left out); entries with a NaN score are
    left out too. Mean and SD (n - 1) for the first ``shown`` classes (default all), in order;
    the AUC of ``own_class`` against every other entry (undefined without an own class).
    """
    codes = np.asarray(codes, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    keep = (codes >= 0) & ~np.isnan(values)
    codes, values = codes[keep], values[keep]
    shown = len(classes) if shown is None else shown
    by_class = {str(c): _summary(values[codes == k]) for k, c in enumerate(classes[:shown])}
    if own_class is None:
        auc = StatResult.undefined(f"scale {scale!r} has no criterion class of its own")
    else:
        own = codes == (list(classes).index(own_class) if own_class in classes else -2)
        auc = auc_mann_whitney(values[own], values[~own], conf)
    return ScaleCriterion(scale=scale, own_class=own_class, by_class=by_class, auc=auc)


def scales_against_criterion(
    scores: Mapping[str, Mapping[Hashable, float | None]],
    criterion: Mapping[Hashable, str],
    scale_class: Mapping[str, str],
    *,
    classes: Sequence[str] | None = None,
    conf: float = 0.95,
) -> dict[str, ScaleCriterion]:
    """Mean and SD of every scale by criterion class, and its AUC for its own class vs the rest.

    ``scores`` is {scale: {session: score}}; ``criterion`` {session: resolved class} (from
    :func:`resolve_criterion`, sessions without one left out); ``scale_class`` {scale:
    class}, e.g. Avoidance -> Ds. A scale with no own class gets an undefined AUC.
    """
    order = list(classes) if classes is not None else order_categories(criterion.values())
    out = {}
    for scale, by_session in scores.items():
        pairs = [
            (criterion[s], float(v))
            for s, v in by_session.items()
            if s in criterion and not is_missing(v)
        ]
        # Classes outside ``order`` are not summarised but count among "the rest".
        every = [*order, *dict.fromkeys(c for c, _ in pairs if c not in order)]
        index = {c: k for k, c in enumerate(every)}
        codes = np.array([index[c] for c, _ in pairs], dtype=np.int64)
        values = np.array([v for _, v in pairs], dtype=float)
        out[scale] = scale_against_criterion(
            scale, codes, values, scale_class.get(scale), every, shown=len(order), conf=conf
        )
    return out
