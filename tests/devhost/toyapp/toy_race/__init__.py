from datetime import timedelta

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(milliseconds=context.get_input()["ms"])
    timeout = context.create_timer(deadline)
    event = context.wait_for_external_event("Go")
    context.set_custom_status("racing")
    winner = yield context.task_any([timeout, event])
    if winner == event:
        timeout.cancel()
        return {"winner": "event", "value": event.result}
    return {"winner": "timer"}


main = df.Orchestrator.create(orchestrator)
