import azure.durable_functions as df


async def main(payload: str, starter: str) -> dict:
    client = df.DurableOrchestrationClient(starter)
    status = await client.get_status(payload)
    return {"runtimeStatus": status.runtime_status.value, "instanceId": status.instance_id}
