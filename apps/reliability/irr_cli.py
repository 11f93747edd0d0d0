"""The ``irr`` tool without Django: read a ratings CSV, run the battery, build JSON or a table.

Wide CSV (default): a header, the unit id in the first column, one column per coder, an empty
cell is missing. Long CSV (``long=True``): columns ``unit,coder,value``. Bad input raises
:class:`IrrInputError` naming the file and line; the management command turns it into a
``CommandError``. Statistics come from :mod:`apps.reliability.stats`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import stats as st
from .stats.agreement import indices_core
from .stats.alpha import alpha_core
from .stats.bootstrap import bootstrap_ci
from .stats.categories import Ratings, encode_ratings

LEVELS = ("nominal", "ordinal", "interval", "ratio")
STAT_NAMES = (
    "percent_agreement",
    "cohen_kappa",
    "cohen_kappa_linear",
    "cohen_kappa_quadratic",
    "scott_pi",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
    "gwet_ac2_linear",
    "gwet_ac2_quadratic",
    "brennan_prediger",
    "pabak",
    "prevalence_index",
    "bias_index",
)
WITH_Z = {"cohen_kappa", "cohen_kappa_linear", "cohen_kappa_quadratic", "scott_pi"}
ICC_NAMES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
LABELS = {
    "percent_agreement": "Percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "cohen_kappa_linear": "Cohen's kappa, linear weights",
    "cohen_kappa_quadratic": "Cohen's kappa, quadratic weights",
    "scott_pi": "Scott's pi",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "gwet_ac1": "Gwet's AC1",
    "gwet_ac2_linear": "Gwet's AC2, linear weights",
    "gwet_ac2_quadratic": "Gwet's AC2, quadratic weights",
    "brennan_prediger": "Brennan-Prediger",
    "pabak": "PABAK",
    "prevalence_index": "Prevalence index",
    "bias_index": "Bias index",
}


class IrrInputError(ValueError):
    """Bad input file or options, with the file and (when known) the line to blame."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.message, self.path, self.line = message, path, line
        where = ", ".join(p for p in (path, f"line {line}" if line else None) if p)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class RatingTable:
    """Raw cells of a ratings file: units x coders strings (None missing) and their lines."""

    path: str
    unit_ids: tuple[str, ...]
    coders: tuple[str, ...]
    cells: tuple[tuple[str | None, ...], ...]
    lines: tuple[tuple[int, ...], ...]


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """CSV rows with their line numbers; blank lines skipped; delimiter sniffed from the header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise IrrInputError("file not found", path=str(path)) from None
    except UnicodeDecodeError:
        raise IrrInputError("not a UTF-8 text file", path=str(path)) from None
    if not text.strip():
        raise IrrInputError("the file is empty", path=str(path), line=1)
    header = text.lstrip("\r\n").splitlines()[0]
    delimiter = next((d for d in (",", ";", "\t") if d in header), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as exc:
        raise IrrInputError(
            f"unreadable CSV ({exc})", path=str(path), line=reader.line_num
        ) from None
    return rows


def read_ratings(path: str | Path, *, long: bool = False) -> RatingTable:
    """Read a wide or long ratings CSV, rejecting ragged rows, duplicates and single coders."""
    path = Path(path)
    rows = _rows(path)
    where = str(path)
    head_line, header = rows[0]
    if len(rows) == 1:
        raise IrrInputError("no data rows after the header", path=where, line=head_line)
    return _read_long(where, rows) if long else _read_wide(where, rows)


def _read_wide(where: str, rows: list[tuple[int, list[str]]]) -> RatingTable:
    head_line, header = rows[0]
    coders = header[1:]
    if len(coders) < 2:
        raise IrrInputError(
            f"found {len(coders)} coder column(s); agreement needs a unit column and at least "
            "two coder columns (use --long for unit,coder,value files)",
            path=where,
            line=head_line,
        )
    _check_names(coders, where, head_line)
    ids: dict[str, int] = {}
    cells, lines = [], []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise IrrInputError(
                f"expected {len(header)} fields (unit id + {len(coders)} coders) but found {len(row)}",
                path=where,
                line=line,
            )
        unit = row[0]
        if not unit:
            raise IrrInputError("the unit id (first column) is empty", path=where, line=line)
        if unit in ids:
            raise IrrInputError(
                f"unit {unit!r} appears again (first on line {ids[unit]})", path=where, line=line
            )
        ids[unit] = line
        cells.append(tuple(v or None for v in row[1:]))
        lines.append((line,) * len(coders))
    return RatingTable(where, tuple(ids), tuple(coders), tuple(cells), tuple(lines))


def _check_names(coders: Sequence[str], where: str, line: int) -> None:
    seen: set[str] = set()
    for i, name in enumerate(coders, start=2):
        if not name:
            raise IrrInputError(f"column {i} has no coder name", path=where, line=line)
        if name in seen:
            raise IrrInputError(
                f"coder {name!r} appears twice in the header", path=where, line=line
            )
        seen.add(name)


def _read_long(where: str, rows: list[tuple[int, list[str]]]) -> RatingTable:
    head_line, header = rows[0]
    names = [h.lower() for h in header]
    if sorted(names) != ["coder", "unit", "value"]:
        raise IrrInputError(
            f"--long expects the columns unit,coder,value; found {','.join(header)}",
            path=where,
            line=head_line,
        )
    iu, ic, iv = names.index("unit"), names.index("coder"), names.index("value")
    units: dict[str, int] = {}
    coders: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    entries = []
    for line, row in rows[1:]:
        if len(row) != 3:
            raise IrrInputError(
                f"expected 3 fields (unit,coder,value) but found {len(row)}", path=where, line=line
            )
        unit, coder, value = row[iu], row[ic], row[iv]
        if not unit or not coder:
            raise IrrInputError("unit and coder must not be empty", path=where, line=line)
        if (unit, coder) in seen:
            raise IrrInputError(
                f"unit {unit!r} already has a value from coder {coder!r} (line {seen[(unit, coder)]})",
                path=where,
                line=line,
            )
        seen[(unit, coder)] = line
        units.setdefault(unit, len(units))
        coders.setdefault(coder, len(coders))
        entries.append((units[unit], coders[coder], value or None, line))
    if len(coders) < 2:
        only = next(iter(coders), "")
        raise IrrInputError(
            f"only one coder ({only!r}): agreement needs at least two", path=where, line=head_line
        )
    grid: list[list[str | None]] = [[None] * len(coders) for _ in units]
    grid_lines = [[head_line] * len(coders) for _ in units]
    for u, c, value, line in entries:
        grid[u][c] = value
        grid_lines[u][c] = line
    return RatingTable(
        where, tuple(units), tuple(coders), tuple(map(tuple, grid)), tuple(map(tuple, grid_lines))
    )


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _label(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def encode(
    table: RatingTable, *, level: str = "nominal", categories: Sequence[str] | None = None
) -> Ratings:
    """Validate cells for the level and categories (errors name the line) and encode them."""
    if level not in LEVELS:
        raise IrrInputError(f"--level must be one of {', '.join(LEVELS)}")
    numeric_level = level in ("interval", "ratio")
    present = [
        (v, table.lines[u][c], table.unit_ids[u], table.coders[c])
        for u, row in enumerate(table.cells)
        for c, v in enumerate(row)
        if v is not None
    ]
    if not present:
        raise IrrInputError("the file has no ratings (every cell is empty)", path=table.path)
    cats_num = [_number(c) for c in categories] if categories else None
    if numeric_level:
        for v, line, unit, coder in present:
            x = _number(v)
            if x is None:
                raise IrrInputError(
                    f"{v!r} (unit {unit}, coder {coder}) is not a number; --level {level} needs numbers",
                    path=table.path,
                    line=line,
                )
            if level == "ratio" and x < 0:
                raise IrrInputError(
                    f"{v!r} is negative; --level ratio needs values >= 0",
                    path=table.path,
                    line=line,
                )
        if cats_num is not None and any(x is None for x in cats_num):
            raise IrrInputError(f"--categories must be numbers at --level {level}")
    all_numeric = all(_number(v) is not None for v, *_ in present) and (
        cats_num is None or all(x is not None for x in cats_num)
    )

    def convert(text: str) -> Any:
        # Numbers compare numerically ("1" and "1.0" are one category) only if all are numbers.
        return _label(_number(text)) if all_numeric else text

    cats = [convert(c) for c in categories] if categories else None
    if cats is not None:
        allowed = set(cats)
        for v, line, unit, coder in present:
            if convert(v) not in allowed:
                raise IrrInputError(
                    f"{v!r} (unit {unit}, coder {coder}) is not one of --categories {','.join(categories or [])}",
                    path=table.path,
                    line=line,
                )
    grid = [[None if v is None else convert(v) for v in row] for row in table.cells]
    rated = [any(v is not None for v in row) for row in grid]
    rows = [row for row, keep in zip(grid, rated, strict=True) if keep]
    return encode_ratings(np.array(rows, dtype=object).reshape(len(rows), len(table.coders)), cats)


def _entry(res: st.StatResult, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": res.value,
        "se": res.se,
        "ci": list(res.ci) if res.ci else None,
        "note": res.note,
        "n_units": res.n_units if res.defined else None,
        "unstable": res.unstable,
    }
    if name in WITH_Z:
        out["z"] = res.details.get("z") if res.defined else None
        out["p"] = res.details.get("p") if res.defined else None
    return out


def statistics(rt: Ratings, level: str) -> dict[str, st.StatResult]:
    """The whole battery for one encoded table, each entry a StatResult (undefined with a note).

    Weighted coefficients space their weights by category rank at the nominal and ordinal
    levels and by category value at the interval and ratio levels (R irrCAC).
    """
    k, q = rt.n_coders, rt.n_categories
    two = k == 2
    spacing = "value" if level in ("interval", "ratio") else "rank"
    need_two = st.StatResult.undefined(f"needs exactly two coders; this file has {k}")
    need_2x2 = st.StatResult.undefined(
        f"needs exactly two coders and two categories; this file has {k} coders and {q} categories"
    )
    out: dict[str, st.StatResult] = {"percent_agreement": st.percent_agreement(rt)}
    for name, w in (
        ("cohen_kappa", "unweighted"),
        ("cohen_kappa_linear", "linear"),
        ("cohen_kappa_quadratic", "quadratic"),
    ):
        out[name] = st.cohen_kappa(rt, weights=w, spacing=spacing) if two else need_two
    out["scott_pi"] = st.scott_pi(rt) if two else need_two
    out["fleiss_kappa"] = st.fleiss_kappa(rt)
    out["krippendorff_alpha"] = st.krippendorff_alpha(rt, level=level)
    if out["krippendorff_alpha"].defined:
        out["krippendorff_alpha"] = _add_note(
            out["krippendorff_alpha"],
            "no analytic CI; run with --bootstrap N --seed S for a percentile CI",
        )
    out["gwet_ac1"] = st.gwet_ac1(rt)
    out["gwet_ac2_linear"] = st.gwet_ac1(rt, weights="linear", spacing=spacing)
    out["gwet_ac2_quadratic"] = st.gwet_ac1(rt, weights="quadratic", spacing=spacing)
    out["brennan_prediger"] = st.brennan_prediger(rt)
    two_by_two = two and q == 2
    out["pabak"] = st.pabak(rt) if two_by_two else need_2x2
    out["prevalence_index"] = st.prevalence_index(rt) if two_by_two else need_2x2
    out["bias_index"] = st.bias_index(rt) if two_by_two else need_2x2
    if level == "nominal" and q > 2:
        order = ", ".join(map(str, rt.categories))
        for name in (
            "cohen_kappa_linear",
            "cohen_kappa_quadratic",
            "gwet_ac2_linear",
            "gwet_ac2_quadratic",
        ):
            if out[name].defined:
                out[name] = _add_note(
                    out[name],
                    f"weights assume the category order {order}; ignore at --level nominal",
                )
    return out


def _add_note(res: st.StatResult, note: str) -> st.StatResult:
    merged = f"{res.note}; {note}" if res.note else note
    return st.StatResult(**{**res.__dict__, "note": merged})


def icc_results(rt: Ratings, level: str) -> dict[str, st.StatResult]:
    """ICC forms for interval/ratio levels on the units rated by every coder."""
    if level not in ("interval", "ratio") or rt.scores is None:
        why = st.StatResult.undefined(
            f"ICC needs interval or ratio data (--level interval); level is {level}"
        )
        return dict.fromkeys(ICC_NAMES, why)
    x = np.where(rt.codes >= 0, rt.scores[np.maximum(rt.codes, 0)], np.nan)
    return st.icc(x)


def bootstrap_missing_cis(
    rt: Ratings, out: dict[str, st.StatResult], level: str, n_boot: int, seed: int
) -> None:
    """Add seeded percentile bootstrap CIs over units to defined statistics lacking a CI."""
    counts = rt.counts()
    both = (rt.codes >= 0).all(axis=1) if rt.n_coders == 2 else None
    funcs: dict[str, Any] = {
        "krippendorff_alpha": lambda w: alpha_core(counts, level=level, scores=rt.scores, freq=w)[
            "value"
        ]
    }
    if both is not None and rt.n_categories == 2:
        cell = np.where(both, rt.codes[:, 0] * 2 + np.maximum(rt.codes[:, 1], 0), 4)
        onehot = np.eye(5)[cell][:, :4]
        for key in ("prevalence_index", "bias_index"):
            funcs[key] = lambda w, key=key: indices_core((w @ onehot).reshape(-1, 2, 2))[key]
    for name, fn in funcs.items():
        res = out[name]
        if not res.defined or res.ci is not None:
            continue
        boot = bootstrap_ci(fn, rt.n_units, n_boot=n_boot, seed=seed)
        note = f"95% CI: {boot.method}"
        base = res.note if name != "krippendorff_alpha" else None
        out[name] = st.StatResult(**{**res.__dict__, "note": base}).with_ci(
            boot.ci, boot.method, note
        )


def build_report(
    table: RatingTable,
    *,
    level: str = "nominal",
    categories: Sequence[str] | None = None,
    n_boot: int = 0,
    seed: int | None = None,
) -> dict[str, Any]:
    """Compute everything and return the JSON object of the ``irr --json`` contract."""
    if n_boot < 0:
        raise IrrInputError("--bootstrap must be a positive number of replicates")
    rt = encode(table, level=level, categories=categories)
    results = statistics(rt, level)
    if n_boot:
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**31)  # reported, so still reproducible
        bootstrap_missing_cis(rt, results, level, n_boot, seed)
    icc = icc_results(rt, level)
    stats_json: dict[str, Any] = {name: _entry(results[name], name) for name in STAT_NAMES}
    stats_json["icc"] = {
        form: {
            "value": r.value,
            "ci": list(r.ci) if r.ci else None,
            "F": r.details.get("F"),
            "df1": r.details.get("df1"),
            "df2": r.details.get("df2"),
            "p": r.details.get("p"),
            "note": r.note,
            "n_units": r.n_units if r.defined else None,
            "unstable": r.unstable,
        }
        for form, r in icc.items()
    }
    return {
        "n_units": rt.n_units,
        "n_coders": rt.n_coders,
        "level": level,
        "categories": list(rt.categories),
        "statistics": stats_json,
    }


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_table(report: dict[str, Any], *, source: str = "") -> str:
    """A readable table with band words as descriptions (never verdicts) and numbered notes."""
    s = report["statistics"]
    cats = ", ".join(map(str, report["categories"]))
    lines = [
        f"Inter-rater reliability{': ' + source if source else ''}",
        f"{report['n_units']} units rated at least once (each statistic's own n is in --json), "
        f"{report['n_coders']} coders, level {report['level']}, categories: {cats}",
        "",
        f"{'statistic':<34}{'value':>8}  {'95% CI':<18}  description",
    ]
    notes: list[str] = []
    for name in STAT_NAMES:
        e = s[name]
        ci = f"[{_fmt(e['ci'][0])}, {_fmt(e['ci'][1])}]" if e["ci"] else "-"
        res = st.StatResult(value=e["value"], ci=tuple(e["ci"]) if e["ci"] else None)
        desc = st.describe(name, res)
        if e["note"]:
            notes.append(f"{LABELS[name]}: {e['note']}")
            desc = f"{desc} [{len(notes)}]".strip()
        if e["unstable"]:
            notes.append(f"{LABELS[name]}: unstable: {e['unstable']}")
            desc = f"{desc} [{len(notes)}]".strip()
        lines.append(f"{LABELS[name]:<34}{_fmt(e['value']):>8}  {ci:<18}  {desc}")
    lines += ["", "Intraclass correlation (Shrout & Fleiss 1979 forms, McGraw & Wong 1996 names)"]
    lines.append(
        f"{'form':<7}{'name':<10}{'value':>7}  {'95% CI':<18}{'F':>8}{'df1':>6}{'df2':>6}{'p':>8}  description"
    )
    for form in ICC_NAMES:
        e = s["icc"][form]
        ci = f"[{_fmt(e['ci'][0])}, {_fmt(e['ci'][1])}]" if e["ci"] else "-"
        res = st.StatResult(value=e["value"], ci=tuple(e["ci"]) if e["ci"] else None)
        desc = st.describe(form, res)
        if e["note"] and (not notes or not notes[-1].endswith(e["note"])):
            notes.append(f"ICC: {e['note']}")
        if e["note"]:
            desc = f"{desc} [{len(notes)}]".strip()
        if e["unstable"]:
            if not notes or not notes[-1].endswith(e["unstable"]):
                notes.append(f"ICC: unstable: {e['unstable']}")
            desc = f"{desc} [{len(notes)}]".strip()
        df1 = "-" if e["df1"] is None else f"{e['df1']:.0f}"
        df2 = "-" if e["df2"] is None else f"{e['df2']:.1f}".rstrip("0").rstrip(".")
        lines.append(
            f"{form:<7}{st.ICC_FORMS[form][0]:<10}{_fmt(e['value']):>7}  {ci:<18}{_fmt(e['F'], 2):>8}{df1:>6}{df2:>6}{_fmt_p(e['p']):>8}  {desc}"
        )
    lines += ["", "Notes:"] + [f"  [{i}] {n}" for i, n in enumerate(notes, start=1)]
    weights = "value" if report["level"] in ("interval", "ratio") else "rank"
    lines += [
        "",
        "CIs: Cohen/Scott Wald z (Fleiss, Cohen & Everitt 1969); percent agreement, Fleiss, AC1/AC2 and",
        "Brennan-Prediger t(n-1) with Gwet's SE (irrCAC); ICC F-based (Shrout & Fleiss 1979); every",
        f"interval bounded to the coefficient's range. Weights are spaced by category {weights}.",
        "Bands (Landis & Koch 1977; Cicchetti 1994; Koo & Li 2016 on the CI; Krippendorff 2004)",
        "describe the values; they are not pass/fail verdicts. See docs/statistics.md.",
    ]
    return "\n".join(lines)


def run_irr(
    path: str | Path,
    *,
    long: bool = False,
    level: str = "nominal",
    categories: str | None = None,
    n_boot: int = 0,
    seed: int | None = None,
    as_json: bool = False,
    criterion: str | None = None,
    criterion_map: str | None = None,
    collapse: str | None = None,
    policy: str = "secondary",
) -> str:
    """Everything the command does, returning the text to print.

    With ``criterion`` every other column is compared with that column instead (``--map``,
    ``--collapse`` and ``--policy`` apply only then).
    """
    if criterion is None and (criterion_map or collapse):
        raise IrrInputError("--map and --collapse need --criterion COLUMN")
    if criterion is not None:
        mapping = st.PACS_CRITERION
        if criterion_map:
            pairs = parse_pairs(criterion_map, "--map")
            try:
                mapping = st.CriterionMapping(pairs)
            except ValueError as exc:
                raise IrrInputError(f"--map: {exc}") from None
        col = parse_pairs(collapse, "--collapse") if collapse else None
        table = read_ratings(path, long=long)
        report = build_criterion_report(
            table, criterion, mapping=mapping, collapse=col, policy=policy
        )
        if as_json:
            return json.dumps(report, allow_nan=False)
        return format_criterion_table(report, source=str(path))
    cats = None
    if categories is not None:
        cats = [c.strip() for c in categories.split(",")]
        if any(not c for c in cats) or len(set(cats)) != len(cats):
            raise IrrInputError(
                f"--categories must be distinct non-empty labels, got {categories!r}"
            )
    table = read_ratings(path, long=long)
    report = build_report(table, level=level, categories=cats, n_boot=n_boot, seed=seed)
    if as_json:
        return json.dumps(report, allow_nan=False)
    return format_table(report, source=str(path))


# ---------------------------------------------------------------------------------------------
# --criterion: every coder column against an external criterion column (e.g. the AAI).
# ---------------------------------------------------------------------------------------------

VIEW_LABELS = {
    "three_way": "3-way (organised classes)",
    "two_way": "2-way (collapsed)",
    "four_way": "4-way (U as its own class)",
}


def parse_pairs(text: str, option: str) -> dict[str, str]:
    """Parse ``a=b,c=d`` into a dict, rejecting empty sides and repeated keys."""
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key or not value:
            raise IrrInputError(
                f"{option} expects name=value pairs separated by commas, got {text!r}"
            )
        if key in out:
            raise IrrInputError(f"{option} names {key!r} twice")
        out[key] = value
    return out


def criterion_record(cell: str | None) -> st.CriterionRecord | None:
    """A criterion cell: ``F`` or, for U/CC, ``U/Ds`` (primary/secondary); empty is None."""
    if cell is None:
        return None
    primary, _, secondary = (s.strip() for s in cell.partition("/"))
    return st.CriterionRecord(primary or None, secondary or None)


def build_criterion_report(
    table: RatingTable,
    criterion: str,
    *,
    mapping: st.CriterionMapping = st.PACS_CRITERION,
    collapse: dict[str, str] | None = None,
    policy: str = "secondary",
) -> dict[str, Any]:
    """Every other coder column against ``criterion``: per coder and pooled, every view.

    Without ``collapse`` the 2-way view uses secure vs insecure when the mapping's organised
    categories are PACS' three, and is left out otherwise.
    """
    if criterion not in table.coders:
        raise IrrInputError(
            f"--criterion {criterion!r} is not a column; columns: {', '.join(table.coders)}",
            path=table.path,
        )
    if policy not in st.criterion.POLICIES:
        raise IrrInputError(f"--policy must be one of {', '.join(st.criterion.POLICIES)}")
    if policy == "own_class" and not mapping.has_class("U"):
        raise IrrInputError("--policy own_class needs a coded category mapped to U in --map")
    organised = [c for c in mapping.categories if mapping.to_criterion[c] not in ("U", "CC")]
    if collapse is None and all(c in st.SECURE_VS_INSECURE for c in organised):
        collapse = dict(st.SECURE_VS_INSECURE)
    if collapse is not None:
        missing = [c for c in organised if c not in collapse]
        if missing:
            raise IrrInputError(f"--collapse has no entry for {', '.join(missing)}")
    ci = table.coders.index(criterion)
    criteria = {
        unit: rec
        for unit, row in zip(table.unit_ids, table.cells, strict=True)
        if (rec := criterion_record(row[ci])) is not None
    }
    coders = [c for c in table.coders if c != criterion]
    codings = {
        coder: {
            unit: row[table.coders.index(coder)]
            for unit, row in zip(table.unit_ids, table.cells, strict=True)
        }
        for coder in coders
    }
    res = st.compare_coders_with_criterion(
        codings,
        criteria,
        mapping=mapping,
        policy=policy,
        collapse=collapse,  # type: ignore[arg-type]
    )
    return {
        "criterion": criterion,
        "policy": policy,
        "mapping": dict(mapping.to_criterion),
        "collapse": collapse,
        "n_sessions": len(table.unit_ids),
        **res.to_dict(),
    }


def _ci_text(e: dict[str, Any]) -> str:
    return f"[{_fmt(e['ci'][0])}, {_fmt(e['ci'][1])}]" if e["ci"] else "-"


def format_criterion_table(report: dict[str, Any], *, source: str = "") -> str:
    """Readable per-coder and pooled agreement with the criterion, view by view."""
    mapping = ", ".join(f"{k}={v}" for k, v in report["mapping"].items())
    lines = [
        f"Agreement with the criterion {report['criterion']!r}{': ' + source if source else ''}",
        f"{report['n_sessions']} sessions, {report['n_coders']} coders, mapping {mapping}, "
        f"U/CC policy {report['policy']}",
    ]
    groups = [*report["per_coder"].items(), ("pooled", report["pooled"])]
    for view in report["pooled"]:
        lines += ["", VIEW_LABELS.get(view, view)]
        lines.append(
            f"{'coder':<14}{'n':>5}  {'% agreement':>11} {'95% CI':<16}{'kappa':>7} "
            f"{'95% CI':<17}{'AC1':>7} {'95% CI':<17}{'excluded':>8}"
        )
        for name, views in groups:
            v = views[view]
            pa, k, a = v["percent_agreement"], v["kappa"], v["ac1"]
            lines.append(
                f"{name:<14}{v['n']:>5}  {_fmt(pa['value']):>11} {_ci_text(pa):<16}"
                f"{_fmt(k['value']):>7} {_ci_text(k):<17}{_fmt(a['value']):>7} {_ci_text(a):<17}"
                f"{v['n_excluded']:>8}"
            )
        for name, views in groups:
            v = views[view]
            cats = v["categories"]
            conf = v["confusion"]
            lines += ["", f"  {name}: rows coded, columns criterion"]
            lines.append("  " + f"{'':<14}" + "".join(f"{c:>13}" for c in cats) + f"{'total':>8}")
            for c, row, tot in zip(cats, conf["counts"], conf["row_totals"], strict=True):
                lines.append("  " + f"{c:<14}" + "".join(f"{x:>13}" for x in row) + f"{tot:>8}")
            lines.append(
                "  "
                + f"{'total':<14}"
                + "".join(f"{x:>13}" for x in conf["col_totals"])
                + f"{v['n']:>8}"
            )
            lines.append(
                f"  {'class':<14}{'sensitivity':>24}{'specificity':>24}{'PPV':>24}{'NPV':>24}"
            )
            for c in cats:
                cells = []
                for key in ("sensitivity", "specificity", "ppv", "npv"):
                    e = v["per_class"][c][key]
                    cells.append(
                        f"{_fmt(e['value'])} {_ci_text(e)}"
                        if e["value"] is not None
                        else "undefined"
                    )
                lines.append(f"  {c:<14}" + "".join(f"{x:>24}" for x in cells))
            if v["exclusions"]:
                by = "; ".join(f"{r}: {n}" for r, n in v["excluded_by_reason"].items())
                lines.append(f"  excluded {v['n_excluded']} ({by}):")
                for e in v["exclusions"]:
                    who = f"{e['coder']} " if "coder" in e and name == "pooled" else ""
                    lines.append(f"    {who}{e['session']}: {e['reason']}")
            if v["note"]:
                lines.append(f"  note: {v['note']}")
    lines += [
        "",
        "Percent agreement, sensitivity, specificity, PPV and NPV: Wilson score 95% CIs (Wilson",
        "1927; Newcombe 1998). Kappa: Wald z, FCE (1969) SE. AC1: Gwet's SE, t(n-1). Undefined",
        "proportions have an empty denominator. See docs/statistics.md.",
    ]
    return "\n".join(lines)
