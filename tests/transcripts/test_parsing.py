"""Transcript and manifest parsing: every format, encoding and validation rule (no database)."""

from __future__ import annotations

import codecs
import datetime
import io
import pickle
import time
import zipfile

import docx
import docx.shared
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.transcripts.parsing import (
    DEFAULT_SPEAKER_PREFIXES,
    FORMATS,
    MAX_MANIFEST_BYTES,
    MAX_TRANSCRIPT_BYTES,
    MAX_TURNS,
    SPEAKER_ROLES,
    ImportIssue,
    ManifestRow,
    ParsedTranscript,
    SpeakerMap,
    TranscriptImportError,
    decode_bytes,
    detect_format,
    parse_manifest,
    parse_seconds,
    parse_transcript,
)
from apps.transcripts.parsing.common import format_seconds, format_size


def parse(text: str | bytes, name: str = "session.txt", **options) -> ParsedTranscript:
    content = text.encode("utf-8") if isinstance(text, str) else text
    return parse_transcript(name, content, **options)


def problems(text: str | bytes, name: str = "session.txt", **options) -> list[ImportIssue]:
    """The issues parse_transcript raises for a file that must be refused."""
    with pytest.raises(TranscriptImportError) as caught:
        parse(text, name, **options)
    return caught.value.issues


def lines_and_messages(issues: list[ImportIssue]) -> list[tuple[int | None, str]]:
    return [(issue.line, issue.message) for issue in issues]


def turns_as_tuples(transcript: ParsedTranscript) -> list[tuple]:
    return [
        (t.speaker_role, t.speaker_label, t.text, t.start, t.end, t.line) for t in transcript.turns
    ]


# --- issues and the error ---------------------------------------------------------------------


def test_issue_reads_as_file_colon_line_colon_message():
    assert str(ImportIssue("s1.txt", 12, "the turn has no text")) == (
        "s1.txt:12: the turn has no text"
    )


def test_whole_file_issue_reads_without_a_line():
    assert str(ImportIssue("s1.txt", None, "the file is empty")) == "s1.txt: the file is empty"


def test_import_error_carries_every_issue_whole_file_problems_first_then_by_line():
    error = TranscriptImportError(
        [
            ImportIssue("f", 9, "nine"),
            ImportIssue("f", 2, "two"),
            ImportIssue("f", None, "file"),
            ImportIssue("f", 2, "two again"),
        ]
    )

    assert [issue.message for issue in error.issues] == ["file", "two", "two again", "nine"]
    assert str(error).splitlines() == ["f: file", "f:2: two", "f:2: two again", "f:9: nine"]


def test_import_error_message_shows_twenty_issues_and_counts_the_rest():
    error = TranscriptImportError([ImportIssue("f", n, "bad") for n in range(1, 26)])

    assert len(error.issues) == 25
    assert str(error).splitlines()[-1] == "... and 5 more"
    assert len(str(error).splitlines()) == 21


def test_import_error_survives_pickling_with_its_issues():
    error = TranscriptImportError([ImportIssue("f", 3, "bad", "start")])

    copy = pickle.loads(pickle.dumps(error))

    assert copy.issues == error.issues


def test_import_error_without_issues_is_a_programming_error():
    with pytest.raises(ValueError):
        TranscriptImportError([])


# --- decoding ---------------------------------------------------------------------------------

TEXT_WITH_ACCENTS = "T: “Café” – déjà vu?\nP: Ça va, naïve Zoë.\n"


def test_utf8_without_bom_decodes_as_utf8():
    assert decode_bytes(TEXT_WITH_ACCENTS.encode("utf-8"), filename="f.txt") == (
        TEXT_WITH_ACCENTS,
        "utf-8",
    )


def test_utf8_with_bom_decodes_and_drops_the_bom():
    content = codecs.BOM_UTF8 + TEXT_WITH_ACCENTS.encode("utf-8")

    assert decode_bytes(content, filename="f.txt") == (TEXT_WITH_ACCENTS, "utf-8-sig")


@pytest.mark.parametrize(
    ("bom", "codec"),
    [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
)
def test_utf16_with_bom_decodes_by_its_byte_order_mark(bom, codec):
    content = bom + TEXT_WITH_ACCENTS.encode(codec)

    assert decode_bytes(content, filename="f.txt") == (TEXT_WITH_ACCENTS, codec)


def test_windows_1252_curly_quotes_and_accents_decode_correctly():
    # 0x93/0x94 are curly double quotes, 0x96 an en dash and 0xE9 é in Windows-1252.
    content = b"T: \x93Caf\xe9\x94 \x96 d\xe9j\xe0 vu?\r\nP: \x91yes\x92\r\n"

    text, encoding = decode_bytes(content, filename="f.txt")

    assert encoding == "cp1252"
    assert text == "T: “Café” – déjà vu?\nP: ‘yes’\n"


def test_utf16_without_bom_is_recognised_by_the_fallback_detector():
    text = "T: Hello, how have you been since we last met?\nP: Not too bad, thank you.\n" * 5

    assert decode_bytes(text.encode("utf-16-le"), filename="f.txt") == (text, "utf-16-le")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_newlines_become_line_feeds(newline):
    text, _ = decode_bytes(f"T: a{newline}P: b{newline}".encode(), filename="f.txt")

    assert text == "T: a\nP: b\n"


def test_undecodable_bytes_raise_an_error_naming_the_file():
    with pytest.raises(TranscriptImportError) as caught:
        decode_bytes(bytes(range(256)) * 4, filename="weird.txt")

    [issue] = caught.value.issues
    assert (issue.file, issue.line) == ("weird.txt", None)
    assert "could not read the file as text" in issue.message


def test_bom_followed_by_invalid_bytes_is_refused_not_guessed():
    with pytest.raises(TranscriptImportError) as caught:
        decode_bytes(codecs.BOM_UTF8 + b"T: caf\xe9", filename="f.txt")

    assert "byte-order mark" in caught.value.issues[0].message


def test_utf8_file_with_one_bad_byte_is_refused_naming_the_line_not_read_as_windows_1252():
    # Valid UTF-8 everywhere (é, “ ” and – are multibyte sequences) except line 2, where an
    # editor left a lone 0xE9 (Windows-1252 é). Reading it all as Windows-1252 would turn
    # every é on lines 1 and 3 into 'Ã©'.
    content = "T: “Café” – déjà vu?\n".encode() + b"P: caf\xe9 noir\n" + "T: Ça va.\n".encode()

    with pytest.raises(TranscriptImportError) as caught:
        decode_bytes(content, filename="session.txt")

    [issue] = caught.value.issues
    assert (issue.file, issue.line) == ("session.txt", 2)
    assert "not valid UTF-8 (byte 0xE9 at character 7)" in issue.message


def test_utf8_file_with_bad_bytes_on_several_lines_names_each_line_once():
    good = "T: déjà vu, “quoted”, naïve, Zoë, Ça va\n".encode()
    content = good + b"P: \xff\xfe two bad\n" + good + b"T: one \x80\n" + good

    with pytest.raises(TranscriptImportError) as caught:
        parse(content)

    assert [issue.line for issue in caught.value.issues] == [2, 4]


def test_windows_1252_file_with_a_byte_pair_that_happens_to_be_utf8_still_reads_as_1252():
    # 'daß…' in Windows-1252 is ... 0xDF 0x85, which is also valid UTF-8 (U+07C5); the file's
    # other accented letters (é, à, ü) are not, so it is Windows-1252, not damaged UTF-8.
    content = "T: daß…\nP: café, voilà, über\n".encode("cp1252")

    text, encoding = decode_bytes(content, filename="f.txt")

    assert (text, encoding) == ("T: daß…\nP: café, voilà, über\n", "cp1252")


def test_ascii_file_with_a_single_accented_byte_reads_as_windows_1252():
    # Nothing in the file is UTF-8 beyond ASCII, so one high byte is a Windows-1252 letter.
    assert decode_bytes(b"T: caf\xe9\n", filename="f.txt") == ("T: café\n", "cp1252")


@pytest.mark.parametrize(
    ("name", "codec", "expected_encoding"),
    [
        ("utf-8", "utf-8", "utf-8"),
        ("utf-8 with BOM", "utf-8-sig", "utf-8-sig"),
        ("utf-16 with BOM", "utf-16", "utf-16-le"),
        ("windows-1252", "cp1252", "cp1252"),
    ],
)
def test_each_encoding_gives_the_same_transcript(name, codec, expected_encoding):
    transcript = parse(TEXT_WITH_ACCENTS.encode(codec))

    assert transcript.encoding == expected_encoding
    assert [turn.text for turn in transcript.turns] == ["“Café” – déjà vu?", "Ça va, naïve Zoë."]


# --- size limits ------------------------------------------------------------------------------


def test_transcript_over_the_size_limit_is_refused_with_the_limit_in_mb():
    content = b"T: " + b"a" * MAX_TRANSCRIPT_BYTES

    [issue] = problems(content)

    assert issue.line is None
    assert issue.message == "the file is 5 MB, over the 5 MB limit for transcripts"


def test_size_limit_can_be_lowered_and_is_stated_in_kb():
    [issue] = problems("T: " + "a" * 2000, max_bytes=1024)

    assert issue.message == "the file is 2 KB, over the 1 KB limit for transcripts"


def test_manifest_over_the_size_limit_is_refused():
    with pytest.raises(TranscriptImportError) as caught:
        parse_manifest("m.csv", b"file,case,session_number\n" + b"x" * MAX_MANIFEST_BYTES)

    assert "over the 2 MB limit for manifests" in caught.value.issues[0].message


@pytest.mark.parametrize(
    ("size", "written"),
    [(900, "900 bytes"), (1024, "1 KB"), (1536, "1.5 KB"), (5 * 1024 * 1024, "5 MB")],
)
def test_sizes_are_written_for_people(size, written):
    assert format_size(size) == written


# --- times ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("83.5", 83.5),
        ("83,5", 83.5),
        ("7", 7.0),
        ("01:23", 83.0),
        ("75:30", 4530.0),
        ("1:02:03", 3723.0),
        ("00:01:23.250", 83.25),
        ("00:01:23,250", 83.25),
    ],
)
def test_times_are_read_as_seconds(written, seconds):
    assert parse_seconds(written) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "written", ["", "abc", "-3", "1:60", "1:61:00", "1:2:3:4", "1::2", "1.2.3", "½", "١٢"]
)
def test_malformed_times_are_refused(written):
    with pytest.raises(ValueError):
        parse_seconds(written)


def test_times_in_messages_show_milliseconds_only_when_present():
    assert [format_seconds(s) for s in (83, 3723.5, 0.9996, 59.25)] == [
        "00:01:23",
        "01:02:03.5",
        "00:00:01",
        "00:00:59.25",
    ]


# --- speaker prefixes -------------------------------------------------------------------------


def test_default_prefixes_cover_the_usual_therapist_and_patient_labels():
    speakers = SpeakerMap()

    assert {label: speakers.role_for(label) for label in ["t", "TH", "Counselor", "dr."]} == {
        "t": "therapist",
        "TH": "therapist",
        "Counselor": "therapist",
        "dr.": "therapist",
    }
    assert {speakers.role_for(label) for label in ["P", "pt", "PATIENT", "c", "Client"]} == {
        "patient"
    }
    assert set(DEFAULT_SPEAKER_PREFIXES.values()) <= set(SPEAKER_ROLES)


def test_numbered_labels_take_the_role_of_their_prefix():
    speakers = SpeakerMap()

    assert [speakers.role_for(x) for x in ["P1", "T2", "Patient 2", "C12"]] == [
        "patient",
        "therapist",
        "patient",
        "patient",
    ]
    assert speakers.role_for("Interviewer") is None


@pytest.mark.parametrize("prefixes", [{"T": "doctor"}, {"": "therapist"}, {"  ": "patient"}])
def test_speaker_map_refuses_unknown_roles_and_empty_labels(prefixes):
    with pytest.raises(ValueError):
        SpeakerMap(prefixes)


def test_speaker_map_accepts_roles_in_any_case():
    assert SpeakerMap({"Int": "Other"}).role_for("int") == "other"


# --- format detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", "text"),
        ("A.TXT", "text"),
        ("a.docx", "docx"),
        ("a.vtt", "vtt"),
        ("a.srt", "srt"),
        ("a.csv", "csv"),
        ("a.tsv", "csv"),
    ],
)
def test_extension_decides_the_format(name, expected):
    assert detect_format(name, b"whatever") == expected


def test_extension_wins_over_content():
    assert detect_format("notes.txt", b"WEBVTT\n\n") == "text"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbfWEBVTT\n\n00:00:01.000 --> 00:00:02.000\nT: hi\n", "vtt"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nT: hi\n", "srt"),
        (b"Speaker;Text;Start\nT;hi;0\n", "csv"),
        (b"PK\x03\x04rest-of-a-zip", "docx"),
        (b"T: hello\nP: hi\n", "text"),
    ],
)
def test_files_without_a_known_extension_are_sniffed(content, expected):
    assert detect_format("session-12", content) == expected


@pytest.mark.parametrize(
    ("name", "content", "hint"),
    [
        ("a.doc", b"", "save the file as .docx"),
        ("a.pdf", b"", "PDF"),
        ("a.xlsx", b"", "save the sheet as CSV"),
        ("a.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "save the file as .docx"),
    ],
)
def test_unsupported_files_are_refused_with_a_hint(name, content, hint):
    with pytest.raises(TranscriptImportError) as caught:
        detect_format(name, content)

    assert hint in caught.value.issues[0].message


def test_an_explicit_format_overrides_detection():
    transcript = parse("speaker,text\nT,hi\n", name="export.txt", format="csv")

    assert transcript.format == "csv"


def test_an_unknown_format_name_is_a_programming_error():
    with pytest.raises(ValueError):
        parse("T: hi", format="rtf")


# --- plain text -------------------------------------------------------------------------------


def test_text_turns_start_at_speaker_prefixes_and_keep_the_label_as_written():
    transcript = parse("T: How are you?\n\nPatient: Fine.\nth: Good.\n")

    assert transcript.format == "text"
    assert turns_as_tuples(transcript) == [
        ("therapist", "T", "How are you?", None, None, 1),
        ("patient", "Patient", "Fine.", None, None, 3),
        ("therapist", "th", "Good.", None, None, 4),
    ]
    assert not transcript.has_timestamps


def test_lines_without_a_prefix_continue_the_turn_on_their_own_line():
    transcript = parse("P: I was thinking\nabout my mother\n\n  and my father.\nT: Mm.\n")

    assert transcript.turns[0].text == "I was thinking\nabout my mother\nand my father."
    assert transcript.turns[1].line == 5


def test_colons_inside_and_after_turns_are_text():
    transcript = parse(
        "P: Here is the thing: I left at 10:30.\n"
        "so: that was that.\n"
        "Here is what she said: no.\n"
        "See http://example.org\n"
    )

    [turn] = transcript.turns
    assert turn.text == (
        "Here is the thing: I left at 10:30.\nso: that was that.\n"
        "Here is what she said: no.\nSee http://example.org"
    )


def test_numbered_speakers_and_role_words_are_accepted():
    transcript = parse("P1: I think so.\nP2: I do not.\nOther: Sorry to interrupt.\n")

    assert [(t.speaker_role, t.speaker_label) for t in transcript.turns] == [
        ("patient", "P1"),
        ("patient", "P2"),
        ("other", "Other"),
    ]


def test_a_custom_prefix_map_replaces_the_defaults():
    prefixes = {"Dr. Smith": "therapist", "Anna": "patient", "Int": "other"}

    transcript = parse("Dr. Smith: Hello.\nAnna: Hi.\nINT: Recording.\n", speaker_prefixes=prefixes)
    assert [t.speaker_role for t in transcript.turns] == ["therapist", "patient", "other"]

    [issue] = problems("T: Hello.\n", speaker_prefixes=prefixes)
    assert issue.message.startswith('unknown speaker "T"; accepted speaker prefixes: Dr. Smith')


def test_a_bad_prefix_map_is_reported_as_an_issue_of_the_file():
    [issue] = problems("T: hi\n", speaker_prefixes={"T": "doctor"})

    assert (issue.line, issue.file) == (None, "session.txt")
    assert "role one of therapist, patient, other" in issue.message


@pytest.mark.parametrize(
    ("line", "start"),
    [
        ("[00:01:23] T: hi", 83.0),
        ("[01:23.5] T: hi", 83.5),
        ("00:01:23 T: hi", 83.0),
        ("(1:23) T: hi", 83.0),
        ("[ 1:02:03 ]   T: hi", 3723.0),
    ],
)
def test_a_leading_timestamp_sets_the_turn_start(line, start):
    [turn] = parse(line).turns

    assert (turn.start, turn.text, turn.speaker_label) == (start, "hi", "T")


def test_a_text_turn_ends_where_the_next_one_starts_and_the_last_has_no_end():
    transcript = parse("[00:00:05] T: Hello.\n[00:00:09] P: Hi.\n[00:01:00] T: So.\n")

    assert [(t.start, t.end) for t in transcript.turns] == [(5, 9), (9, 60), (60, None)]
    assert transcript.has_timestamps


def test_a_bare_time_at_the_start_of_a_continuation_line_is_text():
    transcript = parse("P: We met at\n10:30 in the morning.\n")

    assert transcript.turns[0].text == "We met at\n10:30 in the morning."


def test_a_bracketed_timestamp_needs_a_speaker_prefix_on_its_line():
    issues = problems("[00:00:05] T: Hello.\n[00:05:00]\nmore words\n")

    assert lines_and_messages(issues) == [
        (
            2,
            "a timestamp must be followed by a speaker prefix on the same line, as in "
            "'[00:01:23] T: ...'",
        )
    ]


def test_a_bad_timestamp_is_reported_with_the_accepted_formats():
    [issue] = problems("[00:61:00] T: Hello.\n")

    assert issue.line == 1
    assert issue.field == "start"
    assert issue.message.startswith("bad timestamp '00:61:00'; use seconds (83.5), mm:ss")


def test_an_unknown_prefix_is_reported_with_the_accepted_prefixes():
    [issue] = problems("T: Hello.\nInterviewer: And you?\nstill the interviewer\nP: Me?\n")

    assert issue.line == 2
    assert issue.field == "speaker"
    assert issue.message == (
        'unknown speaker "Interviewer"; accepted speaker prefixes: T, Th, Therapist, Counselor, '
        "Counsellor, Dr, P, Pt, Patient, C, Client, or the role words therapist, patient, other "
        "(any case; a number may follow, as in P1)"
    )


def test_text_before_the_first_prefix_is_reported_once():
    issues = problems("Session 3 transcript\nrecorded in May\nT: Hello.\n")

    assert [(issue.line, issue.message.split(";")[0]) for issue in issues] == [
        (1, "text before the first speaker prefix")
    ]


def test_a_header_line_shaped_like_a_speaker_is_an_unknown_speaker():
    [issue] = problems("Date: 2024-03-01\nT: Hello.\n")

    assert (issue.line, issue.message[:23]) == (1, 'unknown speaker "Date";')


def test_a_turn_without_text_is_reported():
    [issue] = problems("T:\nP: Hi.\n")

    assert (issue.line, issue.message, issue.field) == (1, "the turn has no text", "text")


def test_timestamps_on_only_some_turns_are_reported_on_each_untimed_turn():
    issues = problems("[00:00:01] T: a\nP: b\n[00:00:09] T: c\nP: d\n")

    assert [issue.line for issue in issues] == [2, 4]
    assert issues[0].message.startswith("the turn has no start time but other turns do")


def test_timestamps_going_backwards_are_reported_naming_the_previous_line():
    [issue] = problems("[00:02:00] T: a\n[00:01:00] P: b\n")

    assert issue.line == 2
    assert issue.message == (
        "the start time 00:01:00 is before the previous turn's 00:02:00 (line 1); times must "
        "not go backwards"
    )


def test_equal_start_times_are_allowed_for_overlapping_speech():
    transcript = parse("[00:00:05] T: a\n[00:00:05] P: b\n")

    assert [(t.start, t.end) for t in transcript.turns] == [(5, 5), (5, None)]


@pytest.mark.parametrize("content", [b"", b"   \n\n  \r\n"])
def test_an_empty_file_is_refused(content):
    [issue] = problems(content)

    assert (issue.line, issue.message) == (None, "the file is empty")


def test_every_problem_in_a_file_is_reported_together():
    issues = problems(
        "intro\n[00:00:05] T: a\nX: b\n[00:99:00] P: c\nP:\n[00:00:01] T: d\n[00:00:09] Q: e\n"
    )

    assert [issue.line for issue in issues] == [1, 3, 4, 5, 5, 6, 7]
    assert all(issue.file == "session.txt" for issue in issues)


def test_a_150_turn_text_transcript_parses_well_under_10_ms():
    content = "".join(
        f"[{i // 60:02d}:{i % 60:02d}:00] {'T' if i % 2 else 'P'}: "
        + "Some words that a person might say in a turn of a session. " * 3
        + "\nand a continuation line\n"
        for i in range(150)
    ).encode()

    assert len(parse(content).turns) == 150
    assert best_time_ms(lambda: parse(content)) < 10


def best_time_ms(action, repeat: int = 7) -> float:
    """Fastest of a few runs, so a busy machine does not fail the test."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000


# --- Word -------------------------------------------------------------------------------------


def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        paragraph = document.add_paragraph()
        for n, part in enumerate(text.split("\n")):
            run = paragraph.add_run(part)
            if n < text.count("\n"):
                run.add_break()
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, cells in zip(grid.rows, table):
            for cell, value in zip(row.cells, cells):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_paragraphs_are_read_like_text_lines_numbered_by_paragraph(tmp_path):
    path = tmp_path / "session.docx"
    path.write_bytes(
        docx_bytes(["[00:00:05] T: “Hello”, how are you?", "", "(0:09) P: Fine.", "continuing"])
    )

    transcript = parse_transcript("session.docx", path.read_bytes())

    assert (transcript.format, transcript.encoding) == ("docx", "")
    assert turns_as_tuples(transcript)[0] == (
        "therapist",
        "T",
        "“Hello”, how are you?",
        5.0,
        9.0,
        1,
    )
    assert turns_as_tuples(transcript)[1][2:] == ("Fine.\ncontinuing", 9.0, None, 3)


def test_soft_line_breaks_in_a_word_paragraph_are_separate_lines():
    transcript = parse(docx_bytes(["T: Hello.\nP: Hi."]), name="s.docx")

    assert [(t.speaker_role, t.text, t.line) for t in transcript.turns] == [
        ("therapist", "Hello.", 1),
        ("patient", "Hi.", 1),
    ]


def test_word_tracked_insertions_are_read_and_tracked_deletions_are_not():
    document = docx.Document()
    paragraph = document.add_paragraph("P: I was ")
    paragraph.paragraph_format.tab_stops.add_tab_stop(docx.shared.Inches(1))
    for change, tag, words in (("w:del", "w:delText", "really "), ("w:ins", "w:t", "not ")):
        wrapper, run, text = OxmlElement(change), OxmlElement("w:r"), OxmlElement(tag)
        wrapper.set(qn("w:id"), "1")
        wrapper.set(qn("w:author"), "Supervisor")
        text.text = words
        text.set(qn("xml:space"), "preserve")
        run.append(text)
        wrapper.append(run)
        paragraph._p.append(wrapper)
    paragraph.add_run("sure.")
    buffer = io.BytesIO()
    document.save(buffer)

    [turn] = parse(buffer.getvalue(), name="s.docx").turns

    assert turn.text == "I was not sure."


def test_word_problems_name_the_paragraph_number():
    issues = problems(docx_bytes(["T: Hello.", "Interviewer: Hi."]), name="s.docx")

    assert [(issue.file, issue.line) for issue in issues] == [("s.docx", 2)]


def test_a_file_named_docx_that_is_not_a_word_document_is_refused():
    [issue] = problems(b"T: plain text really", name="s.docx")

    assert issue.message.startswith("the file is not a valid .docx Word document")


def test_a_zip_that_is_not_a_word_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "T: hi")

    [issue] = problems(buffer.getvalue(), name="s.docx")

    assert issue.message == "the file is not a valid .docx Word document"


def test_a_word_document_with_its_turns_in_a_table_gets_a_clear_message():
    issues = problems(docx_bytes([], table=[["T", "Hello."], ["P", "Hi."]]), name="s.docx")

    assert "tables are not read" in issues[0].message


def test_a_word_document_with_a_title_and_its_turns_in_a_table_gets_a_clear_message():
    issues = problems(docx_bytes(["Session 3"], table=[["T", "Hello."]]), name="s.docx")

    assert [issue.line for issue in issues] == [None, 1]
    assert issues[0].message.startswith("tables are not read")


def test_a_word_document_with_broken_xml_is_refused():
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(["T: hi"])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in source.infolist():
            body = source.read(member)
            archive.writestr(
                member, b"<w:document" if member.filename == "word/document.xml" else body
            )

    [issue] = problems(buffer.getvalue(), name="s.docx")

    assert issue.message == "the file is not a valid .docx Word document"


def test_a_word_document_that_unpacks_too_large_is_refused_before_reading():
    content = docx_bytes(["T: hi"])
    expanded = sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(content)).infolist())

    [issue] = problems(content, name="s.docx", max_docx_expanded_bytes=1024)

    assert issue.message == (
        f"the .docx unpacks to {format_size(expanded)}, over the 1 KB limit for Word "
        "documents; save the transcript as plain text or split it"
    )


def expanding_docx(paragraph: bytes, count: int) -> bytes:
    """A real .docx whose body is `paragraph` repeated: tiny zipped, large unpacked."""
    source = zipfile.ZipFile(io.BytesIO(docx_bytes([])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            body = source.read(member)
            if member.filename == "word/document.xml":
                head, _, tail = body.partition(b"<w:body>")
                body = head + b"<w:body>" + paragraph * count + b"<w:sectPr/></w:body></w:document>"
                assert tail  # the template has a body
            archive.writestr(member.filename, body)
    return buffer.getvalue()


def test_a_small_docx_that_unpacks_past_the_limit_is_refused_before_it_is_read():
    # Under 200 KB zipped, 57 MB unpacked (over the default 50 MB): the size is checked from
    # the archive's directory, so no XML is parsed.
    content = expanding_docx(b"<w:p/>", 9_500_000)
    expanded = sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(content)).infolist())
    assert len(content) < 200 * 1024 < 50 * 1024 * 1024 < expanded

    [issue] = problems(content, name="bomb.docx")

    assert issue.file == "bomb.docx"
    assert issue.message.startswith(f"the .docx unpacks to {format_size(expanded)}, over the 50 MB")


def test_a_docx_of_a_million_turns_is_refused_at_the_turn_limit_without_reading_on():
    content = expanding_docx(b"<w:p><w:r><w:t>T: x</w:t></w:r></w:p>", 1_200_000)

    [issue] = problems(content, name="bomb.docx")

    assert issue.line is None
    assert issue.message.startswith(
        f"the transcript has more than {MAX_TURNS:,} turns, the limit for one transcript"
    )


def test_a_docx_of_empty_paragraphs_is_refused_at_the_paragraph_limit():
    # No turns at all, so only the paragraph count stops it (ten per allowed turn).
    [issue] = problems(expanding_docx(b"<w:p/>", 40), name="blank.docx", max_turns=3)

    assert issue.message == (
        "the file has more than 30 paragraphs, the limit for one transcript; split it into "
        "several sessions"
    )


def _patched_docx(patch) -> bytes:
    """A one-turn .docx with word/document.xml's bytes changed by patch(content, info)."""
    content = bytearray(docx_bytes(["T: hi"]))
    info = zipfile.ZipFile(io.BytesIO(bytes(content))).getinfo("word/document.xml")
    patch(content, info)
    return bytes(content)


def _corrupt_deflate(content: bytearray, info: zipfile.ZipInfo) -> None:
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + 60):
        content[i] ^= 0xFF


def _mark_encrypted(content: bytearray, info: zipfile.ZipInfo) -> None:
    # The general-purpose flag of the member's central directory entry, bit 0: encrypted.
    entry = content.index(b"PK\x01\x02")
    while content[entry + 46 : entry + 46 + len(info.filename)] != info.filename.encode():
        entry = content.index(b"PK\x01\x02", entry + 4)
    content[entry + 8] |= 1


@pytest.mark.parametrize("patch", [_corrupt_deflate, _mark_encrypted])
def test_a_docx_with_a_damaged_or_encrypted_document_part_is_refused(patch):
    [issue] = problems(_patched_docx(patch), name="s.docx")

    assert issue.message == "the file is not a valid .docx Word document"


def test_a_docx_with_entities_in_its_xml_does_not_expand_them():
    # A "billion laughs" document type declaration: entities must stay unexpanded.
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(["T: said &lol;"])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in source.infolist():
            body = source.read(member)
            if member.filename == "word/document.xml":
                declaration = (
                    b'<!DOCTYPE d [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
                )
                body = body.replace(b"?>", b"?>" + declaration, 1).replace(b"&amp;lol;", b"&lol2;")
            archive.writestr(member.filename, body)

    [turn] = parse(buffer.getvalue(), name="s.docx").turns

    assert turn.text == "said"


def _n_turns(format: str, count: int) -> tuple[str, bytes]:
    """A clean transcript of `count` timed turns in a format."""
    if format == "text":
        return "s.txt", "".join(f"[00:00:{i:02d}] T: turn {i}\n" for i in range(count)).encode()
    if format == "vtt":
        cues = "".join(
            f"00:00:{i:02d}.000 --> 00:00:{i:02d}.500\n<v T>turn {i}\n\n" for i in range(count)
        )
        return "s.vtt", f"WEBVTT\n\n{cues}".encode()
    if format == "srt":
        return "s.srt", "".join(
            f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},500\nT: turn {i}\n\n"
            for i in range(count)
        ).encode()
    if format == "csv":
        rows = "".join(f"T,turn {i},{i}\n" for i in range(count))
        return "s.csv", f"speaker,text,start\n{rows}".encode()
    return "s.docx", docx_bytes([f"[00:00:{i:02d}] T: turn {i}" for i in range(count)])


@pytest.mark.parametrize("format", FORMATS)
def test_the_turn_limit_applies_to_every_format(format):
    name, at_limit = _n_turns(format, 5)
    assert len(parse(at_limit, name=name, max_turns=5).turns) == 5

    name, over = _n_turns(format, 6)
    [issue] = problems(over, name=name, max_turns=5)

    assert issue.file == name
    assert issue.message.startswith("the transcript has more than 5 turns, the limit for one")


def test_a_text_file_of_blank_lines_is_refused_at_the_line_limit():
    [issue] = problems(b"T: hi\n" + b"\n" * 40, max_turns=3)

    assert issue.message.startswith("the file has more than 30 lines, the limit for one transcript")


# --- WebVTT -----------------------------------------------------------------------------------

VTT = """WEBVTT Kind: captions

NOTE exported from the recorder

STYLE
::cue { color: white }

intro
00:00:01.250 --> 00:00:04.500
<v Therapist>Hello &amp; welcome,
how are you?</v>

00:00:05.000 --> 00:00:07.000 align:start
P: I'm <i>fine</i>.

00:00:07.000 --> 00:00:09.000
<v.loud Patient 2>Me too!
"""


def test_vtt_cues_become_turns_with_their_times_and_lines():
    transcript = parse(VTT, name="s.vtt")

    assert transcript.format == "vtt"
    assert turns_as_tuples(transcript) == [
        ("therapist", "Therapist", "Hello & welcome, how are you?", 1.25, 4.5, 8),
        ("patient", "P", "I'm fine.", 5.0, 7.0, 13),
        ("patient", "Patient 2", "Me too!", 7.0, 9.0, 16),
    ]
    assert transcript.has_timestamps


def test_vtt_with_bom_and_windows_newlines_reads_the_same():
    content = codecs.BOM_UTF8 + VTT.replace("\n", "\r\n").encode("utf-8")

    assert turns_as_tuples(parse(content, name="s.vtt")) == turns_as_tuples(
        parse(VTT, name="s.vtt")
    )


def test_vtt_without_its_header_line_is_refused_at_line_1():
    [issue] = problems("00:00:01.000 --> 00:00:02.000\nT: hi\n", name="s.vtt")

    assert (issue.line, issue.message) == (1, 'a WebVTT file must start with the line "WEBVTT"')


def test_every_bad_vtt_timing_is_reported_with_its_line():
    content = (
        "WEBVTT\n\n00:00:01.000 --> 00:61:02.000\nT: a\n\n"
        "00:00:03.000 --> 00:00:04.000\nP: b\n\n00:00:05 --> 00:00:06\nT: c\n"
    )

    issues = problems(content, name="s.vtt")

    assert [issue.line for issue in issues] == [3, 9]
    assert issues[0].message.startswith("bad cue timing '00:00:01.000 --> 00:61:02.000'")


def test_a_vtt_cue_without_a_speaker_is_reported():
    [issue] = problems("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhello there\n", name="s.vtt")

    assert issue.line == 3
    assert issue.message.startswith("the cue names no speaker; start it with a voice tag")


def test_vtt_header_and_cue_problems_are_reported_together():
    issues = problems(
        "00:00:01.000 --> 00:00:02.000\nT: hi\n\n00:00:03 --> 00:00:04\nP: b\n", name="s.vtt"
    )

    assert [issue.line for issue in issues] == [1, 4]


def test_an_unknown_vtt_voice_is_reported():
    [issue] = problems("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Jane>hi\n", name="s.vtt")

    assert (issue.line, issue.message[:22]) == (3, 'unknown speaker "Jane"')


def test_a_vtt_voice_can_be_mapped_by_a_custom_prefix_map():
    transcript = parse(
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Jane Doe>hi\n",
        name="s.vtt",
        speaker_prefixes={"Jane Doe": "patient"},
    )

    assert transcript.turns[0].speaker_role == "patient"


def test_a_vtt_cue_ending_before_it_starts_is_reported():
    [issue] = problems("WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nT: hi\n", name="s.vtt")

    assert (issue.line, issue.message) == (
        3,
        "the turn ends (00:00:02) before it starts (00:00:05)",
    )


def test_vtt_cues_out_of_order_are_reported():
    content = (
        "WEBVTT\n\n00:00:05.000 --> 00:00:06.000\nT: a\n\n00:00:01.000 --> 00:00:02.000\nP: b\n"
    )

    [issue] = problems(content, name="s.vtt")

    assert issue.line == 6
    assert "times must not go backwards" in issue.message


def test_vtt_text_outside_any_cue_is_reported_not_dropped():
    content = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nT: first paragraph\n\nsecond paragraph\n\n"
        "one\ntwo\n00:00:03.000 --> 00:00:04.000\nP: b\n"
    )

    issues = problems(content, name="s.vtt")

    assert [issue.line for issue in issues] == [6, 8]
    assert issues[0].message.startswith("text outside any cue; a cue's text ends at a blank line")


def test_vtt_with_one_empty_cue_reports_the_turn_without_text():
    [issue] = problems("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v T></v>\n", name="s.vtt")

    assert (issue.line, issue.message) == (3, "the turn has no text")


def test_a_vtt_block_starting_note_with_a_timing_line_is_a_cue_named_note():
    transcript = parse("WEBVTT\n\nNOTE 1\n00:00:01.000 --> 00:00:02.000\nT: hi\n", name="s.vtt")

    assert [(t.text, t.line) for t in transcript.turns] == [("hi", 3)]


def test_a_150_cue_vtt_transcript_parses_well_under_10_ms():
    cues = "".join(
        f"{i + 1}\n00:{i // 3:02d}:{i % 3 * 20:02d}.000 --> 00:{i // 3:02d}:{i % 3 * 20 + 15:02d}.000"
        f"\n<v {'Therapist' if i % 2 else 'Patient'}>Some words said in this turn, {i}.\n\n"
        for i in range(150)
    )
    content = ("WEBVTT\n\n" + cues).encode()

    assert len(parse(content, name="s.vtt").turns) == 150
    assert best_time_ms(lambda: parse(content, name="s.vtt")) < 10


# --- SRT --------------------------------------------------------------------------------------

SRT = """1
00:00:01,250 --> 00:00:04,500
T: Hello,
<i>how are you?</i>

2
00:00:05,000 --> 00:00:07,000
{\\an8}Patient: Fine.

00:00:08,000 --> 00:00:09,000
P: No number above me.
"""


def test_srt_subtitles_become_turns_with_their_times_and_first_lines():
    transcript = parse(SRT, name="s.srt")

    assert transcript.format == "srt"
    assert turns_as_tuples(transcript) == [
        ("therapist", "T", "Hello, how are you?", 1.25, 4.5, 1),
        ("patient", "Patient", "Fine.", 5.0, 7.0, 6),
        ("patient", "P", "No number above me.", 8.0, 9.0, 10),
    ]


def test_srt_text_before_the_first_subtitle_is_reported_at_its_line():
    content = "\n\nExported by Recorder 2.0\n\n1\n00:00:01,000 --> 00:00:02,000\nT: a\n"

    [issue] = problems(content, name="s.srt")

    assert issue.line == 3
    assert issue.message.startswith("this subtitle could not be read")


def test_an_unreadable_srt_timing_is_reported_not_swallowed_into_the_text_above():
    content = (
        "1\n00:00:01,000 --> 00:00:02,000\nT: a\n\n"
        "2\n00:01 --> 00:02\nP: b\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\nT: c\n"
    )

    [issue] = problems(content, name="s.srt")

    assert (issue.line, issue.field) == (6, "start")
    assert issue.message.startswith("bad timing line")


def test_an_srt_subtitle_without_a_speaker_is_reported():
    [issue] = problems("1\n00:00:01,000 --> 00:00:02,000\nhello\n", name="s.srt")

    assert issue.line == 1
    assert issue.message.startswith("the subtitle names no speaker")


def test_srt_problems_are_all_reported_together():
    content = (
        "1\n00:00:05,000 --> 00:00:02,000\nT: a\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nJane: b\n\n"
        "3\n00:00:01,000 --> 00:00:02,000\nP: c\n"
    )

    issues = problems(content, name="s.srt")

    assert [(issue.line, issue.field) for issue in issues] == [
        (1, "end"),
        (5, "speaker"),
        (9, "start"),
    ]


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_turns_are_read_with_the_delimiter_sniffed(delimiter):
    content = delimiter.join(["Speaker", "Text", "Start", "End"]) + "\n"
    content += delimiter.join(["T", "Hello", "83.5", "00:01:25"]) + "\n"
    content += delimiter.join(["patient", "Hi", "01:26", "00:01:27.250"]) + "\n"

    transcript = parse(content, name="s.csv")

    assert turns_as_tuples(transcript) == [
        ("therapist", "T", "Hello", 83.5, 85.0, 2),
        ("patient", "patient", "Hi", 86.0, 87.25, 3),
    ]


def test_csv_times_are_optional_and_header_names_ignore_case_and_spaces():
    transcript = parse(" SPEAKER , Text \nOther,Door opens\n", name="s.csv")

    assert turns_as_tuples(transcript) == [("other", "Other", "Door opens", None, None, 2)]


def test_csv_quoted_text_may_span_lines_and_later_rows_keep_their_lines():
    content = 'speaker;text;start\nP;"One, two;\nthree";1,5\n\nT;"Four";2\n'

    transcript = parse(content, name="s.csv")

    assert [(t.text, t.start, t.line) for t in transcript.turns] == [
        ("One, two;\nthree", 1.5, 2),
        ("Four", 2.0, 5),
    ]


def test_csv_unknown_and_missing_columns_are_named():
    issues = problems("speaker,utterance,note\nT,hi,x\n", name="s.csv")

    assert lines_and_messages(issues) == [
        (1, "unknown column(s) 'utterance', 'note'; the columns are speaker, text, start, end"),
        (1, "missing required column(s): text"),
    ]


def test_csv_repeated_columns_are_named():
    [issue] = problems("speaker,text,Text\nT,hi,there\n", name="s.csv")

    assert (issue.line, issue.message) == (1, "repeated column(s): text")


def test_csv_row_problems_name_their_line_and_column():
    content = (
        "speaker,text,start,end\n"
        "T,hi,abc,\n"
        "Jane,hello,1,2\n"
        ",orphan,3,4\n"
        "P,,5,6\n"
        "T,later,,8\n"
        "P,extra,9,10,surprise\n"
    )

    issues = problems(content, name="s.csv")

    assert [(issue.line, issue.field) for issue in issues] == [
        (2, "start"),
        (3, "speaker"),
        (4, "speaker"),
        (5, "text"),
        (6, "start"),
        (7, None),
    ]
    assert issues[0].message.startswith("bad start time 'abc'; use seconds (83.5)")


def test_csv_speaker_labels_longer_than_the_database_allows_are_refused():
    [issue] = problems(f"speaker,text\n{'T' * 61},hi\n", name="s.csv", speaker_prefixes={})

    assert issue.message == "the speaker label is over 60 characters"


def test_a_csv_with_only_a_header_has_no_turns():
    [issue] = problems("speaker,text\n", name="s.csv")

    assert (issue.line, issue.message) == (None, "the transcript has no turns")


def test_a_150_row_csv_transcript_parses_well_under_10_ms():
    content = "speaker,text,start,end\n" + "".join(
        f'{"T" if i % 2 else "P"},"Words, words, words {i}",{i * 10},{i * 10 + 9}\n'
        for i in range(150)
    )

    assert best_time_ms(lambda: parse(content, name="s.csv")) < 10


# --- manifest ---------------------------------------------------------------------------------

FULL_HEADER = (
    "file,case,session_number,date,modality,therapist,site,aai_primary,aai_secondary,"
    "aai_subclass,psq_patient_rupture,psq_therapist_rupture,psq_patient_intensity,"
    "psq_therapist_intensity,speaker_prefixes"
)


def manifest(text: str, name: str = "manifest.csv") -> list[ManifestRow]:
    return parse_manifest(name, text.encode("utf-8"))


def manifest_problems(text: str) -> list[ImportIssue]:
    with pytest.raises(TranscriptImportError) as caught:
        manifest(text)
    return caught.value.issues


def test_a_full_manifest_row_is_read_and_normalised():
    [row] = manifest(
        FULL_HEADER
        + "\ns01.vtt,P01,3,2024-03-15,In-Person,Dr A,Berlin,u,ds,DS2,Yes,no,4,,"
        + '"Dr Smith=therapist; Anna=patient"\n'
    )

    assert row == ManifestRow(
        line=2,
        file="s01.vtt",
        case="P01",
        session_number=3,
        date=datetime.date(2024, 3, 15),
        modality="in_person",
        therapist="Dr A",
        site="Berlin",
        aai_primary="U",
        aai_secondary="Ds",
        aai_subclass="Ds2",
        psq_patient_rupture=True,
        psq_therapist_rupture=False,
        psq_patient_intensity=4,
        psq_therapist_intensity=None,
        speaker_prefixes={"Dr Smith": "therapist", "Anna": "patient"},
    )


def test_a_minimal_manifest_needs_only_file_case_and_session_number():
    rows = manifest("File;Case;Session Number\ns1.txt;P01;1\n\ns2.txt;P01;2\n")

    assert [
        (r.line, r.file, r.session_number, r.date, r.modality, r.aai_primary) for r in rows
    ] == [
        (2, "s1.txt", 1, None, "", ""),
        (4, "s2.txt", 2, None, "", ""),
    ]
    assert rows[0].psq_patient_rupture is None and rows[0].speaker_prefixes is None


def test_manifest_headers_ignore_case_spaces_and_hyphens():
    [row] = manifest("FILE,Case,session-number,AAI Primary,PSQ Patient Rupture\ns1,P1,1,F,1\n")

    assert (row.aai_primary, row.psq_patient_rupture) == ("F", True)


def test_manifest_in_windows_1252_reads_accents():
    [row] = parse_manifest(
        "m.csv", "file;case;session_number;therapist\ns1;P1;1;Dr Müller\n".encode("cp1252")
    )

    assert row.therapist == "Dr Müller"


def test_unknown_repeated_and_missing_manifest_columns_are_named():
    issues = manifest_problems("file,Case,patient,case\ns1,P1,P1\n")

    assert lines_and_messages(issues) == [
        (1, f"unknown column(s) 'patient'; the columns are {FULL_HEADER.replace(',', ', ')}"),
        (1, "repeated column(s): case"),
        (1, "missing required column(s): session_number"),
    ]


@pytest.mark.parametrize(
    ("columns", "values", "field", "message"),
    [
        ("", ",P1,1", "file", "file: the file name is required"),
        ("", "s1,,1", "case", "case: the case id is required"),
        ("", "s1,P1,", "session_number", "session_number: the session number is required"),
        ("", "s1,P1,0", "session_number", "session_number: '0' is not a whole number from 1 to 9999"),
        ("", "s1,P1,1.5", "session_number", "session_number: '1.5' is not a whole number from 1 to 9999"),
        (",date", "s1,P1,1,15/03/2024", "date", "date: '15/03/2024' is not a date written YYYY-MM-DD, e.g. 2024-03-15"),
        ("", "s1,P1,20240315", "session_number", "session_number: '20240315' is not a whole number from 1 to 9999"),
        (",date", "s1,P1,1,20240315", "date", "date: '20240315' is not a date written YYYY-MM-DD, e.g. 2024-03-15"),
        ("", f"s1,{'P' * 61},1", "case", "case: longer than 60 characters"),
        (",therapist", f"s1,P1,1,{'x' * 101}", "therapist", "therapist: longer than 100 characters"),
        (",date", "s1,P1,1,2024-02-30", "date", "date: '2024-02-30' is not a date written YYYY-MM-DD, e.g. 2024-03-15"),
        (",modality", "s1,P1,1,pigeon", "modality", "modality: 'pigeon' is not one of in_person, video, phone, other"),
        (",aai_primary", "s1,P1,1,X", "aai_primary", "aai_primary: 'X' is not one of F, Ds, E, U, CC"),
        (",aai_primary", "s1,P1,1,CC", "aai_secondary", "aai_secondary: a primary classification of CC needs a secondary one (F, Ds, E)"),
        (",aai_primary,aai_secondary", "s1,P1,1,U,CC", "aai_secondary", "aai_secondary: 'CC' is not one of F, Ds, E"),
        (",aai_secondary", "s1,P1,1,F", "aai_secondary", "aai_secondary: a secondary classification needs a primary one"),
        (",aai_primary,aai_subclass", "s1,P1,1,F,F9", "aai_subclass", "aai_subclass: 'F9': F has subclasses F1 to F5"),
        (",aai_primary,aai_subclass", "s1,P1,1,Ds,Ds5", "aai_subclass", "aai_subclass: 'Ds5': Ds has subclasses Ds1 to Ds4"),
        (",aai_primary,aai_subclass", "s1,P1,1,E,F2", "aai_subclass", "aai_subclass: F2 is a subclass of F, not of the classification E"),
        (",aai_primary,aai_secondary,aai_subclass", "s1,P1,1,U,E,F2", "aai_subclass", "aai_subclass: F2 is a subclass of F, not of the classification E"),
        (",aai_primary,aai_subclass", "s1,P1,1,F,secure", "aai_subclass", "aai_subclass: 'secure' is not a subclass such as F3, Ds1, E2 or F1a"),
        (",aai_subclass", "s1,P1,1,E2", "aai_subclass", "aai_subclass: a subclass needs a primary classification"),
        (",psq_patient_rupture", "s1,P1,1,maybe", "psq_patient_rupture", "psq_patient_rupture: 'maybe' is not yes/no (or 1/0, true/false)"),
        (",psq_therapist_intensity", "s1,P1,1,6", "psq_therapist_intensity", "psq_therapist_intensity: '6' is not a whole number from 1 to 5"),
        (",psq_therapist_intensity", "s1,P1,1,0", "psq_therapist_intensity", "psq_therapist_intensity: '0' is not a whole number from 1 to 5"),
        (",psq_patient_intensity", "s1,P1,1,high", "psq_patient_intensity", "psq_patient_intensity: 'high' is not a whole number from 1 to 5"),
        (",psq_patient_rupture,psq_patient_intensity", "s1,P1,1,no,3", "psq_patient_intensity", "psq_patient_intensity: an intensity is given but psq_patient_rupture is no"),
        (",speaker_prefixes", "s1,P1,1,Jane=doctor", "speaker_prefixes", "speaker_prefixes: 'Jane=doctor' is not 'Label=role' with a role of therapist, patient, other"),
    ],
)  # fmt: skip
def test_each_manifest_rule_is_reported_with_line_and_column(columns, values, field, message):
    [issue] = manifest_problems(f"file,case,session_number{columns}\n{values}\n")

    assert (issue.file, issue.line, issue.field, issue.message) == (
        "manifest.csv",
        2,
        field,
        message,
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("in person", "in_person"),
        ("Face-to-face", "in_person"),
        ("VIDEO", "video"),
        ("online", "video"),
        ("Telephone", "phone"),
        ("other", "other"),
    ],
)
def test_modality_is_normalised(written, expected):
    [row] = manifest(f"file,case,session_number,modality\ns1,P1,1,{written}\n")

    assert row.modality == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [("yes", True), ("Y", True), ("1", True), ("TRUE", True), ("no", False), ("0", False),
     ("false", False), ("", None)],
)  # fmt: skip
def test_psq_rupture_answers_accept_yes_no_one_zero_true_false(written, expected):
    [row] = manifest(f"file,case,session_number,psq_patient_rupture\ns1,P1,1,{written}\n")

    assert row.psq_patient_rupture is expected


@pytest.mark.parametrize(
    ("primary", "secondary", "subclass", "expected"),
    [
        ("f", "", "f1a", ("F", "", "F1a")),
        ("E", "", "e3", ("E", "", "E3")),
        ("cc", "F", "F5", ("CC", "F", "F5")),
        ("F", "E", "", ("F", "E", "")),
    ],
)
def test_aai_classifications_are_written_canonically(primary, secondary, subclass, expected):
    [row] = manifest(
        "file,case,session_number,aai_primary,aai_secondary,aai_subclass\n"
        f"s1,P1,1,{primary},{secondary},{subclass}\n"
    )

    assert (row.aai_primary, row.aai_secondary, row.aai_subclass) == expected


def test_duplicate_files_and_sessions_name_both_lines():
    issues = manifest_problems(
        "file,case,session_number\ns1.txt,P01,1\ns2.txt,P01,2\nS1.TXT,P02,1\ns3.txt,p01,2\n"
    )

    assert lines_and_messages(issues) == [
        (4, 'file "S1.TXT" is listed twice (lines 2 and 4)'),
        (5, 'case "p01" session 2 is listed twice (lines 3 and 5)'),
    ]


def test_manifest_rows_are_still_checked_when_a_column_is_unknown():
    issues = manifest_problems("file,case,session_number,notes\ns1,P1,zero,x\n")

    assert [(issue.line, issue.field) for issue in issues] == [(1, None), (2, "session_number")]


def test_the_aai_of_a_case_must_agree_across_its_sessions():
    issues = manifest_problems(
        "file,case,session_number,aai_primary,aai_subclass\n"
        "s1,P01,1,,\n"
        "s2,P01,2,F,F3\n"
        "s3,P01,3,F,\n"
        "s4,p01,4,E,E2\n"
        "s5,P02,1,E,\n"
    )

    assert lines_and_messages(issues) == [
        (
            5,
            'aai_primary: case "p01" is E here but F on line 3; the AAI classifies the person, '
            "so give one value per case",
        ),
        (
            5,
            'aai_subclass: case "p01" is E2 here but F3 on line 3; the AAI classifies the '
            "person, so give one value per case",
        ),
    ]


def test_manifest_problems_of_all_rows_are_reported_together():
    issues = manifest_problems("file,case,session_number\ns1,,1\ns2,P1,x\ns3,P1,2,extra\n")

    assert [issue.line for issue in issues] == [2, 3, 4]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the manifest is empty"), ("file,case,session_number\n", "the manifest has a header but no rows")],
)  # fmt: skip
def test_an_empty_manifest_is_refused(text, message):
    [issue] = manifest_problems(text)

    assert (issue.line, issue.message) == (None, message)


# --- robustness -------------------------------------------------------------------------------

_FUZZ_LINES = st.sampled_from(
    [
        "",
        "WEBVTT",
        "NOTE x",
        "1",
        "00:00:01.000 --> 00:00:02.000",
        "00:00:03,000 --> 00:00:01,000",
        "0:1 --> 0:2",
        "-->",
        "T: hello",
        "<v Therapist>hi",
        "<v >",
        "[00:00:05] P: yes",
        "(9:99) T: no",
        "Interviewer: x",
        "so: text",
        "speaker,text,start,end",
        "T,hi,1,2",
        'P,"open quote',
        "file,case,session_number",
        "s1,P1,1",
        "caf\u00e9 \u201cquoted\u201d",
        "\ufeff\x00",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_FUZZ_LINES, max_size=12),
    format=st.sampled_from([*FORMATS, None]),
    codec=st.sampled_from(["utf-8", "utf-16", "cp1252"]),
)
def test_any_input_is_either_read_or_refused_with_located_issues(lines, format, codec):
    try:
        content = "\n".join(lines).encode(codec)
    except UnicodeEncodeError:
        return
    for read in (
        lambda: parse_transcript("f.txt", content, format=format),
        lambda: parse_manifest("m.csv", content),
    ):
        try:
            read()
        except TranscriptImportError as error:
            assert all(issue.line is None or issue.line >= 1 for issue in error.issues)
