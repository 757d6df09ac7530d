"""Hypothesis strategies: request bodies, header sets and URLs, well-formed and not."""

from __future__ import annotations

import json
import operator
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import strategies as st

from devhost.simulate.slack_surfaces import message_action_payload
from devhost.simulate.slack_user import SlackUser
from devhost.standins.slack_requests import (
    FORM_CONTENT_TYPE,
    LEGACY_VERIFICATION_TOKEN,
    RESPONSE_URL_BASE,
    SLASH_COMMAND_FIELDS,
    interaction_body,
    new_trigger_id,
    signature_for,
    slash_command_body,
    view_submission_payload,
)
from tests.support import constants

SECRET = constants.SLACK_SIGNING_SECRET
MIB = 1024 * 1024
GOOD_URLS = (
    "https://www.nhs.uk/conditions/",
    "http://nhs.uk",
    "https://WWW.NHS.UK/a?b=c#d",
    "https://campaignresources.dhsc.gov.uk/campaigns/",
    "https://www.nhs.uk:443/x",
    "https://digital.nhs.uk/services/path%20with%20spaces",
)
BAD_URLS = (
    "https://evilnhs.uk/",
    "https://nhs.uk.evil.com/",
    "ftp://www.nhs.uk/",
    "https://user:pass@www.nhs.uk/",
    "www.nhs.uk/no-scheme",
    "javascript:alert(1)//nhs.uk",
    "https://www.nhs.uk:99999/",
    "https://[::1]/",
    "https://www.nhs.uk\\@evil.com/",
)
LINE_BREAKS = ("\n", "\r\n", "\r", " \n\t", "\n\n", "\u2028", "\x85", "\x0b")


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of the strategies, each picked in proportion to its weight."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


# Text with any code point, and often the awkward ones: lone surrogates (they survive JSON
# but not UTF-8), NUL, line and paragraph separators, bidi overrides, BOM, mrkdwn markup.
awkward_characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from("\x00\x85\u2028\u202e\ufeff<>&*_`~|\\\"'"),
)
any_text = st.lists(awkward_characters, max_size=40).map("".join)
encodable_text = st.text(max_size=40)
huge_text = st.builds(
    operator.mul, st.text(min_size=1, max_size=3), st.integers(min_value=1000, max_value=400_000)
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**320),
    st.floats(),
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


# --- URLs -----------------------------------------------------------------------------------

_LABELS = st.sampled_from(
    ["www", "nhs", "uk", "nhs.uk", "evilnhs", "campaignresources", "dhsc", "gov", "", "-", "WWW"]
)
_hosts = st.one_of(
    st.lists(_LABELS, min_size=1, max_size=5).map(".".join),
    st.sampled_from(["www.nhs.uk", "nhs.uk", "campaignresources.dhsc.gov.uk", "[::1]", "xn--"]),
    st.text(max_size=15),
)
_ports = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=70000).map(lambda port: f":{port}"),
    st.sampled_from([":", ":443", ":80", ":080", ":+1", ": 1", ":²"]),
)
url_like = st.builds(
    lambda scheme, slashes, user, host, port, rest: f"{scheme}{slashes}{user}{host}{port}{rest}",
    st.sampled_from(["https:", "http:", "HTTPS:", "ftp:", "javascript:", "", "h\ttp:"]),
    st.sampled_from(["//", "", "/", "///", "\\\\"]),
    st.sampled_from(["", "", "user@", "user:pw@", "@", ":@"]),
    _hosts,
    _ports,
    st.one_of(st.just("/"), st.text(max_size=20).map(lambda tail: "/" + tail), st.text(max_size=8)),
)
# Mostly acceptable URLs, each with one twist: case, subdomains, ports, odd paths.
_subdomains = st.lists(
    st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True), max_size=3
)
nhs_like_url = st.builds(
    lambda scheme, labels, base, port, path: f"{scheme}://{'.'.join([*labels, base])}{port}{path}",
    st.sampled_from(["https", "http", "HTTPS", "Http"]),
    _subdomains,
    st.sampled_from(["nhs.uk", "NHS.UK", "campaignresources.dhsc.gov.uk", "nhs.uk.", "evilnhs.uk"]),
    st.sampled_from(["", "", ":443", ":80", ":8443", ":", ":0"]),
    st.one_of(st.just(""), st.text(max_size=20).map(lambda tail: "/" + tail)),
)
any_url = st.one_of(nhs_like_url, st.sampled_from(GOOD_URLS + BAD_URLS), url_like, any_text)
_good_or_any_url = weighted((2, st.sampled_from(GOOD_URLS)), (1, any_url))
url_lines = st.lists(st.tuples(_good_or_any_url, st.sampled_from(LINE_BREAKS)), max_size=8).map(
    lambda parts: "".join(url + brk for url, brk in parts)
)
good_url_lines = st.lists(st.sampled_from(GOOD_URLS), min_size=1, max_size=5).map("\n".join)
many_good_urls = st.integers(min_value=50, max_value=3000).map(
    lambda n: "\n".join(f"https://www.nhs.uk/page-{i}" for i in range(n))
)
# Mostly valid lists, so that the flow past validation is exercised too.
urls_text = weighted(
    (6, good_url_lines), (3, url_lines), (1, many_good_urls), (1, st.none()), (1, json_values)
)


# --- slash-command bodies -------------------------------------------------------------------

_user_ids = st.sampled_from([constants.USER_ID, constants.OTHER_USER_ID, "W0ENTERPRS", " U0X "])
_DEFAULT_SLASH_FIELDS = dict(parse_qsl(slash_command_body(trigger_id="1.2.3").decode()))


def _encodable(text: str) -> str:
    """``text`` with lone surrogates replaced, so it can travel in a UTF-8 form body."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _realistic(name: str) -> st.SearchStrategy[str]:
    if name == "user_id":
        return _user_ids
    if name == "trigger_id":
        return st.builds(new_trigger_id)
    if name == "text":
        return url_lines.map(_encodable)
    return st.just(_DEFAULT_SLASH_FIELDS[name])


# How a field of a well-formed request is treated: mostly kept, sometimes broken.
_FATES = ("keep",) * 12 + ("drop", "drop", "other", "huge")
_BREAKAGES = ("drop", "drop", "other", "other", "huge")


@st.composite
def slash_forms(draw: st.DrawFn) -> bytes:
    """A slash-command form: a few fields dropped, retyped or huge, plus extra fields."""
    count = draw(st.sampled_from((0, 0, 0, 1, 1, 2, 3)))
    broken = draw(st.lists(st.sampled_from(SLASH_COMMAND_FIELDS), min_size=count, max_size=count))
    fields: list[tuple[str, str]] = []
    for name in SLASH_COMMAND_FIELDS:
        fate = draw(st.sampled_from(_BREAKAGES)) if name in broken else "keep"
        if fate == "keep":
            fields.append((name, draw(_realistic(name))))
        elif fate == "other":
            fields.append((name, draw(encodable_text)))
        elif fate == "huge":
            fields.append((name, draw(huge_text)))
    if draw(st.sampled_from(_FATES)) == "other":
        fields += draw(st.lists(st.tuples(encodable_text, encodable_text), max_size=3))
    if draw(st.sampled_from(_FATES)) == "drop":
        fields.append(("ssl_check", draw(st.sampled_from(["1", "0", ""]))))
    return urlencode(draw(st.permutations(fields))).encode("utf-8")


_junk_forms = st.sampled_from(
    [b"", b"=", b"&&&", b"a=%zz", b"a=%FF%FE", b"user_id", b"payload=", b"%", b"a=1;b=2"]
)
junk_bodies = st.one_of(_junk_forms, st.binary(max_size=300))
slash_bodies = weighted((3, slash_forms()), (1, junk_bodies))


# --- interaction bodies ---------------------------------------------------------------------

_PATHS: tuple[tuple[str, ...], ...] = (
    ("type",),
    ("user",),
    ("user", "id"),
    ("user", "username"),
    ("user", "name"),
    ("team",),
    ("team", "id"),
    ("view",),
    ("view", "id"),
    ("view", "callback_id"),
    ("view", "state"),
    ("view", "state", "values"),
    ("view", "state", "values", "environment"),
    ("view", "state", "values", "environment", "environment_input", "selected_option"),
    ("view", "state", "values", "environment", "environment_input", "selected_option", "value"),
    ("view", "state", "values", "urls"),
    ("view", "state", "values", "urls", "urls_input"),
    ("view", "state", "values", "urls", "urls_input", "value"),
)


def _mutate(payload: dict[str, Any], path: tuple[str, ...], value: Any, delete: bool) -> None:
    node: Any = payload
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        node = node[key]
    if delete:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


@st.composite
def submission_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A ``view_submission`` payload with some fields deleted, retyped or added."""
    payload = view_submission_payload(
        user_id=draw(_user_ids),
        user_name=draw(st.sampled_from((constants.USER_NAME,) * 6 + ("", "<@U1> & *x*"))),
        view_id=draw(
            st.one_of(st.just("V0FORM0001"), st.from_regex(r"V[A-Z0-9]{10}", fullmatch=True))
        ),
        environment=draw(st.sampled_from(["staging", "production"] * 3 + ["Production", "dev"])),
        callback_id=draw(st.sampled_from(["cache_flush_request"] * 6 + ["other"])),
    )
    payload["view"]["state"]["values"]["urls"]["urls_input"]["value"] = draw(urls_text)
    if draw(st.sampled_from(_FATES)) == "other":
        payload["user"]["username"] = draw(any_text)
    elif draw(st.sampled_from(_FATES)) == "huge":
        payload["user"]["username"] = draw(huge_text)
    mutations = draw(st.sampled_from((0, 0, 0, 1, 2, 3)))
    for path in draw(st.lists(st.sampled_from(_PATHS), min_size=mutations, max_size=mutations)):
        _mutate(payload, path, draw(json_values), delete=draw(st.booleans()))
    if draw(st.sampled_from(_FATES)) == "other":
        payload.update(draw(st.dictionaries(any_text, json_values, min_size=1, max_size=3)))
    return payload


_other_payloads = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["view_closed", "block_actions", "shortcut"]), any_text)},
    optional={"user": json_values, "view": json_values, "actions": json_values},
)
_deep_payloads = st.sampled_from([1, 10, 990, 1000, 5000, 100_000, 200_000]).map(
    lambda depth: '{"type": "view_submission", "view": ' + "[" * depth + "]" * depth + "}"
)
payload_texts = weighted(
    (12, submission_payloads().map(json.dumps)),
    (1, _other_payloads.map(json.dumps)),
    (1, json_values.map(json.dumps)),
    (1, _deep_payloads),
    (1, st.text(max_size=60)),
)


@st.composite
def interaction_forms(draw: st.DrawFn) -> bytes:
    """``payload=<JSON>`` (or not JSON), sometimes with extra or repeated fields."""
    fields = [("payload", draw(payload_texts))]
    if draw(st.sampled_from(_FATES)) == "other":
        fields += draw(st.lists(st.tuples(encodable_text, encodable_text), max_size=2))
    return urlencode(draw(st.permutations(fields))).encode("utf-8")


interaction_bodies = weighted((3, interaction_forms()), (1, junk_bodies))


# --- message shortcuts ----------------------------------------------------------------------

_mrkdwn_texts = st.one_of(
    st.sampled_from(
        [
            "<https://www.nhs.uk/a?x=1&amp;y=2|the page>",
            "see <https://www.nhs.uk/b> and <@U0OTHER01>, &lt;not a link&gt;",
            "<mailto:a@nhs.uk|write> <#C0WEBTEAM1|web-team> <https://evilnhs.uk/>",
        ]
    ),
    any_text,
)
_text_objects = st.one_of(
    st.builds(lambda text: {"type": "mrkdwn", "text": text}, _mrkdwn_texts),
    st.builds(lambda text: {"type": "plain_text", "text": text}, any_text),
    json_values,
)
_link_elements = st.one_of(
    st.builds(
        lambda url: {"type": "link", "url": url},
        st.one_of(st.sampled_from(GOOD_URLS + BAD_URLS), json_values),
    ),
    st.builds(lambda text: {"type": "text", "text": text}, any_text),
    json_values,
)
_rich_elements = st.recursive(
    _link_elements,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.fixed_dictionaries(
            {"type": st.sampled_from(["rich_text_section", "rich_text_list", "rich_text_quote"])},
            optional={"elements": st.one_of(st.lists(children, max_size=3), children)},
        ),
    ),
    max_leaves=8,
)
# Where a list is expected, often a number, a string or an object instead.
_maybe_lists = weighted(
    (2, st.lists(_text_objects, max_size=3)), (2, st.integers()), (1, _text_objects)
)
_message_blocks = weighted(
    (
        4,
        st.fixed_dictionaries(
            {"type": st.sampled_from(["section", "rich_text", "context", "header"])},
            optional={
                "text": _text_objects,
                "fields": _maybe_lists,
                "elements": weighted(
                    (2, st.lists(_rich_elements, max_size=3)), (1, _rich_elements)
                ),
                "accessory": json_values,
            },
        ),
    ),
    (1, json_values),
)
# Messages whose text and blocks have any shape, well-formed or not.
shortcut_messages = st.fixed_dictionaries(
    {"type": st.just("message"), "ts": st.just("1700000000.000100")},
    optional={
        "text": st.one_of(_mrkdwn_texts, json_values),
        "blocks": weighted(
            (4, st.lists(_message_blocks, min_size=1, max_size=4)), (1, json_values)
        ),
    },
)


def message_shortcut_body(message: dict[str, Any]) -> bytes:
    """The `message_action` form of the "Flush links in this message" shortcut on `message`."""
    payload = message_action_payload(
        SlackUser(constants.USER_ID, constants.USER_NAME, constants.TEAM_ID),
        callback_id="flush_links",
        channel={"id": "C0WEBTEAM1", "name": "web-team"},
        message=message,
        response_url=f"{RESPONSE_URL_BASE}/actions/1",
        verification_token=LEGACY_VERIFICATION_TOKEN,
        trigger_id=new_trigger_id(constants.USER_ID, constants.TEAM_ID),
    )
    return interaction_body(payload)


# --- headers --------------------------------------------------------------------------------

_name_styles: st.SearchStrategy[Callable[[str], str]] = st.sampled_from(
    [str.title, str.lower, str.upper, lambda name: name]
)
_header_names = st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True)
_header_text = st.text(st.characters(max_codepoint=0xFF, exclude_categories=("Cs",)), max_size=20)
_content_types = st.sampled_from(
    [FORM_CONTENT_TYPE, f"{FORM_CONTENT_TYPE}; charset=utf-8", "application/json", "text/plain", ""]
)
_content_lengths = st.one_of(
    st.integers(min_value=0, max_value=4 * MIB).map(str),
    st.sampled_from(["", "-1", "²", "١٢", "1e9", "9" * 5000, " 12"]),
)


@st.composite
def header_variants(
    draw: st.DrawFn, timestamp: str, signature: str | None, body_size: int
) -> dict[str, str]:
    """Headers around a timestamp and signature: name case, content type, extras, length."""
    style = draw(_name_styles)
    headers: dict[str, str] = {}
    content_type = draw(_content_types)
    if content_type:
        headers["Content-Type"] = content_type
    for name, value in draw(st.dictionaries(_header_names, _header_text, max_size=3)).items():
        headers[name] = value
    if draw(st.booleans()):
        headers["Content-Length"] = draw(st.one_of(st.just(str(body_size)), _content_lengths))
    headers[style("X-Slack-Request-Timestamp")] = timestamp
    if signature is not None:
        headers[style("X-Slack-Signature")] = signature
    return headers


def now_timestamp() -> str:
    """The current Unix time, as Slack sends it."""
    return str(int(time.time()))


@st.composite
def signed_requests(
    draw: st.DrawFn, bodies: st.SearchStrategy[bytes]
) -> tuple[bytes, dict[str, str]]:
    """A body and headers carrying a valid signature made now with the signing secret."""
    body = draw(bodies)
    timestamp = now_timestamp()
    return body, draw(header_variants(timestamp, signature_for(body, timestamp), len(body)))


_bad_timestamps = st.one_of(
    st.text(st.sampled_from("0123456789²³¹٣۴-+. e"), min_size=1, max_size=12),
    st.just("9" * 5000),
    st.integers().map(str),
    _header_text,
)
_bad_signatures = st.one_of(
    _header_text,
    _header_text.map(lambda text: "v0=" + text),
    st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
)
FORGERIES = (
    "no headers",
    "timestamp only",
    "signature only",
    "garbage signature",
    "garbage timestamp",
    "wrong secret",
    "other body",
    "stale",
    "future",
    "timestamp moved",
)


@st.composite
def unsigned_requests(
    draw: st.DrawFn, bodies: st.SearchStrategy[bytes]
) -> tuple[bytes, dict[str, str], str]:
    """A body with headers that do not prove Slack sent it, and the kind of forgery."""
    body = draw(bodies)
    forgery = draw(st.sampled_from(FORGERIES))
    now = int(time.time())
    timestamp = str(now)
    signature: str | None = signature_for(body, timestamp)
    if forgery == "no headers":
        return body, {}, forgery
    if forgery == "timestamp only":
        signature = None
    elif forgery == "signature only":
        headers = {"X-Slack-Signature": signature or ""}
        return body, headers, forgery
    elif forgery == "garbage signature":
        signature = draw(_bad_signatures)
    elif forgery == "garbage timestamp":
        timestamp = draw(_bad_timestamps.filter(lambda text: text != str(now)))
    elif forgery == "wrong secret":
        other = draw(st.text(min_size=1, max_size=30).filter(lambda text: text != SECRET))
        signature = signature_for(body, timestamp, other)
    elif forgery == "other body":
        signature = signature_for(body + draw(st.binary(min_size=1, max_size=5)), timestamp)
    elif forgery in ("stale", "future"):
        shift = draw(st.integers(min_value=301, max_value=10**9))
        timestamp = str(now - shift if forgery == "stale" else now + shift)
        signature = signature_for(body, timestamp)
    else:
        signature = signature_for(body, str(now - 400))
    return body, draw(header_variants(timestamp, signature, len(body))), forgery
