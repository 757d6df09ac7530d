import json
from datetime import datetime

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus


def _time(value):
    return datetime.fromisoformat(value) if value else None


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    statuses = req.params.get("status")
    found = await client.get_status_by(
        created_time_from=_time(req.params.get("from")),
        created_time_to=_time(req.params.get("to")),
        runtime_status=[OrchestrationRuntimeStatus(s) for s in statuses.split(",")]
        if statuses
        else None,
        instance_id_prefix=req.params.get("prefix"),
    )
    body = [
        {
            "instanceId": status.instance_id,
            "runtimeStatus": status.runtime_status.value,
            "input": status.input_,
            "customStatus": status.custom_status,
            "createdTime": status.created_time.isoformat(),
        }
        for status in found
    ]
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
