"""The app's URL rules (SPEC 9) against the cache-flush service's own (SPEC 8, simulator).

Whatever the modal accepts must be flushed, not refused later by cache-flush: so every URL
the validator accepts, the simulator's rules accept too. The validator never raises, and
cleaning a cleaned list changes nothing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from devhost.simulate.cache_flush import evaluate
from shared.settings import REQUIRED, load_settings
from shared.submission import Submission, clean_urls, url_allowed, validate_submission
from tests.robustness.fuzzing import fuzz, tally
from tests.robustness.strategies import any_text, any_url, json_values, url_lines

DEFAULTS = load_settings(dict.fromkeys(REQUIRED, "set"))
DOMAINS = DEFAULTS.flush_allowed_domains
HOSTS = DEFAULTS.flush_allowed_hosts
ENVIRONMENTS = st.sampled_from(["staging", "production"])
_names = st.text(st.sampled_from("abcnhsuk.-"), min_size=1, max_size=12)


def form_values(environment: Any, urls: Any) -> dict[str, Any]:
    """The modal's ``state.values`` with these answers."""
    return {
        "environment": {"environment_input": {"selected_option": {"value": environment}}},
        "urls": {"urls_input": {"value": urls}},
    }


@fuzz(200)
@given(url=any_url)
@example(url="https://www.nhs.uk:8080/")
@example(url="http://www.nhs.uk:443/")
@example(url="https://www.nhs.uk:0/")
@example(url="https://www.nhs.uk:443/kept")
def test_every_url_the_validator_accepts_cache_flush_accepts(url: str) -> None:
    accepted = url_allowed(url, DOMAINS, HOSTS)
    assert isinstance(accepted, bool)
    if accepted:
        status, body = evaluate({"environment": "staging", "objects": [url]})
        assert status == 201, body
    tally[f"examples: URL rules, single URL {'accepted' if accepted else 'refused'}"] += 1


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
    assert isinstance(url_allowed(url, domains, hosts), bool)
    mapping = values if isinstance(values, dict) else {"urls": values}
    checked = validate_submission(mapping, domains, hosts)
    if not isinstance(checked, Submission):
        assert all(isinstance(message, str) and message for message in checked.values())
    tally["examples: URL rules, validator on arbitrary input"] += 1


@fuzz(100)
@given(text=st.one_of(url_lines, any_text))
@example(text="a\x1c b\n b \u2028a\r\n")
def test_cleaning_is_idempotent(text: str) -> None:
    cleaned = clean_urls(text)
    assert clean_urls("\n".join(cleaned)) == cleaned
    assert len(set(cleaned)) == len(cleaned)
    assert all(url and url == url.strip() for url in cleaned)
    tally["examples: URL rules, cleaning"] += 1
