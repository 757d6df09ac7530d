import time
from pathlib import Path


def main(payload: dict) -> str:
    work = Path(payload["dir"])
    (work / (payload["key"] + ".started")).write_text("started")
    release = work / (payload["key"] + ".release")
    deadline = time.monotonic() + 30
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released" if release.exists() else "gave up"
