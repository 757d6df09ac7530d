import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    event = yield context.wait_for_external_event("Approval")
    context.set_custom_status("approved")
    return {"input": context.get_input(), "event": event}


main = df.Orchestrator.create(orchestrator)
