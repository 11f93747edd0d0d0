"""Pieces shared by the transcript and manifest readers: issues, decoding, times, speakers, CSV."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import charset_normalizer

SPEAKER_ROLES = ("therapist", "patient", "other")

# Written as labs write them; matching is case-insensitive (see SpeakerMap). Copy before changing.
DEFAULT_SPEAKER_PREFIXES: dict[str, str] = {
    "T": "therapist",
    "Th": "therapist",
    "Therapist": "therapist",
    "Counselor": "therapist",
    "Counsellor": "therapist",
    "Dr": "therapist",
    "P": "patient",
    "Pt": "patient",
    "Patient": "patient",
    "C": "patient",
    "Client": "patient",
}

# Stored labels are limited to this length (Turn.speaker_label).
MAX_SPEAKER_LABEL_LENGTH = 60

MAX_TRANSCRIPT_BYTES = 5 * 1024 * 1024
# Turns in one transcript. A 50-minute session has a few hundred; the limit is generous for
# the longest real session and keeps a crafted file from filling memory and the database.
MAX_TURNS = 20_000
MAX_MANIFEST_BYTES = 2 * 1024 * 1024

# Error messages list at most this many issues; the exception still carries all of them.
_ISSUES_IN_MESSAGE = 20


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem in an imported file, named by file and line (None for whole-file problems)."""

    file: str
    line: int | None
    message: str
    field: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"


class TranscriptImportError(Exception):
    """Raised when a transcript or manifest cannot be imported; carries every issue found."""

    def __init__(self, issues: Iterable[ImportIssue]) -> None:
        # Whole-file problems first, then by line; sorted() is stable, so issues on one line
        # keep the order they were found in.
        self.issues: list[ImportIssue] = sorted(
            issues, key=lambda issue: (issue.line is not None, issue.line or 0)
        )
        if not self.issues:
            raise ValueError("TranscriptImportError needs at least one issue")
        # The issues are the only argument so that pickling (e.g. by a task queue) rebuilds
        # the same exception.
        super().__init__(self.issues)

    def __str__(self) -> str:
        shown = [str(issue) for issue in self.issues[:_ISSUES_IN_MESSAGE]]
        hidden = len(self.issues) - len(shown)
        if hidden:
            shown.append(f"... and {hidden} more")
        return "\n".join(shown)


class IssueCollector:
    """Collects the issues of one file so that all of them are reported together."""

    __slots__ = ("file", "issues")

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[ImportIssue] = []

    def add(self, line: int | None, message: str, field: str | None = None) -> None:
        """Record one issue at a line (None for the whole file)."""
        self.issues.append(ImportIssue(self.file, line, message, field))

    def raise_if_any(self) -> None:
        """Raise TranscriptImportError with everything collected, if anything was."""
        if self.issues:
            raise TranscriptImportError(self.issues)

    def __bool__(self) -> bool:
        return bool(self.issues)


def fail(file: str, message: str) -> TranscriptImportError:
    """Build the error for a whole-file problem that stops reading at once (size, encoding)."""
    return TranscriptImportError([ImportIssue(file, None, message)])


# --- size -----------------------------------------------------------------------------------


def format_size(size: int) -> str:
    """Say a size in bytes the way a user reads it: '5 MB', '1.5 MB', '512 KB', '900 bytes'."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def check_size(content: bytes, *, filename: str, max_bytes: int, what: str) -> None:
    """Refuse content over the limit before any work is spent on it."""
    if len(content) > max_bytes:
        raise fail(
            filename,
            f"the file is {format_size(len(content))}, over the {format_size(max_bytes)} "
            f"limit for {what}",
        )


# --- decoding -------------------------------------------------------------------------------

# UTF-16 files from Windows tools always start with a byte-order mark; without one, UTF-16 is
# only recognised by the charset-normalizer fallback.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)


def _normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.removeprefix("\ufeff")


def decode_bytes(content: bytes, *, filename: str) -> tuple[str, str]:
    """Decode an uploaded text file, returning (text with \\n newlines, encoding name).

    Order: a byte-order mark decides (UTF-8, UTF-16 LE/BE); otherwise strict UTF-8; otherwise
    Windows-1252, the usual encoding of files saved by Word and Excel on Windows, unless the
    file is UTF-8 with a few damaged bytes (see _refuse_damaged_utf8), which is refused with
    the lines that are not UTF-8 rather than misread as Windows-1252. Only when
    those fail, or give NUL characters (binary data, or UTF-16 without a byte-order mark), is
    charset-normalizer asked: it is slow and on short Western text it often guesses a wrong
    code page, so it never overrides a clean UTF-8 or Windows-1252 reading.

    Raises TranscriptImportError naming the file when no reading works.
    """
    for bom, codec, name in _BOMS:
        if content.startswith(bom):
            try:
                return _normalise_newlines(content[len(bom) :].decode(codec)), name
            except UnicodeDecodeError as exc:
                raise fail(
                    filename,
                    f"the file starts with a {codec.upper()} byte-order mark but byte "
                    f"{exc.start + len(bom)} is not valid {codec.upper()}; save it again as "
                    "UTF-8",
                ) from None

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        _refuse_damaged_utf8(content, filename=filename)
    else:
        if "\x00" not in text:
            return _normalise_newlines(text), "utf-8"
    try:
        text = content.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" not in text:
            return _normalise_newlines(text), "cp1252"

    best = charset_normalizer.from_bytes(content).best()
    if best is not None:
        text = str(best)
        if text.strip() and "\x00" not in text:
            return _normalise_newlines(text), codecs.lookup(best.encoding).name
    raise fail(
        filename,
        "could not read the file as text (it is not UTF-8, UTF-16 with a byte-order mark or "
        "Windows-1252, or it is not a text file); save it as UTF-8 text and import it again",
    )


# Lines named in the error when a UTF-8 file has bad bytes.
_BAD_UTF8_LINES_SHOWN = 20
# After decoding with errors="surrogateescape", an invalid byte b is the character U+DC00+b.
_ESCAPED_BYTE_RE = re.compile("[\udc80-\udcff]")
_UTF8_NON_ASCII_RE = re.compile("[^\x00-\x7f\udc80-\udcff]")


def _refuse_damaged_utf8(content: bytes, *, filename: str) -> None:
    """Raise, naming each line that is not UTF-8, when the file is otherwise UTF-8.

    Windows-1252 text read as UTF-8 fails at nearly every accented letter, because its
    accented letters are single bytes followed by plain ASCII; it almost never contains a
    valid UTF-8 multibyte sequence. A UTF-8 file damaged in a few places (a byte cut by an
    editor, a pasted Windows-1252 word) is the reverse: many valid sequences, few bad bytes.
    So the file counts as damaged UTF-8 when its valid non-ASCII characters are at least as
    many as its invalid bytes. Reading such a file as Windows-1252 would silently turn every
    'é' into 'Ã©'. NUL characters mean UTF-16 or binary data, left to the later readings.
    """
    text = content.decode("utf-8", errors="surrogateescape")
    if "\x00" in text:
        return
    bad = len(_ESCAPED_BYTE_RE.findall(text))
    if len(_UTF8_NON_ASCII_RE.findall(text)) < bad:
        return
    text = _normalise_newlines(text)
    issues = IssueCollector(filename)
    counter = LineCounter(text)
    last_line = 0
    for match in _ESCAPED_BYTE_RE.finditer(text):
        number = counter.line_at(match.start())
        if number == last_line:
            continue
        if len(issues.issues) == _BAD_UTF8_LINES_SHOWN:
            issues.add(None, "more lines are not valid UTF-8 than are listed here")
            break
        last_line = number
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        issues.add(
            number,
            f"the line is not valid UTF-8 (byte 0x{ord(match[0]) - 0xDC00:02X} at character "
            f"{column}); the rest of the file is UTF-8, so this line was damaged or pasted "
            "from another encoding: retype it or save the file again as UTF-8",
        )
    issues.raise_if_any()


def sniff_text(content: bytes, limit: int = 4096) -> str:
    """Decode the start of a file loosely, only to guess its format."""
    head = content[:limit]
    for bom, codec, _name in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace")
    return head.decode("utf-8", errors="replace")


class LineCounter:
    """Turns character offsets into 1-based line numbers, for offsets met in increasing order."""

    __slots__ = ("_line", "_offset", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1

    def line_at(self, offset: int) -> int:
        """Return the line of an offset.

        Counting resumes from the previous offset, so a whole file costs one pass.
        """
        if offset < self._offset:
            self._offset, self._line = 0, 1
        self._line += self._text.count("\n", self._offset, offset)
        self._offset = offset
        return self._line


# --- times ----------------------------------------------------------------------------------

_SECONDS_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CLOCK_FIELD_RE = re.compile(r"[0-9]+")

TIME_FORMATS_HELP = "seconds (83.5), mm:ss (01:23) or hh:mm:ss(.mmm) (00:01:23.500)"


def parse_seconds(value: str) -> float:
    """Read a time as seconds from '83.5', '83,5', 'mm:ss' or 'hh:mm:ss(.mmm)'.

    Minutes may pass 59 only when they are the leading field ('75:30'); seconds after a colon
    must be below 60. Raises ValueError for anything else, including negative times.
    """
    *fields, seconds_text = value.strip().split(":")
    seconds_text = seconds_text.replace(",", ".")
    if len(fields) > 2 or not _SECONDS_RE.fullmatch(seconds_text):
        raise ValueError(f"not a time: {value!r}")
    seconds = float(seconds_text)
    if not fields:
        return seconds
    if seconds >= 60 or not all(_CLOCK_FIELD_RE.fullmatch(field) for field in fields):
        raise ValueError(f"not a time: {value!r}")
    numbers = [int(field) for field in fields]
    if len(numbers) == 2 and numbers[1] >= 60:
        raise ValueError(f"not a time: {value!r}")
    minutes = numbers[-1] + (numbers[0] * 60 if len(numbers) == 2 else 0)
    return minutes * 60 + seconds


def format_seconds(seconds: float) -> str:
    """Write seconds as hh:mm:ss, with milliseconds only when there are any, for messages."""
    whole, millis = divmod(round(seconds * 1000), 1000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}.{millis:03d}".rstrip("0") if millis else text


# --- speakers -------------------------------------------------------------------------------


def normalise_label(label: str) -> str:
    """Key a speaker label for lookup: case-folded, single spaces, no trailing full stop."""
    return " ".join(label.casefold().split()).rstrip(".").rstrip()


class SpeakerMap:
    """Maps speaker labels as written (T, Patient, P2, Dr.) to speaker roles.

    Built from a prefix map (label -> role); matching ignores case, extra spaces and a trailing
    full stop, and a label may carry a number (P1, Patient 2) to tell several speakers of one
    role apart. The role words themselves (therapist, patient, other) are always accepted
    unless the map gives them another meaning. Raises ValueError for a bad map, so a map typed
    by a user can be checked with SpeakerMap(prefixes) before any file is read.
    """

    __slots__ = ("_lookup", "labels")

    def __init__(self, prefixes: Mapping[str, str] | None = None) -> None:
        prefixes = DEFAULT_SPEAKER_PREFIXES if prefixes is None else prefixes
        lookup = {role: role for role in SPEAKER_ROLES}
        for label, role in prefixes.items():
            key = normalise_label(label) if isinstance(label, str) else ""
            role_key = role.strip().casefold() if isinstance(role, str) else ""
            if not key or role_key not in SPEAKER_ROLES:
                raise ValueError(
                    f"bad speaker prefix {label!r}: {role!r}; a prefix must be non-empty and "
                    f"its role one of {', '.join(SPEAKER_ROLES)}"
                )
            lookup[key] = role_key
        self._lookup = lookup
        self.labels = list(prefixes)

    def role_for(self, label: str) -> str | None:
        """Return the role of a label, or None when the label is not known."""
        key = normalise_label(label)
        role = self._lookup.get(key)
        if role is None:
            # A numbered speaker (P1, Patient 2) has the role of its unnumbered label.
            base = key.rstrip("0123456789").rstrip(" .")
            if base and base != key:
                role = self._lookup.get(base)
        return role

    def describe(self) -> str:
        """List what is accepted, for error messages."""
        labels = ", ".join(self.labels) if self.labels else "(none)"
        return (
            f"accepted speaker prefixes: {labels}, or the role words {', '.join(SPEAKER_ROLES)} "
            "(any case; a number may follow, as in P1)"
        )


# --- case ids -------------------------------------------------------------------------------

# Invisible characters that editors and copy-paste leave in ids: zero-width space, non-joiner
# and joiner, word joiner, byte-order mark (zero-width no-break space) and soft hyphen.
# NFKC keeps them, so they are removed after it.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def normalise_case_code(code: str) -> str:
    """Return a case id in its one stored form: NFKC, no invisible characters, trimmed.

    NFKC folds look-alike forms (full-width 'Ｃ－１０１', ligatures, a no-break space) into
    the plain characters, so 'C-101' and 'C-101' followed by a zero-width space are one
    patient, not two. Letter case is kept: ids are stored as written.
    """
    return unicodedata.normalize("NFKC", code).translate(_INVISIBLE).strip()


# --- CSV ------------------------------------------------------------------------------------


def normalise_header(name: str) -> str:
    """Key a CSV column name: lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def sniff_delimiter(first_line: str) -> str:
    """Pick the delimiter of a header line: the most frequent of comma, semicolon and tab.

    Comma wins a tie. Excel writes semicolons where the decimal mark is a comma.
    """
    return max((",", ";", "\t"), key=first_line.count)


def read_csv(
    text: str, issues: IssueCollector
) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """Split CSV text into (header line, header cells, [(line, cells)]), delimiter sniffed.

    The header is the first row with any content. The line of a row is the line it starts on
    (a quoted cell may span lines). Rows with only empty cells are dropped. A malformed file is
    reported on the issues and gives no rows.
    """
    first_line = text.lstrip("\n").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(first_line))
    header_line, header = 1, []
    rows: list[tuple[int, list[str]]] = []
    consumed = 0
    try:
        for cells in reader:
            start_line, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header:
                rows.append((start_line, cells))
            else:
                header_line, header = start_line, cells
    except csv.Error as exc:
        issues.add(reader.line_num or None, f"the CSV file is malformed: {exc}")
        return header_line, header, []
    return header_line, header, rows


def check_header(
    header_line: int,
    header: list[str],
    issues: IssueCollector,
    *,
    allowed: tuple[str, ...],
    required: tuple[str, ...],
) -> list[str] | None:
    """Normalise a CSV header and report unknown, repeated and missing columns.

    Returns the normalised column names, or None when the rows cannot be read by them.
    """
    columns = [normalise_header(name) for name in header]
    unknown = [name for name, key in zip(header, columns, strict=True) if key not in allowed]
    repeated = sorted({key for key in columns if columns.count(key) > 1})
    missing = [name for name in required if name not in columns]
    if unknown:
        issues.add(
            header_line,
            f"unknown column(s) {', '.join(repr(name) for name in unknown)}; the columns are "
            f"{', '.join(allowed)}",
        )
    if repeated:
        issues.add(header_line, f"repeated column(s): {', '.join(repeated)}")
    if missing:
        issues.add(header_line, f"missing required column(s): {', '.join(missing)}")
    return None if unknown or repeated or missing else columns
