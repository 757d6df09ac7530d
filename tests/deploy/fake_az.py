"""Stand-in for the Azure CLI in tests: logs each call, answers from the test's rules."""

import json
import os
import sys
from pathlib import Path


def main(args: list[str]) -> int:
    """Log the call (with the content of any ``@file`` argument) and answer it."""
    files = {}
    for arg in args:
        if arg.startswith("@") and Path(arg[1:]).is_file():
            files[arg] = Path(arg[1:]).read_text()
    with Path(os.environ["FAKE_AZ_LOG"]).open("a") as log:
        log.write(json.dumps({"args": args, "files": files}) + "\n")
    rules_file = Path(os.environ["FAKE_AZ_RULES"])
    rules = json.loads(rules_file.read_text())
    for rule in rules:
        prefix = rule["args_prefix"]
        if args[: len(prefix)] == prefix and rule["times"] != 0:
            rule["times"] -= 1
            rules_file.write_text(json.dumps(rules))
            sys.stdout.write(rule["stdout"])
            return int(rule["exit"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
