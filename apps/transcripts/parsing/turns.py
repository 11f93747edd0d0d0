"""Speaker turns as read from a file, the speaker-label rules and the checks every format shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .common import MAX_SPEAKER_LABEL_LENGTH, IssueCollector, SpeakerMap, format_seconds

# A speaker label before a colon: up to four words, starting with a letter. The colon must be
# followed by a space or the end of the line, so 'http://' or '10:30' never look like speakers.
_SPEAKER_RE = re.compile(
    r"(?P<label>[^\W\d_][\w.'’-]*(?:[ \t]+[\w.'’-]+){0,3})[ \t]*:(?:[ \t]+|$)(?P<text>.*)",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class ParsedTurn:
    """One speaker turn as read from the file; times in seconds from the session's start."""

    speaker_role: str
    speaker_label: str
    text: str
    start: float | None
    end: float | None
    line: int


@dataclass(frozen=True, slots=True)
class ParsedTranscript:
    """The turns of one transcript file, with how it was read.

    `encoding` is the text encoding detected (e.g. 'utf-8', 'cp1252'), empty for .docx.
    """

    file: str
    format: str
    encoding: str
    turns: list[ParsedTurn] = field(hash=False)

    @property
    def has_timestamps(self) -> bool:
        """Whether every turn has a start time (readers refuse files where only some have)."""
        return bool(self.turns) and all(turn.start is not None for turn in self.turns)


def check_turns(turns: list[ParsedTurn], issues: IssueCollector) -> None:
    """Apply the rules every format shares: text present, times complete and in order."""
    if not turns:
        if not issues:
            issues.add(None, "the transcript has no turns")
        return
    timed = sum(turn.start is not None for turn in turns)
    partly_timed = 0 < timed < len(turns)
    previous_start, previous_line = 0.0, 0
    for turn in turns:
        if not turn.text:
            issues.add(turn.line, "the turn has no text", "text")
        if turn.start is None:
            if partly_timed:
                issues.add(
                    turn.line,
                    "the turn has no start time but other turns do; give every turn a start "
                    "time or none",
                    "start",
                )
            continue
        if turn.end is not None and turn.end < turn.start:
            issues.add(
                turn.line,
                f"the turn ends ({format_seconds(turn.end)}) before it starts "
                f"({format_seconds(turn.start)})",
                "end",
            )
        if turn.start < previous_start:
            issues.add(
                turn.line,
                f"the start time {format_seconds(turn.start)} is before the previous turn's "
                f"{format_seconds(previous_start)} (line {previous_line}); times must not go "
                "backwards",
                "start",
            )
        previous_start, previous_line = turn.start, turn.line


def speaker_role_or_issue(
    label: str, speakers: SpeakerMap, issues: IssueCollector, line: int
) -> str | None:
    """Return the role of a speaker label, or report why it has none and return None."""
    if len(label) > MAX_SPEAKER_LABEL_LENGTH:
        issues.add(
            line, f"the speaker label is over {MAX_SPEAKER_LABEL_LENGTH} characters", "speaker"
        )
        return None
    role = speakers.role_for(label)
    if role is None:
        issues.add(line, f'unknown speaker "{label}"; {speakers.describe()}', "speaker")
    return role


def _looks_like_speaker(label: str) -> bool:
    """Whether an unknown 'Label:' at a line's start is meant as a speaker rather than text.

    Speaker labels are short and capitalised ('Interviewer:', 'Dr Smith:'); a line of text
    that happens to start 'so: ...' or 'Here is the thing: ...' is not one.
    """
    return label[:1].isupper() and len(label.split()) <= 2 and len(label) <= 24


def split_speaker(
    text: str, speakers: SpeakerMap, *, expected: bool = False
) -> tuple[str, str | None, str] | None:
    """Split 'Label: words' into (label, role or None if unknown, words).

    Returns None when the text does not start with a speaker label, including unknown labels
    that do not look like one (see _looks_like_speaker) unless a speaker is `expected` there.
    """
    match = _SPEAKER_RE.match(text)
    if match is None or len(match["label"]) > MAX_SPEAKER_LABEL_LENGTH:
        return None
    label = match["label"]
    role = speakers.role_for(label)
    if role is None and not expected and not _looks_like_speaker(label):
        return None
    return label, role, match["text"]
