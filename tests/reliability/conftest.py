"""Fixtures for reliability tests: a broker that is down."""

from __future__ import annotations

import socket

import pytest
from celery import Celery

from coding_platform.celery import app as default_app


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def broker_down():
    """A real Celery app whose Redis broker is a closed port, current while the test runs.

    Tasks are sent through the current app, so sending in this window meets a broker that
    refuses connections, as when Redis is down; the default app is current again afterwards.
    """
    down = Celery("broker-down", set_as_current=False)
    down.config_from_object("django.conf:settings", namespace="CELERY")
    down.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/3"
    down.conf.task_always_eager = False
    down.autodiscover_tasks()
    down.set_current()
    yield down
    default_app.set_current()
    down.close()
