"""What the benchmark scripts share: WebVTT test transcripts, Django set-up, a fresh database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clock(seconds: float) -> str:
    """A WebVTT time stamp."""
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def vtt(turns: int, text: Callable[[int], str], *, length: float, gap: float) -> bytes:
    """A transcript of alternating therapist and patient cues; `text(i)` is turn i's words."""
    lines = ["WEBVTT", ""]
    t = 0.0
    for i in range(turns):
        speaker = "Therapist" if i % 2 == 0 else "Patient"
        lines += [f"{clock(t)} --> {clock(t + length)}", f"<v {speaker}>{text(i)}", ""]
        t += length + gap
    return "\n".join(lines).encode()


def setup_django() -> None:
    """Set up Django in a benchmark's child process (DATABASE_URL comes from its parent)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_platform.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()


def _psql(server: str, sql: str, *, check: bool = True) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-q", "-c", sql], check=check)


@contextmanager
def child_environment(database: str | None) -> Iterator[dict[str, str]]:
    """Environment for the child processes: a temporary DATA_DIR, no Redis, a SECRET_KEY, and
    with a name, a fresh PostgreSQL database on PG_BENCH_URL that is dropped afterwards (unless
    BENCH_KEEP_DB is set); without one, the default SQLite file in DATA_DIR."""
    server = os.environ.get("PG_BENCH_URL", "postgres://postgres@127.0.0.1:5432/").rstrip("/")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # DEBUG stays off (as in production), which needs a real key: one per run, shared by the
    # children so that they accept each other's sessions.
    env.setdefault("SECRET_KEY", f"bench-only-{secrets.token_urlsafe(48)}")
    if database:
        _psql(server, f"DROP DATABASE IF EXISTS {database}")
        _psql(server, f"CREATE DATABASE {database}")
        env["DATABASE_URL"] = f"{server}/{database}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env["DATA_DIR"] = tmp
            yield env
    finally:
        if database and not os.environ.get("BENCH_KEEP_DB"):
            _psql(server, f"DROP DATABASE IF EXISTS {database}", check=False)
