from datetime import timedelta

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    """Race an event against a timer; after the event, wait `after_ms` and call an activity."""
    settings = context.get_input()
    deadline = context.current_utc_datetime + timedelta(milliseconds=settings["ms"])
    timeout = context.create_timer(deadline)
    event = context.wait_for_external_event("Go")
    context.set_custom_status("racing")
    winner = yield context.task_any([event, timeout])
    if winner is timeout:
        return {"winner": "timer"}
    timeout.cancel()
    context.set_custom_status("after")
    pause = timedelta(milliseconds=settings.get("after_ms", 0))
    yield context.create_timer(context.current_utc_datetime + pause)
    doubled = yield context.call_activity("toy_double", 21)
    return {"winner": "event", "value": event.result, "doubled": doubled}


main = df.Orchestrator.create(orchestrator)
