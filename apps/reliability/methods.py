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
    users = {u.email: u for u in get_user_model().objects.filter(email__in=emails)}
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


def _or(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def filter_description(filter: dict, *, project_id: int) -> str:
    """The stored filter of a report as words ("" when the report read every session)."""
    which = []
    if filter.get("date_from") and filter.get("date_to"):
        which.append(f"dated {filter['date_from']} to {filter['date_to']}")
    elif filter.get("date_from"):
        which.append(f"dated from {filter['date_from']}")
    elif filter.get("date_to"):
        which.append(f"dated up to {filter['date_to']}")
    if filter.get("sites"):
        which.append(f"at site {_or(filter['sites'])}")
    if filter.get("therapists"):
        which.append(f"with therapist {_or(filter['therapists'])}")
    if filter.get("session_numbers"):
        which.append(f"numbered {_or(str(n) for n in filter['session_numbers'])} within their case")
    parts = []
    if filter.get("sessions"):
        chosen = _plural(len(filter["sessions"]), "selected session")
        parts.append(" ".join([chosen, ", ".join(which)]).strip())
    elif which:
        parts.append(f"sessions {', '.join(which)}")
    if filter.get("coders"):
        users = get_user_model().objects.filter(
            pk__in=filter["coders"], memberships__project_id=project_id
        )
        names = sorted(u.full_name or u.email for u in users)
        parts.append(f"the codings of {_and(names)}")
    if filter.get("purpose") and filter["purpose"] != Purpose.INDEPENDENT:
        parts.append(f"{Purpose(filter['purpose']).label.lower()} codings")
    return f"restricted to {'; and to '.join(parts)}" if parts else ""


# The reliability paragraphs ---------------------------------------------------------------


def _raters_and_subjects(report: ReliabilityReport, coders: list[dict]) -> str:
    results = report.results
    system = report.coding_system
    n_sessions = int(results.get("n_sessions") or 0)
    sessions = results.get("sessions") or []
    n_cases = len({s["case"] for s in sessions})
    per_session = sorted({int(s["coders"]) for s in sessions})
    n_coders = len(coders)
    who = f"{_count_word(n_coders).capitalize()} coder{'s' if n_coders != 1 else ''}"
    if coders and all(c["name"] for c in coders):
        who += f" ({_and(c['name'] for c in coders)})"
    codebook = f"the {system.name}, version {system.version}"
    if system.partial:
        codebook += " (a partial codebook: the markers named in the published literature)"
    subjects = f"{_plural(n_sessions, 'session')} of {_plural(n_cases, 'patient')}"
    if per_session in ([], [n_coders]):
        first = f"{who} each coded the same {subjects} independently with {codebook}."
    else:
        spread = (
            _count_word(per_session[0])
            if len(per_session) == 1
            else f"{_count_word(per_session[0])} to {_count_word(per_session[-1])}"
        )
        first = f"{who} coded {subjects} independently with {codebook}, {spread} per session."
    text = [first]
    total = Transcript.objects.filter(
        project_id=report.project_id, created_at__lte=_read_at(report)
    ).count()
    if total:
        text.append(
            f"The double-coded sessions were {n_sessions:,} of the study's {total:,} "
            f"transcribed sessions ({100 * n_sessions / total:.0f}%)."
        )
    restriction = filter_description(report.filter or {}, project_id=report.project_id)
    if restriction:
        text.append(f"The analysis was {restriction}.")
    project = report.project
    if project.double_coding_selection.strip():
        text.append(_sentence(project.double_coding_selection))
    if project.coder_training.strip():
        text.append(_sentence(project.coder_training))
    training = _training(coders, system)
    if training:
        text.append(training)
    text.append(
        _blinding(coders, training=(report.filter or {}).get("purpose") == Purpose.TRAINING)
    )
    return " ".join(text)


def _training(coders: list[dict], system) -> str:
    """What the platform knows of the coders' training: training codings submitted before."""
    if not any(c["training"] for c in coders):
        return ""
    what = f"with the {system.name} on the platform before this analysis"
    counts = [c["training"] for c in coders]
    if len(set(counts)) == 1:
        n = counts[0]
        return f"Each coder had submitted {_plural(n, 'training coding')} {what}."
    if all(c["name"] for c in coders):
        first, *rest = coders
        others = "".join(f", {c['name']} {c['training']}" for c in rest)
        return (
            f"{first['name']} had submitted {_plural(first['training'], 'training coding')} "
            f"{what}{others}."
        )
    return (
        f"The coders had submitted {_and(str(n) for n in counts)} training codings {what}, "
        "respectively."
    )


def _who(coders: list[dict]) -> str:
    """The coders by name when every one has a name, else by count."""
    if all(c["name"] for c in coders):
        return _and(c["name"] for c in coders)
    return "one of the coders" if len(coders) == 1 else f"{_count_word(len(coders))} of the coders"


def _blinding(coders: list[dict], *, training: bool = False) -> str:
    """What the platform enforced: blind to each other's codings and to the criterion data.

    Leads and coordinators see every coding and the AAI, so for a coder in such a role the
    platform enforced nothing, and the paragraph says so rather than claim blinding.
    """
    blind = [c for c in coders if c["role"] not in MANAGING_ROLES]
    open_ = [c for c in coders if c["role"] in MANAGING_ROLES]
    codings = "training codings" if training else "codings"
    until = "" if training else " until both had submitted and the codings were released"
    rule = (
        ""
        if training
        else "; codings resubmitted after a release (once their coder could have seen the "
        "others) were left out of the analysis"
    )
    criteria = (
        "the patients' Adult Attachment Interview (AAI) classifications and post-session "
        "questionnaire answers"
    )
    if not open_:
        return (
            f"The platform kept the coders blind to each other's {codings}{until}, and hid "
            f"{criteria} from them{rule}."
        )
    text = (
        f"{_who(open_)[:1].upper()}{_who(open_)[1:]} coded in a role that sees every coding "
        "and the criterion data (lead or coordinator), so for "
        f"{'this coder' if len(open_) == 1 else 'these coders'} blinding rested on the lab's "
        "procedure, not on the platform"
    )
    if blind:
        text = (
            f"The platform kept {_who(blind)} blind to the other {codings}{until}, and hid "
            f"{criteria} from {'them' if len(blind) > 1 else 'this coder'}. {text}"
        )
    return f"{text}{rule}."


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
    """The paragraph on units and statistics, and the (statistic, CI method) pairs it used."""
    overall = report.results.get("overall") or {}
    level = _level(report.parameters)
    methods: list[tuple[str, str]] = []
    units, session_uses, parts = [], [], []
    defined: set[str] = set()  # statistics already defined: each is defined once
    occurrence = overall.get("marker_occurrence") or {}
    for unit, words in (("turns", "turns"), ("segments", "time segments")):
        block = occurrence.get(unit) or {}
        markers = block.get("markers") or []
        if not block.get("n_units") or not any(
            p["value"] > 0 for p in _values(markers, "prevalence")
        ):
            continue  # no marker of this kind was applied: the level says nothing
        speaker = "; per marker, the turns of the speaker it codes" if unit == "turns" else ""
        units.append(
            f"{words} for marker occurrence ({block['n_units']:,} {words} coded by two or more "
            f"coders{speaker}; each marker present or absent in each)"
        )
        parts.append(_occurrence_text(markers, words, defined=defined))
        key = _kappa_key(markers)
        methods += [
            (statistic(key).short, _methods_of(_values(markers, key))),
            ("AC1", _methods_of(_values(markers, "gwet_ac1"))),
        ]
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
        what = _and(
            (["marker frequencies per session"] if freq_stats else [])
            + (["ratings"] if rating_stats else [])
        )
        session_uses += (["marker frequencies"] if freq_stats else []) + (
            ["ratings"] if rating_stats else []
        )
        found = []
        if freq_stats:
            found.append(
                f"the median {icc.short} was {_summary(freq_stats)} over the session "
                f"frequencies of {_plural(len(freq_stats), 'marker')}"
            )
        if rating_stats:
            found.append(
                f"{_summary(rating_stats)} over {_plural(len(rating_stats), 'rating item')}"
            )
        parts.append(
            f"{what[:1].upper()}{what[1:]} were assessed with {icc.name}; {icc.short} is "
            f"{_lower_first(icc.definition)}. Across items, {'; '.join(found)}."
        )
        methods.append((icc.short, _methods_of(freq_stats + rating_stats)))
    for c in overall.get("classification") or []:
        text = _classification_text(c, level)
        if text:
            session_uses.append(f"the {c['name'].lower()}")
            parts.append(text)
            stats = c.get("statistics") or {}
            key = "cohen_kappa" if "cohen_kappa" in stats else "fleiss_kappa"
            methods += [
                (statistic(key).short, _methods_of([stats.get(key) or {}])),
                ("AC1", _methods_of([stats.get("gwet_ac1") or {}])),
            ]
    if session_uses:
        units.append(f"sessions for {_and(session_uses)}")
    opening = f"Units of analysis were {_and(units)}." if units else ""
    return " ".join([opening, *parts]).strip(), methods


def _occurrence_text(markers: list[dict], words: str, *, defined: set[str]) -> str:
    key = _kappa_key(markers)
    kappa, ac1 = statistic(key), statistic("gwet_ac1")
    kappas = _values(markers, key)
    ac1_values = _values(markers, "gwet_ac1")
    text = (
        f"Marker occurrence per {words[:-1]} was assessed with {kappa.name} and percent agreement"
    )
    text += "." if key in defined else f"; {kappa.symbol} is {_lower_first(kappa.definition)}."
    prevalence = [p["value"] for p in _values(markers, "prevalence")]
    median_prevalence = pystats.median(prevalence) if prevalence else None
    if median_prevalence is not None and not 0.2 <= median_prevalence <= 0.8:
        text += (
            f" Because the markers' prevalence is uneven (median {percent(median_prevalence)} "
            f"of {words}) and {kappa.symbol} is low for a rare code even when coders agree, "
            f"{ac1.name} is reported beside it, with each marker's prevalence"
        )
    else:
        text += f" {ac1.name} is reported beside {kappa.symbol}, with each marker's prevalence"
    text += "." if "gwet_ac1" in defined else f"; AC1 is {_lower_first(ac1.definition)}."
    defined.update((key, "gwet_ac1"))
    if kappas:
        text += (
            f" Across the {_plural(len(kappas), 'marker')} with a defined {kappa.symbol}, "
            f"the median {kappa.symbol} was {_summary(kappas)}"
        )
        if ac1_values:
            text += f" and the median AC1 {_summary(ac1_values)}"
        text += "."
    undefined = [
        m for m in markers if ((m.get("statistics") or {}).get(key) or {}).get("value") is None
    ]
    if undefined:
        reasons = dict.fromkeys(
            str(((m.get("statistics") or {}).get(key) or {}).get("note") or "undefined")
            for m in undefined
        )
        text += (
            f" {kappa.symbol} was undefined for {_plural(len(undefined), 'marker')} "
            f"({'; '.join(reasons)})."
        )
    return text


def _classification_text(c: dict, level: int) -> str:
    stats = c.get("statistics") or {}
    key = "cohen_kappa" if "cohen_kappa" in stats else "fleiss_kappa"
    kappa = stats.get(key) or {}
    pa = stats.get("percent_agreement") or {}
    ac1 = stats.get("gwet_ac1") or {}
    if kappa.get("value") is None and pa.get("value") is None:
        return ""
    name = statistic(key)
    text = (
        f"The {c['name'].lower()} ({_and(c.get('categories') or [])}) agreed with "
        f"{name.symbol} = {coefficient(kappa.get('value'))}{interval(kappa, level)}, percent "
        f"agreement {percent(pa.get('value'))}"
    )
    if ac1.get("value") is not None:
        text += f" and AC1 = {coefficient(ac1['value'])}{interval(ac1, level)}"
    text += f" (n = {_plural(int(c.get('n_units') or 0), 'session')})"
    prevalence = _class_prevalence(c)
    if prevalence:
        text += (
            f"; AC1 is given beside {name.symbol} because the classes were unevenly common "
            f"({prevalence} of the codings)"
        )
    return text + "."


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


def _software_of(versions: dict) -> str:
    """ "coding-platform 0.1.0 (Python 3.11.7, NumPy 2.1.0, SciPy 1.14.1)", from what is stored."""
    ours = str(versions.get("platform") or "")
    name = f"{PLATFORM} {ours}" if ours and not ours.startswith("unknown") else PLATFORM
    libraries = [
        f"{label} {versions[key]}"
        for key, label in (("python", "Python"), ("numpy", "NumPy"), ("scipy", "SciPy"))
        if versions.get(key)
    ]
    return f"{name} ({', '.join(libraries)})" if libraries else name


def _software(report, criterion_report=None) -> str:
    """Which software computed the stored reports; versions only as stored, never guessed."""
    mine = _software_of(report.versions or {})
    stored = f"reliability report {report.pk} of {report.created_at:%Y-%m-%d}"
    if criterion_report is None:
        return (
            f"Statistics were computed with {mine}; the stored {stored} keeps its filter, "
            "parameters and results, so the figures can be reproduced."
        )
    theirs = _software_of(criterion_report.versions or {})
    stored += (
        f" and criterion report {criterion_report.pk} of {criterion_report.created_at:%Y-%m-%d}"
    )
    software = (
        f"Statistics were computed with {mine}"
        if mine == theirs
        else f"Reliability was computed with {mine} and agreement with the AAI with {theirs}"
    )
    return (
        f"{software}; the stored {stored} keep their filter, parameters and results, so the "
        "figures can be reproduced."
    )


# The criterion paragraph ------------------------------------------------------------------


def _criterion(criterion_report: CriterionReport, coder_names: dict[str, str]) -> str:
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
    # Stored JSON keeps no key order on PostgreSQL: follow the classification's categories.
    order = (
        list(classification.categories.order_by("position", "id").values_list("code", flat=True))
        if classification
        else []
    )
    rank = {code: i for i, code in enumerate(order)}
    mapping = dict(
        sorted((p.get("mapping") or {}).items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    )
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
            groups = " vs ".join(
                dict.fromkeys(p["collapse"][c] for c in mapping if c in p["collapse"])
            )
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
            f"Pooled over the {_count_word(n_coders)} coders (n in coder-session pairs)"
            if n_coders > 1
            else "For the one coder"
        )
        text.append(f"{pooled_words}, {'; '.join(views)}.")
        shares = _criterion_prevalence(three, mapping)
        if shares:
            text.append(
                f"{ac1.name} is given beside {kappa.symbol} because the AAI classes were "
                f"unevenly common ({shares})."
            )
    per_coder = []
    for i, coder in enumerate(results.get("coders") or []):
        view = ((results.get("per_coder") or {}).get(str(coder["id"])) or {}).get("three_way")
        if view and view.get("n"):
            k = view.get("kappa") or {}
            who = coder_names.get(coder["email"]) or f"coder {i + 1}"
            per_coder.append(
                f"{who} {kappa.symbol} = {coefficient(k.get('value'))} (n = {view['n']})"
            )
    if n_coders > 1 and per_coder:
        text.append(f"Per coder (3-way): {_and(per_coder)}.")
    text.append(
        "For each class, sensitivity, specificity and the positive and negative predictive "
        "values are reported with Wilson score intervals."
    )
    # results["scales"]: per coder and pooled {scale code: summary}; the paragraph cites the
    # pooled AUCs (docs/statistics.md, "Criterion reports").
    pooled_scales = ((results.get("scales") or {}).get("pooled") or {}).values()
    scales = [s for s in pooled_scales if (s.get("auc") or {}).get("value") is not None]
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
    closing = _ci_methods(methods, level)
    if closing:
        text.append(closing)
    return " ".join(text)


def _criterion_prevalence(view: dict, mapping: dict) -> str:
    """The criterion classes' shares in a view ("F 50%, Ds 30%, E 20%") when they are uneven."""
    totals = (view.get("confusion") or {}).get("col_totals") or []
    categories = view.get("categories") or []
    n = sum(totals)
    if not n or len(totals) != len(categories):
        return ""
    shares = [t / n for t in totals]
    if max(shares) - min(shares) < 0.15:
        return ""
    return ", ".join(
        f"{mapping.get(c, c)} {100 * x:.0f}%" for c, x in zip(categories, shares, strict=True)
    )


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
    if not reliability_report.results.get("n_sessions"):
        raise DomainError(
            f"Reliability report {reliability_report.pk} read no session coded by two or more "
            "coders, so there is no reliability to describe.",
            details={"reliability_report": ["No double-coded session."]},
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
        paragraphs.append(_criterion(criterion_report, names))
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
    reliability_report: ReliabilityReport,
    criterion_report: CriterionReport | None = None,
    *,
    criterion_readable: bool = True,
) -> list[str]:
    """What the lead could add so the paragraph covers every GRRAS item (for the page).

    ``criterion_readable`` False (a trainer): no hint about the criterion report, whose
    existence is criterion data too.
    """
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
    if criterion_report is None and criterion_readable:
        hints.append(
            "No criterion (AAI) report is given, so agreement with the AAI is not described."
        )
    return hints


def methods_context(
    reliability_report: ReliabilityReport,
    criterion_report: CriterionReport | None = None,
    *,
    criterion_readable: bool = True,
) -> dict:
    """The context of templates/reliability/_methods.html: ``methods`` and ``methods_missing``."""
    return {
        "methods": methods_paragraph(reliability_report, criterion_report),
        "methods_missing": methods_missing(
            reliability_report, criterion_report, criterion_readable=criterion_readable
        ),
    }


__all__ = [
    "filter_description",
    "methods_context",
    "methods_missing",
    "methods_paragraph",
]
