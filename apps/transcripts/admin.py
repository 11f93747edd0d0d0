from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.transcripts.models import Case, ImportBatch, Recording, Segment, Session, Transcript


@admin.register(Case)
class CaseAdmin(SimpleHistoryAdmin):
    list_display = ["code", "project", "aai_primary", "aai_secondary", "aai_subclass"]
    list_filter = ["project", "aai_primary"]
    search_fields = ["code"]


@admin.register(Session)
class SessionAdmin(SimpleHistoryAdmin):
    list_display = ["case", "number", "date", "modality", "therapist", "site", "project"]
    list_filter = ["project", "modality", "site", "therapist"]
    search_fields = ["case__code", "therapist"]


@admin.register(Transcript)
class TranscriptAdmin(admin.ModelAdmin):
    list_display = ["session", "project", "turn_count", "source_format", "has_timestamps"]
    list_filter = ["project", "source_format", "has_timestamps"]
    search_fields = ["session__case__code", "source_name"]
    # Turns are clinical text: shown on the session page to members, not edited here.
    readonly_fields = ["source_name", "source_format", "source_encoding", "turn_count"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["transcript", "length_seconds", "index", "start_seconds", "end_seconds"]
    list_filter = ["length_seconds"]


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ["session", "content_type", "size", "uploaded_at"]
    search_fields = ["session__case__code"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "state", "created_by", "created_at", "committed_at"]
    list_filter = ["state", "project"]
