"""Writes for cases, sessions, segments and recordings; re-exports the imports (imports.py).

Transcript imports (bulk import, replacement, import batches) live in apps/transcripts/imports.py
and stay importable from here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from apps.projects.errors import ConflictError, DomainError
from apps.projects.models import Project
from apps.transcripts.imports import (
    PREVIEW_TURNS,
    TURN_BATCH,
    ImportSummary,
    SessionMeta,
    import_batch_commit,
    import_batch_create,
    import_batch_discard,
    transcript_replace,
    transcripts_import,
)
from apps.transcripts.models import Case, Recording, Segment, Session, Transcript
from apps.transcripts.parsing import normalise_case_code
from apps.transcripts.segmentation import derive_segments

__all__ = [
    "CASE_FIELDS",
    "PREVIEW_TURNS",
    "RECORDING_TYPES",
    "SESSION_FIELDS",
    "TURN_BATCH",
    "ImportSummary",
    "SessionMeta",
    "case_create",
    "case_update",
    "import_batch_commit",
    "import_batch_create",
    "import_batch_discard",
    "recording_attach",
    "session_create",
    "session_update",
    "transcript_replace",
    "transcript_segments",
    "transcripts_import",
]


# Segments -----------------------------------------------------------------------------------


def transcript_segments(*, transcript: Transcript, length_seconds: int) -> list[Segment]:
    """The transcript's time segments of a given length, derived once and then stored."""
    segments = list(
        Segment.objects.filter(transcript=transcript, length_seconds=length_seconds).order_by(
            "index"
        )
    )
    if segments:
        return segments
    times = list(transcript.turns.order_by("position").values_list("start_seconds", "end_seconds"))
    try:
        spans = derive_segments(times, length_seconds=length_seconds)
    except ValueError as exc:
        raise DomainError(
            f"This transcript cannot be cut into time segments: {exc}. Import it with "
            "timestamps (WebVTT, SRT or CSV with start times)."
        ) from None
    rows = [
        Segment(
            transcript=transcript,
            length_seconds=length_seconds,
            index=span.index,
            start_seconds=span.start,
            end_seconds=span.end,
            first_turn_position=span.turn_indexes[0] if span.turn_indexes else None,
            turn_count=len(span.turn_indexes),
        )
        for span in spans
    ]
    with transaction.atomic():
        Segment.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        Segment.objects.filter(transcript=transcript, length_seconds=length_seconds).order_by(
            "index"
        )
    )


# Cases and sessions -------------------------------------------------------------------------


CASE_FIELDS = ("aai_primary", "aai_secondary", "aai_subclass")
SESSION_FIELDS = (
    "date",
    "modality",
    "therapist",
    "site",
    "psq_patient_rupture",
    "psq_therapist_rupture",
    "psq_patient_intensity",
    "psq_therapist_intensity",
)


@transaction.atomic
def case_create(*, project: Project, code: str, **labels) -> Case:
    """Create a case under its pseudonymous id, stored in normal form (normalise_case_code)."""
    code = normalise_case_code(code)
    if not code:
        raise DomainError("A case needs a pseudonymous id.", details={"code": ["Required."]})
    limit = Case._meta.get_field("code").max_length
    if len(code) > limit:
        raise DomainError(
            f"A case id has at most {limit} characters.",
            details={"code": [f"Longer than {limit} characters."]},
        )
    if Case.objects.filter(project=project, code=code).exists():
        raise ConflictError(f"Case {code} exists already in this project.")
    case = Case(project=project, code=code, **{k: labels.get(k, "") for k in CASE_FIELDS})
    _check_case_labels(case)
    case.save()
    return case


@transaction.atomic
def case_update(*, case: Case, **labels) -> Case:
    for name in CASE_FIELDS:
        if name in labels:
            setattr(case, name, labels[name] or "")
    _check_case_labels(case)
    case.save(update_fields=list(CASE_FIELDS))
    return case


def _check_case_labels(case: Case) -> None:
    if case.aai_primary in ("U", "CC") and case.aai_secondary not in ("F", "Ds", "E"):
        raise DomainError(
            "U and CC need a best-fitting organised alternative (F, Ds or E) as the "
            "secondary classification.",
            details={"aai_secondary": ["Required for U and CC: F, Ds or E."]},
        )


@transaction.atomic
def session_create(*, project: Project, case: Case, number: int, **fields) -> Session:
    if number < 1:
        raise DomainError("Session numbers start at 1.", details={"number": ["Must be >= 1."]})
    if Session.objects.filter(case=case, number=number).exists():
        raise ConflictError(f"Case {case.code} already has a session {number}.")
    return Session.objects.create(
        project=project,
        case=case,
        number=number,
        **{k: v for k, v in fields.items() if k in SESSION_FIELDS},
    )


@transaction.atomic
def session_update(*, session: Session, **fields) -> Session:
    changed = [k for k in fields if k in SESSION_FIELDS]
    for name in changed:
        setattr(session, name, fields[name])
    session.save(update_fields=changed)
    return session


# Recordings ---------------------------------------------------------------------------------

RECORDING_TYPES = ("audio/", "video/")


@transaction.atomic
def recording_attach(*, session: Session, upload, by=None) -> Recording:
    """Store a session's audio or video privately, replacing any earlier recording."""
    content_type = (getattr(upload, "content_type", "") or "").lower()
    # The type comes from the client and is stored (varchar 100): refuse what cannot be.
    max_length = Recording._meta.get_field("content_type").max_length
    if not content_type.startswith(RECORDING_TYPES) or len(content_type) > max_length:
        raise DomainError(
            f"{upload.name}: a recording must be an audio or video file (got "
            f"{content_type or 'an unknown type'}).",
            details={"file": ["Audio or video files only."]},
        )
    if upload.size > settings.MAX_RECORDING_BYTES:
        limit = settings.MAX_RECORDING_BYTES // (1024 * 1024)
        raise DomainError(
            f"{upload.name}: the recording is larger than the limit of {limit} MB.",
            details={"file": [f"Larger than {limit} MB."]},
        )
    old = Recording.objects.filter(session=session).first()
    if old is not None:
        old_path = old.file.name
        old.delete()
        transaction.on_commit(lambda: default_storage.delete(old_path))
    recording = Recording(
        session=session,
        content_type=content_type,
        size=upload.size,
        original_name=upload.name[:255],
        uploaded_by=by,
    )
    recording.file.save(upload.name, upload, save=False)
    recording.save()
    return recording
