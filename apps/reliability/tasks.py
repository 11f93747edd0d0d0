"""Background jobs for reliability reports."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError, InterfaceError
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(DatabaseError, InterfaceError, BrokerError),
    retry_backoff=True,
    max_retries=5,
)
def report_compute_task(self, report_id: int) -> None:
    """Compute one reliability report; safe to run twice (a finished report is left alone)."""
    from apps.reliability.services import report_compute

    report_compute(report_id=report_id)
