"""Read the session manifest: one CSV row per transcript with its case and session metadata."""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .common import (
    MAX_MANIFEST_BYTES,
    SPEAKER_ROLES,
    IssueCollector,
    check_header,
    check_size,
    decode_bytes,
    normalise_case_code,
    normalise_header,
    read_csv,
)

MANIFEST_COLUMNS = (
    "file",
    "case",
    "session_number",
    "date",
    "modality",
    "therapist",
    "site",
    "aai_primary",
    "aai_secondary",
    "aai_subclass",
    "psq_patient_rupture",
    "psq_therapist_rupture",
    "psq_patient_intensity",
    "psq_therapist_intensity",
    "speaker_prefixes",
)
REQUIRED_MANIFEST_COLUMNS = ("file", "case", "session_number")

MODALITIES = ("in_person", "video", "phone", "other")
_MODALITY_SYNONYMS = {
    "in_person": "in_person",
    "inperson": "in_person",
    "person": "in_person",
    "face_to_face": "in_person",
    "f2f": "in_person",
    "office": "in_person",
    "video": "video",
    "online": "video",
    "videoconference": "video",
    "video_call": "video",
    "telehealth": "video",
    "zoom": "video",
    "phone": "phone",
    "telephone": "phone",
    "other": "other",
}

AAI_CLASSES = ("F", "Ds", "E", "U", "CC")
AAI_ORGANISED_CLASSES = ("F", "Ds", "E")
# Subclasses per organised class (F1-F5, Ds1-Ds4, E1-E3), optionally with a letter (F1a).
AAI_SUBCLASS_COUNTS = {"F": 5, "Ds": 4, "E": 3}
_AAI_BY_KEY = {name.casefold(): name for name in AAI_CLASSES}
_SUBCLASS_RE = re.compile(r"(?P<cls>f|ds|e)(?P<number>[1-9])(?P<letter>[ab]?)", re.IGNORECASE)

PSQ_INTENSITY_MIN, PSQ_INTENSITY_MAX = 1, 5
# A session number above this is a typing slip (a date, a case id), not a session.
MAX_SESSION_NUMBER = 9999
# Longest text the database stores for each column (Case.code, Session.therapist ...).
MAX_LENGTHS = {"file": 255, "case": 60, "therapist": 100, "site": 100}
_AAI_COLUMNS = ("aai_primary", "aai_secondary", "aai_subclass")
_YES = frozenset({"yes", "y", "1", "true", "t"})
_NO = frozenset({"no", "n", "0", "false", "f"})


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One validated manifest row. Optional text columns are '' when empty, others None.

    `speaker_prefixes` holds only the row's own labels (label -> role), to be laid over the
    project's prefix map for this transcript; None when the cell is empty.
    """

    line: int
    file: str
    case: str
    session_number: int
    date: datetime.date | None
    modality: str
    therapist: str
    site: str
    aai_primary: str
    aai_secondary: str
    aai_subclass: str
    psq_patient_rupture: bool | None
    psq_therapist_rupture: bool | None
    psq_patient_intensity: int | None
    psq_therapist_intensity: int | None
    speaker_prefixes: dict[str, str] | None = field(default=None, hash=False)


def parse_manifest(
    filename: str, content: bytes, *, max_bytes: int = MAX_MANIFEST_BYTES
) -> list[ManifestRow]:
    """Read and validate a manifest CSV, or raise TranscriptImportError with every problem.

    Column names ignore case, and spaces or hyphens stand for underscores. Rows come back in
    file order.
    """
    check_size(content, filename=filename, max_bytes=max_bytes, what="manifests")
    issues = IssueCollector(filename)
    text, _encoding = decode_bytes(content, filename=filename)
    header_line, header, rows = read_csv(text, issues)
    if not header:
        if not issues:
            issues.add(None, "the manifest is empty")
        issues.raise_if_any()

    check_header(
        header_line, header, issues, allowed=MANIFEST_COLUMNS, required=REQUIRED_MANIFEST_COLUMNS
    )
    columns = [normalise_header(name) for name in header]
    # Rows are still checked when only unknown or repeated columns are wrong, so one round of
    # fixes is enough; without a required column they cannot be.
    if any(name not in columns for name in REQUIRED_MANIFEST_COLUMNS):
        issues.raise_if_any()
    if not rows and not issues:
        issues.add(None, "the manifest has a header but no rows")

    manifest: list[ManifestRow] = []
    lines_by_file: dict[str, int] = {}
    lines_by_session: dict[tuple[str, int], int] = {}
    # The AAI classifies the person, so every row of a case must agree (empty cells aside).
    aai_by_case: dict[tuple[str, str], tuple[str, int]] = {}
    for number, cells in rows:
        if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
            issues.add(number, f"the row has {len(cells)} cells but the header has {len(columns)}")
            continue
        values = {key: cell.strip() for key, cell in zip(columns, cells, strict=False)}
        row = _read_row(number, values, issues)
        if row is None:
            continue
        # Compared case-insensitively: P01 and p01 are the same case to a human reader.
        file_key = row.file.casefold()
        if file_key in lines_by_file:
            issues.add(
                number,
                f'file "{row.file}" is listed twice (lines {lines_by_file[file_key]} and {number})',
                "file",
            )
        else:
            lines_by_file[file_key] = number
        session_key = (row.case.casefold(), row.session_number)
        if session_key in lines_by_session:
            issues.add(
                number,
                f'case "{row.case}" session {row.session_number} is listed twice (lines '
                f"{lines_by_session[session_key]} and {number})",
                "session_number",
            )
        else:
            lines_by_session[session_key] = number
        for column in _AAI_COLUMNS:
            value = getattr(row, column)
            earlier = aai_by_case.setdefault((session_key[0], column), (value, number))
            if value and earlier[0] and value != earlier[0]:
                issues.add(
                    number,
                    f'{column}: case "{row.case}" is {value} here but {earlier[0]} on line '
                    f"{earlier[1]}; the AAI classifies the person, so give one value per case",
                    column,
                )
            elif value and not earlier[0]:
                aai_by_case[(session_key[0], column)] = (value, number)
        manifest.append(row)

    issues.raise_if_any()
    return manifest


def _read_row(number: int, values: dict[str, str], issues: IssueCollector) -> ManifestRow | None:
    """Validate one row's cells; report each problem and return None if there was any."""
    found_before = len(issues.issues)

    def problem(column: str, message: str) -> None:
        issues.add(number, f"{column}: {message}", column)

    # The length limit applies to the id as stored.
    values["case"] = case = normalise_case_code(values.get("case", ""))
    file = values.get("file", "")
    if not file:
        problem("file", "the file name is required")
    if not case:
        problem("case", "the case id is required")
    for column, limit in MAX_LENGTHS.items():
        if len(values.get(column, "")) > limit:
            problem(column, f"longer than {limit} characters")

    session_number = 0
    written = values.get("session_number", "")
    if not written:
        problem("session_number", "the session number is required")
    elif not (written.isascii() and written.isdigit() and 1 <= int(written) <= MAX_SESSION_NUMBER):
        problem(
            "session_number", f"{written!r} is not a whole number from 1 to {MAX_SESSION_NUMBER}"
        )
    else:
        session_number = int(written)

    date = None
    if written := values.get("date", ""):
        # fromisoformat alone would also take 20240315 and 2024-W11-5.
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", written):
            with contextlib.suppress(ValueError):  # e.g. 2024-02-30
                date = datetime.date.fromisoformat(written)
        if date is None:
            problem("date", f"{written!r} is not a date written YYYY-MM-DD, e.g. 2024-03-15")

    modality = ""
    if written := values.get("modality", ""):
        modality = _MODALITY_SYNONYMS.get(normalise_header(written), "")
        if not modality:
            problem("modality", f"{written!r} is not one of {', '.join(MODALITIES)}")

    aai_primary, aai_secondary, aai_subclass = _read_aai(values, problem)
    psq = {}
    for who in ("patient", "therapist"):
        rupture_column, intensity_column = f"psq_{who}_rupture", f"psq_{who}_intensity"
        rupture = intensity = None
        if written := values.get(rupture_column, ""):
            answer = written.casefold()
            rupture = True if answer in _YES else False if answer in _NO else None
            if rupture is None:
                problem(rupture_column, f"{written!r} is not yes/no (or 1/0, true/false)")
        if written := values.get(intensity_column, ""):
            if written.isascii() and written.isdigit():
                intensity = int(written)
            if intensity is None or not PSQ_INTENSITY_MIN <= intensity <= PSQ_INTENSITY_MAX:
                problem(
                    intensity_column,
                    f"{written!r} is not a whole number from {PSQ_INTENSITY_MIN} to "
                    f"{PSQ_INTENSITY_MAX}",
                )
            elif rupture is False:
                problem(intensity_column, f"an intensity is given but {rupture_column} is no")
        psq[who] = (rupture, intensity)

    speaker_prefixes = _read_speaker_prefixes(values.get("speaker_prefixes", ""), problem)

    if len(issues.issues) > found_before:
        return None
    return ManifestRow(
        line=number,
        file=file,
        case=case,
        session_number=session_number,
        date=date,
        modality=modality,
        therapist=values.get("therapist", ""),
        site=values.get("site", ""),
        aai_primary=aai_primary,
        aai_secondary=aai_secondary,
        aai_subclass=aai_subclass,
        psq_patient_rupture=psq["patient"][0],
        psq_therapist_rupture=psq["therapist"][0],
        psq_patient_intensity=psq["patient"][1],
        psq_therapist_intensity=psq["therapist"][1],
        speaker_prefixes=speaker_prefixes,
    )


_Problem = Callable[[str, str], None]  # reports (column, message) for the current row


def _read_aai(values: dict[str, str], problem: _Problem) -> tuple[str, str, str]:
    """Validate the AAI classification cells, returning them in canonical spelling (Ds, CC)."""
    organised = ", ".join(AAI_ORGANISED_CLASSES)
    primary_written = values.get("aai_primary", "")
    secondary_written = values.get("aai_secondary", "")
    subclass_written = values.get("aai_subclass", "")
    primary = _AAI_BY_KEY.get(primary_written.casefold(), "")
    secondary = _AAI_BY_KEY.get(secondary_written.casefold(), "")
    if primary_written and not primary:
        problem("aai_primary", f"{primary_written!r} is not one of {', '.join(AAI_CLASSES)}")
    if secondary_written and secondary not in AAI_ORGANISED_CLASSES:
        problem("aai_secondary", f"{secondary_written!r} is not one of {organised}")
        secondary = ""
    if primary in ("U", "CC") and not secondary_written:
        problem(
            "aai_secondary",
            f"a primary classification of {primary} needs a secondary one ({organised})",
        )
    if secondary_written and not primary_written:
        problem("aai_secondary", "a secondary classification needs a primary one")

    subclass = ""
    if subclass_written:
        match = _SUBCLASS_RE.fullmatch(subclass_written)
        if match is None:
            problem(
                "aai_subclass",
                f"{subclass_written!r} is not a subclass such as F3, Ds1, E2 or F1a",
            )
            return primary, secondary, ""
        cls = _AAI_BY_KEY[match["cls"].casefold()]
        subclass = f"{cls}{match['number']}{match['letter'].lower()}"
        organised_class = secondary if primary in ("U", "CC") else primary
        if int(match["number"]) > AAI_SUBCLASS_COUNTS[cls]:
            problem(
                "aai_subclass",
                f"{subclass_written!r}: {cls} has subclasses {cls}1 to "
                f"{cls}{AAI_SUBCLASS_COUNTS[cls]}",
            )
        elif organised_class and cls != organised_class:
            problem(
                "aai_subclass",
                f"{subclass} is a subclass of {cls}, not of the classification {organised_class}",
            )
        elif not primary_written:
            problem("aai_subclass", "a subclass needs a primary classification")
    return primary, secondary, subclass


def _read_speaker_prefixes(written: str, problem: _Problem) -> dict[str, str] | None:
    """Read 'Label=role' pairs separated by ';' or ',' (e.g. 'Dr Smith=therapist; Ann=patient')."""
    if not written:
        return None
    prefixes: dict[str, str] = {}
    for pair in re.split(r"[;,]", written):
        if not pair.strip():
            continue
        label, equals, role = (part.strip() for part in pair.partition("="))
        if not equals or not label or role.casefold() not in SPEAKER_ROLES:
            problem(
                "speaker_prefixes",
                f"{pair.strip()!r} is not 'Label=role' with a role of {', '.join(SPEAKER_ROLES)}",
            )
            continue
        prefixes[label] = role.casefold()
    return prefixes or None
