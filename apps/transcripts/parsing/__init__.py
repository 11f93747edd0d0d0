"""Pure readers for transcript files and session manifests (no Django imports).

Modules: common (issues, decoding, times, speaker prefixes, CSV), turns (what a transcript
reads into, and the checks all formats share), readers (one per format), transcript (format
detection and parse_transcript), manifest (parse_manifest). Callers import from here.
See docs/transcript-formats.md.
"""

from .common import (
    DEFAULT_SPEAKER_PREFIXES,
    MAX_MANIFEST_BYTES,
    MAX_TRANSCRIPT_BYTES,
    MAX_TURNS,
    SPEAKER_ROLES,
    ImportIssue,
    SpeakerMap,
    TranscriptImportError,
    decode_bytes,
    normalise_case_code,
    parse_seconds,
)
from .manifest import (
    AAI_CLASSES,
    AAI_ORGANISED_CLASSES,
    MANIFEST_COLUMNS,
    MODALITIES,
    REQUIRED_MANIFEST_COLUMNS,
    ManifestRow,
    parse_manifest,
)
from .readers import MAX_DOCX_EXPANDED_BYTES
from .transcript import FORMATS, detect_format, parse_transcript
from .turns import ParsedTranscript, ParsedTurn

__all__ = [
    "AAI_CLASSES",
    "AAI_ORGANISED_CLASSES",
    "DEFAULT_SPEAKER_PREFIXES",
    "FORMATS",
    "MAX_DOCX_EXPANDED_BYTES",
    "MANIFEST_COLUMNS",
    "MAX_MANIFEST_BYTES",
    "MAX_TRANSCRIPT_BYTES",
    "MAX_TURNS",
    "MODALITIES",
    "REQUIRED_MANIFEST_COLUMNS",
    "SPEAKER_ROLES",
    "ImportIssue",
    "ManifestRow",
    "ParsedTranscript",
    "ParsedTurn",
    "SpeakerMap",
    "TranscriptImportError",
    "decode_bytes",
    "detect_format",
    "normalise_case_code",
    "parse_manifest",
    "parse_seconds",
    "parse_transcript",
]
