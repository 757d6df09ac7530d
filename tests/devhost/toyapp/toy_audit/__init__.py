import logging

import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    if not context.is_replaying:
        logging.info("audit %s", context.instance_id)
    first = yield context.call_activity("toy_double", 1)
    second = yield context.call_activity("toy_double", first)
    return second


main = df.Orchestrator.create(orchestrator)
