"""Releases made under the old per-assignment rule are not carried over: they were made
without checking that every independent coding was submitted, so the new rule starts blind
and a coordinator releases again. What the old releases may have shown is kept: every coding
of a transcript and coding system that had a released coding is marked unblinded from the
first such release, so a coding submitted after it is no longer counted as independent.
"""

from django.db import migrations
from django.db.models import Min


def mark_unblinded(apps, schema_editor):
    Assignment = apps.get_model("assignments", "Assignment")
    first_release = (
        Assignment.objects.filter(released_at__isnull=False)
        .values("transcript_id", "coding_system_id")
        .annotate(first=Min("released_at"))
    )
    for group in first_release:
        Assignment.objects.filter(
            transcript_id=group["transcript_id"],
            coding_system_id=group["coding_system_id"],
            unblinded_at__isnull=True,
        ).update(unblinded_at=group["first"])


class Migration(migrations.Migration):
    dependencies = [("assignments", "0002_release_events")]

    operations = [migrations.RunPython(mark_unblinded, migrations.RunPython.noop)]
