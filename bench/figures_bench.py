"""Benchmark the report figures: cold render per figure, warm (stored) serve, the page's list.

Prints, for a reliability report of 59 markers in 5 scales (the full PACS) and a criterion
report of 3 coders (3-way and 2-way views, pooled and per coder):
- the cold render of each figure as SVG and PNG (rendered, stored, returned by figure_get);
- all of a report's figures rendered once (what the worker does when a job finishes);
- the warm serve of a stored figure through the whole stack (login, gatekeeper, stored
  bytes): median and 95th percentile over 200 requests;
- figure_entries(report): what the report page spends listing its figures (no rendering).

Usage: python bench/figures_bench.py [--sqlite] [--requests 200]
On PostgreSQL by default (PG_BENCH_URL, default postgres://postgres@127.0.0.1:5432/; the
script creates and drops its database cp_plots there); --sqlite uses a scratch SQLite file.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import common

ROOT = common.ROOT
DB_NAME = "cp_plots"


def stat(value, low, high, n):
    return {
        "value": value,
        "se": None,
        "ci": [low, high],
        "note": None,
        "ci_method": "wald-z",
        "n_units": n,
        "n_coders": 2,
        "unstable": None,
    }


def occurrence(markers, scales) -> dict:
    """Marker occurrence rows as compute.py stores them, with spread-out kappas and AC1s."""

    def row(i, code, name):
        kappa = round(-0.1 + (i * 0.137) % 1.0, 3)
        ac1 = round(min(0.99, kappa + 0.1), 3)
        return {
            "code": code,
            "name": name,
            "n_units": 400 + i,
            "statistics": {
                "cohen_kappa": stat(kappa, kappa - 0.12, min(1.0, kappa + 0.12), 400 + i),
                "gwet_ac1": stat(ac1, ac1 - 0.08, min(1.0, ac1 + 0.08), 400 + i),
            },
        }

    return {
        "n_units": 12000,
        "scales": [row(i, s.code, s.name) for i, s in enumerate(scales)],
        "markers": [row(i, f"m{n:02d}", f"Marker number {n} of the manual") for i, n in markers],
    }


def view(name, categories, counts, n_coders):
    return {
        "view": name,
        "categories": categories,
        "n": sum(map(sum, counts)),
        "n_coders": n_coders,
        "confusion": {"rows": "coded", "columns": "criterion", "counts": counts},
        "percent_agreement": stat(0.8, 0.78, 0.82, 2000),
        "kappa": stat(0.7, 0.67, 0.73, 2000),
        "ac1": stat(0.72, 0.69, 0.75, 2000),
        "n_excluded": 12,
        "excluded_by_reason": {"U/CC excluded": 12},
    }


def build() -> dict:
    common.setup_django()
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.codebooks.services import coding_system_install_shipped
    from apps.jobs.models import JobState
    from apps.projects.models import Membership, Role
    from apps.projects.services import project_create
    from apps.reliability.models import CriterionReport, ReliabilityReport

    call_command("migrate", verbosity=0)
    lead = User.objects.create_user(email="lead@bench.example", password="bench-password-1")
    project = project_create(name="Figures benchmark", created_by=lead)
    pacs = coding_system_install_shipped(project=project, key="pacs", by=lead)
    coders = []
    for c in range(3):
        user = User.objects.create_user(
            email=f"coder{c}@bench.example", password="x-bench-1", full_name=f"Coder {c}"
        )
        Membership.objects.create(project=project, user=user, role=Role.CODER)
        coders.append(user)
    scales = list(pacs.scales.order_by("position", "id"))
    turns = occurrence(list(enumerate(range(1, 60))), scales)
    reliability = ReliabilityReport.objects.create(
        project=project,
        coding_system=pacs,
        state=JobState.DONE,
        parameters={"confidence": 0.95},
        results={
            "parameters": {"confidence": 0.95},
            "overall": {
                "marker_occurrence": {
                    "turns": turns,
                    "segments": {"n_units": 0, "markers": [], "scales": []},
                }
            },
        },
    )
    three = ["secure", "avoidant", "preoccupied"]
    per_coder = {
        str(u.pk): {
            "three_way": view("three_way", three, [[500, 40, 20], [30, 400, 30], [25, 35, 420]], 1),
            "two_way": view("two_way", ["secure", "insecure"], [[500, 60], [55, 885]], 1),
        }
        for u in coders
    }
    criterion = CriterionReport.objects.create(
        project=project,
        coding_system=pacs,
        state=JobState.DONE,
        parameters={
            "classification": "attachment",
            "mapping": {"secure": "F", "avoidant": "Ds", "preoccupied": "E"},
            "policy": "secondary",
            "collapse": {"secure": "secure", "avoidant": "insecure", "preoccupied": "insecure"},
            "source": "coder",
            "confidence": 0.95,
        },
        results={
            "policy": "secondary",
            "n_coders": 3,
            "per_coder": per_coder,
            "pooled": {
                "three_way": view(
                    "three_way", three, [[1500, 120, 60], [90, 1200, 90], [75, 105, 1260]], 3
                ),
                "two_way": view("two_way", ["secure", "insecure"], [[1500, 180], [165, 2655]], 3),
            },
        },
    )
    return {"lead": lead, "reliability": reliability, "criterion": criterion}


def cold(report) -> float:
    """Render, store and return each figure once; print its time and file size."""
    from apps.reliability.figures import FORMATS
    from apps.reliability.selectors import figure_names
    from apps.reliability.services import figure_get

    total = 0.0
    for name, _title in figure_names(report):
        cells = []
        for fmt in FORMATS:
            t = time.perf_counter()
            figure = figure_get(report=report, name=name, fmt=fmt)
            seconds = time.perf_counter() - t
            total += seconds
            kib = len(bytes(figure.content)) / 1024
            cells.append(f"{fmt} {seconds * 1000:5.0f} ms ({kib:4.0f} KiB)")
        print(f"  cold {name:<28} " + "   ".join(cells))
    return total


def warm(client, url: str, requests: int) -> tuple[float, float]:
    client.get(url)
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, response.status_code
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def measure(requests: int) -> None:
    common.setup_django()
    from django.db import connection
    from django.test import Client

    from apps.reliability.models import ReportFigure
    from apps.reliability.selectors import figure_entries
    from apps.reliability.services import report_figures_render

    built = build()
    client = Client()
    client.force_login(built["lead"])
    print(f"database: {connection.vendor}")
    for kind in ("reliability", "criterion"):
        report = built[kind]
        label = (
            "reliability report, 59 markers in 5 scales"
            if kind == "reliability"
            else "criterion report, 3 coders, 3-way and 2-way"
        )
        print(f"{label}:")
        figure_entries(report)  # the first call in a process also loads the URL patterns
        t = time.perf_counter()
        entries = figure_entries(report)
        listing = time.perf_counter() - t
        total = cold(report)
        print(f"  all {len(entries)} figures cold, SVG and PNG: {total:.2f} s")
        ReportFigure.objects.all().delete()
        t = time.perf_counter()
        made = report_figures_render(kind=kind, report_id=report.pk)
        print(f"  pre-render (worker, {made} files): {time.perf_counter() - t:.2f} s")
        for fmt in ("svg", "png"):
            median, p95 = warm(client, entries[0][f"src_{fmt}"], requests)
            print(
                f"  warm serve {entries[0]['name']}.{fmt}: median {median * 1000:.1f} ms, "
                f"p95 {p95 * 1000:.1f} ms ({requests} requests through the whole stack)"
            )
        print(f"  figure_entries (the page's list, no rendering): {listing * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="a scratch SQLite file")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.requests)
        return
    with common.child_environment(None if args.sqlite else DB_NAME) as env:
        subprocess.run(
            [sys.executable, __file__, "--child", "--requests", str(args.requests)],
            env=env,
            check=True,
            cwd=ROOT,
        )


if __name__ == "__main__":
    main()
