import azure.durable_functions as df


def orchestrator(context: df.DurableOrchestrationContext):
    return context.get_input()


main = df.Orchestrator.create(orchestrator)
