"""Template filters for transcripts."""

from django import template

register = template.Library()


@register.filter
def clock(seconds) -> str:
    """Seconds as a recording time: 83.4 -> "1:23", 3725 -> "1:02:05"; empty if unknown."""
    if seconds is None or seconds == "":
        return ""
    total = int(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
