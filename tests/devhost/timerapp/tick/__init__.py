import uuid

import azure.durable_functions as df
import azure.functions as func


async def main(timer: func.TimerRequest, starter: str) -> None:
    """Record each run as an orchestration instance ``tick-...`` holding what the timer saw."""
    client = df.DurableOrchestrationClient(starter)
    record = {"pastDue": timer.past_due, "scheduleStatus": timer.schedule_status}
    await client.start_new("timer_record", f"tick-{uuid.uuid4().hex}", record)
