"""Configuration: every rule of doc/behaviour.md's Configuration section, by variable name."""

from __future__ import annotations

import logging

import pytest

from shared import settings as cfg
from shared.settings import ConfigurationError, load_settings

BASE = {
    cfg.AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
    cfg.CACHE_FLUSH_URL: "https://cache-flush.example.net/api/flush?code=k",
    cfg.SLACK_BOT_TOKEN: "xoxb-settings-test",
    cfg.SLACK_SIGNING_SECRET: "settings-test-secret",
}


@pytest.fixture(autouse=True)
def _fresh_report_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems are logged once per process: keep this module's from hiding others' logs."""
    monkeypatch.setattr(cfg, "_reported", set())


def load(**overrides: str) -> cfg.Settings:
    return load_settings({**BASE, **overrides})


def problem(**overrides: str) -> str:
    with pytest.raises(ConfigurationError) as raised:
        load(**overrides)
    return str(raised.value)


def test_defaults_apply_when_only_the_required_variables_are_set() -> None:
    settings = load()
    assert settings.allowed_users_cache_seconds == 60
    assert settings.cache_flush_timeout_seconds == 30
    assert settings.retry_interval_seconds == 5
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.flush_allowed_domains == ("nhs.uk",)
    assert settings.flush_allowed_hosts == ("campaignresources.dhsc.gov.uk",)
    assert settings.approval_required_environments == ()
    assert settings.approval_channel is None
    assert settings.approval_timeout_minutes == 60
    assert settings.allowed_usergroups == ()
    assert settings.approver_usergroups == ()
    assert settings.approval_channel_for("production") is None


@pytest.mark.parametrize("name", cfg.REQUIRED)
@pytest.mark.parametrize("value", ["", "   "])
def test_a_missing_or_empty_required_variable_is_named(name: str, value: str) -> None:
    assert f"{name} is not set" in problem(**{name: value})


def test_zero_cache_seconds_means_revalidate_every_time() -> None:
    assert load(ALLOWED_USERS_CACHE_SECONDS="0").allowed_users_cache_seconds == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (cfg.ALLOWED_USERS_CACHE_SECONDS, "inf"),
        (cfg.ALLOWED_USERS_CACHE_SECONDS, "nan"),
        (cfg.ALLOWED_USERS_CACHE_SECONDS, "-1"),
        (cfg.ALLOWED_USERS_CACHE_SECONDS, "sixty"),
        (cfg.CACHE_FLUSH_TIMEOUT_SECONDS, "0"),
        (cfg.CACHE_FLUSH_TIMEOUT_SECONDS, "Infinity"),
        (cfg.CACHE_FLUSH_RETRY_INTERVAL_SECONDS, "0.0001"),
        (cfg.CACHE_FLUSH_RETRY_INTERVAL_SECONDS, "inf"),
        (cfg.CACHE_FLUSH_RETRY_INTERVAL_SECONDS, "1e400"),
        (cfg.APPROVAL_TIMEOUT_MINUTES, "0"),
        (cfg.APPROVAL_TIMEOUT_MINUTES, "-inf"),
    ],
)
def test_numbers_must_be_finite_and_in_range(name: str, value: str) -> None:
    assert f"{name} must be a number from" in problem(**{name: value})


def test_the_shortest_waits_the_durable_timers_can_keep_are_accepted() -> None:
    settings = load(CACHE_FLUSH_RETRY_INTERVAL_SECONDS="0.001", APPROVAL_TIMEOUT_MINUTES="0.001")
    assert settings.retry_interval_seconds == 0.001
    assert settings.approval_timeout_minutes == 0.001


def test_fractions_are_accepted_where_the_range_allows() -> None:
    settings = load(CACHE_FLUSH_RETRY_INTERVAL_SECONDS="0.2", APPROVAL_TIMEOUT_MINUTES="0.5")
    assert settings.retry_interval_seconds == 0.2
    assert settings.approval_timeout_minutes == 0.5


@pytest.mark.parametrize("name", [cfg.CACHE_FLUSH_URL, cfg.SLACK_API_URL])
@pytest.mark.parametrize("scheme", ["http", "ftp"])
def test_service_urls_must_use_https(name: str, scheme: str) -> None:
    url = f"{scheme}://cache-flush.example.net/api/x?code=k"
    assert f"{name} must use https" in problem(**{name: url})


@pytest.mark.parametrize("name", [cfg.CACHE_FLUSH_URL, cfg.SLACK_API_URL])
@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "[::1]"])
def test_plain_http_is_accepted_for_this_machine(name: str, host: str) -> None:
    load(**{name: f"http://{host}:7071/api/x"})


@pytest.mark.parametrize("name", [cfg.CACHE_FLUSH_URL, cfg.SLACK_API_URL])
@pytest.mark.parametrize("host", ["localhost.example.net", "128.0.0.1", "10.0.0.1", "[::2]"])
def test_plain_http_is_refused_for_other_hosts(name: str, host: str) -> None:
    assert f"{name} must use https" in problem(**{name: f"http://{host}/api/x"})


@pytest.mark.parametrize("name", [cfg.CACHE_FLUSH_URL, cfg.SLACK_API_URL])
def test_service_urls_must_be_absolute(name: str) -> None:
    assert f"{name} must be an absolute URL" in problem(**{name: "slack.com/api"})


def test_the_slack_api_url_gets_a_trailing_slash() -> None:
    assert load(SLACK_API_URL="https://slack.example/api").slack_api_url == (
        "https://slack.example/api/"
    )


def test_a_blob_endpoint_replaces_the_connection_string() -> None:
    settings = load_settings(
        {
            **BASE,
            cfg.AZURE_STORAGE_CONNECTION_STRING: "",
            cfg.ALLOWED_USERS_BLOB_ENDPOINT: "https://account.blob.core.windows.net",
        }
    )
    assert settings.storage_connection_string is None
    assert settings.allowed_users_blob_endpoint == "https://account.blob.core.windows.net"


def test_a_blob_endpoint_must_use_https() -> None:
    message = problem(ALLOWED_USERS_BLOB_ENDPOINT="http://account.blob.core.windows.net")
    assert f"{cfg.ALLOWED_USERS_BLOB_ENDPOINT} must use https" in message


def test_approvals_without_a_channel_name_the_channel_setting() -> None:
    message = problem(APPROVAL_REQUIRED_ENVIRONMENTS="production")
    assert f"{cfg.APPROVAL_CHANNEL} is not set" in message


def test_approvals_on_for_the_listed_environments_only() -> None:
    settings = load(APPROVAL_REQUIRED_ENVIRONMENTS=" Production ", APPROVAL_CHANNEL="C0APPROVE")
    assert settings.approval_channel_for("production") == "C0APPROVE"
    assert settings.approval_channel_for("staging") is None


def test_approvals_name_only_known_environments() -> None:
    message = problem(APPROVAL_REQUIRED_ENVIRONMENTS="prod", APPROVAL_CHANNEL="C0APPROVE")
    assert cfg.APPROVAL_REQUIRED_ENVIRONMENTS in message


def test_user_groups_are_slack_ids_without_duplicates() -> None:
    settings = load(ALLOWED_USERGROUPS="S0AAA, S0BBB,S0AAA", APPROVER_USERGROUPS="S0CCC")
    assert settings.allowed_usergroups == ("S0AAA", "S0BBB")
    assert settings.approver_usergroups == ("S0CCC",)


@pytest.mark.parametrize("name", [cfg.ALLOWED_USERGROUPS, cfg.APPROVER_USERGROUPS])
def test_user_groups_must_be_ids(name: str) -> None:
    assert name in problem(**{name: "@web-team"})


@pytest.mark.parametrize("name", [cfg.FLUSH_ALLOWED_DOMAINS, cfg.FLUSH_ALLOWED_HOSTS])
@pytest.mark.parametrize(
    "entry", [".nhs.uk", "https://gov.uk", "nhs.uk/", "nhs.uk:443", "nhs..uk", "bücher.de", "-a.uk"]
)
def test_allowed_domains_and_hosts_must_be_bare_host_names(name: str, entry: str) -> None:
    message = problem(**{name: f"nhs.uk, {entry}"})
    assert f"{name} lists {entry.lower()!r}, which is not a host name" in message


def test_allowed_domains_and_hosts_take_ascii_host_names() -> None:
    settings = load(
        FLUSH_ALLOWED_DOMAINS="NHS.uk, xn--bcher-kva.de", FLUSH_ALLOWED_HOSTS="a-b.gov.uk"
    )
    assert settings.flush_allowed_domains == ("nhs.uk", "xn--bcher-kva.de")
    assert settings.flush_allowed_hosts == ("a-b.gov.uk",)


def test_every_problem_is_named_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    overrides = {cfg.SLACK_SIGNING_SECRET: "", cfg.ALLOWED_USERS_CACHE_SECONDS: "inf-once"}
    with caplog.at_level(logging.ERROR, logger=cfg.__name__):
        for _ in range(3):
            message = problem(**overrides)
    assert cfg.SLACK_SIGNING_SECRET in message
    assert cfg.ALLOWED_USERS_CACHE_SECONDS in message
    assert [r.getMessage() for r in caplog.records].count(message) == 1


def test_the_representation_names_no_secret() -> None:
    shown = repr(load())
    for secret in (BASE[cfg.SLACK_BOT_TOKEN], BASE[cfg.SLACK_SIGNING_SECRET], "code=k"):
        assert secret not in shown
