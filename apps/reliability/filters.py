"""Which sessions and codings a report reads: one filter for both report kinds.

A reliability report and a criterion report store the same filter shape (``filter`` on the
row), cleaned here once and applied by one queryset (``report_assignments`` in dataset.py),
so the two kinds can never read different sessions for the same words. Keys (all optional):

- ``date_from``, ``date_to``: ISO dates, inclusive; sessions without a date are left out as
  soon as either is given.
- ``sites``, ``therapists``: the sessions' site and therapist labels (any of them).
- ``session_numbers``: session numbers within their case (any of them).
- ``sessions``: session ids (any of them).
- ``coders``: user ids of project members; only their codings are read.
- ``purpose``: which codings: ``independent`` (the default, blind submitted codings), or
  ``training`` for reliability (agreement among trainees on their practice sessions), or
  ``consensus`` for criterion reports (the adjudicated coding of each session). Consensus
  codings have no second rater, so reliability refuses them; training codings are practice,
  no evidence of validity, so criterion reports refuse them.

``filter_sentences`` turns a stored filter into the sentences a PI reads on the report page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from apps.accounts.selectors import display_names
from apps.assignments.models import Purpose
from apps.projects.errors import DomainError
from apps.projects.models import Membership, Project
from apps.transcripts.models import Session

ReportKind = Literal["reliability", "criterion"]

FILTER_KEYS = (
    "date_from",
    "date_to",
    "sites",
    "therapists",
    "session_numbers",
    "sessions",
    "coders",
    "purpose",
)
PURPOSES: dict[str, tuple[str, ...]] = {
    "reliability": (Purpose.INDEPENDENT.value, Purpose.TRAINING.value),
    "criterion": (Purpose.INDEPENDENT.value, Purpose.CONSENSUS.value),
}
PURPOSE_REFUSED = {
    ("reliability", Purpose.CONSENSUS.value): (
        "consensus codings have one coding per session, so there is no second coder to agree with"
    ),
    ("reliability", Purpose.GOLD.value): (
        "gold codings are the reference trainees are checked against, one per session"
    ),
    ("criterion", Purpose.TRAINING.value): (
        "training codings are trainees' practice, not evidence of the coding system's validity"
    ),
    ("criterion", Purpose.GOLD.value): (
        "gold codings are the trainers' reference for training, not the study's codings"
    ),
}
# Bounds of the columns and of a request a person makes.
LABEL_MAX = 100
LIST_MAX = 10000
NUMBER_MAX = 2_147_483_647
ID_MAX = 999_999_999_999_999_999


def _labels(value: Any, errors: list[str]) -> list[str]:
    if not isinstance(value, list | tuple):
        errors.append("A list of labels.")
        return []
    out = []
    for v in value:
        if not isinstance(v, str) or not v.strip():
            errors.append("Each label must be non-empty text.")
            return []
        if len(v.strip()) > LABEL_MAX:
            errors.append(f"Each label has at most {LABEL_MAX} characters.")
            return []
        out.append(v.strip())
    if len(out) > LIST_MAX:
        errors.append(f"At most {LIST_MAX} labels.")
        return []
    return sorted(set(out))


def _integers(value: Any, errors: list[str], *, maximum: int, what: str) -> list[int]:
    if not isinstance(value, list | tuple):
        errors.append(f"A list of {what}.")
        return []
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= maximum:
            errors.append(f"Each entry must be a whole number from 1 to {maximum}.")
            return []
        out.append(v)
    if len(out) > LIST_MAX:
        errors.append(f"At most {LIST_MAX} entries.")
        return []
    return sorted(set(out))


def _date(value: Any, errors: list[str]) -> str | None:
    if isinstance(value, dt.datetime):
        errors.append("A date (YYYY-MM-DD), not a date and time.")
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    errors.append("A date as YYYY-MM-DD.")
    return None


def _missing(values: Sequence, found: set) -> list:
    return [v for v in values if v not in found]


def report_filter_clean(*, project: Project, filter: Any, kind: ReportKind) -> dict:
    """Check a report filter and return it in its stored form, or raise one DomainError.

    Every problem is collected and named by its field (``details = {"filter": {field:
    [messages]}}``), so a request learns all of them at once and nothing is stored. Lists come
    back sorted without repeats, dates as ISO strings, and ``purpose`` is always present.
    """
    if kind not in PURPOSES:
        raise ValueError(f"kind must be one of {', '.join(PURPOSES)}, got {kind!r}")
    if filter is None:
        filter = {}
    if not isinstance(filter, Mapping):
        raise DomainError(
            "The filter must be an object.",
            details={"filter": [f"An object with the keys {', '.join(FILTER_KEYS)}."]},
        )
    problems: dict[str, list[str]] = {}

    def field_errors(key: str) -> list[str]:
        return problems.setdefault(key, [])

    for key in sorted(set(filter) - set(FILTER_KEYS)):
        field_errors(str(key)).append(f"Unknown filter field; allowed: {', '.join(FILTER_KEYS)}.")
    given = {k: v for k, v in filter.items() if k in FILTER_KEYS and v not in (None, "", [], ())}
    clean: dict[str, Any] = {}
    for key in ("date_from", "date_to"):
        if key in given:
            value = _date(given[key], field_errors(key))
            if value is not None:
                clean[key] = value
    if "date_from" in clean and "date_to" in clean and clean["date_from"] > clean["date_to"]:
        field_errors("date_to").append(
            f"Must be on or after date_from ({clean['date_from']}); got {clean['date_to']}."
        )
    sessions = Session.objects.filter(project=project)
    for key, column in (("sites", "site"), ("therapists", "therapist")):
        if key in given:
            labels = _labels(given[key], field_errors(key))
            if labels:
                found = set(
                    sessions.filter(**{f"{column}__in": labels})
                    .values_list(column, flat=True)
                    .distinct()
                )
                unknown = _missing(labels, found)
                if unknown:
                    field_errors(key).append(
                        f"No session of this project has {column} {_and(unknown)}."
                    )
                else:
                    clean[key] = labels
    if "session_numbers" in given:
        numbers = _integers(
            given["session_numbers"],
            field_errors("session_numbers"),
            maximum=NUMBER_MAX,
            what="session numbers",
        )
        if numbers:
            clean["session_numbers"] = numbers
    if "sessions" in given:
        ids = _integers(
            given["sessions"], field_errors("sessions"), maximum=ID_MAX, what="session ids"
        )
        if ids:
            found = set(sessions.filter(pk__in=ids).values_list("pk", flat=True))
            unknown = _missing(ids, found)
            if unknown:
                field_errors("sessions").append(
                    f"Not sessions of this project: {', '.join(map(str, unknown))}."
                )
            else:
                clean["sessions"] = ids
    if "coders" in given:
        ids = _integers(given["coders"], field_errors("coders"), maximum=ID_MAX, what="user ids")
        if ids:
            found = set(
                Membership.objects.filter(project=project, user_id__in=ids).values_list(
                    "user_id", flat=True
                )
            )
            unknown = _missing(ids, found)
            if unknown:
                field_errors("coders").append(
                    f"Not members of this project: {', '.join(map(str, unknown))}."
                )
            else:
                clean["coders"] = ids
    purpose = given.get("purpose", Purpose.INDEPENDENT.value)
    if purpose not in PURPOSES[kind]:
        reason = PURPOSE_REFUSED.get((kind, purpose)) if isinstance(purpose, str) else None
        message = f"A {kind} report reads {_or(PURPOSES[kind])} codings"
        field_errors("purpose").append(f"{message}: {reason}." if reason else f"{message}.")
    else:
        clean["purpose"] = purpose
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        listed = "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items())
        raise DomainError(f"The filter is not valid. {listed}", details={"filter": problems})
    return {k: clean[k] for k in FILTER_KEYS if k in clean}


def _and(words: Sequence) -> str:
    words = [str(w) for w in words]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _or(words: Sequence) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


PURPOSE_SENTENCES = {
    Purpose.INDEPENDENT.value: "Independent codings, submitted before the coder saw anyone "
    "else's coding of the session",
    Purpose.CONSENSUS.value: "Consensus codings (the adjudicated coding of each session), "
    "submitted",
    Purpose.TRAINING.value: "Training codings (trainees' practice on training sessions), "
    "submitted; not the study's reliability",
}


def filter_sentences(filter: Mapping[str, Any]) -> list[str]:
    """The stored filter as sentences: sessions, coders (by name) and which codings.

    For example ``["Sessions dated 2026-02-01 to 2026-03-31, site Site 1", "Coders Ana Ruiz
    and Ben Cho", "Independent codings, submitted before ..."]``. Coders are named by their
    full name, else their email; a coder no longer known is named by id. One query at most.
    """
    parts = []
    start, end = filter.get("date_from"), filter.get("date_to")
    if start and end:
        parts.append(f"dated {start} to {end}")
    elif start:
        parts.append(f"dated from {start} on")
    elif end:
        parts.append(f"dated up to {end}")
    sites = list(filter.get("sites") or [])
    if sites:
        parts.append(f"{_plural(len(sites), 'site', 'sites')} {_and(sites)}")
    therapists = list(filter.get("therapists") or [])
    if therapists:
        parts.append(f"{_plural(len(therapists), 'therapist', 'therapists')} {_and(therapists)}")
    numbers = list(filter.get("session_numbers") or [])
    if numbers:
        parts.append(
            f"{_plural(len(numbers), 'session number', 'session numbers')} {_and(numbers)}"
        )
    chosen = list(filter.get("sessions") or [])
    if chosen:
        parts.append(f"among {len(chosen)} chosen {_plural(len(chosen), 'session', 'sessions')}")
    if parts:
        sentence = "Sessions " + ", ".join(parts)
        if start or end:
            sentence += " (sessions without a date left out)"
    else:
        sentence = "All sessions"
    sentences = [sentence]
    coder_ids = list(filter.get("coders") or [])
    if coder_ids:
        users = display_names(coder_ids)
        names = [users.get(i, f"user {i} (no longer known)") for i in coder_ids]
        sentences.append(f"{_plural(len(names), 'Coder', 'Coders')} {_and(names)}")
    else:
        sentences.append("All coders")
    purpose = filter.get("purpose") or Purpose.INDEPENDENT.value
    sentences.append(PURPOSE_SENTENCES.get(purpose, f"{purpose} codings"))
    return sentences
