import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("toy_double", 1)
    raise ValueError(f"orchestrator broke after {first}")


main = df.Orchestrator.create(orchestrator)
