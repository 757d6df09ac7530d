"""The app's URL rules against the cache-flush service's own (doc/behaviour.md; simulator).

Whatever the modal accepts must be flushed, not refused later by cache-flush: so every URL
the validator accepts, the simulator's rules (the service's, with the same WHATWG parser)
accept too, as it is sent: normalised. The validator never raises, normalising a normalised
URL changes nothing, and splitting a split list changes nothing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from devhost.simulate.cache_flush import evaluate
from shared.settings import FLUSH_ALLOWED_DOMAINS, FLUSH_ALLOWED_HOSTS, OPTIONAL_DEFAULTS
from shared.submission import (
    Problem,
    Submission,
    normalise_url,
    split_urls,
    validate_submission,
)
from tests.robustness.fuzzing import fuzz, tally
from tests.robustness.strategies import GOOD_URLS, any_text, any_url, json_values, url_lines

# The app's default allowed domains and hosts: those the real cache-flush service allows.
DOMAINS = (str(OPTIONAL_DEFAULTS[FLUSH_ALLOWED_DOMAINS]),)
HOSTS = (str(OPTIONAL_DEFAULTS[FLUSH_ALLOWED_HOSTS]),)
ENVIRONMENTS = st.sampled_from(["staging", "production"])
_names = st.text(st.sampled_from("abcnhsuk.-"), min_size=1, max_size=12)

# URLs close to acceptable, with the twists a WHATWG parser treats specially: ports (default,
# padded, out of range), trailing and doubled dots, IDN and look-alike hosts, percent-encoded
# host and path characters, backslashes, invisible and bidi characters, whitespace around.
_LABELS = st.sampled_from(
    ["www", "WWW", "a", "\u00f1", "\uff57\uff57\uff57", "xn--ida", "%41", "a\u200bb", "", "-", "ß"]
)
_BASES = st.sampled_from(
    [
        "nhs.uk",
        "NHS.UK",
        "nhs.u\u212a",
        "nhs.uk.",
        "nhs.uk%2e",
        "nhs.uk\u3002",
        "nhs\uff0euk",
        "campaignresources.dhsc.gov.uk",
        "campaignresources.dhsc.gov.uk.",
        "evilnhs.uk",
        "nhs.uk.evil.com",
        "nhs.uk\u202e",
    ]
)
_PORTS = st.sampled_from(
    ["", "", ":", ":443", ":80", ":0443", ":00080", ":8443", ":0", ":65535", ":65536", ":x"]
)
_SCHEMES = st.sampled_from(
    ["https://", "http://", "HTTPS://", "https:", "https:/", "https:\\\\", "ftp://", "", "//"]
)
_USERS = st.sampled_from(["", "", "user@", "u:p@", "@", ":@", "%40@"])
_PATHS = st.text(
    st.one_of(
        st.sampled_from("/\\ %?#\t\u202e\u2066\u200b\u00ad\x00\x01\x7f\ufeffç.:@"),
        st.characters(codec="utf-8"),
    ),
    max_size=20,
)
_AROUND = st.sampled_from(["", "", " ", "\t", "\ufeff", "\u3000", "\u200b", "\xa0", "\x01"])


def _twisted(
    schemes: st.SearchStrategy[str],
    users: st.SearchStrategy[str],
    bases: st.SearchStrategy[str],
    ports: st.SearchStrategy[str],
) -> st.SearchStrategy[str]:
    return st.builds(
        lambda lead, scheme, user, labels, base, port, path, trail: (
            f"{lead}{scheme}{user}{'.'.join([*labels, base])}{port}{path}{trail}"
        ),
        _AROUND,
        schemes,
        users,
        st.lists(_LABELS, max_size=3),
        bases,
        ports,
        _PATHS.map(lambda path: "/" + path),
        _AROUND,
    )


twisted_url = st.one_of(
    _twisted(_SCHEMES, _USERS, _BASES, _PORTS),
    # Twisted only where a browser still reads an acceptable URL: more of these pass.
    _twisted(
        st.sampled_from(["https://", "HTTP://", "https:\\\\", "https:/", "http:"]),
        st.sampled_from(["", "@"]),
        st.sampled_from(
            ["nhs.uk", "NHS.UK", "nhs.u\u212a", "nhs\uff0euk", "campaignresources.dhsc.gov.uk"]
        ),
        st.sampled_from(["", ":", ":443", ":0443"]),
    ),
)


def form_values(environment: Any, urls: Any) -> dict[str, Any]:
    """The modal's ``state.values`` with these answers."""
    return {
        "environment": {"environment_input": {"selected_option": {"value": environment}}},
        "urls": {"urls_input": {"value": urls}},
    }


def _flushed_as_sent(urls: list[str]) -> None:
    """cache-flush accepts the URLs as sent, and has nothing left to trim or de-duplicate."""
    status, body = evaluate({"environment": "staging", "objects": urls})
    assert status == 201, body
    assert body["urls"] == urls


@fuzz(300)
@given(url=st.one_of(twisted_url, any_url))
@example(url="https://www.nhs.uk:8080/")
@example(url="http://www.nhs.uk:443/")
@example(url="https://www.nhs.uk:0/")
@example(url="https://www.nhs.uk:443/kept")
@example(url="https://www.nhs.uk./")
@example(url="https://www.nhs.u\u212a/\u00e7\u00e3o")
@example(url="https://www.nhs.uk\\@evil.com/")
def test_every_url_the_validator_accepts_cache_flush_accepts(url: str) -> None:
    checked = normalise_url(url, DOMAINS, HOSTS)
    if isinstance(checked, str):
        _flushed_as_sent([checked])
        assert checked.isascii()
        assert normalise_url(checked, DOMAINS, HOSTS) == checked, "normalising is idempotent"
    else:
        assert isinstance(checked, Problem)
    tally[
        f"examples: URL rules, single URL {'accepted' if isinstance(checked, str) else 'refused'}"
    ] += 1


@fuzz(100)
@given(urls=st.lists(twisted_url, min_size=1, max_size=6))
def test_every_list_the_validator_accepts_cache_flush_accepts(urls: list[str]) -> None:
    checked = validate_submission(form_values("staging", "\n".join(urls)), DOMAINS, HOSTS)
    if isinstance(checked, Submission):
        _flushed_as_sent(list(checked.urls))
    else:
        assert set(checked) == {"urls"}
        assert 0 < len(checked["urls"]) <= 300
    tally[
        f"examples: URL rules, lists {'accepted' if isinstance(checked, Submission) else 'refused'}"
    ] += 1


@fuzz(150)
@given(environment=ENVIRONMENTS, text=st.one_of(url_lines, any_text))
def test_a_valid_submission_is_flushed_exactly_as_sent(environment: str, text: str) -> None:
    checked = validate_submission(form_values(environment, text), DOMAINS, HOSTS)
    if isinstance(checked, Submission):
        status, body = evaluate({"environment": checked.environment, "objects": list(checked.urls)})
        assert status == 201, body
        assert body["urls"] == list(checked.urls), "cache-flush must have nothing left to clean"
    else:
        assert set(checked) <= {"environment", "urls"}
    tally["examples: URL rules, submissions"] += 1


@fuzz(100)
@given(
    values=st.one_of(json_values, st.builds(form_values, json_values, json_values)),
    domains=st.lists(_names, min_size=1, max_size=3),
    hosts=st.lists(_names, max_size=3),
    url=st.one_of(any_url, any_text),
)
def test_the_validator_never_raises(
    values: Any, domains: list[str], hosts: list[str], url: str
) -> None:
    assert isinstance(normalise_url(url, domains, hosts), str | Problem)
    mapping = values if isinstance(values, dict) else {"urls": values}
    checked = validate_submission(mapping, domains, hosts)
    if not isinstance(checked, Submission):
        assert all(isinstance(message, str) and message for message in checked.values())
    tally["examples: URL rules, validator on arbitrary input"] += 1


@fuzz(100)
@given(text=st.one_of(url_lines, any_text))
@example(text="a\x1c b\n b \u2028a\r\n")
def test_splitting_is_idempotent(text: str) -> None:
    cleaned = split_urls(text)
    assert split_urls("\n".join(cleaned)) == cleaned
    assert split_urls(" ".join(cleaned)) == cleaned
    assert len(set(cleaned)) == len(cleaned)
    assert all(url and url == url.strip() and not url.endswith(",") for url in cleaned)
    assert all(len(url.split()) == 1 for url in cleaned), "no piece holds white space"
    tally["examples: URL rules, cleaning"] += 1


# What people put between URLs they paste: any white space, with or without a comma.
_SEPARATORS = st.lists(
    st.sampled_from([" ", "\t", "\n", "\r\n", "\xa0", "\u2003", "\u3000", "\u2028", ", ", ",\n"]),
    min_size=1,
    max_size=3,
).map("".join)


@fuzz(100)
@given(
    urls=st.lists(st.sampled_from(GOOD_URLS), min_size=1, max_size=6),
    separators=st.lists(_SEPARATORS, min_size=6, max_size=6),
    environment=ENVIRONMENTS,
)
def test_urls_pasted_with_any_separators_are_each_sent_once(
    urls: list[str], separators: list[str], environment: str
) -> None:
    text = "".join(url + separator for url, separator in zip(urls, separators, strict=False))
    checked = validate_submission(form_values(environment, text), DOMAINS, HOSTS)
    assert isinstance(checked, Submission), checked
    expected = [normalise_url(url, DOMAINS, HOSTS) for url in dict.fromkeys(urls)]
    assert list(checked.urls) == list(dict.fromkeys(expected))
    tally["examples: URL rules, pasted lists"] += 1


@fuzz(100)
@given(
    first=st.sampled_from(GOOD_URLS),
    second=st.sampled_from(GOOD_URLS),
    glue=st.sampled_from(["", ",", ";", "|"]),
)
def test_two_urls_run_together_are_never_sent(first: str, second: str, glue: str) -> None:
    checked = validate_submission(form_values("staging", first + glue + second), DOMAINS, HOSTS)
    assert isinstance(checked, dict), checked
    assert "two URLs run together" in checked["urls"]
    tally["examples: URL rules, URLs run together"] += 1
