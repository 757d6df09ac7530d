"""Simulators fill unset settings with values pointing at themselves, and keep the others."""

from __future__ import annotations

import re

from devhost.simulate import Simulators
from devhost.simulate.settings import DEMO_SUPPORT_CONTACT, demo_settings

BASE = "http://127.0.0.1:7071"


def test_unset_settings_get_simulator_defaults() -> None:
    environ: dict[str, str] = {}
    Simulators(BASE + "/", environ)
    assert environ["SLACK_API_URL"] == f"{BASE}/sim/slack/api/"
    assert re.fullmatch(r"xoxb-sim-[0-9a-f]{32}", environ["SLACK_BOT_USER_OAUTH_ACCESS_TOKEN"])
    assert re.fullmatch(r"[0-9a-f]{32}", environ["SLACK_SIGNING_SECRET"])
    assert re.fullmatch(
        rf"{re.escape(BASE)}/sim/cache-flush\?code=[0-9a-f]{{40}}",
        environ["CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE"],
    )
    assert environ["SLACK_CHANNEL_NAME"] == "cache-flush-notices"


def test_set_settings_are_kept_and_empty_ones_filled() -> None:
    environ = {
        "SLACK_SIGNING_SECRET": "my-secret",
        "SLACK_CHANNEL_NAME": "elsewhere",
        "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN": "",
    }
    Simulators(BASE, environ)
    assert environ["SLACK_SIGNING_SECRET"] == "my-secret"
    assert environ["SLACK_CHANNEL_NAME"] == "elsewhere"
    assert environ["SLACK_BOT_USER_OAUTH_ACCESS_TOKEN"].startswith("xoxb-sim-")


def test_generated_secrets_differ_between_runs() -> None:
    first: dict[str, str] = {}
    second: dict[str, str] = {}
    Simulators(BASE, first)
    Simulators(BASE, second)
    for name in (
        "SLACK_BOT_USER_OAUTH_ACCESS_TOKEN",
        "SLACK_SIGNING_SECRET",
        "CACHE_FLUSH_FUNCTION_APP_FULL_URL_WITH_PATH_AND_CODE",
    ):
        assert first[name] != second[name]


def test_the_demo_names_a_support_contact_for_failure_messages() -> None:
    values = demo_settings("UseDevelopmentStorage=true")
    assert values["SUPPORT_CONTACT"] == DEMO_SUPPORT_CONTACT
    assert values["APPROVAL_REQUIRED_ENVIRONMENTS"] == "production"
