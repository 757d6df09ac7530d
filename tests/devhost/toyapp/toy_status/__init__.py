import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    status = await client.get_status(req.route_params["instance"])
    body = {
        "exists": bool(status),
        "runtimeStatus": status.runtime_status.value if status else None,
        "output": status.output if status else None,
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
