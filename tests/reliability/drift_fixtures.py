"""A small dated study for the drift tests, built through the real imports.

Six sessions of four turns (therapist, patient, therapist, patient), so each marker has two
units per session, the patient turns t2 and t4; two markers m01, m02 give four
(marker, unit) pairs per session. Coder A (coder_a, Ada Coder) and coder B (coder_b, Ben
Coder) code them all; the lead codes a consensus of K04 and K05. Marker occurrence (the
markers each applied) and classification (o open, c closed):

    session  date        A                    B              A  B   consensus
    K01      2026-01-05  m01t2 m01t4 m02t2    m01t2 m01t4    o  o
    K02      2026-01-20  m01t2                m01t2 m01t4    o  c
    K03      2026-01-28  m01t2                m01t2          c  c
    K04      2026-02-03  m01t2 m01t4          m01t2 m02t2    o  o   m01t2 m01t4, o
    K05      2026-02-17  m01t2                m01t2 m01t4    c  c   m01t2 m02t2, c
    K06      (no date)   m01t2                m02t4          o  c

AAI (for the criterion tests): K01 F, K02 Ds, K03 Ds, K04 F, K05 Ds, K06 F.
"""

from __future__ import annotations

from apps.annotations.importer import codings_import_csv
from apps.codebooks.services import coding_system_import_file
from apps.transcripts.models import Case
from apps.transcripts.services import case_update, transcripts_import

CODEBOOK = """\
format: coding-platform/codebook
format_version: 1
key: drift
name: Drift test codebook
version: "1"
source: Built for the tests.
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
  - code: m02
    number: 2
    name: Discloses distress
    scale: seeking
    unit: patient_turn
classifications:
  - code: style
    name: Style
    required: false
    categories:
      - code: open
        name: Open
      - code: closed
        name: Closed
"""

DATES = ["2026-01-05", "2026-01-20", "2026-01-28", "2026-02-03", "2026-02-17", ""]
AAI = ["F", "Ds", "Ds", "F", "Ds", "F"]
A = "coder.a@example.org"
B = "coder.b@example.org"
LEAD = "lead@example.org"
# (case, coder, markers as "m01t2", classification, purpose)
CODINGS = [
    ("K01", A, "m01t2 m01t4 m02t2", "open", "independent"),
    ("K01", B, "m01t2 m01t4", "open", "independent"),
    ("K02", A, "m01t2", "open", "independent"),
    ("K02", B, "m01t2 m01t4", "closed", "independent"),
    ("K03", A, "m01t2", "closed", "independent"),
    ("K03", B, "m01t2", "closed", "independent"),
    ("K04", A, "m01t2 m01t4", "open", "independent"),
    ("K04", B, "m01t2 m02t2", "open", "independent"),
    ("K05", A, "m01t2", "closed", "independent"),
    ("K05", B, "m01t2 m01t4", "closed", "independent"),
    ("K06", A, "m01t2", "open", "independent"),
    ("K06", B, "m02t4", "closed", "independent"),
    ("K04", LEAD, "m01t2 m01t4", "open", "consensus"),
    ("K05", LEAD, "m01t2 m02t2", "closed", "consensus"),
]
TEXT = b"T: How are you?\nP: I need some help.\nT: Tell me more.\nP: It has been hard.\n"


def build_drift_study(project, lead, *, with_aai: bool = False):
    """The study above in `project` (whose cast includes coder_a, coder_b and the lead)."""
    system = coding_system_import_file(
        project=project, filename="drift.yaml", content=CODEBOOK.encode(), by=lead
    )
    files, manifest = [], ["file,case,session_number,date"]
    for i, day in enumerate(DATES):
        files.append((f"k{i + 1}.txt", TEXT))
        manifest.append(f"k{i + 1}.txt,K0{i + 1},1,{day}")
    transcripts_import(
        project=project, files=files, manifest=("m.csv", "\n".join(manifest).encode()), by=lead
    )
    if with_aai:
        for i, label in enumerate(AAI):
            case_update(
                case=Case.objects.get(project=project, code=f"K0{i + 1}"), aai_primary=label
            )
    rows = ["case,session,coder,coding_system,kind,unit,item,value,note,purpose"]
    for case, coder, markers, category, purpose in CODINGS:
        for unit in markers.split():
            marker, turn = unit[:3], unit[4:]
            rows.append(f"{case},1,{coder},drift:1,marker,turn:{turn},{marker},,,{purpose}")
        rows.append(f"{case},1,{coder},drift:1,classification,,style,{category},,{purpose}")
    codings_import_csv(
        project=project, filename="codings.csv", content="\n".join(rows).encode(), by=lead
    )
    return system
