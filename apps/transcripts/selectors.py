"""Reads of cases, sessions and transcripts."""

from __future__ import annotations

from apps.transcripts.models import Segment, Transcript, Turn


def transcript_turns(transcript: Transcript) -> list[Turn]:
    return list(
        Turn.objects.filter(transcript=transcript)
        .order_by("position")
        .only(
            "id",
            "position",
            "speaker_role",
            "speaker_label",
            "text",
            "start_seconds",
            "end_seconds",
        )
    )


def transcript_segments_stored(transcript: Transcript) -> list[Segment]:
    return list(Segment.objects.filter(transcript=transcript).order_by("length_seconds", "index"))


def transcript_detail(transcript: Transcript) -> dict:
    """A transcript with its session, turns and stored segments in three queries."""
    session = transcript.session
    turns = transcript_turns(transcript)
    return {
        "id": transcript.pk,
        "project": transcript.project_id,
        "session": {
            "id": session.pk,
            "case": session.case.code,
            "number": session.number,
            "date": session.date.isoformat() if session.date else None,
        },
        "source_name": transcript.source_name,
        "source_format": transcript.source_format,
        "turn_count": transcript.turn_count,
        "has_timestamps": transcript.has_timestamps,
        "duration_seconds": transcript.duration_seconds,
        "turns": [
            {
                "id": t.pk,
                "number": t.position + 1,
                "speaker_role": t.speaker_role,
                "speaker_label": t.speaker_label,
                "text": t.text,
                "start": t.start_seconds,
                "end": t.end_seconds,
            }
            for t in turns
        ],
        "segments": [
            {
                "id": s.pk,
                "number": s.index + 1,
                "length_seconds": s.length_seconds,
                "start": s.start_seconds,
                "end": s.end_seconds,
                "first_turn_number": (
                    s.first_turn_position + 1 if s.first_turn_position is not None else None
                ),
                "turn_count": s.turn_count,
            }
            for s in transcript_segments_stored(transcript)
        ],
    }
