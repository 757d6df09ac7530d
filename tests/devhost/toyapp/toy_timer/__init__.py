from datetime import timedelta

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    delay = timedelta(milliseconds=context.get_input()["ms"])
    yield context.create_timer(started + delay)
    elapsed = context.current_utc_datetime - started
    return {"fired": True, "elapsed_ms": elapsed.total_seconds() * 1000}


main = df.Orchestrator.create(orchestrator)
