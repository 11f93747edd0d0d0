"""The readers of each transcript format, turning decoded content into turns and issues.

Each reader records every problem on the IssueCollector it is given and returns the turns it
could read; parse_transcript raises once all checks have run.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO

import srt
from docx.oxml.ns import qn
from lxml import etree
from webvtt.errors import MalformedCaptionError
from webvtt.models import Caption, Timestamp
from webvtt.vtt import WebVTTCueBlock

from .common import (
    TIME_FORMATS_HELP,
    IssueCollector,
    LineCounter,
    SpeakerMap,
    check_header,
    format_size,
    parse_seconds,
    read_csv,
)
from .turns import ParsedTurn, speaker_role_or_issue, split_speaker

# A .docx is a zip archive; a few kilobytes can unpack to gigabytes of XML (a "zip bomb").
MAX_DOCX_EXPANDED_BYTES = 50 * 1024 * 1024
# The relationship that names the main document part, in transitional and strict OOXML.
_OFFICE_DOCUMENT_TYPES = frozenset(
    {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
    }
)
_PACKAGE_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"

_CSV_COLUMNS = ("speaker", "text", "start", "end")

# A leading timestamp: [00:01:23], (1:23) or a bare 00:01:23, with optional .mmm.
_TIME = r"[0-9]{1,3}(?::[0-9]{1,2}){1,2}(?:[.,][0-9]{1,3})?"
_LEADING_TIME_RE = re.compile(
    rf"\[\s*(?P<bracketed>{_TIME})\s*\]\s*|\(\s*(?P<paren>{_TIME})\s*\)\s*|(?P<bare>{_TIME})\s+"
)
# WordprocessingML names, for reading paragraph text straight from the XML (see
# _docx_paragraph_texts).
_W_BODY, _W_P, _W_R, _W_T, _W_TAB, _W_BR, _W_CR, _W_TYPE, _W_TBL = (
    qn(f"w:{name}") for name in ("body", "p", "r", "t", "tab", "br", "cr", "type", "tbl")
)
_NOT_BODY_TEXT = frozenset({_W_TBL, qn("w:txbxContent")})
_RUN_CONTENT = frozenset({_W_T, _W_TAB, _W_BR, _W_CR})
# SRT and some VTT files carry display markup: <i>, <font ...>, and ASS overrides like {\an8}.
_MARKUP_RE = re.compile(r"<[^>]*>|\{\\[^}]*\}")


# What reading a damaged or crafted archive member raises: broken XML, a bad CRC or truncated
# data, a corrupt deflate stream, an unsupported compression method, an encrypted member.
_UNREADABLE_ARCHIVE = (
    etree.XMLSyntaxError,
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)
# Entities are never expanded (a "billion laughs" document), nothing is fetched.
_SAFE_XML = {"resolve_entities": False, "no_network": True, "load_dtd": False}


# --- plain text and Word ----------------------------------------------------------------------


class _Draft:
    """A turn being assembled from a prefixed line and its continuation lines."""

    __slots__ = ("label", "line", "parts", "role", "start")

    def __init__(self, label: str, role: str, start: float | None, line: int, text: str) -> None:
        self.label, self.role, self.start, self.line = label, role, start, line
        self.parts = [text] if text else []

    def turn(self, *, following: float | None) -> ParsedTurn:
        """The finished turn, ending where the following turn starts."""
        # A backwards next start is reported by check_turns; it must not become an end.
        if self.start is not None and following is not None and following >= self.start:
            end = following
        else:
            end = None
        return ParsedTurn(
            speaker_role=self.role,
            speaker_label=self.label,
            text="\n".join(self.parts),
            start=self.start,
            end=end,
            line=self.line,
        )


def text_turns(
    lines: Iterable[tuple[int, str]],
    speakers: SpeakerMap,
    issues: IssueCollector,
    *,
    max_lines: int | None = None,
    line_word: str = "lines",
) -> Iterator[ParsedTurn]:
    """Read numbered lines of a text or Word transcript into turns, yielded as they end.

    A turn starts at a line with a speaker prefix, optionally after a timestamp; lines without
    a prefix continue the turn. A turn's end is the next turn's start. Reading stops, with an
    issue, at a line numbered over `max_lines` (empty lines count: a file of nothing but
    empty Word paragraphs holds no turns but can still cost seconds to read).
    """
    # The turn being read; it is yielded when the next one starts, which gives its end.
    draft: _Draft | None = None
    seen_any = False
    # After a refused line (unknown speaker, bad time) its continuation lines are dropped
    # quietly rather than glued to the turn before it or reported once more.
    skipping = False
    reported_preamble = False
    for number, raw in lines:
        if max_lines is not None and number > max_lines:
            issues.add(
                None,
                f"the file has more than {max_lines:,} {line_word}, the limit for one "
                "transcript; split it into several sessions",
            )
            return
        line = raw.strip()
        if not line:
            continue
        time_match = _LEADING_TIME_RE.match(line)
        rest = line[time_match.end() :] if time_match else line
        # After [00:01:23] or (1:23) only a speaker can follow, so any label counts as one.
        expected = bool(time_match and not time_match["bare"])
        speaker = split_speaker(rest, speakers, expected=expected)
        if speaker is None and time_match and time_match["bare"]:
            # '10:30 was when we met' is text, not a timestamp.
            time_match, rest = None, line
        if time_match and speaker is None:
            issues.add(
                number,
                "a timestamp must be followed by a speaker prefix on the same line, as in "
                "'[00:01:23] T: ...'",
            )
            skipping = True
            continue
        if speaker is None:
            if draft is not None and not skipping:
                draft.parts.append(line)
            elif not seen_any and not skipping and not reported_preamble:
                issues.add(
                    number,
                    "text before the first speaker prefix; every turn must start with a "
                    f"prefix such as 'T:' or 'P:' ({speakers.describe()})",
                )
                reported_preamble = True
            continue

        label, role, text = speaker
        start = None
        if time_match:
            written = time_match["bracketed"] or time_match["paren"] or time_match["bare"]
            try:
                start = parse_seconds(written)
            except ValueError:
                issues.add(number, f"bad timestamp {written!r}; use {TIME_FORMATS_HELP}", "start")
                skipping = True
                continue
        if role is None:
            speaker_role_or_issue(label, speakers, issues, number)
            skipping = True
            continue
        skipping = False
        if draft is not None:
            yield draft.turn(following=start)
        draft, seen_any = _Draft(label, role, start, number, text.strip()), True
    if draft is not None:
        yield draft.turn(following=None)


def docx_turns(
    content: bytes,
    speakers: SpeakerMap,
    issues: IssueCollector,
    *,
    max_expanded_bytes: int = MAX_DOCX_EXPANDED_BYTES,
    max_paragraphs: int | None = None,
) -> Iterator[ParsedTurn]:
    """Read a Word file's paragraphs like the lines of a text transcript.

    The line of a turn is its paragraph's number (empty paragraphs count). Soft line breaks
    split a paragraph into lines that share its number. Tables are not read.

    The archive's unpacked size is checked against `max_expanded_bytes` before anything is
    unpacked, and the main document is read as a stream, one paragraph at a time, never as
    a whole tree: a few kilobytes of .docx can unpack to millions of paragraphs, and a
    caller that stops taking turns (the turn limit) stops the reading there.
    """
    not_docx = "the file is not a valid .docx Word document"
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        issues.add(None, f"{not_docx} (Word 97-2003 .doc files must be saved as .docx)")
        return
    with archive:
        # Declared sizes can be trusted as upper bounds: zipfile stops reading a member at its
        # declared size (and refuses it if the data does not match).
        expanded = sum(member.file_size for member in archive.infolist())
        if expanded > max_expanded_bytes:
            issues.add(
                None,
                f"the .docx unpacks to {format_size(expanded)}, over the "
                f"{format_size(max_expanded_bytes)} limit for Word documents; save the "
                "transcript as plain text or split it",
            )
            return
        main = _main_document_part(archive)
        if main is None:
            issues.add(None, not_docx)
            return
        found_table = [False]
        count = 0
        try:
            with archive.open(main) as stream:
                paragraphs = _docx_paragraph_texts(stream, found_table)
                lines = (
                    (number, part)
                    for number, text in enumerate(paragraphs, 1)
                    for part in text.split("\n")
                )
                turns = text_turns(
                    lines, speakers, issues, max_lines=max_paragraphs, line_word="paragraphs"
                )
                for turn in turns:
                    count += 1
                    yield turn
        except _UNREADABLE_ARCHIVE:
            issues.add(None, not_docx)
            return
    if not count and found_table[0]:
        issues.add(
            None,
            "tables are not read, and the document's paragraphs hold no turns; write one turn "
            "per paragraph ('T: ...') or save the table as CSV with columns speaker,text",
        )


def _main_document_part(archive: zipfile.ZipFile) -> str | None:
    """The archive name of the main document (usually word/document.xml), from _rels/.rels."""
    try:
        with archive.open("_rels/.rels") as stream:
            for _event, relationship in etree.iterparse(
                stream, tag=_PACKAGE_RELATIONSHIP, **_SAFE_XML
            ):
                if relationship.get("Type") in _OFFICE_DOCUMENT_TYPES:
                    name = (relationship.get("Target") or "").lstrip("/")
                    return name if name in archive.namelist() else None
                relationship.clear()
    except (KeyError, *_UNREADABLE_ARCHIVE):
        return None
    return None


def _docx_paragraph_texts(stream: IO[bytes], found_table: list[bool]) -> Iterator[str]:
    """Yield the text of each body paragraph, outside tables and text boxes, in order.

    Read from the XML rather than python-docx's Paragraph.text, which skips runs inside
    tracked insertions (w:ins) and content controls: a transcript corrected with track
    changes on would silently lose the corrections. Deleted text (w:delText) and field codes
    are not w:t, so they stay out. Each run and paragraph is dropped from memory once read.
    Sets found_table[0] when the body holds a table.
    """
    in_body = False
    excluded = 0  # open tables and text boxes around the current element
    parts: list[str] | None = None  # the open body paragraph's text
    for event, node in etree.iterparse(
        stream, events=("start", "end"), remove_comments=True, remove_pis=True, **_SAFE_XML
    ):
        tag = node.tag
        if event == "start":
            if tag == _W_BODY:
                in_body = True
            elif tag in _NOT_BODY_TEXT:
                excluded += 1
                found_table[0] = found_table[0] or (in_body and tag == _W_TBL)
            elif tag == _W_P and in_body and not excluded and parts is None:
                parts = []
            continue
        if tag in _NOT_BODY_TEXT:
            excluded -= 1
        elif tag in _RUN_CONTENT:
            # Only run content counts (w:tab also defines tab stops in the paragraph's
            # properties), and not the runs of a text box anchored in the paragraph.
            if parts is not None and not excluded and node.getparent().tag == _W_R:
                if tag == _W_T:
                    parts.append(node.text or "")
                elif tag == _W_TAB:
                    parts.append("\t")
                elif tag == _W_CR or node.get(_W_TYPE) in (None, "textWrapping"):
                    parts.append("\n")  # page and column breaks are layout, not line breaks
            continue
        elif tag == _W_R:
            node.clear(keep_tail=True)
            continue
        elif tag == _W_P:
            if parts is not None and not excluded:
                yield "".join(parts)
                parts = None
        elif tag == _W_BODY:
            in_body = False
        else:
            continue
        # A finished paragraph, table or text box: drop it and what came before it.
        node.clear(keep_tail=True)
        while node.getprevious() is not None:
            del node.getparent()[0]


# --- WebVTT -----------------------------------------------------------------------------------


def vtt_turns(text: str, speakers: SpeakerMap, issues: IssueCollector) -> Iterator[ParsedTurn]:
    """Read WebVTT cues, one turn per cue, speaker from a voice tag or a 'Label:' prefix.

    Blocks are split as webvtt-py splits them, and its timing pattern, timestamps and voice
    pattern are used, but its WebVTT.from_string is not: that gives no line numbers, stops
    at the first bad time, drops text outside cues without a word, and builds objects that
    made it three times slower than this reader.
    """
    for line, start, end, payload in _vtt_cues(text, issues):
        voice = Caption.VOICE_SPAN_PATTERN.match(payload[0]) if payload else None
        cue_text = html.unescape(" ".join(_clean_lines("\n".join(payload))))
        if voice is not None:
            label = voice[1].strip()
            role = speaker_role_or_issue(label, speakers, issues, line)
        else:
            speaker = split_speaker(cue_text, speakers)
            if speaker is None:
                issues.add(
                    line,
                    "the cue names no speaker; start it with a voice tag such as "
                    f"'<v Therapist>' or a prefix such as 'T:' ({speakers.describe()})",
                    "speaker",
                )
                continue
            label, role, cue_text = speaker
            if role is None:
                speaker_role_or_issue(label, speakers, issues, line)
        if role is not None:
            yield ParsedTurn(role, label, cue_text.strip(), start, end, line)


def _vtt_cues(text: str, issues: IssueCollector) -> list[tuple[int, float, float, list[str]]]:
    """Return (first line, start, end, text lines) of each cue, reporting what is not one.

    The first line of a cue is its identifier if it has one, else its timing line. Text in no
    cue is reported: in a transcript it is usually a turn cut in two by a blank line.
    """
    cues = []
    for index, block in enumerate(_vtt_blocks(text)):
        first_line, first = block[0]
        if index == 0:
            if first.startswith("WEBVTT"):
                continue  # the header; lines under it are metadata
            issues.add(1, 'a WebVTT file must start with the line "WEBVTT"')
        timing_index = next((i for i, (_, line) in enumerate(block) if "-->" in line), None)
        if timing_index is None:
            if not first.startswith(("NOTE", "STYLE", "REGION")):
                issues.add(
                    first_line,
                    "text outside any cue; a cue's text ends at a blank line, so remove the "
                    "blank line or give the text its own timing line",
                )
            continue
        timing_line, timing = block[timing_index]
        match = WebVTTCueBlock.CUE_TIMINGS_PATTERN.match(timing)
        try:
            if match is None:
                raise MalformedCaptionError(timing)
            start = Timestamp.from_string(match[1]).in_milliseconds() / 1000
            end = Timestamp.from_string(match[2]).in_milliseconds() / 1000
        except MalformedCaptionError:
            issues.add(
                timing_line,
                f"bad cue timing {timing.strip()!r}; expected e.g. 00:01:23.000 --> "
                "00:01:27.500 (minutes and seconds below 60)",
                "start",
            )
            continue
        cues.append((first_line, start, end, [line for _, line in block[timing_index + 1 :]]))
    return cues


def _vtt_blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    """Split WebVTT text into blocks of (line number, line) the way webvtt-py does.

    A block ends at an empty line, or before a timing line that cannot be its own: one that
    follows two lines, or a timing line, or anything in the header. So a timing line is
    always the first or second line of its block (after an identifier).
    """
    block: list[tuple[int, str]] = []
    in_header = True
    for number, line in enumerate(text.split("\n"), 1):
        if block and (
            not line or ("-->" in line and (in_header or len(block) > 1 or "-->" in block[0][1]))
        ):
            yield block
            block, in_header = [], False
        if line:
            block.append((number, line))
    if block:
        yield block


def _clean_lines(text: str) -> list[str]:
    """Caption lines without markup; line breaks in captions are display wrapping only."""
    return [stripped for line in text.split("\n") if (stripped := _MARKUP_RE.sub("", line).strip())]


# --- SRT --------------------------------------------------------------------------------------


def srt_turns(text: str, speakers: SpeakerMap, issues: IssueCollector) -> Iterator[ParsedTurn]:
    """Read SubRip subtitles, one turn per subtitle, speaker from a 'Label:' prefix.

    Runs the srt package's own pattern once instead of calling srt.parse: parse stops at the
    first unreadable block and does not say where a subtitle is, and running the pattern a
    second time for the lines would double the cost. Text between matches is what parse
    would refuse; here each such stretch is reported.
    """
    counter = LineCounter(text)
    expected = 0
    for match in srt.SRT_REGEX.finditer(text):
        _report_unread_srt(text, expected, match.start(), counter, issues)
        expected = match.end()
        number = counter.line_at(match.start(1) if match[1] is not None else match.start(2))
        content = match[5]
        if "-->" in content:
            # The pattern reads on through a timing line it cannot parse, taking the next
            # subtitle into this one's text.
            issues.add(
                counter.line_at(match.start(5) + content.index("-->")),
                "bad timing line; expected e.g. 00:01:23,000 --> 00:01:27,500",
                "start",
            )
            continue
        speaker = split_speaker(" ".join(_clean_lines(content)), speakers)
        if speaker is None:
            issues.add(
                number,
                "the subtitle names no speaker; start its text with a prefix such as 'T:' "
                f"({speakers.describe()})",
                "speaker",
            )
            continue
        label, role, words = speaker
        if role is None:
            speaker_role_or_issue(label, speakers, issues, number)
            continue
        yield ParsedTurn(
            role,
            label,
            words.strip(),
            srt.srt_timestamp_to_timedelta(match[2]).total_seconds(),
            srt.srt_timestamp_to_timedelta(match[3]).total_seconds(),
            number,
        )
    _report_unread_srt(text, expected, len(text), counter, issues)


def _report_unread_srt(
    text: str, start: int, end: int, counter: LineCounter, issues: IssueCollector
) -> None:
    """Report text between two subtitles that the pattern could not read as a subtitle.

    Whitespace and a stray byte-order mark are not reported, as in srt.parse.
    """
    unread = text[start:end]
    if unread.strip().strip("\ufeff"):
        issues.add(
            counter.line_at(start + len(unread) - len(unread.lstrip())),
            "this subtitle could not be read; a subtitle is a number line, a timing line such "
            "as 00:01:23,000 --> 00:01:27,500 and its text, with a blank line before the next",
        )


# --- CSV --------------------------------------------------------------------------------------


def csv_turns(text: str, speakers: SpeakerMap, issues: IssueCollector) -> Iterator[ParsedTurn]:
    """Read a CSV table with columns speaker, text and optionally start and end."""
    header_line, header, rows = read_csv(text, issues)
    columns = check_header(
        header_line, header, issues, allowed=_CSV_COLUMNS, required=("speaker", "text")
    )
    if columns is None:
        return
    position = {name: columns.index(name) for name in _CSV_COLUMNS if name in columns}

    for number, cells in rows:
        if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
            issues.add(number, f"the row has {len(cells)} cells but the header has {len(columns)}")
            continue
        cells = cells + [""] * (len(columns) - len(cells))
        values = {name: cells[index].strip() for name, index in position.items()}
        label = values["speaker"]
        if not label:
            issues.add(number, "the speaker is empty", "speaker")
            continue
        role = speaker_role_or_issue(label, speakers, issues, number)
        times: dict[str, float | None] = {"start": None, "end": None}
        for name in ("start", "end"):
            if values.get(name):
                try:
                    times[name] = parse_seconds(values[name])
                except ValueError:
                    issues.add(
                        number, f"bad {name} time {values[name]!r}; use {TIME_FORMATS_HELP}", name
                    )
                    role = None
        if times["end"] is not None and times["start"] is None:
            issues.add(number, "the row has an end time but no start time", "start")
            role = None
        if role is not None:
            yield ParsedTurn(
                role,
                label,
                values["text"],
                times["start"],
                times["end"],
                number,
            )
