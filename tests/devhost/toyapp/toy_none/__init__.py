import azure.functions as func


def main(req: func.HttpRequest):  # the worker refuses "-> None" with an http $return binding
    return None
