import asyncio
import threading


async def main(payload: int) -> dict:
    await asyncio.sleep(0)
    return {"doubled": payload * 2, "thread": threading.current_thread().name}
