"""Loading the published worked examples (tests/reliability/data/irr_vectors.json) for the tests."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

# The project's own copy of the published cases, each with its source (see data/README.md).
VECTORS = Path(__file__).resolve().parent / "data" / "irr_vectors.json"


@cache
def cases() -> dict[str, dict[str, Any]]:
    """All reference cases by id."""
    with VECTORS.open(encoding="utf-8") as fh:
        return {c["id"]: c for c in json.load(fh)["cases"]}


def expected(case_id: str) -> dict[str, dict[str, Any]]:
    """The expected quantities of one case by name."""
    return {e["quantity"]: e for e in cases()[case_id]["expected"]}


def ratings_rows(case: dict[str, Any]) -> list[list[Any]]:
    """Units x coders rows of a case, expanding a contingency table into one unit per count."""
    data = case["data"]
    if data["format"] == "ratings_matrix":
        return [list(row) for row in data["values"]]
    if data["format"] == "contingency_table":
        cats = data["categories"]
        rows = []
        for i, row in enumerate(data["values"]):
            for j, count in enumerate(row):
                rows.extend([[cats[i], cats[j]]] * count)
        return rows
    raise ValueError(f"unsupported format {data['format']}")


def write_wide_csv(path: Path, rows: list[list[Any]], coders: list[str] | None = None) -> Path:
    """Write rows as a wide ratings CSV (unit id first, empty cell for None)."""
    k = len(rows[0])
    coders = coders or [f"coder{j + 1}" for j in range(k)]
    lines = ["unit," + ",".join(coders)]
    for i, row in enumerate(rows, start=1):
        lines.append(f"u{i}," + ",".join("" if v is None else str(v) for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
