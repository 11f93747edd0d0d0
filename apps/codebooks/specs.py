"""Codebook specs: the dataclasses a codebook file describes, its limits, and its issues.

Pure Python: no Django imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FORMAT_NAME = "coding-platform/codebook"
FORMAT_VERSION = 1

UNITS = ("patient_turn", "therapist_turn", "any_turn", "segment")
VALUE_KINDS = ("presence", "rating")
LEVELS = ("session", "segment")
DERIVATION_RULES = ("highest_scale",)
DERIVATION_SOURCES = ("marker_counts", "ratings")
TIE_RULES = ("unclassified", "first_in_order")

# Limits mirror the database columns in apps/codebooks/models.py, so a file that loads
# also saves.
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_KEY = 60
MAX_CODE = 60
MAX_VERSION = 40
MAX_GROUP = 60
MAX_SHORTCUT = 20
MAX_NAME = 200
MAX_ITEM_NAME = 300


@dataclass(frozen=True)
class ScaleSpec:
    """A group of markers whose score (rated or counted) can decide a classification."""

    code: str
    name: str
    group: str = ""
    description: str = ""


@dataclass(frozen=True)
class MarkerSpec:
    """A code a coder applies to a unit (a turn or a time segment)."""

    code: str
    name: str
    number: int | None = None
    description: str = ""
    scale: str | None = None
    unit: str = "patient_turn"
    value_kind: str = "presence"
    rating_min: int | None = None
    rating_max: int | None = None
    shortcut: str = ""


@dataclass(frozen=True)
class RatingItemSpec:
    """A numeric rating given once per session or once per segment."""

    code: str
    name: str
    level: str = "session"
    min: int = 1
    max: int = 5
    anchors: dict[int, str] = field(default_factory=dict)
    description: str = ""
    scale: str | None = None
    required: bool = True


@dataclass(frozen=True)
class CategorySpec:
    """One value a classification can take."""

    code: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class DerivationSpec:
    """How a classification is derived from scale scores (PACS: the highest scale decides)."""

    rule: str
    source: str
    scale_to_category: dict[str, str]
    tie: str = "unclassified"
    priority: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ClassificationSpec:
    """A per-session classification chosen by the coder and optionally derived by a rule."""

    code: str
    name: str
    categories: list[CategorySpec]
    required: bool = True
    derivation: DerivationSpec | None = None
    description: str = ""


@dataclass(frozen=True)
class CodebookSpec:
    """One version of a coding system, exactly as described by a codebook file."""

    key: str
    name: str
    version: str
    source: str
    licence: str
    description: str = ""
    partial: bool = False
    segment_length_seconds: int | None = None
    scales: list[ScaleSpec] = field(default_factory=list)
    markers: list[MarkerSpec] = field(default_factory=list)
    rating_items: list[RatingItemSpec] = field(default_factory=list)
    classifications: list[ClassificationSpec] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the documented file structure, JSON-safe (anchor keys become strings)."""
        out: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION}
        out |= {"key": self.key, "name": self.name, "version": self.version}
        out |= {"source": self.source, "licence": self.licence}
        _put(out, "description", self.description)
        out["partial"] = self.partial
        _put(out, "segment_length_seconds", self.segment_length_seconds)
        out["scales"] = [_scale_dict(s) for s in self.scales]
        out["markers"] = [_marker_dict(m) for m in self.markers]
        out["rating_items"] = [_rating_dict(r) for r in self.rating_items]
        out["classifications"] = [_classification_dict(c) for c in self.classifications]
        return out


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    # Optional fields are written only when set, so dumped files stay short and readable.
    if value not in (None, "", [], {}):
        out[key] = value


def _scale_dict(s: ScaleSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"code": s.code, "name": s.name}
    _put(out, "group", s.group)
    _put(out, "description", s.description)
    return out


def _marker_dict(m: MarkerSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"code": m.code}
    _put(out, "number", m.number)
    out["name"] = m.name
    _put(out, "scale", m.scale)
    out |= {"unit": m.unit, "value_kind": m.value_kind}
    _put(out, "rating_min", m.rating_min)
    _put(out, "rating_max", m.rating_max)
    _put(out, "shortcut", m.shortcut)
    _put(out, "description", m.description)
    return out


def _rating_dict(r: RatingItemSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"code": r.code, "name": r.name}
    _put(out, "scale", r.scale)
    out |= {"level": r.level, "min": r.min, "max": r.max, "required": r.required}
    _put(out, "anchors", {str(k): v for k, v in sorted(r.anchors.items())})
    _put(out, "description", r.description)
    return out


def _classification_dict(c: ClassificationSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"code": c.code, "name": c.name, "required": c.required}
    _put(out, "description", c.description)
    out["categories"] = [
        {"code": k.code, "name": k.name} | ({"description": k.description} if k.description else {})
        for k in c.categories
    ]
    if c.derivation is not None:
        d = c.derivation
        out["derivation"] = {
            "rule": d.rule,
            "source": d.source,
            "scale_to_category": dict(d.scale_to_category),
            "tie": d.tie,
        }
        _put(out["derivation"], "priority", list(d.priority))
    return out


# --------------------------------------------------------------------------- issues


@dataclass(frozen=True)
class FormatIssue:
    """One problem in a codebook file, located by field path and line (1-based)."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class CodebookFormatError(Exception):
    """A codebook file could not be loaded; `issues` lists every problem found."""

    def __init__(self, issues: list[FormatIssue]) -> None:
        self.issues = issues
        count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        super().__init__(f"{count} in codebook:\n" + "\n".join(str(i) for i in issues))


FieldPath = tuple[str | int, ...]


def path_str(path: FieldPath) -> str:
    """Render a field path as written in issues, e.g. ("markers", 3, "unit") -> markers[3].unit."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
