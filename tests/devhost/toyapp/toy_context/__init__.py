import azure.functions as func


def main(req: func.HttpRequest, context: func.Context) -> str:
    return f"{context.function_name}|{context.invocation_id}"
