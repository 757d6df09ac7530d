import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("toy_double", context.get_input()["n"])
    context.set_custom_status({"stage": "fan-out", "first": first})
    rest = yield context.task_all(
        [context.call_activity("toy_double", first + i) for i in range(3)]
    )
    return {"first": first, "rest": rest}


main = df.Orchestrator.create(orchestrator)
