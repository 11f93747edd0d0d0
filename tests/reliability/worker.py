"""Start and stop a real `celery worker` process against the test database.

Used by the tests marked `worker` (CI's second pass: DATABASE_URL and REDIS_URL set). The
worker is a separate process, so what it reads is what the test committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from apps.reliability.models import ReliabilityReport, ReportState

ROOT = Path(__file__).resolve().parents[2]


def start_worker(name: str = "w1", env: dict[str, str] | None = None) -> subprocess.Popen:
    """A solo-pool worker named `name`, ready (answering pings) when this returns."""
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.fail(
            "worker tests need PostgreSQL and Redis: set DATABASE_URL=postgres://... and "
            "REDIS_URL=redis://... (as .ci/run does)"
        )
    db = connection.settings_dict
    process_env = dict(os.environ)
    process_env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    process_env["RELIABILITY_DEBOUNCE_SECONDS"] = "0"
    process_env.update(env or {})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "coding_platform",
            "worker",
            "--pool=solo",
            f"--hostname={name}@%h",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    from coding_platform.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the Celery worker exited:\n" + process.stdout.read())
        replies = app.control.ping(timeout=1.0)
        if any(name in node for reply in replies for node in reply):
            return process
    process.terminate()
    pytest.fail(f"the Celery worker {name} did not answer within 60 s")


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


def wait_for(report_id: int, condition, timeout: float = 90, what: str = "") -> ReliabilityReport:
    """Poll the report row until `condition(report)` holds."""
    deadline = time.monotonic() + timeout
    report = None
    while time.monotonic() < deadline:
        report = ReliabilityReport.objects.get(pk=report_id)
        if condition(report):
            return report
        time.sleep(0.05)
    state = report.state if report else "missing"
    pytest.fail(f"report {report_id} still {state} after {timeout} s, waiting for {what}")


def wait_finished(report_id: int, timeout: float = 90) -> ReliabilityReport:
    return wait_for(
        report_id,
        lambda r: r.state in (ReportState.DONE, ReportState.FAILED),
        timeout,
        "done or failed",
    )
