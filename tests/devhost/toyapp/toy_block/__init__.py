import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("toy_blocker", context.get_input())
    return result


main = df.Orchestrator.create(orchestrator)
