"""Store every case id in normal form (NFKC, no invisible characters, trimmed).

Ids that differ only by invisible characters or look-alike forms ('C-101' and 'C-101' with a
zero-width space) name one patient. If two cases of one project collapse into the same id,
the migration stops and names them: which one is right is a decision for the study's lead
(rename or merge the cases in the admin), never a guess made here.
"""

import unicodedata

from django.db import migrations

# Frozen copy of apps.transcripts.parsing.normalise_case_code at the time of this migration.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def _normal(code: str) -> str:
    return unicodedata.normalize("NFKC", code).translate(_INVISIBLE).strip()


class CaseIdCollision(RuntimeError):
    """Two cases of one project would get the same id (or an id would get too long)."""


def normalise_case_codes(apps, schema_editor):
    Case = apps.get_model("transcripts", "Case")
    by_key: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for pk, project_id, code in Case.objects.values_list("pk", "project_id", "code").iterator():
        by_key.setdefault((project_id, _normal(code)), []).append((pk, code))
    collisions = [
        f"project {project_id}: cases {', '.join(f'{pk} ({code!r})' for pk, code in cases)} "
        f"all become {normal!r}"
        for (project_id, normal), cases in by_key.items()
        if len(cases) > 1
    ]
    collisions += [
        f"project {project_id}: case {cases[0][0]} ({cases[0][1]!r}) becomes {normal!r}, over "
        "60 characters"
        for (project_id, normal), cases in by_key.items()
        if len(normal) > 60
    ]
    if collisions:
        raise CaseIdCollision(
            "Case ids that differ only by invisible characters or look-alike forms name one "
            "patient, so they cannot stay two cases. Rename or merge these in the admin, then "
            "migrate again:\n" + "\n".join(collisions)
        )
    for (_project_id, normal), [(pk, code)] in by_key.items():
        if normal != code:
            Case.objects.filter(pk=pk).update(code=normal)


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0001_initial")]

    operations = [
        migrations.RunPython(normalise_case_codes, migrations.RunPython.noop, elidable=False),
    ]
