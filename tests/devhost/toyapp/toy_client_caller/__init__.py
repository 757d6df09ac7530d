import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("toy_client_activity", context.instance_id)
    return result


main = df.Orchestrator.create(orchestrator)
