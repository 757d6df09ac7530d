import json
from datetime import datetime

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    instance_id = req.params.get("id")
    if instance_id:
        result = await client.purge_instance_history(instance_id)
    else:
        statuses = req.params.get("status")
        result = await client.purge_instance_history_by(
            created_time_from=datetime.fromisoformat(req.params["from"]),
            created_time_to=datetime.fromisoformat(req.params["to"]),
            runtime_status=[OrchestrationRuntimeStatus(s) for s in statuses.split(",")]
            if statuses
            else None,
        )
    body = {"instancesDeleted": result.instances_deleted}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
