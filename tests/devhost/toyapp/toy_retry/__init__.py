import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(job["interval"], job["attempts"])
    try:
        result = yield context.call_activity_with_retry("toy_flaky", options, job["spec"])
    except Exception as error:
        return {"error": str(error)}
    return {"ok": result}


main = df.Orchestrator.create(orchestrator)
