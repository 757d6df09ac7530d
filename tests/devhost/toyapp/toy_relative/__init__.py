import azure.functions as func

from ..toyshared.greeting import greet


def main(req: func.HttpRequest) -> str:
    return greet(req.params.get("name", "nobody")) + f" from {__name__}"
