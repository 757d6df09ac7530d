def main(payload: int) -> int:
    return payload * 2
