import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    """Report what the SDK made of the context devhost sent (its replay schema, timer limits)."""
    yield context.call_activity("toy_double", 1)
    return {
        "schema": context._replay_schema.name,
        "max_short_timer_s": context._maximum_short_timer_duration.total_seconds(),
        "long_timer_interval_s": context._long_timer_interval_duration.total_seconds(),
    }


main = df.Orchestrator.create(orchestrator)
