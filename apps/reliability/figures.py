"""Plots of a finished report as SVG or PNG bytes, for the report page and for papers.

Pure: results JSON in, file bytes out, with matplotlib's Agg and SVG renderers on
``matplotlib.figure.Figure`` objects (no pyplot, so no global figure state). Three plots:

- a forest plot of per-scale and per-marker kappa or AC1 with CIs, over the Landis & Koch
  (1977) bands (:func:`forest_plot`);
- the confusion matrix of coded classes against the AAI as a heat map (:func:`confusion_plot`);
- agreement over time, one line with a CI band per coder pair, coder or criterion series
  (:func:`drift_plot`).

Every figure has a title, axis labels and a text description (the SVG's ``<title>`` and
``<desc>``, the PNG's Title and Description), is 6.5 in wide (a page's text width), and
renders to the same bytes every time for the same input: the SVG hash salt is fixed and no
date is written. :func:`catalogue` lists the figures a report's results have, by name.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import Normalize, to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from apps.reliability.stats.results import MIN_UNITS  # noqa: E402  (below it: unstable)

# Read when an SVG is written: a fixed salt makes the ids of clip paths and glyphs the same
# on every render, so identical input gives identical bytes.
matplotlib.rcParams["svg.hashsalt"] = "coding-platform-report-figures"

FORMATS: tuple[str, ...] = ("svg", "png")
WIDTH_IN = 6.5  # a journal page's text width
PNG_DPI = 300
CSS_PX_PER_IN = 96  # how wide a browser shows an inch of the SVG

# Landis & Koch (1977): the upper end of each band, and its word (as stats/bands.py).
LANDIS_KOCH: tuple[tuple[float, str], ...] = (
    (0.0, "poor"),
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.0, "almost perfect"),
)
STATISTIC_NAMES = {
    "cohen_kappa": "Cohen's κ",
    "fleiss_kappa": "Fleiss' κ",
    "gwet_ac1": "Gwet's AC1",
    "kappa": "Cohen's κ",
    "ac1": "Gwet's AC1",
    "percent_agreement": "percent agreement",
}
AAI_NAMES = {
    "F": "F (secure/autonomous)",
    "Ds": "Ds (dismissing)",
    "E": "E (preoccupied)",
    "U": "U (unresolved)",
    "CC": "CC (cannot classify)",
}
VIEW_SLUGS = {"three_way": "3way", "two_way": "2way", "four_way": "4way"}
VIEW_WORDS = {"three_way": "3-way", "two_way": "2-way", "four_way": "4-way"}
UNIT_WORDS = {"turns": "turn", "segments": "segment"}
SOURCE_WORDS = {"coder": "the coder's choice", "derived": "rule-derived"}
# Okabe & Ito (2008): told apart with any common colour-vision deficiency.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES = {"pair": "-", "coder": "--", "criterion": ":"}
INK = "#222222"
MUTED = "#666666"
BAND_SHADES = ("#f3f3f3", "#ffffff")

_render_lock = threading.Lock()


class FigureInputError(ValueError):
    """The results handed to a plot lack a field it needs; the message names the field."""


@dataclass(frozen=True)
class Drawing:
    """A built figure with the words that describe it."""

    figure: Figure
    title: str
    description: str


@dataclass(frozen=True)
class FigureSpec:
    """One figure a report has: its name, title, short alt text, size, and how to draw it."""

    name: str
    title: str
    alt: str
    size_in: tuple[float, float]
    build: Callable[[], Drawing]

    @property
    def css_size(self) -> tuple[int, int]:
        """Width and height in CSS pixels, for the page's <img width height>."""
        w, h = self.size_in
        return round(w * CSS_PX_PER_IN), round(h * CSS_PX_PER_IN)

    def render(self, fmt: str) -> bytes:
        """The figure as SVG or PNG bytes."""
        return render(self.build, fmt)


# Rendering ----------------------------------------------------------------------------------


def render(build: Callable[[], Drawing], fmt: str) -> bytes:
    """Draw and save one figure; the same input gives the same bytes.

    matplotlib's text layout and font caches are shared by the threads of a process, so one
    figure is drawn at a time.
    """
    if fmt not in FORMATS:
        raise FigureInputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    with _render_lock:
        drawing = build()
        FigureCanvasAgg(drawing.figure)
        out = io.BytesIO()
        if fmt == "svg":
            drawing.figure.savefig(
                out,
                format="svg",
                # No Title here: matplotlib would write a second <title>; ours has an id.
                metadata={"Date": None, "Description": drawing.description},
            )
            return _accessible_svg(out.getvalue(), drawing.title, drawing.description)
        drawing.figure.savefig(
            out,
            format="png",
            dpi=PNG_DPI,
            metadata={"Title": drawing.title, "Description": drawing.description},
        )
        return out.getvalue()


_SVG_OPEN = re.compile(rb"<svg\b[^>]*>")


def _accessible_svg(svg: bytes, title: str, description: str) -> bytes:
    """Give the SVG a <title> and <desc> as its first children, named by role and aria."""
    opening = _SVG_OPEN.search(svg)
    if opening is None:  # matplotlib always writes one; a changed writer should fail loudly
        raise RuntimeError("the SVG writer produced no <svg> element")
    tag = opening.group(0)
    labelled = (
        tag[:-1] + b' role="img" aria-labelledby="figure-title figure-desc">'
        if b"role=" not in tag
        else tag
    )
    words = (
        f'\n <title id="figure-title">{escape(title)}</title>'
        f'\n <desc id="figure-desc">{escape(description)}</desc>'
    ).encode()
    return svg[: opening.start()] + labelled + words + svg[opening.end() :]


def _figure(size_in: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size_in, layout="constrained", facecolor="white")
    fig.get_layout_engine().set(h_pad=0.06, w_pad=0.06)
    return fig


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}".replace("-", "−")


def _ci_words(ci: Sequence[float] | None) -> str:
    return "no CI" if not ci else f"{_fmt(ci[0])} to {_fmt(ci[1])}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reason(note: str | None) -> str:
    """The first clause of an undefined statistic's note, to fit beside its row."""
    if not note:
        return "undefined"
    first = re.split(r"[:;,(]", note, maxsplit=1)[0].strip()
    return _short(first or note, 48)


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _require(mapping: Any, key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise FigureInputError(f"{where} has no {key!r}")
    return mapping[key]


def _shade_bands(ax, *, vertical: bool, low: float, high: float) -> list[tuple[float, str]]:
    """Shade the Landis & Koch bands inside [low, high]; return their midpoints and words."""
    edges = [low, *[u for u, _ in LANDIS_KOCH[:-1]], 1.0]
    marks = []
    for i, (_, word) in enumerate(LANDIS_KOCH):
        a, b = max(edges[i], low), min(edges[i + 1], high)
        if b <= a:
            continue
        span = ax.axvspan if vertical else ax.axhspan
        span(a, b, color=BAND_SHADES[i % 2], zorder=0, lw=0)
        marks.append(((a + b) / 2, word))
    for u, _ in LANDIS_KOCH[1:-1]:
        if low < u < high:
            line = ax.axvline if vertical else ax.axhline
            line(u, color="#bbbbbb", lw=0.5, ls=(0, (2, 2)), zorder=1)
    return marks


# Forest plot of per-scale and per-marker coefficients -----------------------------------


@dataclass(frozen=True)
class ForestRow:
    label: str
    value: float | None
    ci: tuple[float, float] | None
    n_units: int
    note: str | None
    unstable: bool
    header: bool = False


def _coefficient(statistics: Mapping[str, Any], statistic: str) -> tuple[str, Mapping | None]:
    """The stored coefficient a forest plot shows: κ (Cohen's for 2 coders, else Fleiss') or AC1."""
    if statistic == "ac1":
        return "gwet_ac1", statistics.get("gwet_ac1")
    if statistic != "kappa":
        raise FigureInputError(f"statistic must be 'kappa' or 'ac1', got {statistic!r}")
    for key in ("cohen_kappa", "fleiss_kappa"):
        if key in statistics:
            return key, statistics[key]
    return "cohen_kappa", None


def _forest_rows(occurrence: Mapping[str, Any], statistic: str) -> tuple[list[ForestRow], str]:
    rows: list[ForestRow] = []
    used = "cohen_kappa" if statistic == "kappa" else "gwet_ac1"
    for group, heading in (("scales", "Scales"), ("markers", "Markers")):
        entries = _require(occurrence, group, "marker occurrence")
        if not entries:
            continue
        rows.append(ForestRow(heading, None, None, 0, None, False, header=True))
        for entry in entries:
            name = str(_require(entry, "name", f"a row of {group}"))
            code = str(entry.get("code") or "")
            n = int(_require(entry, "n_units", f"row {name!r}") or 0)
            key, stat = _coefficient(_require(entry, "statistics", f"row {name!r}"), statistic)
            used = key if stat is not None else used
            label = name if group == "scales" or not code or code == name else f"{code} {name}"
            value = stat.get("value") if stat else None
            ci = stat.get("ci") if stat else None
            rows.append(
                ForestRow(
                    label=f"{_short(label, 48)} (n = {n})",
                    value=None if value is None else float(value),
                    ci=None if not ci or value is None else (float(ci[0]), float(ci[1])),
                    n_units=n,
                    note=(stat.get("note") if stat else "not computed for this report"),
                    unstable=bool(stat.get("unstable")) if stat else False,
                )
            )
    return rows, used


def forest_size(occurrence: Mapping[str, Any]) -> tuple[float, float]:
    """The forest plot's size in inches: 6.5 wide, a fixed height per row."""
    n = sum(
        len(occurrence.get(g) or []) + (1 if occurrence.get(g) else 0)
        for g in ("scales", "markers")
    )
    return WIDTH_IN, max(3.0, round(1.7 + 0.21 * n, 2))


def forest_drawing(
    occurrence: Mapping[str, Any],
    *,
    statistic: str = "kappa",
    unit: str = "turns",
    confidence: float = 0.95,
    system_name: str | None = None,
) -> Drawing:
    """Draw the forest plot of one unit's marker occurrence block (``marker_occurrence[unit]``)."""
    rows, key = _forest_rows(occurrence, statistic)
    if not rows:
        raise FigureInputError("marker occurrence has no scales and no markers to plot")
    stat_name = STATISTIC_NAMES[key]
    unit_word = UNIT_WORDS.get(unit, unit)
    fig = _figure(forest_size(occurrence))
    # The estimates in words go in a narrow axes of their own, as plain text: tick labels on
    # a second y axis cost as much to lay out as the whole plot.
    ax, values = fig.subplots(1, 2, sharey=True, width_ratios=[4.0, 1.6])
    ys = [-i for i in range(len(rows))]
    lows = [r.ci[0] if r.ci else r.value for r in rows if r.value is not None]
    low = max(-1.0, min(-0.2, math.floor(min(lows, default=0.0) * 10) / 10))
    high = 1.0
    marks = _shade_bands(ax, vertical=True, low=low, high=high)
    ax.axvline(0, color=INK, lw=0.9, zorder=2)
    right_labels = []
    for y, row in zip(ys, rows, strict=True):
        if row.header:
            right_labels.append("")
            continue
        if row.value is None:
            ax.text(
                low + 0.03, y, _reason(row.note), va="center", ha="left",
                fontsize=6.5, color=MUTED, style="italic", zorder=3,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
            )  # fmt: skip
            right_labels.append("undefined")
            continue
        if row.ci:
            ax.plot(row.ci, [y, y], color=INK, lw=1.1, solid_capstyle="butt", zorder=3)
        ax.plot(
            [row.value], [y], marker="o", ms=4.5, color=INK, zorder=4,
            markerfacecolor="white" if row.unstable else INK, markeredgewidth=1.0,
        )  # fmt: skip
        right_labels.append(
            f"{_fmt(row.value)} [{_fmt(row.ci[0])}, {_fmt(row.ci[1])}]"
            if row.ci
            else f"{_fmt(row.value)} (no CI)"
        )
    ax.set_xlim(low, high + 0.02)
    ax.set_ylim(ys[-1] - 0.7, 0.7)
    ax.set_yticks(ys, labels=[r.label for r in rows], fontsize=7.5)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.header:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=7.5)
    for y, words in zip(ys, right_labels, strict=True):
        values.text(0.02, y, words, va="center", ha="left", fontsize=7, color=INK)
    values.set_axis_off()
    values.set_xlim(0, 1)
    values.set_title(f"estimate [{_pct(confidence)} CI]", fontsize=7, color=MUTED, loc="left")
    top = ax.secondary_xaxis("top")
    # Alternate band words sit one line higher, so neighbours never overlap.
    staggered = [w if i % 2 else f"{w}\n" for i, (_, w) in enumerate(reversed(marks))][::-1]
    top.set_xticks([m for m, _ in marks], labels=staggered, fontsize=6.5, color=MUTED)
    top.tick_params(length=0, pad=1)
    ax.set_xticks(
        [x for x in (-1.0, -0.8, -0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 1.0) if x >= low]
    )
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    top.spines["top"].set_visible(False)
    ax.set_xlabel(f"{stat_name} with {_pct(confidence)} confidence interval", fontsize=8.5)
    what = f"marker occurrence per {unit_word}"
    title = (
        f"{system_name}: {what}, {stat_name}"
        if system_name
        else f"{what.capitalize()}, {stat_name}"
    )
    fig.suptitle(title, fontsize=10, x=0.01, ha="left", color=INK)
    fig.supxlabel(
        "Bands: Landis & Koch (1977). Open circles: fewer than "
        f"{MIN_UNITS} units or an interval bounded to the coefficient's range.",
        fontsize=6.5, color=MUTED,
    )  # fmt: skip
    return Drawing(fig, title, _forest_description(rows, stat_name, unit_word, confidence))


def _forest_description(rows: list[ForestRow], stat_name: str, unit_word: str, conf: float) -> str:
    parts = [
        f"Forest plot of {stat_name} with {_pct(conf)} confidence intervals for marker "
        f"occurrence per {unit_word}, one row per scale and marker, over the Landis and Koch "
        "bands, with a line at 0."
    ]
    for row in rows:
        if row.header:
            parts.append(f"{row.label}:")
        elif row.value is None:
            parts.append(f"{row.label}: undefined ({row.note or 'no value'}).")
        else:
            unstable = " Unstable." if row.unstable else ""
            parts.append(f"{row.label}: {_fmt(row.value)}, CI {_ci_words(row.ci)}.{unstable}")
    return " ".join(parts)


def forest_alt(occurrence: Mapping[str, Any], statistic: str, unit: str) -> str:
    """A one-sentence summary of the forest plot for the page's alt text."""
    rows, key = _forest_rows(occurrence, statistic)
    data = [r for r in rows if not r.header]
    values = [r.value for r in data if r.value is not None]
    n_scales = len(occurrence.get("scales") or [])
    n_markers = len(occurrence.get("markers") or [])
    span = f", from {_fmt(min(values))} to {_fmt(max(values))}" if values else ""
    undefined = len(data) - len(values)
    tail = f"; {undefined} undefined" if undefined else ""
    return (
        f"Forest plot of {STATISTIC_NAMES[key]} per {UNIT_WORDS.get(unit, unit)} for "
        f"{n_scales} scales and {n_markers} markers{span}{tail}."
    )


def forest_plot(occurrence: Mapping[str, Any], *, fmt: str, **options: Any) -> bytes:
    """The forest plot as bytes (options as :func:`forest_drawing`)."""
    return render(lambda: forest_drawing(occurrence, **options), fmt)


# Confusion matrix against the AAI ---------------------------------------------------------


def _column_label(
    category: str, mapping: Mapping[str, str], collapse: Mapping[str, str] | None
) -> str:
    """The AAI class (or classes, in a collapsed view) a coded category stands for."""
    if collapse is None:
        aai = mapping.get(category)
        return AAI_NAMES.get(aai, aai).replace(" (", "\n(") if aai else category
    classes = [mapping[c] for c in mapping if collapse.get(c) == category and c in mapping]
    if len(classes) == 1:
        return AAI_NAMES.get(classes[0], classes[0]).replace(" (", "\n(")
    return " or ".join(classes) + f"\n({category})" if classes else category


def confusion_size(categories: Sequence[str]) -> tuple[float, float]:
    """The heat map's size in inches: 6.5 wide, taller for more classes."""
    return WIDTH_IN, round(3.4 + 0.45 * len(categories), 2)


def confusion_drawing(
    view: Mapping[str, Any],
    *,
    mapping: Mapping[str, str],
    collapse: Mapping[str, str] | None = None,
    category_names: Mapping[str, str] | None = None,
    coder_label: str | None = None,
    classification_name: str = "Coded classification",
    source: str = "coder",
    confidence: float = 0.95,
) -> Drawing:
    """Draw one view's confusion matrix (coded rows, AAI columns) with counts and totals.

    ``view`` is one entry of a criterion report's ``per_coder[coder]`` or ``pooled``
    (stats/criterion.py ViewAgreement.to_dict); ``coder_label`` None means pooled.
    """
    categories = [str(c) for c in _require(view, "categories", "the view")]
    confusion = _require(view, "confusion", "the view")
    counts = [[int(x) for x in row] for row in _require(confusion, "counts", "the confusion")]
    k = len(categories)
    if len(counts) != k or any(len(row) != k for row in counts):
        raise FigureInputError(f"confusion counts must be {k} x {k}, one row per category")
    view_name = str(view.get("view") or "three_way")
    names = dict(category_names or {})
    row_labels = [names.get(c) or c.capitalize() for c in categories]
    col_labels = [
        _column_label(c, mapping, collapse if view_name == "two_way" else None) for c in categories
    ]
    row_totals = [sum(row) for row in counts]
    col_totals = [sum(counts[i][j] for i in range(k)) for j in range(k)]
    n = int(view.get("n", sum(row_totals)))
    fig = _figure(confusion_size(categories))
    ax = fig.add_subplot()
    top = max((max(row) for row in counts), default=0) or 1
    norm = Normalize(0, top)
    cmap = matplotlib.colormaps["Blues"]
    for i in range(k + 1):
        for j in range(k + 1):
            total = i == k or j == k
            if i == k and j == k:
                count, face = n, "#e6e6e6"
            elif total:
                count = row_totals[i] if j == k else col_totals[j]
                face = "#f2f2f2"
            else:
                count = counts[i][j]
                face = cmap(0.08 + 0.85 * norm(count))
            ax.add_patch(
                Rectangle((j, i), 1, 1, facecolor=face, edgecolor="white", lw=1.5, zorder=1)
            )
            dark = not total and sum(to_rgb(face)) < 1.5
            ax.text(
                j + 0.5, i + 0.5, str(count), ha="center", va="center", zorder=3,
                fontsize=10 if not total else 8.5, color="white" if dark else INK,
                fontweight="bold" if (i == j and not total) else "normal",
            )  # fmt: skip
    for d in range(k):  # the agreeing cells
        ax.add_patch(Rectangle((d, d), 1, 1, fill=False, edgecolor=INK, lw=1.2, zorder=2))
    ax.set_xlim(0, k + 1)
    ax.set_ylim(k + 1, 0)
    ax.set_xticks([j + 0.5 for j in range(k + 1)], labels=[*col_labels, "Total"], fontsize=7.5)
    ax.set_yticks([i + 0.5 for i in range(k + 1)], labels=[*row_labels, "Total"], fontsize=7.5)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    coded_axis = f"{classification_name} ({SOURCE_WORDS.get(source, source)})"
    ax.set_ylabel(f"Coded: {coded_axis}", fontsize=8.5)
    ax.set_xlabel("Criterion: AAI classification", fontsize=8.5)
    who = coder_label or "all coders pooled"
    view_word = VIEW_WORDS.get(view_name, view_name)
    title = f"{classification_name} against the AAI, {view_word}: {who}"
    fig.suptitle(title, fontsize=10, x=0.01, ha="left", color=INK)
    kappa, ac1, pa = (
        view.get("kappa") or {},
        view.get("ac1") or {},
        view.get("percent_agreement") or {},
    )
    n_coders = int(view.get("n_coders") or 1)
    n_words = (
        f"n = {n} coder-session pairs ({n_coders} coders)" if n_coders > 1 else f"n = {n} sessions"
    )
    summary = (
        f"{n_words} · κ = {_fmt(kappa.get('value'))} ({_ci_words(kappa.get('ci'))}) · "
        f"AC1 = {_fmt(ac1.get('value'))} · agreement {_fmt_pct(pa.get('value'))}"
    )
    ax.set_title(summary, fontsize=7.5, loc="left", color=MUTED)
    excluded = view.get("excluded_by_reason") or {}
    n_excluded = int(view.get("n_excluded") or sum(excluded.values()))
    if n_excluded:
        reasons = "; ".join(f"{why}: {count}" for why, count in sorted(excluded.items()))
        fig.supxlabel(f"Excluded: {n_excluded} ({reasons}).", fontsize=6.5, color=MUTED)
    description = _confusion_description(
        title,
        summary,
        row_labels,
        [label.replace("\n", " ") for label in col_labels],
        counts,
        row_totals,
        col_totals,
        n_excluded,
        excluded,
    )
    return Drawing(fig, title, description)


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _confusion_description(
    title, summary, row_labels, col_labels, counts, row_totals, col_totals, n_excluded, excluded
) -> str:
    parts = [
        f"{title}. Heat map of counts, coded classes in rows and AAI classes in columns, "
        f"agreeing cells on the diagonal. {summary}."
    ]
    for label, row, total in zip(row_labels, counts, row_totals, strict=True):
        cells = ", ".join(f"{c} {lab}" for c, lab in zip(row, col_labels, strict=True))
        parts.append(f"Coded {label} ({total}): {cells}.")
    parts.append(
        "Column totals: "
        + ", ".join(f"{lab} {t}" for lab, t in zip(col_labels, col_totals, strict=True))
        + "."
    )
    if n_excluded:
        parts.append(
            f"Excluded: {n_excluded} ("
            + "; ".join(f"{w}: {c}" for w, c in sorted(excluded.items()))
            + ")."
        )
    return " ".join(parts)


def confusion_plot(view: Mapping[str, Any], *, fmt: str, **options: Any) -> bytes:
    """The confusion heat map as bytes (options as :func:`confusion_drawing`)."""
    return render(lambda: confusion_drawing(view, **options), fmt)


# Agreement over time ----------------------------------------------------------------------

DRIFT_SIZE = (WIDTH_IN, 4.2)


def _check_drift(drift: Any) -> list[Mapping[str, Any]]:
    """The drift structure's series, after checking the fields the plot reads."""
    period = _require(drift, "period", "drift")
    if period not in ("month", "block"):
        raise FigureInputError(f"drift.period must be 'month' or 'block', got {period!r}")
    series = _require(drift, "series", "drift")
    if not isinstance(series, list):
        raise FigureInputError("drift.series must be a list")
    for i, s in enumerate(series):
        points = _require(s, "points", f"drift.series[{i}]")
        _require(s, "label", f"drift.series[{i}]")
        for j, p in enumerate(points):
            where = f"drift.series[{i}].points[{j}]"
            _require(p, "period", where)
            _require(p, "value", where)
            ci = p.get("ci")
            if ci is not None and (not isinstance(ci, Sequence) or len(ci) != 2):
                raise FigureInputError(f"{where}.ci must be [low, high] or null")
    if not any(s["points"] for s in series):
        raise FigureInputError("drift.series has no points to plot")
    return series


def drift_has_points(drift: Any) -> bool:
    """True when a drift structure has at least one point (so a plot of it means something)."""
    return isinstance(drift, Mapping) and any(
        isinstance(s, Mapping) and s.get("points") for s in drift.get("series") or []
    )


def _periods(series: list[Mapping[str, Any]], period: str) -> list[str]:
    seen = list(dict.fromkeys(str(p["period"]) for s in series for p in s["points"]))
    # Months as YYYY-MM sort as text; blocks keep the order the series give them in.
    return sorted(seen) if period == "month" else seen


def drift_drawing(drift: Mapping[str, Any]) -> Drawing:
    """Draw agreement over time: one line per series, its CI as a band, bands of Landis & Koch."""
    series = _check_drift(drift)
    periods = _periods(series, drift["period"])
    where = {p: i for i, p in enumerate(periods)}
    stat_key = str(drift.get("statistic") or "cohen_kappa")
    stat_name = STATISTIC_NAMES.get(stat_key, stat_key)
    fig = _figure(DRIFT_SIZE)
    ax = fig.add_subplot()
    values = [
        x
        for s in series
        for p in s["points"]
        for x in ([p["value"]] + list(p.get("ci") or []))
        if x is not None
    ]
    low = max(-1.0, min(-0.2, math.floor(min(values, default=0.0) * 10) / 10))
    marks = _shade_bands(ax, vertical=False, low=low, high=1.0)
    ax.axhline(0, color=INK, lw=0.8, zorder=2)
    xs = list(range(len(periods)))
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        # One slot per period of the plot: a period this series lacks is a gap in its line,
        # like a period whose value is undefined, never a straight line across.
        by_period = {where[str(p["period"])]: p for p in s["points"]}
        pts = [by_period.get(x) for x in xs]
        ys = [math.nan if p is None or p["value"] is None else float(p["value"]) for p in pts]
        lo = [math.nan if p is None or not p.get("ci") else float(p["ci"][0]) for p in pts]
        hi = [math.nan if p is None or not p.get("ci") else float(p["ci"][1]) for p in pts]
        has_ci = [not math.isnan(a) for a in lo]
        # Series side by side within a period, so equal values and whiskers stay apart.
        shift = (i - (len(series) - 1) / 2) * min(0.08, 0.5 / len(series))
        at = [x + shift for x in xs]
        ax.fill_between(at, lo, hi, where=has_ci, color=color, alpha=0.15, lw=0, zorder=2)
        for x in xs:
            alone = not (x > 0 and has_ci[x - 1]) and not (x + 1 < len(xs) and has_ci[x + 1])
            if has_ci[x] and alone:  # a band needs a neighbour; a lone interval is a whisker
                ax.plot([at[x], at[x]], [lo[x], hi[x]], color=color, lw=1.0, alpha=0.6, zorder=3)
        ax.plot(
            at, ys, color=color, lw=1.4, ls=LINESTYLES.get(s.get("kind"), "-"), zorder=4,
            label=str(s["label"]),
        )  # fmt: skip
        for x, y, p in zip(at, ys, pts, strict=True):
            if math.isnan(y):
                continue
            few = int(p.get("n") or 0) < MIN_UNITS
            ax.plot(
                [x], [y], marker="o", ms=4, color=color, zorder=5,
                markerfacecolor="white" if few else color,
            )  # fmt: skip
    ax.set_ylim(low, 1.02)
    ax.set_xlim(-0.4, len(periods) - 0.6)
    rotate = 45 if len(periods) > 8 else 0
    ax.set_xticks(
        range(len(periods)), labels=periods, fontsize=7.5, rotation=rotate,
        ha="right" if rotate else "center",
    )  # fmt: skip
    ax.tick_params(axis="y", labelsize=7.5)
    right = ax.secondary_yaxis("right")
    right.set_yticks([m for m, _ in marks], labels=[w for _, w in marks], fontsize=7, color=MUTED)
    right.tick_params(length=0)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    right.spines["right"].set_visible(False)
    if drift["period"] == "month":
        x_label, per = "Month", "per month"
    else:
        size = drift.get("block_size")
        x_label = f"Block of {size} sessions" if size else "Block of sessions"
        per = f"per block of {size} sessions" if size else "per block of sessions"
    ax.set_xlabel(x_label, fontsize=8.5)
    ax.set_ylabel(stat_name, fontsize=8.5)
    title = f"Agreement over time: {stat_name} {per}"
    fig.suptitle(title, fontsize=10, x=0.01, ha="left", color=INK)
    fig.legend(loc="outside lower center", ncols=min(3, len(series)), fontsize=7, frameon=False)
    description = _drift_description(title, series, per)
    return Drawing(fig, title, description)


def _drift_description(title: str, series: list[Mapping[str, Any]], per: str) -> str:
    parts = [
        f"{title}. Line plot, one line per series with its confidence interval as a band; "
        f"open circles mark periods with fewer than {MIN_UNITS} units."
    ]
    for s in series:
        points = "; ".join(
            f"{p['period']}: "
            + (
                "undefined"
                if p["value"] is None
                else f"{_fmt(p['value'])} (CI {_ci_words(p.get('ci'))})"
            )
            + f", n = {p.get('n', '–')}"
            for p in s["points"]
        )
        parts.append(f"{s['label']} ({s.get('kind', 'series')}): {points or 'no points'}.")
    return " ".join(parts)


def drift_alt(drift: Mapping[str, Any]) -> str:
    """A one-sentence summary of the drift plot for the page's alt text."""
    series = _check_drift(drift)
    periods = _periods(series, drift["period"])
    stat_key = str(drift.get("statistic") or "cohen_kappa")
    return (
        f"Line plot of {STATISTIC_NAMES.get(stat_key, stat_key)} over {len(periods)} periods "
        f"({periods[0]} to {periods[-1]}) for {len(series)} series."
    )


def drift_plot(drift: Mapping[str, Any], *, fmt: str) -> bytes:
    """The agreement-over-time plot as bytes."""
    return render(lambda: drift_drawing(drift), fmt)


# Which figures a report has ----------------------------------------------------------------


def _reliability_specs(results: Mapping[str, Any], system_name: str | None) -> list[FigureSpec]:
    specs = []
    overall = _require(results, "overall", "the results")
    confidence = float((results.get("parameters") or {}).get("confidence", 0.95))
    blocks = _require(overall, "marker_occurrence", "results.overall")
    for unit in ("turns", "segments"):
        occurrence = blocks.get(unit) or {}
        if not (occurrence.get("markers") or occurrence.get("scales")):
            continue
        for statistic in ("kappa", "ac1"):
            _, key = _forest_rows(occurrence, statistic)
            title = (
                f"Marker occurrence per {UNIT_WORDS[unit]}: {STATISTIC_NAMES[key]} "
                "by scale and marker"
            )
            specs.append(
                FigureSpec(
                    name=f"forest-{statistic}-{unit}",
                    title=title,
                    alt=forest_alt(occurrence, statistic, unit),
                    size_in=forest_size(occurrence),
                    build=_bind(
                        forest_drawing,
                        occurrence,
                        statistic=statistic,
                        unit=unit,
                        confidence=confidence,
                        system_name=system_name,
                    ),
                )
            )
    return specs


def _criterion_specs(
    results: Mapping[str, Any],
    parameters: Mapping[str, Any],
    coder_names: Mapping[str, str],
    category_names: Mapping[str, str],
    classification_name: str,
) -> list[FigureSpec]:
    # A report of a rupture coding system has only the PSQ part: no AAI heat maps. (Reports
    # from before report parts were stored all had the AAI part.)
    if "aai" not in (results.get("parts") or ["aai"]):
        return []
    mapping = _require(parameters, "mapping", "the report's parameters")
    options = {
        "mapping": mapping,
        "collapse": parameters.get("collapse"),
        "category_names": category_names,
        "classification_name": classification_name,
        "source": parameters.get("source", "coder"),
        "confidence": float(parameters.get("confidence", 0.95)),
    }
    pooled = _require(results, "pooled", "the criterion results")
    per_coder = results.get("per_coder") or {}
    specs = []
    for view_name, slug in VIEW_SLUGS.items():
        if view_name not in pooled:
            continue
        whose: list[tuple[str, Mapping, str | None]] = [("pooled", pooled[view_name], None)]
        if len(per_coder) > 1:
            for coder in sorted(per_coder, key=lambda c: (len(str(c)), str(c))):
                if view_name in per_coder[coder]:
                    label = coder_names.get(str(coder)) or f"coder {coder}"
                    whose.append((f"coder-{coder}", per_coder[coder][view_name], label))
        for suffix, view, label in whose:
            who = label or "all coders pooled"
            title = f"{classification_name} against the AAI, {VIEW_WORDS[view_name]}: {who}"
            n = view.get("n", 0)
            kappa = (view.get("kappa") or {}).get("value")
            specs.append(
                FigureSpec(
                    name=f"confusion-{slug}-{suffix}",
                    title=title,
                    alt=(
                        f"Heat map of the {VIEW_WORDS[view_name]} confusion matrix, coded "
                        f"classes against AAI classes, {who}: n = {n}, κ = {_fmt(kappa)}."
                    ),
                    size_in=confusion_size(view.get("categories") or []),
                    build=_bind(confusion_drawing, view, coder_label=label, **options),
                )
            )
    return specs


def _drift_spec(drift: Mapping[str, Any]) -> FigureSpec:
    stat_key = str(drift.get("statistic") or "cohen_kappa")
    return FigureSpec(
        name="drift",
        title=f"Agreement over time: {STATISTIC_NAMES.get(stat_key, stat_key)}",
        alt=drift_alt(drift),
        size_in=DRIFT_SIZE,
        build=_bind(drift_drawing, drift),
    )


def _bind(draw: Callable[..., Drawing], *args: Any, **kwargs: Any) -> Callable[[], Drawing]:
    return lambda: draw(*args, **kwargs)


def catalogue(
    kind: str,
    results: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any] | None = None,
    system_name: str | None = None,
    coder_names: Mapping[str, str] | None = None,
    category_names: Mapping[str, str] | None = None,
    classification_name: str = "Coded classification",
) -> dict[str, FigureSpec]:
    """Every figure a report's results have, by name, in the order a page shows them.

    ``kind`` is "reliability" (forest plots per unit and statistic) or "criterion" (confusion
    heat maps per view, pooled and per coder). Either has "drift" when ``results["drift"]``
    holds the agreement-over-time structure with at least one point.
    """
    if kind == "reliability":
        specs = _reliability_specs(results, system_name)
    elif kind == "criterion":
        specs = _criterion_specs(
            results, parameters or {}, coder_names or {}, category_names or {}, classification_name
        )
    else:
        raise FigureInputError(f"kind must be 'reliability' or 'criterion', got {kind!r}")
    drift = results.get("drift")
    if drift_has_points(drift):
        specs.append(_drift_spec(drift))
    return {s.name: s for s in specs}


__all__ = [
    "FORMATS",
    "Drawing",
    "FigureInputError",
    "FigureSpec",
    "catalogue",
    "confusion_drawing",
    "confusion_plot",
    "drift_drawing",
    "drift_plot",
    "forest_drawing",
    "forest_plot",
    "render",
]
