import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(job["interval"], job["attempts"])
    tasks = [context.call_activity_with_retry("toy_flaky", options, s) for s in job["specs"]]
    tasks.append(context.call_activity("toy_double", 21))
    results = yield context.task_all(tasks)
    after = yield context.call_activity("toy_double", len(results))
    return {"results": results, "after": after}


main = df.Orchestrator.create(orchestrator)
