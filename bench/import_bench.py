"""Benchmark: bulk transcript import, and query counts of the transcript detail endpoint.

Prints, for SQLite and for PostgreSQL (each in a fresh database of its own):
- the time to import 1,000 transcripts of 150 turns each with a manifest (target < 60 s);
- the number of queries of GET /api/transcripts/{id}/ for a 40-turn and a 400-turn
  transcript (must be equal).

Usage: python bench/import_bench.py [--backends sqlite,postgres] [--transcripts 1000]
PostgreSQL: PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/) names the server; the
script creates and drops its own database there.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import common  # the scripts run as bench/NAME.py, so bench/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent

SENTENCES = [
    "I keep thinking about what happened last week and I am not sure what to make of it.",
    "Can you say a little more about how that felt when it happened?",
    "It was like the floor went out from under me, and I just wanted someone to call.",
    "That sounds frightening, and you were on your own with it.",
    "Yes. And then I told myself it did not matter, which is what I always do.",
]


def vtt(turns: int, seed: int) -> bytes:
    return common.vtt(turns, lambda i: SENTENCES[(i + seed) % len(SENTENCES)], length=6.0, gap=1.5)


def run_backend(backend: str, n_transcripts: int, n_turns: int) -> None:
    """Run inside a fresh process whose DATABASE_URL points at a fresh database."""
    common.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.projects.services import project_create
    from apps.transcripts.models import Transcript, Turn
    from apps.transcripts.services import transcripts_import

    call_command("migrate", verbosity=0)
    lead = User.objects.create_user(email="bench@example.org", password="bench-password-1")
    project = project_create(name="Import benchmark", created_by=lead)

    files = [(f"case{i:04d}-s01.vtt", vtt(n_turns, i)) for i in range(n_transcripts)]
    manifest = "file,case,session_number,date\n" + "".join(
        f"case{i:04d}-s01.vtt,C{i:04d},1,2026-01-{(i % 28) + 1:02d}\n" for i in range(n_transcripts)
    )
    started = time.perf_counter()
    summary = transcripts_import(
        project=project, files=files, manifest=("manifest.csv", manifest.encode()), by=lead
    )
    elapsed = time.perf_counter() - started
    assert len(summary.transcripts) == n_transcripts
    assert Turn.objects.filter(transcript__project=project).count() == n_transcripts * n_turns
    print(
        f"[{backend}] bulk import: {n_transcripts} transcripts x {n_turns} turns "
        f"({n_transcripts * n_turns} turns) in {elapsed:.1f} s "
        f"({n_transcripts * n_turns / elapsed:,.0f} turns/s) - target < 60 s"
    )

    small = ("small-s01.vtt", vtt(40, 1))
    large = ("large-s01.vtt", vtt(400, 2))
    transcripts_import(
        project=project,
        files=[small, large],
        manifest=(
            "manifest.csv",
            b"file,case,session_number\nsmall-s01.vtt,SMALL,1\nlarge-s01.vtt,LARGE,1\n",
        ),
        by=lead,
    )
    client = Client()
    client.force_login(lead)
    counts = {}
    for code in ("SMALL", "LARGE"):
        transcript = Transcript.objects.get(project=project, session__case__code=code)
        client.get(f"/api/transcripts/{transcript.pk}/")  # warm caches (session, content types)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/transcripts/{transcript.pk}/")
        assert response.status_code == 200, response.status_code
        counts[transcript.turn_count] = len(ctx.captured_queries)
    print(
        f"[{backend}] transcript detail queries: 40 turns -> {counts[40]}, "
        f"400 turns -> {counts[400]} ({'equal' if counts[40] == counts[400] else 'NOT equal'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--transcripts", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_backend(args.run, args.transcripts, args.turns)
        return
    for backend in args.backends.split(","):
        database = "bench_import_coding_platform" if backend == "postgres" else None
        with common.child_environment(database) as env:
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run",
                    backend,
                    "--transcripts",
                    str(args.transcripts),
                    "--turns",
                    str(args.turns),
                ],
                env=env,
                check=True,
                cwd=common.ROOT,
            )


if __name__ == "__main__":
    main()
