"""The codebook (coding system) file format: load and dump codebook files; re-exports the specs.

A codebook file is YAML or JSON with the same structure (docs/codebook-format.md). Loading
collects every problem at once, each naming the field path and the line in the file, so a lab
fixes a file in one pass instead of one error per upload. Pure Python: no Django imports, so
the CLI, Celery tasks and tests can use it directly.

The pieces live in small modules: specs.py (dataclasses, limits, issues), lines.py (YAML/JSON
parsing with line numbers) and validation.py (data to spec). Import them from here.
"""

from __future__ import annotations

import json
from pathlib import PurePath

import yaml

from apps.codebooks.lines import parse_json, parse_yaml
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
from apps.codebooks.validation import validate_codebook

__all__ = [
    "CODE_RE",
    "DERIVATION_RULES",
    "DERIVATION_SOURCES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KEY_RE",
    "LEVELS",
    "MAX_CODE",
    "MAX_GROUP",
    "MAX_ITEM_NAME",
    "MAX_KEY",
    "MAX_NAME",
    "MAX_SHORTCUT",
    "MAX_VERSION",
    "TIE_RULES",
    "UNITS",
    "VALUE_KINDS",
    "CategorySpec",
    "ClassificationSpec",
    "CodebookFormatError",
    "CodebookSpec",
    "DerivationSpec",
    "FieldPath",
    "FormatIssue",
    "MarkerSpec",
    "RatingItemSpec",
    "ScaleSpec",
    "dump_codebook",
    "load_codebook",
    "path_str",
    "validate_codebook",
]


def load_codebook(
    content: bytes | str, *, filename: str, format: str | None = None
) -> CodebookSpec:
    """Parse and validate a codebook file; raise CodebookFormatError listing every problem."""
    fmt = format or {".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(
        PurePath(filename).suffix.lower()
    )
    if fmt not in ("yaml", "json"):
        issue = FormatIssue(filename, None, "", "cannot tell the format: use .yaml, .yml or .json")
        raise CodebookFormatError([issue])
    if isinstance(content, bytes):
        try:
            # utf-8-sig drops the byte-order mark some Windows editors add.
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CodebookFormatError(
                [
                    FormatIssue(
                        filename, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                    )
                ]
            ) from None
    data, lines, duplicates = (parse_yaml if fmt == "yaml" else parse_json)(content, filename)
    return validate_codebook(data, filename=filename, lines=lines, duplicates=duplicates)


# --------------------------------------------------------------------------- dumping


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line text as literal blocks, which people can edit."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_codebook(spec: CodebookSpec, *, format: str = "yaml") -> str:
    """Write a spec as a YAML or JSON codebook file that load_codebook reads back unchanged."""
    data = spec.to_dict()
    if format == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if format != "yaml":
        raise ValueError(f"unknown codebook format {format!r}: use 'yaml' or 'json'")
    for rating in data["rating_items"]:
        # Integer anchor keys read better in YAML; the loader accepts both spellings.
        if "anchors" in rating:
            rating["anchors"] = {int(k): v for k, v in rating["anchors"].items()}
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88, indent=2)
