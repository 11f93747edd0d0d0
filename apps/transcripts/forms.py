"""Forms of the transcript pages: bulk import and its preview, one session's files."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented recipe); an empty list when none."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return super().clean(None, initial) or []
        uploads = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(upload, initial) for upload in uploads]


class SpeakerPrefixesField(forms.CharField):
    """'T=therapist, P=patient' read into a prefix map; empty keeps the defaults (None)."""

    def to_python(self, value) -> dict[str, str] | None:
        raw = (super().to_python(value) or "").strip()
        if not raw:
            return None
        mapping = {}
        for part in raw.replace("\n", ",").split(","):
            if not part.strip():
                continue
            prefix, _, role = part.partition("=")
            if not prefix.strip() or not role.strip():
                raise ValidationError(
                    "Write speaker prefixes as PREFIX=role, e.g. T=therapist (got %(part)s).",
                    params={"part": repr(part.strip())},
                )
            mapping[prefix.strip()] = role.strip().lower()
        return mapping


class ImportUploadForm(forms.Form):
    files = MultipleFileField(required=False, label="Transcript files")
    manifest = forms.FileField(
        error_messages={"required": "Choose the manifest CSV that describes the files."}
    )
    speaker_prefixes = SpeakerPrefixesField(required=False, max_length=2000)


class ImportPreviewForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("commit", "Import all"), ("discard", "Discard")],
        error_messages={"required": "Choose to import all or to discard."},
    )


class RecordingUploadForm(forms.Form):
    file = forms.FileField(error_messages={"required": "Choose an audio or video file."})


class TranscriptUploadForm(forms.Form):
    file = forms.FileField(error_messages={"required": "Choose a transcript file."})
    speaker_prefixes = SpeakerPrefixesField(required=False, max_length=2000)
