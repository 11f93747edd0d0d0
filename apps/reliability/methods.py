"""The methods paragraph of a stored report, for the PI to copy into a paper.

It follows the items of the Guidelines for Reporting Reliability and Agreement Studies (GRRAS,
Kottner et al. 2011): the raters and their training, the subjects and how the double-coded
share was chosen, blinding, each statistic with its model, type and definition, the CI
method, and the software with its version; with the headline numbers. Every figure comes from
what the reports stored (results, filter, parameters, versions, the time they read their
codings); nothing is recomputed. What the platform cannot know (how coders were trained, how
the double-coded sessions were chosen) is the lab's own sentences on the project; what is
missing is left out of the paragraph and listed by ``methods_missing`` for the page, never
invented. Statistic names and definitions come from apps/reliability/statistic_names.py.
"""

from __future__ import annotations

import statistics as pystats
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Count

from apps.assignments.models import Purpose, State
from apps.projects.errors import DomainError
from apps.projects.models import MANAGING_ROLES, Membership
from apps.reliability.models import CriterionReport, ReliabilityReport
from apps.reliability.statistic_names import statistic
from apps.transcripts.models import Transcript

PLATFORM = "coding-platform"
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
POLICY_TEXT = {
    "secondary": (
        "Interviews classified unresolved (U) or cannot classify (CC) were compared through "
        "their secondary, organised classification"
    ),
    "exclude": (
        "Sessions of patients whose interview was classified unresolved (U) or cannot "
        "classify (CC) were excluded"
    ),
    "own_class": (
        "Unresolved (U) interviews were kept as their own class in the 4-way view and "
        "compared through their secondary, organised classification in the 3- and 2-way views"
    ),
}
VIEW_TEXT = {"three_way": "3-way", "two_way": "2-way", "four_way": "4-way"}


# Numbers as a paper prints them ---------------------------------------------------------


def coefficient(x: float | None) -> str:
    """A coefficient bounded by 1, APA style: no leading zero, two decimals, a true minus."""
    if x is None:
        return "undefined"
    text = f"{abs(x):.2f}"
    if text.startswith("0"):
        text = text[1:]
    return ("−" if x < 0 and text.strip(".0") else "") + text


def percent(x: float | None) -> str:
    return "undefined" if x is None else f"{100 * x:.1f}%"


def interval(stat: dict, level: int) -> str:
    """ ", 95% CI [.70, .94]" for a stored statistic with an interval, else nothing."""
    ci = stat.get("ci")
    if not ci:
        return ""
    return f", {level}% CI [{coefficient(ci[0])}, {coefficient(ci[1])}]"


def _percent_interval(stat: dict, level: int) -> str:
    ci = stat.get("ci")
    if not ci:
        return ""
    return f", {level}% CI [{percent(ci[0])}, {percent(ci[1])}]"


def _count_word(n: int) -> str:
    return NUMBER_WORDS.get(n, str(n))


def _and(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _sentence(text: str) -> str:
    """Lab-entered text as one or more sentences (a final full stop added when missing)."""
    text = " ".join(text.split())
    return text if text[-1:] in ".!?" else f"{text}."


def _level(parameters: dict) -> int:
    return round(100 * float((parameters or {}).get("confidence", 0.95)))


# What the platform knows about the report -------------------------------------------------


def _read_at(report) -> object:
    """When the report read its codings: its last start, else its request."""
    return report.started_at or report.created_at


def _coders(report: ReliabilityReport) -> list[dict]:
    """The report's coders: name (or None), role in the project, training codings before it."""
    emails = list((report.results or {}).get("coders") or [])
    users = {u.email: u for u in get_user_model().objects.filter(email__in=emails, is_active=True)}
    roles = dict(
        Membership.objects.filter(project_id=report.project_id, user__email__in=emails).values_list(
            "user__email", "role"
        )
    )
    training = dict(
        report.project.assignments.filter(
            purpose=Purpose.TRAINING,
            state=State.SUBMITTED,
            submitted_at__lte=_read_at(report),
            coding_system__key=report.coding_system.key,
            coder__email__in=emails,
        )
        .values("coder__email")
        .annotate(n=Count("id"))
        .values_list("coder__email", "n")
    )
    return [
        {
            "email": e,
            "name": (users[e].full_name or None) if e in users else None,
            "role": roles.get(e),
            "training": training.get(e, 0),
        }
        for e in emails
    ]


def filter_description(filter: dict, *, project_id: int) -> str:
    """The stored filter of a report as words ("" when the report read every session)."""
    parts = []
    if filter.get("date_from") and filter.get("date_to"):
        parts.append(f"sessions dated {filter['date_from']} to {filter['date_to']}")
    elif filter.get("date_from"):
        parts.append(f"sessions dated from {filter['date_from']}")
    elif filter.get("date_to"):
        parts.append(f"sessions dated up to {filter['date_to']}")
    if filter.get("sites"):
        parts.append(f"site {_and(filter['sites'])}")
    if filter.get("therapists"):
        parts.append(f"therapist {_and(filter['therapists'])}")
    if filter.get("session_numbers"):
        parts.append(f"session number {_and(str(n) for n in filter['session_numbers'])}")
    if filter.get("sessions"):
        parts.append(f"{_plural(len(filter['sessions']), 'selected session')}")
    if filter.get("coders"):
        users = get_user_model().objects.filter(
            pk__in=filter["coders"], memberships__project_id=project_id
        )
        names = sorted(u.full_name or u.email for u in users)
        parts.append(f"the codings of {_and(names)}")
    if filter.get("purpose") and filter["purpose"] != Purpose.INDEPENDENT:
        parts.append(f"{Purpose(filter['purpose']).label.lower()} codings")
    return f"restricted to {_and(parts)}" if parts else ""


# The reliability paragraphs ---------------------------------------------------------------


def _raters_and_subjects(report: ReliabilityReport, coders: list[dict]) -> str:
    results = report.results
    system = report.coding_system
    n_sessions = int(results.get("n_sessions") or 0)
    sessions = results.get("sessions") or []
    n_cases = len({s["case"] for s in sessions})
    per_session = sorted({int(s["coders"]) for s in sessions})
    n_coders = len(coders)
    named = all(c["name"] for c in coders) and coders
    who = f"{_count_word(n_coders).capitalize()} coders" if n_coders != 1 else "One coder"
    if named:
        who += f" ({_and(c['name'] for c in coders)})"
    if per_session and per_session != [n_coders]:
        by = f"each by {_count_word(per_session[0])} to {_count_word(per_session[-1])} of them"
        if len(per_session) == 1:
            by = f"each by {_count_word(per_session[0])} of them"
    else:
        by = "each by all of them" if n_coders > 2 else "each by both"
    text = [
        f"{who} coded {_plural(n_sessions, 'session')} of {_plural(n_cases, 'patient')} "
        f"independently with {system.name} {system.version}, {by}."
    ]
    total = Transcript.objects.filter(
        project_id=report.project_id, created_at__lte=_read_at(report)
    ).count()
    if total:
        share = n_sessions / total
        text.append(
            f"These were {n_sessions:,} of the study's {total:,} transcribed sessions "
            f"({100 * share:.0f}%)."
        )
    restriction = filter_description(report.filter or {}, project_id=report.project_id)
    if restriction:
        text.append(f"The analysis was {restriction}.")
    project = report.project
    if project.double_coding_selection.strip():
        text.append(_sentence(project.double_coding_selection))
    if project.coder_training.strip():
        text.append(_sentence(project.coder_training))
    trained = [c for c in coders if c["training"]]
    if trained:
        counts = ", ".join(
            f"{c['name'] or 'coder ' + str(i + 1)} {c['training']}" for i, c in enumerate(coders)
        )
        text.append(
            f"Before this analysis the coders had submitted {counts} training "
            f"coding{'s' if sum(c['training'] for c in coders) != 1 else ''} with "
            f"{system.name} on the platform."
        )
    text.append(_blinding(coders))
    return " ".join(text)


def _blinding(coders: list[dict]) -> str:
    blind = [c for c in coders if c["role"] not in MANAGING_ROLES]
    open_ = [c for c in coders if c["role"] in MANAGING_ROLES]
    rule = (
        "codings resubmitted after a release (once their coder could have seen the others) "
        "were left out of the analysis"
    )
    if not open_:
        return (
            "The platform kept the coders blind to each other's codings until both had "
            "submitted and the codings were released, and hid the patients' Adult Attachment "
            f"Interview (AAI) classifications and post-session questionnaire answers from them; "
            f"{rule}."
        )
    names = _and(c["name"] or "one coder" for c in open_)
    text = (
        f"{names} coded in a role that sees every coding and the criterion data (lead or "
        "coordinator), so for "
        f"{'this coder' if len(open_) == 1 else 'these coders'} blinding rested on the lab's "
        "procedure, not on the platform"
    )
    if blind:
        others = _and(c["name"] or "the other coders" for c in blind)
        text = (
            f"The platform kept {others} blind to the other codings until they were submitted "
            "and released, and hid the patients' AAI classifications and post-session "
            f"questionnaire answers from {'them' if len(blind) > 1 else 'this coder'}. " + text
        )
    return f"{text}; {rule}."


def _values(rows: list[dict], key: str, field: str = "statistics") -> list[dict]:
    out = []
    for row in rows:
        stat = (row.get(field) or {}).get(key)
        if stat and stat.get("value") is not None:
            out.append(stat)
    return out


def _summary(stats: list[dict]) -> str:
    values = [s["value"] for s in stats]
    if len(values) == 1:
        return coefficient(values[0])
    return (
        f"{coefficient(pystats.median(values))} "
        f"(range {coefficient(min(values))} to {coefficient(max(values))})"
    )


def _methods_of(stats: list[dict]) -> str:
    return "; ".join(dict.fromkeys(s["ci_method"] for s in stats if s.get("ci_method")))


def _kappa_key(rows: list[dict]) -> str:
    for row in rows:
        if "cohen_kappa" in (row.get("statistics") or {}):
            return "cohen_kappa"
    return "fleiss_kappa"


def _statistics(report: ReliabilityReport) -> tuple[str, list[tuple[str, str]]]:
    """The paragraph on units and statistics, and (statistic, CI method) pairs used."""
    overall = report.results.get("overall") or {}
    level = _level(report.parameters)
    methods: list[tuple[str, str]] = []
    units, parts = [], []
    occurrence = overall.get("marker_occurrence") or {}
    for unit, words in (("turns", "turns"), ("segments", "time segments")):
        block = occurrence.get(unit) or {}
        markers = block.get("markers") or []
        if not markers or not block.get("n_units"):
            continue
        units.append(
            f"{words} for marker occurrence ({block['n_units']:,} {words} coded by two or more "
            f"coders{', each coder coding the turns of the speaker a marker is for' if unit == 'turns' else ''}; "
            "a marker present or absent per unit)"
        )
        key = _kappa_key(markers)
        kappa = statistic(key)
        ac1 = statistic("gwet_ac1")
        defined = _values(markers, key)
        ac1_values = _values(markers, "gwet_ac1")
        prevalence = [p["value"] for p in _values(markers, "prevalence")]
        uneven = ""
        if prevalence:
            median_prevalence = pystats.median(prevalence)
            if median_prevalence < 0.2 or median_prevalence > 0.8:
                uneven = (
                    f" Because the markers' prevalence is uneven (median {percent(median_prevalence)} "
                    f"of {words}) and {kappa.symbol} is low for rare codes even when coders agree,"
                )
        text = (
            f"Marker occurrence per {words[:-1]} was assessed with {kappa.name} "
            f"({kappa.symbol}: {_lower_first(kappa.definition)}) and percent agreement."
            f"{uneven or ' As'} {ac1.name} ({_lower_first(ac1.definition)}) is reported beside "
            f"{kappa.symbol}, with each marker's prevalence."
        )
        if defined:
            text += (
                f" Across the {_plural(len(defined), 'marker')} with a defined {kappa.symbol}, "
                f"the median {kappa.symbol} was {_summary(defined)}"
            )
            if ac1_values:
                text += f"; the median AC1 was {_summary(ac1_values)}"
            text += "."
        undefined = len(markers) - len(defined)
        if undefined:
            text += (
                f" {kappa.symbol} was undefined for {_plural(undefined, 'marker')} (for example "
                "a marker no coder used)."
            )
        parts.append(text)
        methods += [(kappa.short, _methods_of(defined)), ("AC1", _methods_of(ac1_values))]
    icc = statistic("ICC2")
    frequency = overall.get("marker_frequency") or {}
    freq_stats = [
        s
        for unit in ("turns", "segments")
        for s in _values((frequency.get(unit) or {}).get("markers") or [], "ICC2", "icc")
    ]
    ratings = overall.get("ratings") or {}
    rating_stats = [
        s
        for level_name in ("session", "segment")
        for s in _values(ratings.get(level_name) or [], "ICC2", "icc")
    ]
    if freq_stats or rating_stats:
        units.append("sessions for marker frequencies and session ratings")
        text = (
            f"Marker frequencies per session and ratings were assessed with {icc.name} "
            f"(McGraw & Wong 1996; {_lower_first(icc.definition)})"
        )
        found = []
        if freq_stats:
            found.append(
                f"median {icc.short} {_summary(freq_stats)} over the session frequencies of "
                f"{_plural(len(freq_stats), 'marker')}"
            )
        if rating_stats:
            found.append(
                f"median {icc.short} {_summary(rating_stats)} over "
                f"{_plural(len(rating_stats), 'rating item')}"
            )
        parts.append(f"{text}: {'; '.join(found)}.")
        methods.append((icc.short, _methods_of(freq_stats + rating_stats)))
    for c in overall.get("classification") or []:
        stats = c.get("statistics") or {}
        key = "cohen_kappa" if "cohen_kappa" in stats else "fleiss_kappa"
        kappa, pa, ac1 = (
            stats.get(key) or {},
            stats.get("percent_agreement") or {},
            stats.get("gwet_ac1") or {},
        )
        if kappa.get("value") is None and pa.get("value") is None:
            continue
        name = statistic(key)
        if "sessions for marker frequencies and session ratings" not in units:
            units.append("sessions for the classification")
        prevalence = _class_prevalence(c)
        text = (
            f"The {c['name'].lower()} ({_and(c.get('categories') or [])}) was compared with "
            f"{name.name}: {name.symbol} = {coefficient(kappa.get('value'))}"
            f"{interval(kappa, level)}, percent agreement {percent(pa.get('value'))}"
        )
        if ac1.get("value") is not None:
            text += f", AC1 = {coefficient(ac1['value'])}{interval(ac1, level)}"
        text += f" (n = {_plural(int(c.get('n_units') or 0), 'session')})"
        if prevalence:
            text += (
                f"; AC1 is given beside {name.symbol} because the classes were unevenly "
                f"common ({prevalence})"
            )
        parts.append(text + ".")
        methods += [(name.short, _methods_of([kappa])), ("AC1", _methods_of([ac1]))]
    opening = f"Units of analysis were {_and(units)}." if units else ""
    return " ".join([opening, *parts]).strip(), methods


def _lower_first(text: str) -> str:
    text = text.rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _class_prevalence(classification: dict) -> str:
    """Each class's share of all codings ("secure 50%, avoidant 30% ..."), from the confusion."""
    confusion = classification.get("confusion")
    categories = classification.get("categories") or []
    if not confusion or not categories:
        return ""
    rows = [sum(r) for r in confusion]
    cols = [sum(r[j] for r in confusion) for j in range(len(categories))]
    total = sum(rows) + sum(cols)
    if not total:
        return ""
    shares = [(rows[i] + cols[i]) / total for i in range(len(categories))]
    if max(shares) - min(shares) < 0.15:
        return ""
    return ", ".join(f"{c} {100 * s:.0f}%" for c, s in zip(categories, shares, strict=True))


def _ci_methods(methods: list[tuple[str, str]], level: int) -> str:
    by_method: dict[str, list[str]] = {}
    for name, method in methods:
        if method and name not in by_method.setdefault(method, []):
            by_method[method].append(name)
    if not by_method:
        return ""
    parts = [f"{_and(names)}: {method}" for method, names in by_method.items()]
    return f"{level}% confidence intervals: {'; '.join(parts)}."


def _software(report, criterion_report=None) -> str:
    versions = dict(report.versions or {})
    if criterion_report is not None and not versions:
        versions = dict(criterion_report.versions or {})
    ours = versions.get("platform") or ""
    name = f"{PLATFORM} {ours}" if ours and not ours.startswith("unknown") else PLATFORM
    libraries = [
        f"{label} {versions[key]}"
        for key, label in (("python", "Python"), ("numpy", "NumPy"), ("scipy", "SciPy"))
        if versions.get(key)
    ]
    text = f"Statistics were computed with {name}"
    if libraries:
        text += f" ({', '.join(libraries)})"
    stored = f"reliability report {report.pk} of {report.created_at:%Y-%m-%d}"
    if criterion_report is None:
        return (
            f"{text}; the stored {stored} keeps its filter, parameters and results, so the "
            "figures can be reproduced."
        )
    stored += (
        f" and criterion report {criterion_report.pk} of {criterion_report.created_at:%Y-%m-%d}"
    )
    return (
        f"{text}; the stored {stored} keep their filter, parameters and results, so the "
        "figures can be reproduced."
    )


# The criterion paragraph ------------------------------------------------------------------


def _criterion(criterion_report: CriterionReport, coder_names: dict[str, str]) -> tuple[str, list]:
    p = criterion_report.parameters or {}
    results = criterion_report.results or {}
    level = _level(p)
    classification = criterion_report.coding_system.classifications.filter(
        code=p.get("classification")
    ).first()
    cname = classification.name.lower() if classification else str(p.get("classification"))
    if p.get("source") == "derived":
        source = f"the {cname} derived from each coding by the coding system's rule" + (
            f" ({_rule_text(classification.derivation)})" if classification else ""
        )
    else:
        source = f"each coder's own {cname}"
    mapping = p.get("mapping") or {}
    text = [
        f"Agreement with the criterion: {source} was compared with the patient's Adult "
        "Attachment Interview (AAI) classification, mapping "
        f"{_and(f'{k} to {v}' for k, v in mapping.items())}."
    ]
    policy = p.get("policy")
    if policy in POLICY_TEXT:
        text.append(f"{POLICY_TEXT[policy]}.")
    pooled = results.get("pooled") or {}
    three = pooled.get("three_way") or {}
    if three.get("excluded_by_reason"):
        reasons = _and(f"{n} {r}" for r, n in sorted(three["excluded_by_reason"].items()))
        text.append(
            f"In the 3-way view {_plural(int(three.get('n_excluded') or 0), 'coder-session pair')} "
            f"{'was' if three.get('n_excluded') == 1 else 'were'} excluded ({reasons})."
        )
    kappa, ac1 = statistic("cohen_kappa"), statistic("gwet_ac1")
    n_coders = int(results.get("n_coders") or 0)
    views = []
    used: list[dict] = []
    for key in ("three_way", "two_way", "four_way"):
        view = pooled.get(key)
        if not view or not view.get("n"):
            continue
        label = VIEW_TEXT[key]
        if key == "two_way" and p.get("collapse"):
            groups = _and(dict.fromkeys(p["collapse"].values()))
            label += f" ({groups})"
        pa, k, a = (
            view.get("percent_agreement") or {},
            view.get("kappa") or {},
            view.get("ac1") or {},
        )
        views.append(
            f"{label}: {kappa.symbol} = {coefficient(k.get('value'))}{interval(k, level)}, "
            f"AC1 = {coefficient(a.get('value'))}{interval(a, level)}, percent agreement "
            f"{percent(pa.get('value'))}{_percent_interval(pa, level)} "
            f"(n = {view['n']:,})"
        )
        used += [("κ", k), ("AC1", a), ("percent agreement", pa)]
    if views:
        pooled_words = (
            f"Pooled over the {_count_word(n_coders)} coders (coder-session pairs)"
            if n_coders > 1
            else "For the one coder"
        )
        text.append(
            f"{pooled_words}, {'; '.join(views)}. {ac1.name} is given beside {kappa.name} "
            "because the AAI classes are unevenly common."
        )
    per_coder = []
    for coder in results.get("coders") or []:
        view = ((results.get("per_coder") or {}).get(str(coder["id"])) or {}).get("three_way")
        if view and view.get("n"):
            k = view.get("kappa") or {}
            who = coder_names.get(coder["email"]) or "one coder"
            per_coder.append(
                f"{who} {kappa.symbol} = {coefficient(k.get('value'))} (n = {view['n']})"
            )
    if n_coders > 1 and per_coder:
        text.append(f"Per coder (3-way): {_and(per_coder)}.")
    text.append(
        "For each class, sensitivity, specificity and the positive and negative predictive "
        "values are reported with Wilson score intervals."
    )
    scales = [
        s for s in results.get("scales") or [] if (s.get("auc") or {}).get("value") is not None
    ]
    if scales:
        auc = statistic("auc")
        text.append(
            f"Each scale's score was related to the AAI by the {auc.name.lower()} "
            f"(median AUC {_summary([s['auc'] for s in scales])} over {_plural(len(scales), 'scale')})."
        )
        used += [("AUC", s["auc"]) for s in scales]
    wilson = _first_class_method(three)
    methods = [(name, stat.get("ci_method") or "") for name, stat in used]
    if wilson:
        methods.append(("sensitivity, specificity, PPV and NPV", wilson))
    return " ".join(text), methods


def _rule_text(derivation: dict) -> str:
    if (derivation or {}).get("rule") == "highest_scale":
        return "the category of the highest-scoring scale"
    return str((derivation or {}).get("rule") or "its stored rule").replace("_", " ")


def _first_class_method(view: dict) -> str:
    for accuracy in (view.get("per_class") or {}).values():
        for stat in accuracy.values():
            if stat.get("ci_method"):
                return stat["ci_method"]
    return ""


# Entry points -----------------------------------------------------------------------------


def _check(reliability_report: ReliabilityReport, criterion_report: CriterionReport | None):
    if not reliability_report.results:
        raise DomainError(
            f"Reliability report {reliability_report.pk} has no results yet (it is "
            f"{reliability_report.get_state_display().lower()}): a methods paragraph needs a "
            "finished report.",
            details={"reliability_report": ["Not finished."]},
        )
    if criterion_report is not None:
        if not criterion_report.results:
            raise DomainError(
                f"Criterion report {criterion_report.pk} has no results yet.",
                details={"criterion_report": ["Not finished."]},
            )
        if criterion_report.project_id != reliability_report.project_id:
            raise DomainError(
                "The two reports belong to different projects.",
                details={"criterion_report": ["Another project's report."]},
            )


def methods_paragraph(
    reliability_report: ReliabilityReport, criterion_report: CriterionReport | None = None
) -> str:
    """The methods text (plain, a few paragraphs) for a finished report, following GRRAS."""
    _check(reliability_report, criterion_report)
    coders = _coders(reliability_report)
    level = _level(reliability_report.parameters)
    statistics_text, methods = _statistics(reliability_report)
    paragraphs = [_raters_and_subjects(reliability_report, coders), statistics_text]
    if criterion_report is not None:
        names = {c["email"]: c["name"] for c in coders if c["name"]}
        names |= _names_of(criterion_report, exclude=names)
        criterion_text, criterion_methods = _criterion(criterion_report, names)
        paragraphs.append(criterion_text)
        methods += criterion_methods
    closing = " ".join(
        t
        for t in (_ci_methods(methods, level), _software(reliability_report, criterion_report))
        if t
    )
    paragraphs.append(closing)
    return "\n\n".join(p for p in paragraphs if p)


def _names_of(criterion_report: CriterionReport, *, exclude: dict) -> dict[str, str]:
    emails = [
        c["email"]
        for c in (criterion_report.results or {}).get("coders") or []
        if c["email"] not in exclude
    ]
    return {
        u.email: u.full_name
        for u in get_user_model().objects.filter(email__in=emails)
        if u.full_name
    }


def methods_missing(
    reliability_report: ReliabilityReport, criterion_report: CriterionReport | None = None
) -> list[str]:
    """What the lead could add so the paragraph covers every GRRAS item (for the page)."""
    _check(reliability_report, criterion_report)
    project = reliability_report.project
    hints = []
    if not project.coder_training.strip():
        hints.append(
            "How the coders were trained (for example practice on gold-standard sessions with "
            "feedback until κ ≥ .70): add it to the project's methods details."
        )
    if not project.double_coding_selection.strip():
        hints.append(
            "How the double-coded sessions were chosen (for example a random 20% of sessions "
            "stratified by site): add it to the project's methods details."
        )
    coders = _coders(reliability_report)
    unnamed = [c["email"] for c in coders if not c["name"]]
    if unnamed:
        hints.append(
            "The coders are not named because some accounts have no full name "
            f"({_and(unnamed)}); with a name on every account the paragraph names them."
        )
    managing = [c["name"] or c["email"] for c in coders if c["role"] in MANAGING_ROLES]
    if managing:
        hints.append(
            f"{_and(managing)} coded as lead or coordinator, who see every coding and the AAI: "
            "the paragraph says blinding rested on the lab's procedure for them; describe it."
        )
    versions = reliability_report.versions or {}
    if not versions:
        hints.append(
            "This report was computed before library versions were stored, so the paragraph "
            "names no versions; a new report stores them."
        )
    elif str(versions.get("platform") or "").startswith("unknown") or not versions.get("platform"):
        hints.append("The platform's own version was not known when this report was computed.")
    if criterion_report is None:
        hints.append(
            "No criterion (AAI) report is given, so agreement with the AAI is not described."
        )
    return hints


def methods_context(
    reliability_report: ReliabilityReport, criterion_report: CriterionReport | None = None
) -> dict:
    """The context of templates/reliability/_methods.html: ``methods`` and ``methods_missing``."""
    return {
        "methods": methods_paragraph(reliability_report, criterion_report),
        "methods_missing": methods_missing(reliability_report, criterion_report),
    }


__all__ = [
    "filter_description",
    "methods_context",
    "methods_missing",
    "methods_paragraph",
]
