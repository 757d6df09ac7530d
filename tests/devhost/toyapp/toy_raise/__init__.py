import azure.durable_functions as df
import azure.functions as func


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    await client.raise_event(req.route_params["instance"], "Approval", req.get_json())
    return func.HttpResponse(status_code=202)
