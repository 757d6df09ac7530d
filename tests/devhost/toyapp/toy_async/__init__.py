import asyncio
import threading

import azure.functions as func


async def main(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    return func.HttpResponse(f"async on {threading.current_thread().name}", status_code=200)
