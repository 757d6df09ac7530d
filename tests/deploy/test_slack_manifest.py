"""slack-app-manifest.yml and scripts/render-slack-manifest.sh, against the app's functions."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.deploy.support import ROOT, output_of, run_script

MANIFEST = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text())


def http_route(folder: str) -> dict[str, object]:
    bindings = json.loads((ROOT / folder / "function.json").read_text())["bindings"]
    (trigger,) = [b for b in bindings if b["type"] == "httpTrigger"]
    return trigger


def slash_command(manifest: dict) -> dict:
    (command,) = manifest["features"]["slash_commands"]
    return command


def test_the_flush_command_has_a_description_and_usage_hint() -> None:
    command = slash_command(MANIFEST)
    assert command["command"] == "/flush"
    assert command["description"]
    assert "https://" in command["usage_hint"]
    assert command["should_escape"] is False, "the app reads the URLs as typed"


@pytest.mark.parametrize(
    ("url", "folder"),
    [
        (lambda m: slash_command(m)["url"], "slash_start"),
        (lambda m: m["settings"]["interactivity"]["request_url"], "orchestrator_client"),
        (lambda m: m["settings"]["event_subscriptions"]["request_url"], "slack_events"),
    ],
)
def test_request_urls_point_at_the_functions_with_their_key(url, folder: str) -> None:
    route = http_route(folder)
    assert route["authLevel"] == "function"
    assert [m.lower() for m in route["methods"]] == ["post"]
    parts = urlsplit(url(MANIFEST))
    assert parts.scheme == "https"
    assert parts.netloc == "__FUNCTION_APP_HOST__"
    assert parts.path == f"/api/{route['route']}"
    (key,) = parse_qs(parts.query)["code"]
    assert key.startswith("__")
    assert key.endswith("_KEY__")


def test_interactivity_is_on() -> None:
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is False


def test_bot_scopes_are_those_the_app_needs() -> None:
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == [
        "chat:write",
        "commands",
        "usergroups:read",  # members of ALLOWED_USERGROUPS and APPROVER_USERGROUPS
    ]
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_the_home_tab_its_event_and_the_message_shortcut_are_on() -> None:
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    (shortcut,) = MANIFEST["features"]["shortcuts"]
    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == "flush_links"
    assert shortcut["name"] == "Flush links in this message"
    assert len(shortcut["description"]) <= 80


def test_the_messages_tab_is_on_for_direct_messages() -> None:
    app_home = MANIFEST["features"]["app_home"]
    assert app_home["messages_tab_enabled"] is True
    assert "bot_user" in MANIFEST["features"]


def test_slack_limits() -> None:
    assert len(MANIFEST["display_information"]["name"]) <= 35
    assert len(MANIFEST["display_information"]["description"]) <= 140
    assert len(MANIFEST["features"]["bot_user"]["display_name"]) <= 80


KEYS = {
    "FUNCTION_APP_HOST": "nhsuk-cache-flush-slack-app-func-prod-uks.azurewebsites.net",
    "SLASH_START_KEY": "aB3+/x==",
    "ORCHESTRATOR_CLIENT_KEY": "Zz9_-&k=",
    "SLACK_EVENTS_KEY": "ev/+k=",
}


def test_render_fills_in_host_and_url_encoded_keys() -> None:
    result = run_script("render-slack-manifest.sh", env=KEYS)
    assert result.returncode == 0, output_of(result)
    rendered = yaml.safe_load(result.stdout)
    command_url = urlsplit(slash_command(rendered)["url"])
    assert command_url.netloc == KEYS["FUNCTION_APP_HOST"]
    assert parse_qs(command_url.query) == {"code": [KEYS["SLASH_START_KEY"]]}
    assert "aB3%2B%2Fx%3D%3D" in command_url.query
    interactivity = urlsplit(rendered["settings"]["interactivity"]["request_url"])
    assert interactivity.netloc == KEYS["FUNCTION_APP_HOST"]
    assert parse_qs(interactivity.query) == {"code": [KEYS["ORCHESTRATOR_CLIENT_KEY"]]}
    events = urlsplit(rendered["settings"]["event_subscriptions"]["request_url"])
    assert parse_qs(events.query) == {"code": [KEYS["SLACK_EVENTS_KEY"]]}
    assert "__" not in result.stdout
    assert "#" not in [line.strip()[:1] for line in result.stdout.splitlines()]


def test_render_changes_nothing_but_the_placeholders() -> None:
    result = run_script("render-slack-manifest.sh", env=KEYS)
    rendered = yaml.safe_load(result.stdout)
    slash_command(rendered)["url"] = slash_command(MANIFEST)["url"]
    interactivity = rendered["settings"]["interactivity"]
    interactivity["request_url"] = MANIFEST["settings"]["interactivity"]["request_url"]
    events = rendered["settings"]["event_subscriptions"]
    events["request_url"] = MANIFEST["settings"]["event_subscriptions"]["request_url"]
    assert rendered == MANIFEST


@pytest.mark.parametrize("host", ["https://app.azurewebsites.net/", "app.azurewebsites.net"])
def test_render_accepts_a_url_or_a_host(host: str) -> None:
    result = run_script("render-slack-manifest.sh", env={**KEYS, "FUNCTION_APP_HOST": host})
    assert result.returncode == 0, output_of(result)
    assert "https://app.azurewebsites.net/api/slash-start?code=" in result.stdout


@pytest.mark.parametrize("host", ["app.azurewebsites.net/api", "http://app", "bad host", "-x.net"])
def test_render_refuses_what_is_not_a_host(host: str) -> None:
    result = run_script("render-slack-manifest.sh", env={**KEYS, "FUNCTION_APP_HOST": host})
    assert result.returncode == 1
    assert "must be a host name" in result.stderr


@pytest.mark.parametrize("missing", list(KEYS))
def test_render_needs_every_value(missing: str) -> None:
    env = dict(KEYS)
    del env[missing]
    result = run_script("render-slack-manifest.sh", env=env)
    assert result.returncode == 1
    assert f"Not set: {missing}." in result.stderr
    assert result.stdout == ""
