"""The URL rules of the form (doc/behaviour.md): parsed as cache-flush parses them, normalised."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.form_flow import prefill_of_command
from shared.submission import (
    MAX_ERROR_CHARS,
    Submission,
    either,
    rules_summary,
    split_urls,
    validate_submission,
)

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = ("nhs.uk",)
HOSTS = ("campaignresources.dhsc.gov.uk",)
ALLOWED = "nhs.uk or campaignresources.dhsc.gov.uk"


def values(urls: Any, environment: Any = "staging") -> dict[str, Any]:
    return {
        "environment": {"environment_input": {"selected_option": {"value": environment}}},
        "urls": {"urls_input": {"value": urls}},
    }


def accepted(text: str) -> tuple[str, ...]:
    checked = validate_submission(values(text), DOMAINS, HOSTS)
    assert isinstance(checked, Submission), checked
    return checked.urls


def error(text: str) -> str:
    checked = validate_submission(values(text), DOMAINS, HOSTS)
    assert isinstance(checked, dict), checked
    assert set(checked) == {"urls"}
    assert len(checked["urls"]) <= MAX_ERROR_CHARS
    return checked["urls"]


REMOVE_PORT = "remove the port (the :number after the host name)."
REMOVE_CREDENTIALS = "remove the user name and password."
ADD_HTTPS = "add https:// at the start."
USE_HTTPS = "use https:// or http://."
TRAILING_DOT = ": remove the dot at the end of the host name."
NOT_VALID = ": not a valid URL; check it for typos."
HOST_NOT_VALID = ".nhs.uk/" + NOT_VALID


@pytest.mark.parametrize(
    ("url", "advice"),
    [
        # A port other than the scheme's default.
        ("https://www.nhs.uk:8443/x", REMOVE_PORT),
        ("http://www.nhs.uk:443/x", REMOVE_PORT),
        ("https://www.nhs.uk:80/x", REMOVE_PORT),
        ("https://www.nhs.uk:0/x", REMOVE_PORT),
        ("https://campaignresources.dhsc.gov.uk:8080/x", REMOVE_PORT),
        # Credentials.
        ("https://user:pass@www.nhs.uk/x", REMOVE_CREDENTIALS),
        ("https://user@www.nhs.uk/x", REMOVE_CREDENTIALS),
        ("https://:pw@nhs.uk/", REMOVE_CREDENTIALS),
        # No scheme: https:// in front would make a URL on an allowed host.
        ("www.nhs.uk/a", ADD_HTTPS),
        ("nhs.uk", ADD_HTTPS),
        ("//www.nhs.uk/a", ADD_HTTPS),
        ("www.nhs.uk:8080/a", ADD_HTTPS),
        ("www.nhs.uk:443/a?x=1", ADD_HTTPS),
        ("campaignresources.dhsc.gov.uk/x", ADD_HTTPS),
        # Another scheme, followed by //.
        ("ftp://www.nhs.uk/", USE_HTTPS),
        ("sftp://nhs.uk/a", USE_HTTPS),
        ("ws://www.nhs.uk/", USE_HTTPS),
    ],
)
def test_a_refused_url_is_named_with_what_to_fix(url: str, advice: str) -> None:
    assert error(url) == f"{url}: {advice}"


@pytest.mark.parametrize(
    ("url", "ending"),
    [
        # A trailing dot on the host, typed, percent-encoded or as an ideographic full stop.
        ("https://www.nhs.uk./a", TRAILING_DOT),
        ("https://www.nhs.uk%2e/a", TRAILING_DOT),
        ("https://www.nhs.uk\u3002/a", TRAILING_DOT),
        # Punycode that decodes to nothing, to a control character or to an invalid label:
        # Node.js's URL parser, which cache-flush uses, refuses these hosts.
        ("https://xn--.nhs.uk/", HOST_NOT_VALID),
        ("https://xn--a.nhs.uk/", HOST_NOT_VALID),
        ("https://xn---.nhs.uk/", HOST_NOT_VALID),
        ("https://xn--zz.nhs.uk/", HOST_NOT_VALID),
        ("https://www.xn--55qx5dc.nhs.uk/", HOST_NOT_VALID),
        # Characters that only recent IDNA tables map or ignore, typed or percent-encoded.
        ("https://\u10bc.nhs.uk/", HOST_NOT_VALID),
        ("https://\u2132.nhs.uk/", HOST_NOT_VALID),
        ("https://a\u3164b.nhs.uk/", HOST_NOT_VALID),
        ("https://a%E2%81%AAb.nhs.uk/", HOST_NOT_VALID),
        # Characters assigned after the Unicode version this runtime knows.
        ("https://\U000141d3.nhs.uk/", HOST_NOT_VALID),
        ("https://xn--jf1e.nhs.uk/", HOST_NOT_VALID),
        # URLs no parser makes sense of.
        ("https://", NOT_VALID),
        ("https://www.nhs.uk:99999/", NOT_VALID),
        ("https://www.nhs.uk:x/", NOT_VALID),
        ("http://bad%20host.nhs.uk/", NOT_VALID),
        ("https://www.nhs.uk\u202e/", NOT_VALID),
        ("https://www.nhs.uk/\ud800", NOT_VALID),
    ],
)
def test_the_error_for_a_refused_url_ends_with_why(url: str, ending: str) -> None:
    assert error(url).endswith(ending)


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        # The default port is accepted and dropped.
        ("https://www.nhs.uk:443/x", "https://www.nhs.uk/x"),
        ("http://www.nhs.uk:80/x", "http://www.nhs.uk/x"),
        ("https://www.nhs.uk:0443/x", "https://www.nhs.uk/x"),
        ("https://www.nhs.uk:/x", "https://www.nhs.uk/x"),
        # Hosts come out IDNA-normalised.
        ("https://www.nhs.u\u212a/a", "https://www.nhs.uk/a"),
        ("HTTPS://WWW.NHS.UK/A", "https://www.nhs.uk/A"),
        ("https://\u00f1.nhs.uk/", "https://xn--ida.nhs.uk/"),
        ("https://www.nhs\u200b.uk/", "https://www.nhs.uk/"),
        ("https://\uff57\uff57\uff57.nhs.uk/", "https://www.nhs.uk/"),
        # Valid international hosts are accepted.
        ("https://xn--bcher-kva.nhs.uk/", "https://xn--bcher-kva.nhs.uk/"),
        ("https://XN--BCHER-KVA.nhs.uk/", "https://xn--bcher-kva.nhs.uk/"),
        ("https://b\u00fccher.nhs.uk/", "https://xn--bcher-kva.nhs.uk/"),
        ("https://\u4e2d\u6587.nhs.uk/", "https://xn--fiq228c.nhs.uk/"),
        # Paths and queries come out percent-encoded.
        ("https://www.nhs.uk/ção", "https://www.nhs.uk/%C3%A7%C3%A3o"),
        ("https://www.nhs.uk/a%20b?c%20d", "https://www.nhs.uk/a%20b?c%20d"),
        ("https://www.nhs.uk/?q=ç", "https://www.nhs.uk/?q=%C3%A7"),
        ("https://www.nhs.uk/a\u202eb", "https://www.nhs.uk/a%E2%80%AEb"),
        ("https://www.nhs.uk/?q=\u2067x", "https://www.nhs.uk/?q=%E2%81%A7x"),
        ("https://www.nhs.uk/a\u200bb", "https://www.nhs.uk/a%E2%80%8Bb"),
        ("https://www.nhs.uk/a\x01b\x7fc", "https://www.nhs.uk/a%01b%7Fc"),
        ("https://www.nhs.uk/a\x00b", "https://www.nhs.uk/a%00b"),
        ("https://www.nhs.uk/100%25", "https://www.nhs.uk/100%25"),
        # Backslashes are slashes, as a browser reads them.
        ("https://www.nhs.uk\\a\\b", "https://www.nhs.uk/a/b"),
        ("https://www.nhs.uk\\@evil.com/x", "https://www.nhs.uk/@evil.com/x"),
        ("https:\\\\www.nhs.uk\\x", "https://www.nhs.uk/x"),
    ],
)
def test_an_accepted_url_is_sent_normalised(url: str, sent: str) -> None:
    assert accepted(url) == (sent,)


def test_lines_are_trimmed_of_whitespace_and_invisible_characters() -> None:
    text = "  https://www.nhs.uk/a\t\n\ufeffhttps://www.nhs.uk/b\u200b\n\u3000https://nhs.uk/c\xa0"
    assert accepted(text) == ("https://www.nhs.uk/a", "https://www.nhs.uk/b", "https://nhs.uk/c")


def test_duplicates_are_removed_after_normalisation_keeping_order() -> None:
    text = (
        "https://www.nhs.uk/b\nHTTPS://WWW.NHS.UK/a\nhttps://www.nhs.uk:443/b\nhttps://www.nhs.uk/a"
    )
    assert accepted(text) == ("https://www.nhs.uk/b", "https://www.nhs.uk/a")


@pytest.mark.parametrize(
    "url",
    [
        "https://evilnhs.uk/x",
        "https://nhs.uk.evil.com/x",
        "https://www.nhs.uk.evil.com/x",
        "https://example.com/x",
        "https://sub.campaignresources.dhsc.gov.uk/x",
        "https://[::1]/x",
        "https://127.0.0.1/x",
    ],
)
def test_hosts_outside_the_allowed_list_are_refused(url: str) -> None:
    assert error(url) == f"Not allowed: {url}. Use URLs on {ALLOWED}."


def test_an_over_long_url_is_refused() -> None:
    url = "https://www.nhs.uk/" + "ç" * 400
    assert error(url).endswith(": too long (over 2048 characters).")


def test_invisible_characters_are_shown_escaped_in_errors() -> None:
    message = error("https://evil.com/\u202egnp.exe\x07")
    assert message == f"Not allowed: https://evil.com/\\u202egnp.exe\\u0007. Use URLs on {ALLOWED}."


def test_unassigned_characters_beyond_the_basic_plane_are_shown_in_full() -> None:
    message = error("https://\U000141d3.nhs.uk/")
    assert message == "https://\\U000141d3.nhs.uk/: not a valid URL; check it for typos."


def test_the_first_few_refused_urls_are_named_then_how_many_more() -> None:
    urls = [f"https://www.nhs.uk:{8000 + i}/" for i in range(5)]
    assert error("\n".join(urls)) == (
        "https://www.nhs.uk:8000/, https://www.nhs.uk:8001/, https://www.nhs.uk:8002/ "
        "and 2 more: remove the port (the :number after the host name)."
    )


def test_several_problems_are_each_explained_briefly() -> None:
    message = error("www.nhs.uk/a\nhttps://www.nhs.uk/fine\nhttps://www.nhs.uk:8443/b")
    assert message == (
        "www.nhs.uk/a: add https:// at the start.\n"
        "https://www.nhs.uk:8443/b: remove the port (the :number after the host name)."
    )


def test_many_long_refused_urls_keep_the_error_short() -> None:
    lines = []
    for i in range(100):
        lines += [
            f"https://evil{i}.example/{'p' * 300}",
            f"www.nhs.uk/{i}/{'q' * 300}",
            f"https://www.nhs.uk:{i + 1}/{'r' * 300}",
            f"https://u:p@www.nhs.uk/{i}",
            f"https://www.nhs.uk./{i}",
        ]
    message = error("\n".join(lines))
    assert message.startswith("Not allowed: https://evil0.example/ppp")
    assert "and 97 more" in message
    assert message.endswith("URLs need fixing.")


def test_only_refused_urls_are_named() -> None:
    assert "fine" not in error("https://www.nhs.uk/fine\nhttps://evilnhs.uk/")


def test_blank_input_asks_for_a_url() -> None:
    assert error(" \n\t\n") == "Enter at least one URL, one per line."


def test_a_configured_domain_and_host_list_reads_naturally() -> None:
    checked = validate_submission(
        values("https://example.com/"), ("nhs.uk", "nhs.net"), ("a.example", "b.example")
    )
    assert checked == {
        "urls": "Not allowed: https://example.com/. "
        "Use URLs on nhs.uk, nhs.net, a.example or b.example."
    }


@pytest.mark.parametrize(
    ("items", "text"),
    [([], ""), (["a"], "a"), (["a", "b"], "a or b"), (["a", "b", "c"], "a, b or c")],
)
def test_either_joins_a_natural_language_choice(items: list[str], text: str) -> None:
    assert either(items) == text


def test_the_rules_summary_names_the_domains_and_gives_an_example() -> None:
    assert rules_summary(DOMAINS, HOSTS) == (
        "One URL per line (or separated by spaces), starting with https:// or http://, "
        "on nhs.uk or a subdomain of it, "
        "or on campaignresources.dhsc.gov.uk. No port, no user name. "
        "For example https://www.nhs.uk/path/to/flush"
    )
    two = rules_summary(("nhs.uk", "nhs.net"), ())
    assert "on nhs.uk or nhs.net or a subdomain of them." in two


def test_the_slash_command_path_does_not_load_the_url_parser() -> None:
    """The parser is loaded when a submission is validated, not before the modal opens."""
    script = "import sys, slash_start; print('ada_url' in sys.modules)"
    result = subprocess.run(  # noqa: S603 - a fixed command
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "text",
    [
        "https://www.nhs.uk/conditions/ https://www.nhs.uk/live-well/",
        "https://www.nhs.uk/conditions/\thttps://www.nhs.uk/live-well/",
        "https://www.nhs.uk/conditions/, https://www.nhs.uk/live-well/,",
        "https://www.nhs.uk/conditions/\xa0https://www.nhs.uk/live-well/\u2003",
        "https://www.nhs.uk/conditions/\u3000\u200bhttps://www.nhs.uk/live-well/\ufeff",
        " https://www.nhs.uk/conditions/ ,\n\nhttps://www.nhs.uk/live-well/\r\n",
        "https://www.nhs.uk/conditions/\u2028https://www.nhs.uk/live-well/ https://www.nhs.uk/conditions/",
    ],
)
def test_urls_pasted_on_one_line_are_each_flushed(text: str) -> None:
    assert accepted(text) == ("https://www.nhs.uk/conditions/", "https://www.nhs.uk/live-well/")


def test_splitting_drops_commas_blanks_and_repeats_keeping_order() -> None:
    text = "b, a,,\t, b\n\u200b\nc,\u200b"
    assert split_urls(text) == ["b", "a", "c"]


@pytest.mark.parametrize(
    "piece",
    [
        "https://www.nhs.uk/a,https://www.nhs.uk/b",
        "https://www.nhs.uk/aHTTP://www.nhs.uk/b",
        "https://www.nhs.uk/a;https://www.nhs.uk/b",
        "www.nhs.uk/ahttps://www.nhs.uk/b",
        "http://www.nhs.uk/ahttp://www.nhs.uk/b",
        "nhs.uk,https://www.nhs.uk/b",
        "ftp://x/https://www.nhs.uk/b",
        "https://www.nhs.uk/redirect?to=https://www.nhs.uk/b",
        '"https://www.nhs.uk/a","https://www.nhs.uk/b"',
    ],
)
def test_two_urls_run_together_are_refused_never_flushed_as_one(piece: str) -> None:
    message = error(f"https://www.nhs.uk/fine {piece}")
    assert message == f"{piece}: two URLs run together; put a space or a new line between them."


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "www",
        "flush this",
        "jo@nhs.uk",
        "nhs",
        # Words with dots: https:// in front would not make a URL on an allowed host.
        "e.g.",
        "i.e.",
        "v1.2",
        "index.html",
        "example.com/a",
        # Words ending with a colon, and schemes that are not followed by //.
        "Note:",
        "URLs:",
        "tel:+441234567890",
        "javascript:alert(1)",
        "mailto:a@nhs.uk",
        "https//www.nhs.uk/a",
    ],
)
def test_text_that_is_not_a_url_says_so(text: str) -> None:
    for word in text.split():
        assert error(word) == f"{word} is not a URL."
    assert "https://" not in error(text)


def test_words_pasted_before_the_urls_are_not_urls_and_read_without_a_double_colon() -> None:
    message = error("Please flush these: https://www.nhs.uk/a")
    assert message == "These are not URLs: Please, flush, these:."
    assert error("ftp://www.nhs.uk/a:") == "ftp://www.nhs.uk/a: use https:// or http://."


@pytest.mark.parametrize(
    ("piece", "shown"),
    [
        ('"https://www.nhs.uk/a"', '"https://www.nhs.uk/a"'),
        ("(https://www.nhs.uk/a)", "(https://www.nhs.uk/a)"),
        ("<https://www.nhs.uk/a>", "<https://www.nhs.uk/a>"),
        ("<https://www.nhs.uk/a|www.nhs.uk/a>", "<https://www.nhs.uk/a|www.nhs.uk/a>"),
        ("\u2022https://www.nhs.uk/a", "\u2022https://www.nhs.uk/a"),
        ("*https://www.nhs.uk/a*", "*https://www.nhs.uk/a*"),
        ("`https://www.nhs.uk/a`", "`https://www.nhs.uk/a`"),
        ("Link:https://www.nhs.uk/a", "Link:https://www.nhs.uk/a"),
        ("e.g.https://www.nhs.uk/a", "e.g.https://www.nhs.uk/a"),
        ("\u2060https://www.nhs.uk/a", "\\u2060https://www.nhs.uk/a"),
    ],
)
def test_one_url_inside_other_characters_is_not_a_url_and_is_never_rewritten(
    piece: str, shown: str
) -> None:
    assert error(f"https://www.nhs.uk/fine {piece}") == (
        f"{shown} is not a URL; remove the characters around the address."
    )
    assert error(f"{piece} [https://www.nhs.uk/b]") == (
        f"These are not URLs: {shown}, [https://www.nhs.uk/b]; "
        "remove the characters around each address."
    )


def test_several_errors_read_as_a_list_one_per_line() -> None:
    message = error(
        "hello https://evil.example/ www.nhs.uk/page https://a.nhs.uk/,https://b.nhs.uk/"
    )
    assert message.splitlines() == [
        "hello is not a URL.",
        f"Not allowed: https://evil.example/. Use URLs on {ALLOWED}.",
        "www.nhs.uk/page: add https:// at the start.",
        "https://a.nhs.uk/,https://b.nhs.uk/: two URLs run together; "
        "put a space or a new line between them.",
    ]
    assert "These are not URLs: hello, www." in error("hello www")


def test_the_flush_command_text_is_split_as_the_submission_is() -> None:
    text = "https://www.nhs.uk/a, https://www.nhs.uk/b\xa0https://www.nhs.uk/a,https://x/"
    assert prefill_of_command(text).urls.splitlines() == [
        "https://www.nhs.uk/a",
        "https://www.nhs.uk/b",
        "https://www.nhs.uk/a,https://x/",
    ]


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("https://www.nhs.uk/a?x=1&amp;y=2", ["https://www.nhs.uk/a?x=1&y=2"]),
        # Only Slack's three escapes are undone: no other entity is read.
        ("https://www.nhs.uk/a?b=1&amp;copy=2&amp;reg", ["https://www.nhs.uk/a?b=1&copy=2&reg"]),
        ("https://www.nhs.uk/a?q=&amp;amp;&amp;lt;", ["https://www.nhs.uk/a?q=&amp;&lt;"]),
        ("&lt;https://www.nhs.uk/a&gt;", ["<https://www.nhs.uk/a>"]),
        # Link tokens, if Slack made any, give their URL.
        (
            "<https://www.nhs.uk/a?x=1&amp;y=2|www.nhs.uk/a> <http://nhs.uk/b>",
            ["https://www.nhs.uk/a?x=1&y=2", "http://nhs.uk/b"],
        ),
        ("<@U0ABC> <mailto:a@nhs.uk|a>", ["<@U0ABC>", "<mailto:a@nhs.uk|a>"]),
    ],
)
def test_the_flush_command_text_is_read_as_slack_sends_it(text: str, urls: list[str]) -> None:
    assert prefill_of_command(text).urls.splitlines() == urls


def test_the_flush_command_text_keeps_only_whole_urls_within_the_field_limit() -> None:
    urls = [f"https://www.nhs.uk/{i:03d}/{'p' * 80}" for i in range(40)]
    shown = prefill_of_command(" ".join(urls)).urls
    assert len(shown) <= 3000
    assert shown.splitlines() == urls[: len(shown.splitlines())]
    assert len(shown) + 1 + len(urls[0]) > 3000, "the next URL would not have fitted whole"
