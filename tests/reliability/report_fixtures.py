"""Build projects whose submitted codings reproduce published worked examples.

The codings go in through the real codings CSV import, so a report over them exercises the
whole path: database rows, the dataset loader, the statistics and the stored results.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from apps.annotations.importer import codings_import_csv
from apps.codebooks.services import coding_system_import_file
from apps.projects.models import Membership, Role
from apps.projects.services import project_create
from apps.transcripts.services import transcripts_import
from tests.reliability.reference_cases import cases

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: worked-examples
name: Worked examples
version: "1"
source: Built for the tests from published worked examples.
licence: CC0-1.0
scales:
  - code: seeking
    name: Seeking
markers:
  - code: m01
    number: 1
    name: Asks for help
    scale: seeking
    unit: patient_turn
rating_items:
  - code: score
    name: Score
    level: session
    min: 1
    max: 10
    required: false
classifications:
  - code: klass
    name: Class
    required: false
    categories:
      - code: v
        name: V
      - code: n
        name: N
      - code: p
        name: P
"""


def reference_case(case_id: str) -> dict:
    return cases()[case_id]


def expected(case: dict, quantity: str) -> tuple[float, float]:
    row = next(e for e in case["expected"] if e["quantity"] == quantity)
    return row["value"], row["tol"]


def make_project(n_sessions: int, coders: list[str]):
    """A project with `n_sessions` two-turn transcripts and the given coders."""
    User = get_user_model()
    lead = User.objects.create_user(email="lead.reports@example.org", password="pw-for-tests-1")
    project = project_create(name="Worked examples", created_by=lead)
    users = []
    for email in coders:
        user = User.objects.create_user(email=email, password="pw-for-tests-1")
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        users.append(user)
    system = coding_system_import_file(
        project=project, filename="worked.yaml", content=CODEBOOK.encode(), by=lead
    )
    files, rows = [], ["file,case,session_number"]
    for i in range(n_sessions):
        name = f"s{i:03d}.txt"
        files.append((name, b"T: How are you?\nP: I need some help with this.\n"))
        rows.append(f"{name},K{i:03d},1")
    transcripts_import(
        project=project, files=files, manifest=("m.csv", "\n".join(rows).encode()), by=lead
    )
    return project, system, lead, users


def import_rows(project, lead, rows: list[str]) -> None:
    header = "case,session,coder,coding_system,kind,unit,item,value,note\n"
    codings_import_csv(
        project=project,
        filename="codings.csv",
        content=(header + "\n".join(rows) + "\n").encode(),
        by=lead,
    )


def classification_rows(table: list[list[int]], categories: list[str], coders: list[str]):
    """One session per unit of a contingency table: coder 1 the row, coder 2 the column."""
    rows, session = [], 0
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            for _ in range(count):
                case = f"K{session:03d}"
                rows.append(
                    f"{case},1,{coders[0]},worked-examples:1,classification,,klass,{categories[i]},"
                )
                rows.append(
                    f"{case},1,{coders[1]},worked-examples:1,classification,,klass,{categories[j]},"
                )
                session += 1
    return rows, session


def rating_rows(matrix: list[list[int]], coders: list[str]) -> list[str]:
    return [
        f"K{s:03d},1,{coders[c]},worked-examples:1,rating,,score,{value},"
        for s, row in enumerate(matrix)
        for c, value in enumerate(row)
    ]
