"""Transcript imports: bulk import by manifest, single-transcript replacement, import batches.

Imports are all-or-nothing: every file is parsed and checked first, every problem is reported
with its file and line, and only a clean batch is written, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.projects.errors import ConflictError, ImportFailed
from apps.projects.models import Project
from apps.transcripts.models import Case, ImportBatch, Session, Transcript, Turn
from apps.transcripts.parsing import (
    DEFAULT_SPEAKER_PREFIXES,
    ImportIssue,
    ManifestRow,
    ParsedTranscript,
    TranscriptImportError,
    normalise_case_code,
    parse_manifest,
    parse_transcript,
)

logger = logging.getLogger(__name__)

TURN_BATCH = 5000
PREVIEW_TURNS = 3


@dataclass
class SessionMeta:
    """Where a transcript goes and the session's metadata (a manifest row, or form fields)."""

    case: str
    session_number: int
    line: int | None = None
    date: object = None
    modality: str = ""
    therapist: str = ""
    site: str = ""
    aai_primary: str = ""
    aai_secondary: str = ""
    aai_subclass: str = ""
    psq_patient_rupture: bool | None = None
    psq_therapist_rupture: bool | None = None
    psq_patient_intensity: int | None = None
    psq_therapist_intensity: int | None = None
    speaker_prefixes: dict[str, str] | None = None

    @classmethod
    def from_manifest(cls, row: ManifestRow) -> SessionMeta:
        return cls(
            case=row.case,
            session_number=row.session_number,
            line=row.line,
            date=row.date,
            modality=row.modality,
            therapist=row.therapist,
            site=row.site,
            aai_primary=row.aai_primary,
            aai_secondary=row.aai_secondary,
            aai_subclass=row.aai_subclass,
            psq_patient_rupture=row.psq_patient_rupture,
            psq_therapist_rupture=row.psq_therapist_rupture,
            psq_patient_intensity=row.psq_patient_intensity,
            psq_therapist_intensity=row.psq_therapist_intensity,
            speaker_prefixes=row.speaker_prefixes,
        )


@dataclass
class ImportSummary:
    """What an import will do (preview) or did (commit)."""

    committed: bool
    transcripts: list[dict] = field(default_factory=list)
    cases_created: int = 0
    sessions_created: int = 0
    turns: int = 0

    def as_dict(self) -> dict:
        return {
            "committed": self.committed,
            "cases_created": self.cases_created,
            "sessions_created": self.sessions_created,
            "transcript_count": len(self.transcripts),
            "turns": self.turns,
            "transcripts": self.transcripts,
        }


def _fail(issues: Sequence[ImportIssue]) -> ImportFailed:
    return ImportFailed.listing(issues)


def transcripts_import(
    *,
    project: Project,
    files: Sequence[tuple[str, bytes]],
    manifest: tuple[str, bytes] | None = None,
    metas: dict[str, SessionMeta] | None = None,
    speaker_prefixes: dict[str, str] | None = None,
    by=None,
    dry_run: bool = False,
) -> ImportSummary:
    """Import transcripts into new sessions, described by a manifest CSV or by `metas`.

    Raises ImportFailed listing every problem (file and line) and writes nothing then.
    """
    issues: list[ImportIssue] = []
    names = [name for name, _ in files]
    if not files:
        raise ImportFailed("Choose at least one transcript file to import.")
    duplicates = {n for n in names if names.count(n) > 1}
    for name in sorted(duplicates):
        issues.append(ImportIssue(file=name, line=None, message="the file was uploaded twice"))

    if manifest is not None:
        manifest_name, manifest_bytes = manifest
        try:
            rows = parse_manifest(manifest_name, manifest_bytes)
        except TranscriptImportError as exc:
            raise _fail(exc.issues) from None
        metas = {row.file: SessionMeta.from_manifest(row) for row in rows}
        row_line = {row.file: row.line for row in rows}
        for name in names:
            if name not in metas:
                issues.append(
                    ImportIssue(
                        file=manifest_name,
                        line=None,
                        message=f"the uploaded file {name} is not listed in the manifest",
                    )
                )
        for listed in metas:
            if listed not in names:
                issues.append(
                    ImportIssue(
                        file=manifest_name,
                        line=row_line[listed],
                        field="file",
                        message=f"{listed} is listed but was not uploaded",
                    )
                )
    elif metas is None:
        raise ImportFailed(
            "Describe the sessions with a manifest CSV (file, case, session_number)."
        )
    else:
        manifest_name = ""
        for meta in metas.values():
            meta.case = normalise_case_code(meta.case)
        for name in names:
            if name not in metas:
                issues.append(
                    ImportIssue(file=name, line=None, message="no case and session given")
                )

    parsed: dict[str, ParsedTranscript] = {}
    for name, content in files:
        # A manifest row's own speaker labels are laid over the batch's (or the default) map.
        row_prefixes = metas[name].speaker_prefixes if name in metas else None
        prefixes = (
            {**(speaker_prefixes or DEFAULT_SPEAKER_PREFIXES), **row_prefixes}
            if row_prefixes
            else speaker_prefixes
        )
        try:
            parsed[name] = _parse(name, content, speaker_prefixes=prefixes)
        except TranscriptImportError as exc:
            issues.extend(exc.issues)

    issues.extend(_check_against_database(project, metas, manifest_name))
    if issues:
        raise _fail(issues)

    summary = ImportSummary(committed=not dry_run)
    for name, _ in files:
        meta, transcript = metas[name], parsed[name]
        summary.transcripts.append(
            {
                "file": name,
                "case": meta.case,
                "session_number": meta.session_number,
                "format": transcript.format,
                "encoding": transcript.encoding,
                "turns": len(transcript.turns),
                "has_timestamps": transcript.has_timestamps,
                "speakers": _speaker_counts(transcript),
                "preview": [
                    {"speaker": t.speaker_label or t.speaker_role, "role": t.speaker_role}
                    | {"text": t.text[:200]}
                    for t in transcript.turns[:PREVIEW_TURNS]
                ],
            }
        )
        summary.turns += len(transcript.turns)
    if dry_run:
        summary.cases_created = len(
            {m.case for m in metas.values()}
            - set(Case.objects.filter(project=project).values_list("code", flat=True))
        )
        summary.sessions_created = len(files)
        return summary

    _write(project, files, metas, parsed, by, summary)
    logger.info(
        "Imported %d transcripts (%d turns) into project %s",
        len(files),
        summary.turns,
        project.pk,
    )
    return summary


def _parse(
    name: str, content: bytes, *, speaker_prefixes: dict[str, str] | None
) -> ParsedTranscript:
    """Read one transcript within the limits the deployment sets."""
    return parse_transcript(
        name,
        content,
        speaker_prefixes=speaker_prefixes,
        max_turns=settings.TRANSCRIPT_MAX_TURNS,
        max_docx_expanded_bytes=settings.TRANSCRIPT_MAX_DOCX_EXPANDED_BYTES,
    )


def _speaker_counts(transcript: ParsedTranscript) -> dict[str, int]:
    counts: dict[str, int] = {}
    for turn in transcript.turns:
        counts[turn.speaker_role] = counts.get(turn.speaker_role, 0) + 1
    return counts


def _check_against_database(
    project: Project, metas: dict[str, SessionMeta], manifest_name: str
) -> list[ImportIssue]:
    """Problems only the database can see: sessions that exist, AAI labels that disagree."""
    issues: list[ImportIssue] = []
    codes = {m.case for m in metas.values()}
    cases = {c.code: c for c in Case.objects.filter(project=project, code__in=codes)}
    existing_sessions = set(
        Session.objects.filter(project=project, case__code__in=codes).values_list(
            "case__code", "number"
        )
    )
    seen_case_labels: dict[str, tuple[str, str, str, str]] = {}
    for name, meta in metas.items():
        where = manifest_name or name
        if (meta.case, meta.session_number) in existing_sessions:
            issues.append(
                ImportIssue(
                    file=where,
                    line=meta.line,
                    field="session_number",
                    message=(
                        f"case {meta.case} already has a session {meta.session_number} in "
                        "this project"
                    ),
                )
            )
        labels = (meta.aai_primary, meta.aai_secondary, meta.aai_subclass)
        if any(labels):
            if meta.case in seen_case_labels and seen_case_labels[meta.case][:3] != labels:
                issues.append(
                    ImportIssue(
                        file=where,
                        line=meta.line,
                        field="aai_primary",
                        message=(
                            f"case {meta.case} has different AAI labels on line "
                            f"{seen_case_labels[meta.case][3]}"
                        ),
                    )
                )
            seen_case_labels.setdefault(meta.case, (*labels, str(meta.line)))
            stored = cases.get(meta.case)
            if (
                stored is not None
                and stored.aai_primary
                and (
                    stored.aai_primary,
                    stored.aai_secondary,
                    stored.aai_subclass,
                )
                != labels
            ):
                issues.append(
                    ImportIssue(
                        file=where,
                        line=meta.line,
                        field="aai_primary",
                        message=(
                            f"case {meta.case} is stored with AAI {stored.aai_primary}"
                            f"{'/' + stored.aai_secondary if stored.aai_secondary else ''}; "
                            "change it on the case page, not by import"
                        ),
                    )
                )
    return issues


@transaction.atomic
def _write(project, files, metas, parsed, by, summary: ImportSummary) -> None:
    codes = sorted({m.case for m in metas.values()})
    cases = {c.code: c for c in Case.objects.filter(project=project, code__in=codes)}
    new_cases = []
    for code in codes:
        if code in cases:
            continue
        labels = (
            next(m for m in metas.values() if m.case == code and m.aai_primary)
            if any(m.case == code and m.aai_primary for m in metas.values())
            else None
        )
        new_cases.append(
            Case(
                project=project,
                code=code,
                aai_primary=labels.aai_primary if labels else "",
                aai_secondary=labels.aai_secondary if labels else "",
                aai_subclass=labels.aai_subclass if labels else "",
            )
        )
    for case in Case.objects.bulk_create(new_cases):
        cases[case.code] = case
    # Existing cases without AAI labels take them from the manifest.
    for meta in metas.values():
        case = cases[meta.case]
        if meta.aai_primary and not case.aai_primary:
            case.aai_primary, case.aai_secondary = meta.aai_primary, meta.aai_secondary
            case.aai_subclass = meta.aai_subclass
            case.save(update_fields=["aai_primary", "aai_secondary", "aai_subclass"])
    summary.cases_created = len(new_cases)

    sessions = Session.objects.bulk_create(
        Session(
            project=project,
            case=cases[metas[name].case],
            number=metas[name].session_number,
            date=metas[name].date,
            modality=metas[name].modality,
            therapist=metas[name].therapist,
            site=metas[name].site,
            psq_patient_rupture=metas[name].psq_patient_rupture,
            psq_therapist_rupture=metas[name].psq_therapist_rupture,
            psq_patient_intensity=metas[name].psq_patient_intensity,
            psq_therapist_intensity=metas[name].psq_therapist_intensity,
        )
        for name, _ in files
    )
    summary.sessions_created = len(sessions)
    transcripts = Transcript.objects.bulk_create(
        _transcript_row(project, session, name, parsed[name], by)
        for session, (name, _) in zip(sessions, files)
    )
    turns: list[Turn] = []
    for transcript, (name, _) in zip(transcripts, files):
        turns.extend(_turn_rows(transcript, parsed[name]))
        if len(turns) >= TURN_BATCH:
            Turn.objects.bulk_create(turns, batch_size=TURN_BATCH)
            turns = []
    Turn.objects.bulk_create(turns, batch_size=TURN_BATCH)
    for row, transcript in zip(summary.transcripts, transcripts):
        row["transcript_id"] = transcript.pk
        row["session_id"] = transcript.session_id


def _transcript_row(project, session, name: str, parsed: ParsedTranscript, by) -> Transcript:
    ends = [t.end if t.end is not None else t.start for t in parsed.turns]
    ends = [e for e in ends if e is not None]
    return Transcript(
        project=project,
        session=session,
        source_name=name[:255],
        source_format=parsed.format,
        source_encoding=parsed.encoding,
        turn_count=len(parsed.turns),
        has_timestamps=parsed.has_timestamps,
        duration_seconds=max(ends) if ends else None,
        created_by=by,
    )


def _turn_rows(transcript: Transcript, parsed: ParsedTranscript) -> list[Turn]:
    return [
        Turn(
            transcript=transcript,
            position=i,
            speaker_role=t.speaker_role,
            speaker_label=t.speaker_label[:60],
            text=t.text,
            start_seconds=t.start,
            end_seconds=t.end,
        )
        for i, t in enumerate(parsed.turns)
    ]


@transaction.atomic
def transcript_replace(
    *,
    session: Session,
    filename: str,
    content: bytes,
    speaker_prefixes: dict[str, str] | None = None,
    by=None,
) -> Transcript:
    """Attach a transcript to an existing session, replacing one that no coder has used yet."""
    try:
        parsed = _parse(filename, content, speaker_prefixes=speaker_prefixes)
    except TranscriptImportError as exc:
        raise _fail(exc.issues) from None
    existing = Transcript.objects.filter(session=session).first()
    if existing is not None:
        if existing.assignments.exists():
            raise ConflictError(
                "This transcript is already assigned to coders and cannot be replaced."
            )
        existing.delete()
    transcript = _transcript_row(session.project, session, filename, parsed, by)
    transcript.save()
    Turn.objects.bulk_create(_turn_rows(transcript, parsed), batch_size=TURN_BATCH)
    return transcript


# Batches: upload, preview, then commit ----------------------------------------------------


def import_batch_create(
    *,
    project: Project,
    files: Sequence[tuple[str, bytes]],
    manifest: tuple[str, bytes],
    speaker_prefixes: dict[str, str] | None = None,
    by,
) -> tuple[ImportBatch, ImportSummary]:
    """Check an upload (raising ImportFailed) and keep it privately until it is committed."""
    total = sum(len(c) for _, c in files) + len(manifest[1])
    if total > settings.MAX_BULK_UPLOAD_BYTES:
        limit = settings.MAX_BULK_UPLOAD_BYTES // (1024 * 1024)
        raise ImportFailed(f"The upload is larger than the limit of {limit} MB; split it.")
    summary = transcripts_import(
        project=project,
        files=files,
        manifest=manifest,
        speaker_prefixes=speaker_prefixes,
        by=by,
        dry_run=True,
    )
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project,
            created_by=by,
            manifest_name=manifest[0],
            options={"speaker_prefixes": speaker_prefixes or {}},
            summary=summary.as_dict(),
        )
        stored = {}
        prefix = f"imports/project-{project.pk}/batch-{batch.pk}"
        for i, (name, content) in enumerate([manifest, *files]):
            stored[name] = default_storage.save(f"{prefix}/{i:05d}", ContentFile(content))
        batch.files = stored
        batch.save(update_fields=["files"])
    return batch, summary


def import_batch_commit(*, batch: ImportBatch, by) -> ImportSummary:
    """Write a previewed batch; it is checked again since the database may have changed."""
    if batch.state != ImportBatch.State.PREVIEWED:
        raise ConflictError("This import was already committed or discarded.")
    contents = {}
    for name, path in batch.files.items():
        with default_storage.open(path, "rb") as handle:
            contents[name] = handle.read()
    manifest = (batch.manifest_name, contents.pop(batch.manifest_name))
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.state != ImportBatch.State.PREVIEWED:
            raise ConflictError("This import was already committed or discarded.")
        summary = transcripts_import(
            project=batch.project,
            files=list(contents.items()),
            manifest=manifest,
            speaker_prefixes=batch.options.get("speaker_prefixes") or None,
            by=by,
        )
        locked.state = ImportBatch.State.COMMITTED
        locked.committed_at = timezone.now()
        locked.summary = summary.as_dict()
        locked.save(update_fields=["state", "committed_at", "summary"])
    _delete_batch_files(batch)
    return summary


def import_batch_discard(*, batch: ImportBatch) -> None:
    if batch.state != ImportBatch.State.PREVIEWED:
        raise ConflictError("This import was already committed or discarded.")
    batch.state = ImportBatch.State.DISCARDED
    batch.save(update_fields=["state"])
    _delete_batch_files(batch)


def _delete_batch_files(batch: ImportBatch) -> None:
    for path in batch.files.values():
        default_storage.delete(path)
