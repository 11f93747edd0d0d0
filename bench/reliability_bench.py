"""Benchmark the reliability engine on a PACS-sized synthetic project, all in one run.

2,000 sessions x 150 patient turns x 3 coders x 59 markers (~53 million unit-marker
judgements). Prints:
1. the full agreement battery on the arrays vs. the anchor libraries (krippendorff,
   statsmodels) called once per marker on the same arrays: both times, the ratio and the
   largest difference (ours must be at least as fast, with equal values);
2. the report task end to end on PostgreSQL (database to stored results) vs. reading the same
   codings from the database in one query (target: at most 3x);
3. peak memory of each part.

Usage: python bench/reliability_bench.py [--sessions 2000] [--turns 150] [--skip-libraries]
PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/) names the server; the script creates
and drops its own database there. The per-marker library side takes several minutes at full
size (that is the point of the comparison).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import common  # the scripts run as bench/NAME.py, so bench/ is on sys.path
import numpy as np

ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(ROOT))

DB_NAME = "bench_reliability_coding_platform"
N_CODERS, N_MARKERS, SEED = 3, 59, 20261127


def part_arrays(codes: np.ndarray, skip_libraries: bool) -> None:
    from reliability_stats_bench import library_battery

    from apps.reliability.stats import agreement_battery

    tracemalloc.start()
    t = time.perf_counter()
    ours = agreement_battery(codes, n_categories=2)
    ours_s = time.perf_counter() - t
    ours_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        f"[arrays] our battery, all {codes.shape[0]} markers in one call: {ours_s:.2f} s, "
        f"peak {ours_peak:.0f} MB (tracemalloc)"
    )
    if skip_libraries:
        return
    tracemalloc.start()
    t = time.perf_counter()
    theirs = library_battery(codes)
    theirs_s = time.perf_counter() - t
    theirs_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    diffs = {
        name: float(np.nanmax(np.abs(ours[name].value - reference)))
        for name, reference in theirs.items()
    }
    print(
        f"[arrays] krippendorff + statsmodels, once per marker: {theirs_s:.1f} s, "
        f"peak {theirs_peak:.0f} MB"
    )
    print(
        f"[arrays] ours is {theirs_s / ours_s:,.0f}x faster; largest difference "
        f"{max(diffs.values()):.2e} ({', '.join(f'{k} {v:.1e}' for k, v in diffs.items())})"
    )


# --- the database part, in a child process with DATABASE_URL set -------------------------


def build_project(sessions: int, turns: int) -> dict:
    """Write the synthetic project with COPY (set-up speed is not what is measured)."""
    common.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from reliability_stats_bench import synthetic_codes

    from apps.accounts.models import User
    from apps.assignments.models import Assignment
    from apps.codebooks.format import CodebookSpec, MarkerSpec, ScaleSpec
    from apps.codebooks.services import coding_system_import
    from apps.projects.models import Membership, Role
    from apps.projects.services import project_create
    from apps.transcripts.models import Case, Session, Transcript

    call_command("migrate", verbosity=0)
    lead = User.objects.create_user(email="lead@bench.example", password="bench-password-1")
    project = project_create(name="Reliability benchmark", created_by=lead)
    bounds = [(0, 10), (10, 15), (15, 24), (24, 40), (40, 59)]
    names = ["proximity", "contact", "exploring", "avoidance", "resistance"]
    spec = CodebookSpec(
        key="pacs-full",
        name="PACS (synthetic 59 markers)",
        version="bench",
        source="synthetic",
        licence="synthetic",
        scales=[ScaleSpec(code=n, name=n.title()) for n in names],
        markers=[
            MarkerSpec(
                code=f"m{i + 1:02d}",
                number=i + 1,
                name=f"Marker {i + 1}",
                scale=next(n for n, (a, b) in zip(names, bounds) if a <= i < b),
            )
            for i in range(N_MARKERS)
        ],
    )
    system = coding_system_import(project=project, spec=spec, by=lead)
    coders = []
    for c in range(N_CODERS):
        user = User.objects.create_user(email=f"coder{c}@bench.example", password="x-bench-1")
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    cases = Case.objects.bulk_create(
        Case(project=project, code=f"C{i:05d}") for i in range(sessions)
    )
    session_rows = Session.objects.bulk_create(
        Session(project=project, case=case, number=1) for case in cases
    )
    transcripts = Transcript.objects.bulk_create(
        Transcript(project=project, session=s, turn_count=turns) for s in session_rows
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY transcripts_turn (transcript_id, position, speaker_role, speaker_label, text)"
            " FROM STDIN"
        ) as copy:
            for t in transcripts:
                copy.write("".join(f"{t.pk}\t{p}\tpatient\tP\tturn {p}\n" for p in range(turns)))
    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        Assignment(
            project=project,
            transcript=t,
            coding_system=system,
            coder=c,
            purpose="independent",
            state="submitted",
            submitted_at=now,
        )
        for t in transcripts
        for c in coders
    )
    turn_ids = np.array(
        list(
            connection.cursor()
            .execute(
                "SELECT id FROM transcripts_turn WHERE transcript_id IN "
                "(SELECT id FROM transcripts_transcript WHERE project_id = %s) "
                "ORDER BY transcript_id, position",
                [project.pk],
            )
            .fetchall()
        ),
        dtype=np.int64,
    ).ravel()
    assignment_ids = np.array([a.pk for a in assignments], dtype=np.int64).reshape(
        sessions, N_CODERS
    )
    marker_ids = np.array(list(system.markers.order_by("position").values_list("id", flat=True)))
    codes = synthetic_codes(sessions, turns, N_CODERS, N_MARKERS, SEED)
    unit_session = np.repeat(np.arange(sessions), turns)
    written = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY annotations_markerapplication (assignment_id, marker_id, unit, turn_id, "
            "speaker_role, note, created_at, updated_at) FROM STDIN"
        ) as copy:
            stamp = now.isoformat()
            for m in range(N_MARKERS):
                units, coder = np.nonzero(codes[m] == 1)
                lines = io.StringIO()
                for a, turn in zip(assignment_ids[unit_session[units], coder], turn_ids[units]):
                    lines.write(
                        f"{a}\t{marker_ids[m]}\tpatient_turn\t{turn}\tpatient\t\t{stamp}\t{stamp}\n"
                    )
                copy.write(lines.getvalue())
                written += len(units)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "project": project.pk,
        "system": system.pk,
        "lead": lead.pk,
        "applications": written,
        "judgements": int(codes.size),
    }


def _django() -> None:
    common.setup_django()


def measure_one_query(info: dict) -> dict:
    """Baseline: the same codings read from the database in one query, into Python."""
    _django()
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.assignment_id, a.marker_id, a.turn_id FROM annotations_markerapplication a "
            "JOIN assignments_assignment s ON s.id = a.assignment_id "
            "WHERE s.project_id = %s AND s.coding_system_id = %s AND s.state = 'submitted' "
            "AND s.purpose = 'independent'",
            [info["project"], info["system"]],
        )
        rows = cursor.fetchall()
    return {
        "seconds": time.perf_counter() - t,
        "rows": len(rows),
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_report(info: dict) -> dict:
    """The report task's work end to end, in a process of its own (so its memory is its own)."""
    _django()
    from apps.reliability.models import ReliabilityReport
    from apps.reliability.services import report_compute

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = ReliabilityReport.objects.create(
        project_id=info["project"],
        coding_system_id=info["system"],
        parameters={"confidence": 0.95, "bootstrap": 0, "seed": 1},
    )
    t = time.perf_counter()
    report_compute(report_id=report.pk)
    seconds = time.perf_counter() - t
    report.refresh_from_db()
    assert report.state == "done", report.error
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "timings": report.timings,
        "rss_before_mb": before / 1024,
        "rss_peak_mb": peak / 1024,
        "results_kb": len(json.dumps(report.results)) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--skip-libraries", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        Path(args.out).write_text(json.dumps(build_project(args.sessions, args.turns)))
        return
    if args.child in ("report", "one-query"):
        info = json.loads(Path(args.out).read_text())
        measure = measure_report if args.child == "report" else measure_one_query
        Path(args.out + "." + args.child).write_text(json.dumps(measure(info)))
        return

    from reliability_stats_bench import synthetic_codes

    print(
        f"synthetic project: {args.sessions} sessions x {args.turns} patient turns x "
        f"{N_CODERS} coders x {N_MARKERS} markers"
    )
    codes = synthetic_codes(args.sessions, args.turns, N_CODERS, N_MARKERS, SEED)
    print(f"{codes.size:,} unit-marker judgements")
    part_arrays(codes, args.skip_libraries)
    del codes

    with common.child_environment(DB_NAME) as env:
        tmp = env["DATA_DIR"]
        out = Path(tmp) / "info.json"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "build",
                "--out",
                str(out),
                "--sessions",
                str(args.sessions),
                "--turns",
                str(args.turns),
            ],
            env=env,
            check=True,
            cwd=ROOT,
        )
        info = json.loads(out.read_text())
        print(
            f"[database] wrote {info['applications']:,} marker applications "
            f"(set-up {time.perf_counter() - t:.0f} s, not measured)"
        )
        for child in ("one-query", "report"):
            subprocess.run(
                [sys.executable, __file__, "--child", child, "--out", str(out)],
                env=env,
                check=True,
                cwd=ROOT,
            )
        q = json.loads(Path(f"{out}.one-query").read_text())
        r = json.loads(Path(f"{out}.report").read_text())
        print(
            f"[database] reading the codings in one query: {q['seconds']:.2f} s "
            f"({q['rows']:,} rows; process peak RSS {q['rss_peak_mb']:.0f} MB)"
        )
        print(
            f"[database] report task end to end (database to stored results): "
            f"{r['seconds']:.2f} s {r['timings']} -> ratio {r['seconds'] / q['seconds']:.2f}x "
            f"(target <= 3x)"
        )
        print(
            f"[database] report process peak RSS {r['rss_peak_mb']:.0f} MB "
            f"(after Django start-up {r['rss_before_mb']:.0f} MB); stored results "
            f"{r['results_kb']:.0f} KB"
        )


if __name__ == "__main__":
    main()
