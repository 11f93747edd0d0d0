import pytest

from apps.transcripts.templatetags.transcripts import clock


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0:00"), (83.4, "1:23"), (300, "5:00"), (3725, "1:02:05"), (None, ""), ("", "")],
)
def test_times_show_as_minutes_and_seconds(seconds, shown):
    assert clock(seconds) == shown
