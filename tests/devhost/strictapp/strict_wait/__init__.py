import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    event = yield context.wait_for_external_event("Go")
    return {"input": context.get_input(), "event": event}


main = df.Orchestrator.create(orchestrator)
