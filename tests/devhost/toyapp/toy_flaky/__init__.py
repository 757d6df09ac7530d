from pathlib import Path


def main(payload: dict) -> dict:
    counter = Path(payload["dir"]) / (payload["key"] + ".attempts")
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt <= payload["failures"]:
        raise RuntimeError(f"boom {payload['key']} attempt {attempt}")
    return {"key": payload["key"], "attempts": attempt}
