"""Time segments derived from turn times (pure, no database)."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.transcripts.segmentation import SegmentSpan, derive_segments

FIVE_MINUTES = 300.0


def spans(turn_times, length=FIVE_MINUTES):
    return [
        (s.index, s.start, s.end, s.turn_indexes)
        for s in derive_segments(turn_times, length_seconds=length)
    ]


def test_turns_fall_into_the_window_containing_their_start():
    times = [(0.0, 10.0), (120.0, 130.0), (310.0, 320.0), (610.0, 700.0)]

    assert spans(times) == [
        (0, 0.0, 300.0, (0, 1)),
        (1, 300.0, 600.0, (2,)),
        (2, 600.0, 700.0, (3,)),
    ]


def test_segments_count_from_zero_not_from_the_first_turn():
    assert spans([(400.0, 410.0)]) == [(0, 0.0, 300.0, ()), (1, 300.0, 410.0, (0,))]


def test_silent_windows_are_still_segments_to_rate():
    times = [(10.0, 20.0), (1000.0, 1010.0)]

    assert [(index, turns) for index, _, _, turns in spans(times)] == [
        (0, (0,)),
        (1, ()),
        (2, ()),
        (3, (1,)),
    ]


def test_the_last_segment_ends_at_the_latest_end_of_any_turn():
    # The first turn overlaps the second and ends last.
    times = [(0.0, 450.0), (100.0, 120.0)]

    assert spans(times)[-1] == (1, 300.0, 450.0, ())


def test_a_turn_without_an_end_counts_with_its_start():
    assert spans([(0.0, 30.0), (320.0, None)]) == [(0, 0.0, 300.0, (0,)), (1, 300.0, 320.0, (1,))]


def test_a_turn_starting_exactly_on_a_boundary_opens_the_next_segment():
    assert spans([(0.0, 1.0), (300.0, 301.0)])[1][3] == (1,)


def test_a_turn_running_past_a_boundary_stays_in_the_segment_it_started_in():
    assert spans([(250.0, 380.0), (390.0, 400.0)]) == [
        (0, 0.0, 300.0, (0,)),
        (1, 300.0, 400.0, (1,)),
    ]


def test_a_transcript_ending_exactly_on_a_boundary_gets_no_empty_extra_segment():
    assert len(spans([(0.0, 10.0), (500.0, 600.0)])) == 2


def test_a_turn_starting_at_the_very_end_belongs_to_the_last_segment():
    assert spans([(0.0, 10.0), (600.0, None)]) == [
        (0, 0.0, 300.0, (0,)),
        (1, 300.0, 600.0, (1,)),
    ]


def test_float_noise_at_the_end_does_not_add_a_sliver_segment():
    end = 0.1 * 6000  # 600.0000000000001 in floating point

    segments = derive_segments([(0.0, end)], length_seconds=FIVE_MINUTES)

    assert len(segments) == 2
    assert segments[-1].end == end


def test_turn_indexes_are_positions_in_the_given_list_even_when_times_are_unsorted():
    assert spans([(350.0, 360.0), (10.0, 20.0), (320.0, 330.0)]) == [
        (0, 0.0, 300.0, (1,)),
        (1, 300.0, 360.0, (0, 2)),
    ]


def test_one_minute_segments():
    times = [(float(s), float(s) + 5) for s in range(0, 300, 30)]

    result = derive_segments(times, length_seconds=60)

    assert [s.turn_indexes for s in result] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    assert result[-1].end == 275.0


def test_no_turns_give_no_segments():
    assert derive_segments([], length_seconds=FIVE_MINUTES) == []


def test_a_turn_without_a_start_time_is_refused():
    with pytest.raises(ValueError, match="turn 1 has no start time"):
        derive_segments([(0.0, 1.0), (None, 5.0)], length_seconds=FIVE_MINUTES)


@pytest.mark.parametrize(
    "times", [[(-1.0, 2.0)], [(0.0, -2.0)], [(math.nan, None)], [(0.0, math.inf)]]
)
def test_negative_or_non_finite_times_are_refused(times):
    with pytest.raises(ValueError, match="negative or non-finite"):
        derive_segments(times, length_seconds=FIVE_MINUTES)


@pytest.mark.parametrize("length", [0, -60, math.inf, math.nan])
def test_the_segment_length_must_be_a_positive_number(length):
    with pytest.raises(ValueError, match="segment length"):
        derive_segments([(0.0, 1.0)], length_seconds=length)


def test_a_transcript_without_duration_is_refused():
    with pytest.raises(ValueError, match="no duration"):
        derive_segments([(0.0, None), (0.0, 0.0)], length_seconds=FIVE_MINUTES)


def test_segments_are_frozen_values():
    [segment] = derive_segments([(0.0, 10.0)], length_seconds=FIVE_MINUTES)

    assert segment == SegmentSpan(index=0, start=0.0, end=10.0, turn_indexes=(0,))
    with pytest.raises(AttributeError):
        segment.end = 20.0  # type: ignore[misc]


turn_time = st.tuples(
    st.floats(min_value=0, max_value=20_000, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=0, max_value=20_000, allow_nan=False)),
)


@given(
    times=st.lists(turn_time, min_size=1, max_size=60),
    length=st.sampled_from([30.0, 60.0, 300.0, 301.5]),
)
def test_segments_tile_the_transcript_and_hold_every_turn_once(times, length):
    if max(max(start, end or 0.0) for start, end in times) == 0:
        return  # refused: no duration

    segments = derive_segments(times, length_seconds=length)

    assert [s.index for s in segments] == list(range(len(segments)))
    assert segments[0].start == 0
    assert all(a.end == b.start for a, b in zip(segments, segments[1:]))
    assert all(s.end > s.start for s in segments)
    assert segments[-1].end == max(max(start, end or 0.0) for start, end in times)
    held = [position for s in segments for position in s.turn_indexes]
    assert sorted(held) == list(range(len(times)))
    for s in segments:
        assert list(s.turn_indexes) == sorted(s.turn_indexes)
        for position in s.turn_indexes:
            start = times[position][0]
            assert s.start <= start
            assert start < s.start + length or s is segments[-1]


def test_400_turns_take_well_under_a_millisecond_each_and_scale_linearly():
    def best_ms(count: int) -> float:
        times = [(i * 9.0, i * 9.0 + 8.0) for i in range(count)]
        best = math.inf
        for _ in range(5):
            started = time.perf_counter()
            derive_segments(times, length_seconds=60)
            best = min(best, time.perf_counter() - started)
        return best * 1000

    assert best_ms(400) < 2
    # 100 times the turns may cost at most ~100 times as much (with room for noise).
    assert best_ms(40_000) < 400 * max(best_ms(400), 0.05)
