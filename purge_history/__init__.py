"""Timer function (daily, 03:30 UTC): purge the flushes older than the retention period."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from shared.history import purge_finished
from shared.settings import load_settings

logger = logging.getLogger(__name__)


async def main(timer: func.TimerRequest, starter: str) -> None:
    """Purge completed, failed and terminated flushes created before `HISTORY_RETENTION_DAYS`."""
    if timer.past_due:
        logger.info("The history purge is running late")
    retention = timedelta(days=load_settings().history_retention_days)
    purged = await purge_finished(
        df.DurableOrchestrationClient(starter), retention, datetime.now(UTC)
    )
    logger.info("Purged %d finished flush(es) older than %s", purged, retention)
