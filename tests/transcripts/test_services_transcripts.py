"""Transcript imports (all-or-nothing, every problem with file and line), replacement,
recordings, segments, cases and sessions, through the services."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.assignments.services import assignment_create
from apps.projects.errors import ConflictError, DomainError, ImportFailed
from apps.transcripts.models import Case, ImportBatch, Recording, Segment, Session, Transcript, Turn
from apps.transcripts.services import (
    case_create,
    case_update,
    import_batch_commit,
    import_batch_create,
    import_batch_discard,
    recording_attach,
    session_create,
    transcript_replace,
    transcript_segments,
    transcripts_import,
)
from tests.factories import TranscriptFactory, manifest_csv, timed_vtt, wav_bytes

DEMO = Path(__file__).resolve().parents[2] / "apps" / "demo" / "data"


def row_counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "sessions": Session.objects.count(),
        "transcripts": Transcript.objects.count(),
        "turns": Turn.objects.count(),
    }


def demo_upload() -> tuple[list[tuple[str, bytes]], tuple[str, bytes], list[dict]]:
    manifest = (DEMO / "manifest.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(manifest.decode())))
    files = [(row["file"], (DEMO / "sessions" / row["file"]).read_bytes()) for row in rows]
    return files, ("manifest.csv", manifest), rows


def bad_cue_vtt() -> tuple[bytes, int]:
    """A WebVTT file whose third cue has an impossible timing, and the line it is on."""
    lines = timed_vtt(4).decode().split("\n")
    timing_lines = [i for i, line in enumerate(lines) if "-->" in line]
    bad = timing_lines[2]
    lines[bad] = "00:02:99.000 --> 00:03:10.000"
    return "\n".join(lines).encode(), bad + 1


# Bulk import ---------------------------------------------------------------------------------


def test_the_demo_sessions_import_with_their_manifest(project, lead):
    files, manifest, rows = demo_upload()

    summary = transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    assert summary.committed
    assert len(summary.transcripts) == len(rows)
    assert summary.cases_created == len({row["case"] for row in rows})
    assert Transcript.objects.filter(project=project).count() == len(rows)
    assert summary.turns == Turn.objects.filter(transcript__project=project).count() > 0
    for row in rows:
        session = Session.objects.get(
            project=project, case__code=row["case"], number=int(row["session_number"])
        )
        assert session.date.isoformat() == row["date"]
        assert session.modality == row["modality"]
        assert session.therapist == row["therapist"]
        assert session.case.aai_primary == row["aai_primary"]
        assert session.case.aai_secondary == row["aai_secondary"]
        assert session.psq_therapist_rupture is (row["psq_therapist_rupture"] == "yes")
        transcript = session.transcript
        assert (transcript.source_name, transcript.source_format) == (row["file"], "vtt")
        assert transcript.has_timestamps
        assert transcript.turn_count == transcript.turns.count()
        assert set(transcript.turns.values_list("speaker_role", flat=True)) == {
            "therapist",
            "patient",
        }


def test_imported_turns_keep_order_speaker_text_and_times(transcript):
    turns = list(transcript.turns.order_by("position"))

    assert [t.position for t in turns] == list(range(10))
    assert [t.speaker_role for t in turns[:3]] == ["therapist", "patient", "therapist"]
    assert turns[1].speaker_label == "Patient"
    assert turns[1].text.startswith("I need some help")
    assert (turns[1].start_seconds, turns[1].end_seconds) == (70.0, 135.0)
    assert transcript.duration_seconds == 695.0


def test_a_dry_run_previews_the_import_and_writes_nothing(project, lead):
    files, manifest, rows = demo_upload()
    before = row_counts()

    summary = transcripts_import(
        project=project, files=files, manifest=manifest, by=lead, dry_run=True
    )

    assert row_counts() == before
    preview = summary.as_dict()
    assert preview["committed"] is False
    assert preview["transcript_count"] == len(rows)
    assert preview["sessions_created"] == len(rows)
    first = preview["transcripts"][0]
    assert (first["file"], first["case"]) == (rows[0]["file"], rows[0]["case"])
    assert first["preview"][0]["role"] == "therapist"
    assert "transcript_id" not in first


def test_a_bad_file_fails_the_whole_batch_with_its_file_and_line(project, lead):
    bad, bad_line = bad_cue_vtt()
    files = [("good.vtt", timed_vtt(4)), ("bad.vtt", bad)]
    manifest = ("manifest.csv", manifest_csv("good.vtt,C-010,1,,,", "bad.vtt,C-011,1,,,"))
    before = row_counts()

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    assert row_counts() == before
    assert caught.value.message.startswith("Nothing was imported: bad.vtt:")
    assert {(d["file"], d["line"]) for d in caught.value.details} == {("bad.vtt", bad_line)}


def test_every_problem_of_a_batch_is_reported_at_once(project, lead):
    bad, bad_line = bad_cue_vtt()
    files = [("bad.vtt", bad), ("unlisted.vtt", timed_vtt(2))]
    manifest = (
        "manifest.csv",
        manifest_csv("bad.vtt,C-010,1,,,", "missing.vtt,C-010,2,,,"),
    )

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    where = {(d["file"], d["line"]) for d in caught.value.details}
    assert ("bad.vtt", bad_line) in where
    assert ("manifest.csv", 3) in where  # missing.vtt is listed but was not uploaded
    assert ("manifest.csv", None) in where  # unlisted.vtt was uploaded but is not listed
    assert "more problems" in caught.value.message
    assert Transcript.objects.count() == 0


def test_a_bad_manifest_row_is_reported_with_its_line(project, lead):
    manifest = ("manifest.csv", b"file,case,session_number,date\na.vtt,C-1,1,15/01/2026\n")

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=[("a.vtt", timed_vtt(2))], manifest=manifest)

    assert [(d["file"], d["line"], d["field"]) for d in caught.value.details] == [
        ("manifest.csv", 2, "date")
    ]


def test_a_file_uploaded_twice_is_refused(project, lead):
    files = [("a.vtt", timed_vtt(2)), ("a.vtt", timed_vtt(2))]

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(
            project=project, files=files, manifest=("m.csv", manifest_csv("a.vtt,C-1,1,,,"))
        )

    assert any("uploaded twice" in d["message"] for d in caught.value.details)


def test_an_import_needs_files_and_a_description_of_their_sessions(project):
    with pytest.raises(ImportFailed):
        transcripts_import(project=project, files=[], manifest=("m.csv", manifest_csv()))
    with pytest.raises(ImportFailed):
        transcripts_import(project=project, files=[("a.vtt", timed_vtt(2))])


def test_a_session_that_exists_already_is_not_imported_again(project, lead, transcript):
    files = [("again.vtt", timed_vtt(4)), ("new.vtt", timed_vtt(4))]
    manifest = ("manifest.csv", manifest_csv("again.vtt,C-001,1,,,", "new.vtt,C-001,2,,,"))
    before = row_counts()

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    assert [(d["line"], d["field"]) for d in caught.value.details] == [(2, "session_number")]
    assert "already has a session 1" in caught.value.details[0]["message"]
    assert row_counts() == before


def test_two_rows_giving_one_case_different_aai_labels_are_refused(project, lead):
    files = [("s1.vtt", timed_vtt(2)), ("s2.vtt", timed_vtt(2))]
    manifest = ("manifest.csv", manifest_csv("s1.vtt,C-020,1,,F,", "s2.vtt,C-020,2,,Ds,"))

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    issue = caught.value.details[0]
    assert (issue["file"], issue["line"], issue["field"]) == ("manifest.csv", 3, "aai_primary")
    assert "line 2" in issue["message"]
    assert Case.objects.filter(code="C-020").count() == 0


def test_aai_labels_disagreeing_with_the_stored_case_are_refused(project, lead, transcript):
    files = [("s2.vtt", timed_vtt(2))]
    manifest = ("manifest.csv", manifest_csv("s2.vtt,C-001,2,,E,"))

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    assert "stored with AAI F" in caught.value.details[0]["message"]
    assert transcript.session.case.sessions.count() == 1


def test_a_new_session_of_a_known_case_joins_that_case(project, lead, transcript):
    manifest = ("manifest.csv", manifest_csv("s2.vtt,C-001,2,,F,"))

    summary = transcripts_import(
        project=project, files=[("s2.vtt", timed_vtt(2))], manifest=manifest, by=lead
    )

    assert summary.cases_created == 0
    assert list(transcript.session.case.sessions.values_list("number", flat=True)) == [1, 2]


def test_a_known_case_without_aai_labels_takes_them_from_the_manifest(project, lead):
    case = case_create(project=project, code="C-030")

    transcripts_import(
        project=project,
        files=[("s.vtt", timed_vtt(2))],
        manifest=("manifest.csv", manifest_csv("s.vtt,C-030,1,,U,Ds")),
        by=lead,
    )

    case.refresh_from_db()
    assert (case.aai_primary, case.aai_secondary) == ("U", "Ds")


def test_imports_into_one_project_do_not_see_another_projects_cases(project, lead, transcript):
    from apps.projects.services import project_create

    other = project_create(name="Other", created_by=lead)

    transcripts_import(
        project=other,
        files=[("s.vtt", timed_vtt(2))],
        manifest=("manifest.csv", manifest_csv("s.vtt,C-001,1,,Ds,")),
        by=lead,
    )

    assert Case.objects.filter(code="C-001").count() == 2


def test_the_turn_limit_setting_refuses_a_transcript_one_turn_over(project, lead, settings):
    settings.TRANSCRIPT_MAX_TURNS = 3
    manifest = ("m.csv", manifest_csv("three.vtt,C-1,1", "four.vtt,C-2,1"))
    files = [("three.vtt", timed_vtt(3)), ("four.vtt", timed_vtt(4))]

    with pytest.raises(ImportFailed) as caught:
        transcripts_import(project=project, files=files, manifest=manifest, by=lead)

    [problem] = caught.value.details
    assert problem["file"] == "four.vtt"
    assert problem["message"].startswith("the transcript has more than 3 turns, the limit")
    assert Transcript.objects.count() == 0


def test_the_turn_limit_setting_applies_to_a_replacement_transcript(transcript, settings):
    settings.TRANSCRIPT_MAX_TURNS = 3

    with pytest.raises(ImportFailed) as caught:
        transcript_replace(session=transcript.session, filename="new.vtt", content=timed_vtt(4))

    assert "more than 3 turns" in caught.value.message


# Preview batches -------------------------------------------------------------------------


def test_a_previewed_batch_is_kept_privately_and_written_on_commit(project, lead):
    files, manifest, rows = demo_upload()

    batch, preview = import_batch_create(project=project, files=files, manifest=manifest, by=lead)

    assert not preview.committed
    assert Transcript.objects.count() == 0
    assert set(batch.files) == {"manifest.csv", *(name for name, _ in files)}
    assert all(default_storage.exists(path) for path in batch.files.values())

    summary = import_batch_commit(batch=batch, by=lead)

    assert summary.committed
    assert Transcript.objects.filter(project=project).count() == len(rows)
    batch.refresh_from_db()
    assert batch.state == ImportBatch.State.COMMITTED
    assert not any(default_storage.exists(path) for path in batch.files.values())
    with pytest.raises(ConflictError):
        import_batch_commit(batch=batch, by=lead)


def test_a_discarded_batch_writes_nothing_and_cannot_be_committed(project, lead):
    batch, _ = import_batch_create(
        project=project,
        files=[("s.vtt", timed_vtt(2))],
        manifest=("m.csv", manifest_csv("s.vtt,C-1,1,,,")),
        by=lead,
    )

    import_batch_discard(batch=batch)

    with pytest.raises(ConflictError):
        import_batch_commit(batch=batch, by=lead)
    assert Transcript.objects.count() == 0


def test_a_batch_is_checked_again_on_commit(project, lead):
    batch, _ = import_batch_create(
        project=project,
        files=[("s.vtt", timed_vtt(2))],
        manifest=("m.csv", manifest_csv("s.vtt,C-1,1,,,")),
        by=lead,
    )
    transcripts_import(
        project=project,
        files=[("other.vtt", timed_vtt(2))],
        manifest=("m.csv", manifest_csv("other.vtt,C-1,1,,,")),
        by=lead,
    )

    with pytest.raises(ImportFailed):
        import_batch_commit(batch=batch, by=lead)

    batch.refresh_from_db()
    assert batch.state == ImportBatch.State.PREVIEWED


# Replacing a transcript ------------------------------------------------------------------


def test_a_transcript_no_one_codes_yet_can_be_replaced(transcript, lead):
    old_turns = set(transcript.turns.values_list("pk", flat=True))

    replaced = transcript_replace(
        session=transcript.session, filename="fixed.vtt", content=timed_vtt(6), by=lead
    )

    assert replaced.session == transcript.session
    assert replaced.turn_count == 6 == replaced.turns.count()
    assert not Turn.objects.filter(pk__in=old_turns).exists()
    assert Transcript.objects.filter(session=transcript.session).count() == 1


def test_a_transcript_with_assignments_cannot_be_replaced(transcript, pacs, coder_a, lead):
    assignment_create(
        transcript=transcript, coding_system=pacs, coder=coder_a, purpose="independent"
    )

    with pytest.raises(ConflictError):
        transcript_replace(session=transcript.session, filename="fixed.vtt", content=timed_vtt(6))

    assert Transcript.objects.get(session=transcript.session).turns.count() == 10


def test_a_bad_replacement_file_leaves_the_old_transcript(transcript):
    bad, line = bad_cue_vtt()

    with pytest.raises(ImportFailed) as caught:
        transcript_replace(session=transcript.session, filename="bad.vtt", content=bad)

    assert caught.value.details[0]["line"] == line
    assert Transcript.objects.get(session=transcript.session).pk == transcript.pk


def test_a_transcript_can_be_attached_to_a_session_without_one(project, transcript, lead):
    session = session_create(project=project, case=transcript.session.case, number=2)

    attached = transcript_replace(session=session, filename="s2.vtt", content=timed_vtt(3))

    assert attached.turn_count == 3


# Recordings --------------------------------------------------------------------------------


def wav_upload(name="Mrs Smith session 1.wav", content_type="audio/wav"):
    return SimpleUploadedFile(name, wav_bytes(), content_type=content_type)


def test_a_recording_is_stored_under_a_name_that_does_not_carry_the_original(transcript, lead):
    session = transcript.session

    recording = recording_attach(session=session, upload=wav_upload(), by=lead)

    assert recording.original_name == "Mrs Smith session 1.wav"
    assert recording.content_type == "audio/wav"
    assert recording.size == len(wav_bytes())
    assert "Smith" not in recording.file.name
    assert recording.file.name.startswith(f"recordings/project-{session.project_id}/")
    with recording.file.open("rb") as handle:
        assert handle.read() == wav_bytes()


def test_a_new_recording_replaces_the_old_one(transcript, lead):
    recording_attach(session=transcript.session, upload=wav_upload(), by=lead)

    video = recording_attach(
        session=transcript.session, upload=wav_upload("take2.mp4", "video/mp4"), by=lead
    )

    assert list(Recording.objects.filter(session=transcript.session)) == [video]


def test_a_recording_must_be_audio_or_video(transcript):
    with pytest.raises(DomainError) as caught:
        recording_attach(session=transcript.session, upload=wav_upload("notes.txt", "text/plain"))

    assert "audio or video" in caught.value.message
    assert not Recording.objects.exists()


def test_a_recording_over_the_size_limit_is_refused(transcript, settings):
    settings.MAX_RECORDING_BYTES = 100

    with pytest.raises(DomainError) as caught:
        recording_attach(session=transcript.session, upload=wav_upload())

    assert "larger than the limit" in caught.value.message
    assert not Recording.objects.exists()


# Segments (3RS) ----------------------------------------------------------------------------


def test_segments_are_derived_from_turn_times_and_stored_once(transcript):
    segments = transcript_segments(transcript=transcript, length_seconds=300)

    # Turns start every 70 s: 0-280 s, 350-560 s, 630 s; the last ends at 695 s.
    assert [(s.index, s.start_seconds, s.end_seconds) for s in segments] == [
        (0, 0.0, 300.0),
        (1, 300.0, 600.0),
        (2, 600.0, 695.0),
    ]
    assert [(s.first_turn_position, s.turn_count) for s in segments] == [(0, 5), (5, 4), (9, 1)]
    again = transcript_segments(transcript=transcript, length_seconds=300)
    assert [s.pk for s in again] == [s.pk for s in segments]
    assert Segment.objects.filter(transcript=transcript).count() == 3


def test_segments_of_another_length_are_kept_beside_the_first(transcript):
    transcript_segments(transcript=transcript, length_seconds=300)

    minutes = transcript_segments(transcript=transcript, length_seconds=60)

    assert len(minutes) == 12
    assert Segment.objects.filter(transcript=transcript).count() == 15


def test_assigning_a_3rs_coding_derives_the_transcripts_segments(transcript, threers, coder_a):
    assignment_create(
        transcript=transcript, coding_system=threers, coder=coder_a, purpose="independent"
    )

    assert Segment.objects.filter(transcript=transcript, length_seconds=300).count() == 3


def test_an_untimed_transcript_cannot_be_cut_into_segments(project):
    untimed = TranscriptFactory(session__case__project=project, turns=4)
    untimed.turns.update(start_seconds=None, end_seconds=None)

    with pytest.raises(DomainError) as caught:
        transcript_segments(transcript=untimed, length_seconds=300)

    assert "timestamps" in caught.value.message
    assert not Segment.objects.exists()


# Cases and sessions ------------------------------------------------------------------------


def test_an_unresolved_case_needs_an_organised_secondary_classification(project):
    with pytest.raises(DomainError):
        case_create(project=project, code="C-040", aai_primary="U")

    case = case_create(project=project, code="C-040", aai_primary="U", aai_secondary="E")
    with pytest.raises(DomainError):
        case_update(case=case, aai_secondary="")
    case.refresh_from_db()
    assert case.aai_secondary == "E"


def test_a_case_code_and_a_session_number_are_unique(project, transcript):
    with pytest.raises(ConflictError):
        case_create(project=project, code="C-001")
    with pytest.raises(ConflictError):
        session_create(project=project, case=transcript.session.case, number=1)
    with pytest.raises(DomainError):
        session_create(project=project, case=transcript.session.case, number=0)
