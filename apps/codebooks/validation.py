"""Validate parsed codebook data into a CodebookSpec, collecting every issue at once.

Pure Python: no Django imports.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from apps.codebooks.specs import (
    CODE_RE,
    DERIVATION_RULES,
    DERIVATION_SOURCES,
    FORMAT_NAME,
    FORMAT_VERSION,
    KEY_RE,
    LEVELS,
    MAX_CODE,
    MAX_GROUP,
    MAX_ITEM_NAME,
    MAX_KEY,
    MAX_NAME,
    MAX_SHORTCUT,
    MAX_VERSION,
    TIE_RULES,
    UNITS,
    VALUE_KINDS,
    CategorySpec,
    ClassificationSpec,
    CodebookFormatError,
    CodebookSpec,
    DerivationSpec,
    FieldPath,
    FormatIssue,
    MarkerSpec,
    RatingItemSpec,
    ScaleSpec,
    path_str,
)


class _Checker:
    """Collects issues while reading a parsed file into specs; never stops at the first one."""

    def __init__(self, filename: str, lines: dict[FieldPath, int]) -> None:
        self.filename = filename
        self.lines = lines
        self.issues: list[FormatIssue] = []

    def add(self, path: FieldPath, message: str) -> None:
        # A missing field has no line of its own: point at the nearest enclosing one.
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        self.issues.append(
            FormatIssue(self.filename, self.lines.get(probe), path_str(path), message)
        )

    def mapping(self, value: Any, path: FieldPath, fields: dict[str, bool]) -> dict[str, Any]:
        """Check a mapping's keys against `fields` (name -> required); return it or {}."""
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping, not {_kind(value)}")
            return {}
        for key in value:
            if str(key) not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(path + (str(key),), f"unknown field{hint}")
        for name, required in fields.items():
            if required and name not in value:
                self.add(path + (name,), "required field is missing")
        return value

    def string(
        self,
        obj: dict[str, Any],
        path: FieldPath,
        key: str,
        *,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        required: bool = False,
    ) -> str:
        value = obj.get(key)
        if value is None:
            if required and key in obj:
                self.add(path + (key,), "must not be empty")
            return ""
        if not isinstance(value, str):
            quotable = isinstance(value, int | float) and not isinstance(value, bool)
            hint = f' (quote it: "{value}")' if quotable else ""
            self.add(path + (key,), f"must be text, not {_kind(value)}{hint}")
            return ""
        if required and not value.strip():
            self.add(path + (key,), "must not be empty")
        elif max_len is not None and len(value) > max_len:
            self.add(path + (key,), f"is {len(value)} characters long; at most {max_len}")
        elif pattern is not None and value and not pattern.match(value):
            self.add(
                path + (key,), f"'{value}' must be lower-case letters, digits{_allowed(pattern)}"
            )
        return value

    def integer(
        self, obj: dict[str, Any], path: FieldPath, key: str, default: int | None
    ) -> int | None:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path + (key,), f"must be a whole number, not {_kind(value)}")
            return default
        return value

    def boolean(self, obj: dict[str, Any], path: FieldPath, key: str, default: bool) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.add(path + (key,), f"must be true or false, not {_kind(value)}")
            return default
        return value

    def choice(
        self, obj: dict[str, Any], path: FieldPath, key: str, choices: tuple[str, ...], default: str
    ) -> str:
        value = obj.get(key, default)
        if value not in choices:
            shown = "empty" if value is None else f"'{value}'"
            self.add(path + (key,), f"{shown} is not one of: {', '.join(choices)}")
            return default
        return value

    def items(self, obj: dict[str, Any], path: FieldPath, key: str) -> list[tuple[FieldPath, Any]]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path + (key,), f"must be a list, not {_kind(value)}")
            return []
        return [(path + (key, i), entry) for i, entry in enumerate(value)]


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    names = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    names |= {list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def _allowed(pattern: re.Pattern[str]) -> str:
    return " and '-'" if pattern is KEY_RE else ", '_' and '-', starting with a letter or digit"


_TOP = dict.fromkeys(("format", "format_version", "key", "name", "version", "source"), True)
_TOP |= {"licence": True, "description": False, "partial": False}
_TOP |= dict.fromkeys(("segment_length_seconds", "scales", "markers"), False)
_TOP |= dict.fromkeys(("rating_items", "classifications"), False)
_SCALE = {"code": True, "name": True, "group": False, "description": False}
_MARKER = {"code": True, "name": True} | dict.fromkeys(
    (
        "number",
        "description",
        "scale",
        "unit",
        "value_kind",
        "rating_min",
        "rating_max",
        "shortcut",
    ),
    False,
)
_RATING = {"code": True, "name": True} | dict.fromkeys(
    ("level", "min", "max", "anchors", "description", "scale", "required"), False
)
_CATEGORY = {"code": True, "name": True, "description": False}
_CLASSIFICATION = {"code": True, "name": True, "categories": True} | dict.fromkeys(
    ("required", "derivation", "description"), False
)
_DERIVATION = {"rule": True, "source": True, "scale_to_category": True}
_DERIVATION |= {"tie": False, "priority": False}


def validate_codebook(
    data: Any,
    *,
    filename: str,
    lines: dict[FieldPath, int] | None = None,
    duplicates: list[FieldPath] | None = None,
) -> CodebookSpec:
    """Turn parsed file data into a CodebookSpec, or raise CodebookFormatError with all issues."""
    ck = _Checker(filename, lines or {})
    for path in duplicates or []:
        ck.add(path, "appears twice in the same mapping")
    top = ck.mapping(data, (), _TOP)
    if "format" in top and top["format"] != FORMAT_NAME:
        ck.add(("format",), f"must be '{FORMAT_NAME}'")
    if "format_version" in top and top["format_version"] != FORMAT_VERSION:
        ck.add(("format_version",), f"this platform reads format_version {FORMAT_VERSION}")
    segment_length = ck.integer(top, (), "segment_length_seconds", None)
    if segment_length is not None and segment_length <= 0:
        ck.add(("segment_length_seconds",), "must be a positive number of seconds")
        segment_length = None
    spec = CodebookSpec(
        key=ck.string(top, (), "key", max_len=MAX_KEY, pattern=KEY_RE, required=True),
        name=ck.string(top, (), "name", max_len=MAX_NAME, required=True),
        version=ck.string(top, (), "version", max_len=MAX_VERSION, required=True),
        source=ck.string(top, (), "source", required=True),
        licence=ck.string(top, (), "licence", required=True),
        description=ck.string(top, (), "description"),
        partial=ck.boolean(top, (), "partial", False),
        segment_length_seconds=segment_length,
        scales=[_read_scale(ck, p, v) for p, v in ck.items(top, (), "scales")],
        markers=[_read_marker(ck, p, v) for p, v in ck.items(top, (), "markers")],
        rating_items=[_read_rating(ck, p, v) for p, v in ck.items(top, (), "rating_items")],
        classifications=[
            _read_classification(ck, p, v) for p, v in ck.items(top, (), "classifications")
        ],
    )
    _check_references(ck, spec)
    if ck.issues:
        # Stable sort: issues read top to bottom like the file; file-level ones last.
        ck.issues.sort(key=lambda i: (i.line is None, i.line or 0))
        raise CodebookFormatError(ck.issues)
    return spec


def _code(ck: _Checker, obj: dict[str, Any], path: FieldPath) -> str:
    return ck.string(obj, path, "code", max_len=MAX_CODE, pattern=CODE_RE, required=True)


def _read_scale(ck: _Checker, path: FieldPath, value: Any) -> ScaleSpec:
    obj = ck.mapping(value, path, _SCALE)
    return ScaleSpec(
        code=_code(ck, obj, path),
        name=ck.string(obj, path, "name", max_len=MAX_NAME, required=True),
        group=ck.string(obj, path, "group", max_len=MAX_GROUP),
        description=ck.string(obj, path, "description"),
    )


def _read_marker(ck: _Checker, path: FieldPath, value: Any) -> MarkerSpec:
    obj = ck.mapping(value, path, _MARKER)
    number = ck.integer(obj, path, "number", None)
    if number is not None and number < 1:
        ck.add(path + ("number",), "must be 1 or more")
    marker = MarkerSpec(
        code=_code(ck, obj, path),
        name=ck.string(obj, path, "name", max_len=MAX_ITEM_NAME, required=True),
        number=number,
        description=ck.string(obj, path, "description"),
        scale=ck.string(obj, path, "scale") or None,
        unit=ck.choice(obj, path, "unit", UNITS, "patient_turn"),
        value_kind=ck.choice(obj, path, "value_kind", VALUE_KINDS, "presence"),
        rating_min=ck.integer(obj, path, "rating_min", None),
        rating_max=ck.integer(obj, path, "rating_max", None),
        shortcut=ck.string(obj, path, "shortcut", max_len=MAX_SHORTCUT),
    )
    has_range = marker.rating_min is not None or marker.rating_max is not None
    if marker.value_kind == "rating":
        for key in ("rating_min", "rating_max"):
            if getattr(marker, key) is None and key not in obj:
                ck.add(path + (key,), "a rating marker needs rating_min and rating_max")
        low, high = marker.rating_min, marker.rating_max
        if low is not None and high is not None and low >= high:
            ck.add(path + ("rating_max",), "must be greater than rating_min")
    elif has_range:
        key = "rating_min" if marker.rating_min is not None else "rating_max"
        ck.add(path + (key,), "only rating markers (value_kind: rating) have a rating range")
    return marker


def _read_rating(ck: _Checker, path: FieldPath, value: Any) -> RatingItemSpec:
    obj = ck.mapping(value, path, _RATING)
    low = ck.integer(obj, path, "min", 1)
    high = ck.integer(obj, path, "max", 5)
    if low >= high:
        ck.add(path + ("max",), f"must be greater than min ({low})")
    anchors: dict[int, str] = {}
    raw = obj.get("anchors")
    if raw is not None and not isinstance(raw, dict):
        ck.add(path + ("anchors",), f"must be a mapping of value to text, not {_kind(raw)}")
    for key, text in (raw or {}).items() if isinstance(raw, dict) else ():
        where = path + ("anchors", str(key))
        number = key if isinstance(key, int) and not isinstance(key, bool) else None
        if isinstance(key, str) and re.fullmatch(r"-?\d+", key.strip()):
            number = int(key)
        if number is None:
            ck.add(where, "an anchor must be keyed by a whole number on the scale")
        elif not low <= number <= high:
            ck.add(where, f"anchor {number} is outside the range {low}-{high}")
        elif number in anchors:
            ck.add(where, f"anchor {number} is given twice")
        elif not isinstance(text, str) or not text.strip():
            ck.add(where, "an anchor needs a text")
        else:
            anchors[number] = text
    return RatingItemSpec(
        code=_code(ck, obj, path),
        name=ck.string(obj, path, "name", max_len=MAX_ITEM_NAME, required=True),
        level=ck.choice(obj, path, "level", LEVELS, "session"),
        min=low,
        max=high,
        anchors=anchors,
        description=ck.string(obj, path, "description"),
        scale=ck.string(obj, path, "scale") or None,
        required=ck.boolean(obj, path, "required", True),
    )


def _read_classification(ck: _Checker, path: FieldPath, value: Any) -> ClassificationSpec:
    obj = ck.mapping(value, path, _CLASSIFICATION)
    categories = []
    for cat_path, entry in ck.items(obj, path, "categories"):
        cat = ck.mapping(entry, cat_path, _CATEGORY)
        categories.append(
            CategorySpec(
                code=_code(ck, cat, cat_path),
                name=ck.string(cat, cat_path, "name", max_len=MAX_NAME, required=True),
                description=ck.string(cat, cat_path, "description"),
            )
        )
    if "categories" in obj and len(categories) < 2:
        ck.add(path + ("categories",), "a classification needs at least 2 categories")
    _check_unique(ck, [(path + ("categories", i), c.code) for i, c in enumerate(categories)])
    derivation = None
    if obj.get("derivation") is not None:
        derivation = _read_derivation(ck, path + ("derivation",), obj["derivation"])
    return ClassificationSpec(
        code=_code(ck, obj, path),
        name=ck.string(obj, path, "name", max_len=MAX_ITEM_NAME, required=True),
        categories=categories,
        required=ck.boolean(obj, path, "required", True),
        derivation=derivation,
        description=ck.string(obj, path, "description"),
    )


def _read_derivation(ck: _Checker, path: FieldPath, value: Any) -> DerivationSpec:
    obj = ck.mapping(value, path, _DERIVATION)
    mapping = obj.get("scale_to_category")
    if "scale_to_category" in obj and (not isinstance(mapping, dict) or not mapping):
        ck.add(path + ("scale_to_category",), "must map at least one scale code to a category code")
    if not isinstance(mapping, dict):
        mapping = {}
    for scale, category in mapping.items():
        if not isinstance(category, str):
            ck.add(path + ("scale_to_category", str(scale)), "must be a category code")
    priority = obj.get("priority", [])
    if not isinstance(priority, list) or not all(isinstance(p, str) for p in priority):
        ck.add(path + ("priority",), "must be a list of category codes")
        priority = []
    return DerivationSpec(
        rule=ck.choice(obj, path, "rule", DERIVATION_RULES, "highest_scale"),
        source=ck.choice(obj, path, "source", DERIVATION_SOURCES, "ratings"),
        scale_to_category={str(k): v for k, v in mapping.items() if isinstance(v, str)},
        tie=ck.choice(obj, path, "tie", TIE_RULES, "unclassified"),
        priority=priority,
    )


def _check_unique(ck: _Checker, coded: list[tuple[FieldPath, str]]) -> None:
    first: dict[str, FieldPath] = {}
    for path, code in coded:
        if not code:
            continue
        if code in first:
            ck.add(path + ("code",), f"code '{code}' is already used by {path_str(first[code])}")
        else:
            first[code] = path


def _check_references(ck: _Checker, spec: CodebookSpec) -> None:
    """Checks that need the whole file: uniqueness and references between items."""
    groups = [
        ("scales", spec.scales),
        ("markers", spec.markers),
        ("rating_items", spec.rating_items),
        ("classifications", spec.classifications),
    ]
    _check_unique(
        ck, [((name, i), item.code) for name, items in groups for i, item in enumerate(items)]
    )
    scales = {s.code for s in spec.scales}
    numbers: dict[int, int] = {}
    shortcuts: dict[str, int] = {}
    for i, m in enumerate(spec.markers):
        if m.scale is not None and m.scale not in scales:
            ck.add(("markers", i, "scale"), _unknown("scale", m.scale, scales))
        if m.number is not None:
            if m.number in numbers:
                ck.add(
                    ("markers", i, "number"),
                    f"number {m.number} is already used by markers[{numbers[m.number]}]",
                )
            numbers.setdefault(m.number, i)
        if m.shortcut:
            if m.shortcut in shortcuts:
                ck.add(
                    ("markers", i, "shortcut"),
                    f"shortcut '{m.shortcut}' is already used by markers[{shortcuts[m.shortcut]}]",
                )
            shortcuts.setdefault(m.shortcut, i)
        if m.unit == "segment" and spec.segment_length_seconds is None:
            ck.add(
                ("markers", i, "unit"),
                "segment markers need segment_length_seconds in the codebook",
            )
    scored: dict[tuple[str, str], int] = {}
    for i, r in enumerate(spec.rating_items):
        if r.scale is not None:
            if r.scale not in scales:
                ck.add(("rating_items", i, "scale"), _unknown("scale", r.scale, scales))
            elif (r.scale, r.level) in scored:
                other = scored[(r.scale, r.level)]
                ck.add(
                    ("rating_items", i, "scale"),
                    f"scale '{r.scale}' is already scored at {r.level} level "
                    f"by rating_items[{other}]",
                )
            scored.setdefault((r.scale, r.level), i)
        if r.level == "segment" and spec.segment_length_seconds is None:
            ck.add(
                ("rating_items", i, "level"),
                "segment ratings need segment_length_seconds in the codebook",
            )
    counted = {m.scale for m in spec.markers}
    for i, c in enumerate(spec.classifications):
        if c.derivation is not None:
            _check_derivation(ck, ("classifications", i, "derivation"), c, scales, scored, counted)


def _check_derivation(
    ck: _Checker,
    path: FieldPath,
    classification: ClassificationSpec,
    scales: set[str],
    scored: dict[tuple[str, str], int],
    counted: set[str | None],
) -> None:
    d = classification.derivation
    assert d is not None
    categories = {c.code for c in classification.categories}
    for scale, category in d.scale_to_category.items():
        where = path + ("scale_to_category", scale)
        if scale not in scales:
            ck.add(where, _unknown("scale", scale, scales))
        elif d.source == "ratings" and (scale, "session") not in scored:
            ck.add(where, f"source is ratings but no session rating item scores scale '{scale}'")
        elif d.source == "marker_counts" and scale not in counted:
            ck.add(where, f"source is marker_counts but scale '{scale}' has no markers")
        if category not in categories:
            ck.add(where, _unknown("category", category, categories))
    for i, code in enumerate(d.priority):
        if code not in categories:
            ck.add(path + ("priority", i), _unknown("category", code, categories))
        elif code in d.priority[:i]:
            ck.add(path + ("priority", i), f"category '{code}' is listed twice")
    if d.tie == "first_in_order":
        missing = [c for c in dict.fromkeys(d.scale_to_category.values()) if c not in d.priority]
        if missing and categories.issuperset(missing):
            ck.add(
                path + ("priority",),
                "tie 'first_in_order' needs every mapped category in priority; "
                f"missing: {', '.join(missing)}",
            )


def _unknown(kind: str, code: str, known: set[str]) -> str:
    close = difflib.get_close_matches(code, sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"no {kind} with code '{code}'{hint}"
