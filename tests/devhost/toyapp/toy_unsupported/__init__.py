import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("toy_flow", {"n": 1})
    return result


main = df.Orchestrator.create(orchestrator)
