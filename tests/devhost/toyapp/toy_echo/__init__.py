import json

import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "url": req.url,
        "params": dict(req.params),
        "route": dict(req.route_params),
        "body": req.get_body().decode("utf-8"),
        "x_test": req.headers.get("X-Test"),
        "content_type": req.headers.get("content-type"),
    }
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
