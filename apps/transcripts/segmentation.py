"""Cut a timed transcript into fixed-length time segments (the units 3RS coders rate).

Pure computation, no Django. Rules (also in docs/transcript-formats.md):

- Segments are consecutive windows [k*L, (k+1)*L) counted from 0:00 of the recording, not from
  the first turn, so segment k always means the same minutes of the session.
- They run to the end of the transcript: the latest end time of any turn, or its start when a
  turn has no end. The last segment ends there and may be shorter than L.
- Every window exists even when nobody speaks in it: a silent stretch is still rated.
- A turn belongs to the one segment containing its start time, even when it runs on into the
  next window (a turn is never split). A turn starting exactly at the transcript's end belongs
  to the last segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Times come from files with millisecond precision; rounding the segment count to this many
# decimals stops float noise (600.0000000001 s) from adding an empty sliver of a segment.
_COUNT_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class SegmentSpan:
    """One time segment: its 0-based index, start and end in seconds, and its turns.

    `turn_indexes` are positions in the turn list given to derive_segments, ascending.
    """

    index: int
    start: float
    end: float
    turn_indexes: tuple[int, ...]


def derive_segments(
    turn_times: Sequence[tuple[float | None, float | None]], *, length_seconds: float
) -> list[SegmentSpan]:
    """Cut turns given as (start, end) seconds into consecutive segments of length_seconds.

    Returns [] for no turns. Runs in O(turns + segments). Raises ValueError when a turn has no
    start time, a time is negative or not finite, all times are 0, or length_seconds is not a
    positive number.
    """
    if not (math.isfinite(length_seconds) and length_seconds > 0):
        raise ValueError(
            f"segment length must be a positive number of seconds, not {length_seconds!r}"
        )
    if not turn_times:
        return []

    starts: list[float] = []
    transcript_end = 0.0
    for position, (start, end) in enumerate(turn_times):
        if start is None:
            raise ValueError(
                f"turn {position} has no start time; segments need every turn to be timed"
            )
        for value in (start, end):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"turn {position} has a negative or non-finite time: {value!r}")
        starts.append(start)
        transcript_end = max(transcript_end, start, end or 0.0)

    if transcript_end == 0:
        raise ValueError("the transcript has no duration: every time in it is 0:00")
    count = max(1, math.ceil(round(transcript_end / length_seconds, _COUNT_DECIMALS)))
    members: list[list[int]] = [[] for _ in range(count)]
    for position, start in enumerate(starts):
        # min(): a turn starting at the very end of the transcript, or in a float-noise sliver
        # past the last window, belongs to the last segment.
        members[min(int(start // length_seconds), count - 1)].append(position)

    last = count - 1
    return [
        SegmentSpan(
            index=index,
            start=index * length_seconds,
            end=transcript_end if index == last else (index + 1) * length_seconds,
            turn_indexes=tuple(positions),
        )
        for index, positions in enumerate(members)
    ]
