"""Read a transcript file (text, Word, WebVTT, SRT or CSV) into speaker turns.

Every reader collects all the problems it finds and raises them together, each naming the file
and line, so a user fixes a file in one round. See docs/transcript-formats.md.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePath

from .common import (
    MAX_TRANSCRIPT_BYTES,
    MAX_TURNS,
    IssueCollector,
    SpeakerMap,
    TranscriptImportError,
    check_size,
    decode_bytes,
    fail,
    normalise_header,
    sniff_text,
)
from .readers import (
    MAX_DOCX_EXPANDED_BYTES,
    csv_turns,
    docx_turns,
    srt_turns,
    text_turns,
    vtt_turns,
)
from .turns import ParsedTranscript, ParsedTurn, check_turns

FORMATS = ("text", "docx", "vtt", "srt", "csv")
LINES_PER_TURN = 10

_EXTENSIONS = {
    ".txt": "text",
    ".text": "text",
    ".docx": "docx",
    ".vtt": "vtt",
    ".webvtt": "vtt",
    ".srt": "srt",
    ".csv": "csv",
    ".tsv": "csv",
}
_ACCEPTED_EXTENSIONS = ".txt, .docx, .vtt, .srt, .csv (or .tsv)"
_UNSUPPORTED_HINTS = {
    ".doc": "Word 97-2003 .doc files are not supported; save the file as .docx",
    ".rtf": "RTF files are not supported; save the file as .docx or plain text",
    ".odt": "OpenDocument files are not supported; save the file as .docx",
    ".pdf": "PDF files are not supported; export the transcript as .docx or plain text",
    ".xls": "spreadsheets are not supported; save the sheet as CSV",
    ".xlsx": "spreadsheets are not supported; save the sheet as CSV",
    ".ods": "spreadsheets are not supported; save the sheet as CSV",
}
# Magic numbers of binary formats that must not be read as text when the name gives no clue.
_BINARY_SIGNATURES = (
    (b"\xd0\xcf\x11\xe0", ".doc"),
    (b"%PDF", ".pdf"),
    (b"{\\rtf", ".rtf"),
)

# --- format detection -------------------------------------------------------------------------


def detect_format(filename: str, content: bytes) -> str:
    """Return the format of a transcript ('text', 'docx', 'vtt', 'srt' or 'csv').

    The file extension decides; files without a known extension are sniffed. Raises
    TranscriptImportError for formats that cannot be imported (.doc, .pdf, spreadsheets ...).
    """
    extension = PurePath(filename).suffix.lower()
    if extension in _EXTENSIONS:
        return _EXTENSIONS[extension]
    if extension in _UNSUPPORTED_HINTS:
        raise _unsupported(filename, extension)
    for signature, kind in _BINARY_SIGNATURES:
        if content.startswith(signature):
            raise _unsupported(filename, kind)
    if content.startswith(b"PK\x03\x04"):
        return "docx"
    head = sniff_text(content).lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    lines = head.split("\n", 2)
    if "-->" in lines[0] or (lines[0].strip().isdigit() and len(lines) > 1 and "-->" in lines[1]):
        return "srt"
    header = {normalise_header(cell) for cell in re.split(r"[,;\t]", lines[0])}
    if {"speaker", "text"} <= header:
        return "csv"
    return "text"


def _unsupported(filename: str, kind: str) -> TranscriptImportError:
    return fail(filename, f"{_UNSUPPORTED_HINTS[kind]} (accepted: {_ACCEPTED_EXTENSIONS})")


# --- entry point ------------------------------------------------------------------------------


def parse_transcript(
    filename: str,
    content: bytes,
    *,
    format: str | None = None,
    speaker_prefixes: Mapping[str, str] | None = None,
    max_bytes: int = MAX_TRANSCRIPT_BYTES,
    max_turns: int = MAX_TURNS,
    max_docx_expanded_bytes: int = MAX_DOCX_EXPANDED_BYTES,
) -> ParsedTranscript:
    """Read a transcript file into turns, or raise TranscriptImportError with every problem.

    `format` overrides detection (ValueError if it is not one of FORMATS). `speaker_prefixes`
    (label -> role) replaces DEFAULT_SPEAKER_PREFIXES: pass {**DEFAULT_SPEAKER_PREFIXES, ...}
    to extend it; a bad map is reported as a whole-file issue. A file of more than
    `max_turns` turns is refused, whatever its format: reading stops at the first turn over.
    A text or Word file is also refused past LINES_PER_TURN * max_turns lines (paragraphs).
    """
    try:
        speakers = SpeakerMap(speaker_prefixes)
    except ValueError as exc:
        raise fail(filename, str(exc)) from None
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown transcript format {format!r}; expected one of {FORMATS}")
    check_size(content, filename=filename, max_bytes=max_bytes, what="transcripts")
    format = format or detect_format(filename, content)
    issues = IssueCollector(filename)
    if not content.strip():
        issues.add(None, "the file is empty")
        issues.raise_if_any()

    # Lines (Word paragraphs) of a text or Word transcript: a turn, a blank line and a few
    # continuation lines each, with room to spare.
    max_lines = LINES_PER_TURN * max_turns
    reader: Iterator[ParsedTurn]
    if format == "docx":
        encoding = ""
        reader = docx_turns(
            content,
            speakers,
            issues,
            max_expanded_bytes=max_docx_expanded_bytes,
            max_paragraphs=max_lines,
        )
    else:
        text, encoding = decode_bytes(content, filename=filename)
        if format == "text":
            reader = text_turns(
                enumerate(text.split("\n"), 1), speakers, issues, max_lines=max_lines
            )
        elif format == "vtt":
            reader = vtt_turns(text, speakers, issues)
        elif format == "srt":
            reader = srt_turns(text, speakers, issues)
        else:
            reader = csv_turns(text, speakers, issues)

    # The one turn limit for every format. The readers yield turns as they read, so a file
    # far over the limit costs no more than the limit to refuse.
    turns = list(itertools.islice(reader, max_turns + 1))
    if len(turns) > max_turns:
        reader.close()
        raise fail(
            filename,
            f"the transcript has more than {max_turns:,} turns, the limit for one transcript "
            f"(turn {max_turns + 1:,} starts on line {turns[-1].line:,}); split it into "
            "several sessions",
        )
    check_turns(turns, issues)
    issues.raise_if_any()
    return ParsedTranscript(file=filename, format=format, encoding=encoding, turns=turns)
