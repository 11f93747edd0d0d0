"""Celery application: the standard small setup, configured from Django settings.

Periodic work is scheduled here in code: jobs_recover (apps/jobs) every
JOBS_RECOVER_EVERY_SECONDS under `celery beat`, and once whenever a worker starts, so jobs
lost to a broker outage or a dead worker are picked up again; the drift check
(apps/reliability) every DRIFT_CHECK_EVERY_SECONDS, daily by default (docs/jobs.md).
"""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coding_platform.settings")

logger = logging.getLogger(__name__)

RECOVER_TASK = "jobs.recover"
DRIFT_CHECK_TASK = "reliability.drift_check_all"

app = Celery("coding_platform")


@app.on_after_configure.connect
def schedule_periodic_jobs(sender: Celery, **kwargs) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.JOBS_RECOVER_EVERY_SECONDS),
        sender.signature(RECOVER_TASK),
        name="jobs-recover",
    )
    sender.add_periodic_task(
        float(settings.DRIFT_CHECK_EVERY_SECONDS),
        sender.signature(DRIFT_CHECK_TASK),
        name="drift-check",
    )


@worker_ready.connect
def recover_jobs_at_worker_start(sender=None, **kwargs) -> None:
    """A worker that starts picks up what died with the last one (through its own queue)."""
    from kombu.exceptions import OperationalError

    try:
        app.send_task(RECOVER_TASK)
    except OperationalError as exc:
        logger.warning("Could not queue job recovery at worker start (%s)", type(exc).__name__)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
