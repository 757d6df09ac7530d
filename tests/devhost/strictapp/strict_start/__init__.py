import json

import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    try:
        instance_id = await client.start_new(
            "strict_wait", req.route_params["instance"], req.get_json()
        )
    except Exception as error:
        return func.HttpResponse(str(error), status_code=409)
    return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202)
