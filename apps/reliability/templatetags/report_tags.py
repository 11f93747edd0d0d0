"""How a stored statistic is shown: value, interval, band, n and its instability flag."""

from __future__ import annotations

from django import template

from apps.reliability.statistic_names import statistic

register = template.Library()


def _number(x: float | None, places: int) -> str:
    if x is None:
        return ""
    text = f"{x:.{places}f}"
    return text.replace("-", "−")


@register.filter
def stat_name(key: str) -> str:
    """The full name of a stored statistic key ("ICC2" -> "ICC(A,1), two-way random ...")."""
    return statistic(key).name


@register.filter
def stat_short(key: str) -> str:
    """The column heading of a stored statistic key."""
    return statistic(key).short


@register.inclusion_tag("reliability/_stat.html")
def stat(result: dict | None, places: int = 2, band: bool = True, percent: bool = False):
    """One statistic as text: "0.71 [0.55, 0.86]", the band words and the unstable mark.

    ``percent`` shows a proportion as a percentage. An undefined value says "undefined" with
    its reason in a tooltip; a missing result shows a dash.
    """
    if not result:
        return {"missing": True}
    value, ci = result.get("value"), result.get("ci")
    if percent:
        shown = None if value is None else f"{100 * value:.0f}%"
        interval = f"{100 * ci[0]:.0f}%, {100 * ci[1]:.0f}%" if ci else ""
    else:
        shown = None if value is None else _number(value, places)
        interval = f"{_number(ci[0], places)}, {_number(ci[1], places)}" if ci else ""
    return {
        "value": shown,
        "interval": interval,
        "note": result.get("note"),
        "band": result.get("band") if band else None,
        "unstable": result.get("unstable"),
        "ci_method": result.get("ci_method"),
    }


@register.inclusion_tag("reliability/_explain.html")
def explain(key: str, label: str = ""):
    """A statistic's name that opens, on demand, what it is and when to trust it."""
    return {"s": statistic(key), "label": label or statistic(key).short}
