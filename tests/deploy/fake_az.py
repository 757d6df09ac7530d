"""Stand-in for the Azure CLI in tests: logs each call, answers from the test's rules.

With ``FAKE_AZ_STATE`` set, calls that no rule answers also act on a small model of the
function app kept in that JSON file: a template deployment replaces the app's settings with
the template's list (parameters resolved from the ``@file`` given, other expressions left as
``<computed>``) and answers the host-name output; a package deployment records the package;
app-settings commands change the settings as Azure does.
"""

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

PARAMETER = re.compile(r"^\[parameters\('([^']+)'\)\]$")


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _deployed_settings(args: list[str]) -> dict[str, str]:
    template = json.loads(Path(_option(args, "--template-file")).read_text())
    values = {name: spec.get("defaultValue") for name, spec in template["parameters"].items()}
    for argument in args[args.index("--parameters") + 1 :]:
        if argument.startswith("@"):
            given = json.loads(Path(argument[1:]).read_text())["parameters"]
            values.update({name: item["value"] for name, item in given.items()})
        elif "=" in argument and not argument.startswith("-"):
            name, _, value = argument.partition("=")
            values[name] = value
        else:
            break
    (site,) = [r for r in template["resources"] if r["type"] == "Microsoft.Web/sites"]
    settings = {}
    for setting in site["properties"]["siteConfig"]["appSettings"]:
        value = setting["value"]
        match = PARAMETER.match(value)
        if match:
            value = values[match.group(1)]
        elif value.startswith("["):
            value = "<computed>"
        settings[setting["name"]] = value
    return settings


def _act(args: list[str], state: dict[str, Any]) -> str:
    """Apply a call to the model; return what az prints."""
    if args[:2] == ["group", "exists"]:
        return "true\n"
    if args[:3] == ["deployment", "group", "create"]:
        state["app_settings"] = _deployed_settings(args)
        return state["host"] + "\n"
    if args[:4] == ["functionapp", "deployment", "source", "config-zip"]:
        state["package"] = _option(args, "--src")
    elif args[:4] == ["functionapp", "config", "appsettings", "set"]:
        for item in json.loads(Path(_option(args, "--settings")[1:]).read_text()):
            state["app_settings"][item["name"]] = item["value"]
    elif args[:4] == ["functionapp", "config", "appsettings", "delete"]:
        names = args[args.index("--setting-names") + 1 : args.index("--output")]
        for name in names:
            state["app_settings"].pop(name, None)
    elif args[:3] == ["functionapp", "keys", "list"]:
        return state.get("function_key", "") + "\n"
    return ""


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
    state_file = os.environ.get("FAKE_AZ_STATE")
    if state_file:
        state = json.loads(Path(state_file).read_text())
        sys.stdout.write(_act(args, state))
        Path(state_file).write_text(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
