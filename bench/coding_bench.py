"""Benchmark the coding page and saving codes, on PostgreSQL, in-process and under load.

Prints:
- server time to render the coding page of a 400-turn transcript (median; target <= 150 ms);
- database queries of the coding page for 40 and 400 turns (must be equal);
- server time to save one marker application (median; target <= 30 ms);
- two bounded loopback loads against gunicorn (sync workers, 2 x cores + 1), 60 s each, each
  followed by a row count that proves no write was lost:
  1. 50 coders who each save a code about every 2 seconds: p50/p95/p99 (target p95 <= 100 ms),
     errors;
  2. 50 clients saving back to back: throughput, p50/p95/p99, errors.

Usage: python bench/coding_bench.py [--seconds 60] [--clients 50]
PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/) names the server; the script creates
and drops its own database there. The load generator runs in separate processes on 127.0.0.1
only, and every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import common  # the scripts run as bench/NAME.py, so bench/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent

DB_NAME = "bench_coding_coding_platform"
PASSWORD = "bench-password-1"


TEXT = (
    "I have been thinking about what you said last week, and honestly it made me "
    "uneasy, because I do not usually ask anyone for anything. "
)


def vtt(turns: int) -> bytes:
    return common.vtt(turns, lambda i: TEXT * (1 + i % 3), length=8.0, gap=1.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- set-up and in-process measurements (run in a child process with DATABASE_URL set) ----


def setup_and_measure(clients: int, out_path: str) -> None:
    common.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.accounts.services import api_token_create
    from apps.annotations.models import MarkerApplication
    from apps.assignments.models import Purpose
    from apps.assignments.services import assignment_create
    from apps.codebooks.models import CodingSystem
    from apps.projects.models import Membership, Role
    from apps.projects.services import project_create
    from apps.transcripts.models import Transcript, Turn
    from apps.transcripts.services import transcripts_import

    call_command("migrate", verbosity=0)
    lead = User.objects.create_user(email="lead@bench.example", password=PASSWORD)
    project = project_create(name="Coding benchmark", created_by=lead, shipped_codebooks=("pacs",))
    pacs = CodingSystem.objects.get(project=project, key="pacs")
    names = [f"t{i:03d}.vtt" for i in range(clients)] + ["small.vtt"]
    files = [(n, vtt(400)) for n in names[:-1]] + [("small.vtt", vtt(40))]
    manifest = "file,case,session_number\n" + "".join(
        f"{n},{n.split('.')[0].upper()},1\n" for n in names
    )
    transcripts_import(project=project, files=files, manifest=("m.csv", manifest.encode()), by=lead)

    coders = []
    for i in range(clients):
        coder = User.objects.create_user(email=f"coder{i:02d}@bench.example", password=PASSWORD)
        Membership.objects.create(project=project, user=coder, role=Role.CODER)
        transcript = Transcript.objects.get(project=project, session__case__code=f"T{i:03d}")
        assignment = assignment_create(
            transcript=transcript,
            coding_system=pacs,
            coder=coder,
            purpose=Purpose.INDEPENDENT,
            by=lead,
        )
        patient_turns = list(
            Turn.objects.filter(transcript=transcript, speaker_role="patient")
            .order_by("position")
            .values_list("id", flat=True)
        )
        coders.append(
            {
                "token": api_token_create(user=coder, name="benchmark").key,
                "assignment": assignment.pk,
                "turns": patient_turns,
                "markers": list(pacs.markers.values_list("id", flat=True)),
            }
        )
    small = Transcript.objects.get(project=project, session__case__code="SMALL")
    first_coder = User.objects.get(email="coder00@bench.example")
    small_assignment = assignment_create(
        transcript=small,
        coding_system=pacs,
        coder=first_coder,
        purpose=Purpose.INDEPENDENT,
        by=lead,
    )

    client = Client()
    client.force_login(first_coder)
    page_url = f"/assignments/{coders[0]['assignment']}/code/"
    small_url = f"/assignments/{small_assignment.pk}/code/"
    client.get(page_url)
    render = []
    for _ in range(30):
        t = time.perf_counter()
        response = client.get(page_url)
        render.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    queries = {}
    for label, url in (("40", small_url), ("400", page_url)):
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        queries[label] = len(ctx.captured_queries)

    api = Client(HTTP_AUTHORIZATION=f"Token {coders[0]['token']}")
    saves = []
    turns, markers = coders[0]["turns"], coders[0]["markers"]
    revision = 0
    for i in range(200):
        body = {
            "marker": markers[i % len(markers)],
            "turn": turns[i // len(markers)],
            "base_revision": revision,
        }
        t = time.perf_counter()
        response = api.post(
            f"/api/assignments/{coders[0]['assignment']}/markers/",
            body,
            content_type="application/json",
        )
        saves.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 201, response.content
        revision = response.json()["revision"]
    MarkerApplication.objects.all().delete()
    from apps.assignments.models import Assignment

    Assignment.objects.update(revision=0)
    Path(out_path).write_text(
        json.dumps(
            {
                "render_ms": statistics.median(render),
                "render_p95_ms": percentile(render, 95),
                "queries": queries,
                "save_ms": statistics.median(saves),
                "save_p95_ms": percentile(saves, 95),
                "coders": coders,
            }
        )
    )


def count_rows(out_path: str) -> None:
    common.setup_django()
    from apps.annotations.models import MarkerApplication

    Path(out_path).write_text(str(MarkerApplication.objects.count()))


# --- load generation -----------------------------------------------------------------------


def client_worker(args) -> dict:
    """One process driving several coders (threads), each with its own keep-alive connection."""
    port, coders, seconds, pace, seed, part = args
    results = {"latencies": [], "ok": 0, "errors": 0, "error_samples": []}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(coder, index):
        rng = random.Random(seed * 1000 + index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # Each load codes its own half of the (marker, turn) pairs, so every acknowledged
        # save is a new row and the row count can prove that none was lost.
        combos = [(m, t) for t in coder["turns"] for m in coder["markers"]][part::2]
        rng.shuffle(combos)
        conn.request(
            "GET",
            f"/api/assignments/{coder['assignment']}/coding/",
            headers={"Authorization": f"Token {coder['token']}"},
        )
        response = conn.getresponse()
        revision = json.loads(response.read())["revision"]
        n = 0
        if pace:
            time.sleep(rng.uniform(0, pace))
        while time.monotonic() < deadline and n < len(combos):
            marker, turn = combos[n]
            n += 1
            body = json.dumps({"marker": marker, "turn": turn, "base_revision": revision})
            started = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    f"/api/assignments/{coder['assignment']}/markers/",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Token {coder['token']}",
                    },
                )
                response = conn.getresponse()
                payload = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status == 201:
                    revision = json.loads(payload)["revision"]
                    with lock:
                        results["ok"] += 1
                        results["latencies"].append(elapsed)
                else:
                    with lock:
                        results["errors"] += 1
                        if len(results["error_samples"]) < 3:
                            results["error_samples"].append(f"{response.status} {payload[:120]!r}")
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    results["errors"] += 1
                    if len(results["error_samples"]) < 3:
                        results["error_samples"].append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if pace:
                time.sleep(max(0.0, rng.uniform(pace * 0.75, pace * 1.25)))
        conn.close()

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(coders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def run_load(
    port: int, coders: list[dict], seconds: float, pace: float, processes: int, part: int
) -> dict:
    groups = [coders[i::processes] for i in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        parts = pool.map(
            client_worker, [(port, g, seconds, pace, i, part) for i, g in enumerate(groups)]
        )
    latencies = [x for p in parts for x in p["latencies"]]
    return {
        "ok": sum(p["ok"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "samples": [s for p in parts for s in p["error_samples"]][:3],
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--web-workers", type=int, default=5)
    parser.add_argument("--load-processes", type=int, default=5)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "setup":
        setup_and_measure(args.clients, args.out)
        return
    if args.child == "count":
        count_rows(args.out)
        return

    gunicorn = None
    with common.child_environment(DB_NAME) as env:
        env["CONN_MAX_AGE"] = "600"
        tmp = env["DATA_DIR"]
        try:
            out = Path(tmp) / "setup.json"
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "setup",
                    "--out",
                    str(out),
                    "--clients",
                    str(args.clients),
                ],
                env=env,
                check=True,
                cwd=ROOT,
            )
            measured = json.loads(out.read_text())
            print(
                f"coding page, 400 turns: median {measured['render_ms']:.1f} ms "
                f"(p95 {measured['render_p95_ms']:.1f} ms) - target <= 150 ms"
            )
            print(
                f"coding page queries: 40 turns -> {measured['queries']['40']}, "
                f"400 turns -> {measured['queries']['400']}"
            )
            print(
                f"save one marker application: median {measured['save_ms']:.1f} ms "
                f"(p95 {measured['save_p95_ms']:.1f} ms) - target <= 30 ms"
            )

            port = free_port()
            gunicorn = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "coding_platform.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.web_workers),
                    "--worker-class",
                    args.worker_class,
                    "--threads",
                    str(args.threads),
                    "--keep-alive",
                    "30",
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            coders = measured["coders"]
            loads = [
                (f"busy lab: {args.clients} coders, one save every ~2 s each", 2.0),
                (f"saturation: {args.clients} clients saving back to back", 0.0),
            ]
            total_ok = 0
            for part, (label, pace) in enumerate(loads):
                result = run_load(port, coders, args.seconds, pace, args.load_processes, part)
                total_ok += result["ok"]
                subprocess.run(
                    [sys.executable, __file__, "--child", "count", "--out", str(out)],
                    env=env,
                    check=True,
                    cwd=ROOT,
                )
                rows = int(out.read_text())
                throughput = result["ok"] / args.seconds
                print(
                    f"{label}: {result['ok']} saves in {args.seconds:.0f} s "
                    f"({throughput:.0f}/s), p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
                    f"p99 {result['p99']:.1f} ms, errors {result['errors']}"
                    + (f" {result['samples']}" if result["samples"] else "")
                )
                print(
                    f"  rows after the load: {rows} marker applications, {total_ok} saves "
                    f"acknowledged -> {'no write lost' if rows == total_ok else 'MISMATCH'}"
                )
        finally:
            if gunicorn is not None:
                os.killpg(gunicorn.pid, signal.SIGTERM)
                gunicorn.wait(timeout=30)


if __name__ == "__main__":
    main()
