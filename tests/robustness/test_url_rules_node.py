"""The URL rules against Node.js's own URL parser, the one the real cache-flush service runs on.

cache-flush trims each URL, parses it with `new URL()` and accepts it when the WHATWG `host`
(port and trailing dot included) ends with the allowed domain or equals an allowed host. For
thousands of twisted URLs, every URL the modal accepts must be one Node.js parses to exactly
the URL the app sends, from what the user typed as well as from what is sent, with a host
cache-flush accepts. The app pins the ada-url release that bundles the ada version of the
Node.js the README asks for (ADR 0008); this test is what shows that they agree.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess

import pytest

from shared.submission import normalise_url, split_urls
from tests.robustness.fuzzing import tally
from tests.robustness.test_url_rules import DOMAINS, HOSTS

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js (needed for Azurite) is missing")

SCHEMES = ["https://", "http://", "HTTPS://", "https:", "https:/", "https:\\\\", "http:"]
USERS = ["", "", "", "@", "user@"]
LABELS = [
    "www",
    "WWW",
    "a",
    "\u00f1",
    "\uff57\uff57\uff57",
    "xn--ida",
    "xn--bcher-kva",
    "xn--a",
    "xn--",
    "%41",
    "a\u200bb",
    "\u00df",
    "\u1e9e",
    "\u10a0",
    "\u2132",
    "a\u3164b",
    "a%E2%81%AAb",
    "\u4e2d\u6587",
    "\U000141d3",
]
BASES = [
    "nhs.uk",
    "NHS.UK",
    "nhs.u\u212a",
    "nhs\uff0euk",
    "nhs.uk.",
    "campaignresources.dhsc.gov.uk",
]
PORTS = ["", "", "", ":", ":443", ":0443", ":80", ":8443"]
PATHS = [
    "/",
    "/a^b",
    "/a`b{c}|d",
    "/\u00e7\u00e3o?q=\u00e4#f",
    "/a\\b",
    "/%7e/%zz",
    "/\u202egnp.exe",
    "/a\tb",
    "/\U0001f600",
    "/..//./x",
    "?",
    "#x",
]
AROUND = ["", "", " ", "\t", "\ufeff", "\u3000", "\xa0"]

# Parse as cache-flush does: trim, `new URL()`, the WHATWG host against its allowed names.
CHECK = """
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const [domain, hosts] = [process.argv[1], process.argv[2].split(',')];
const parse = (text) => { try { return new URL(text.trim()); } catch (e) { return null; } };
const out = [];
for (const [typed, sent] of cases) {
  const fromSent = parse(sent), fromTyped = parse(typed);
  const hostOk = fromSent && (fromSent.host.endsWith(domain) || hosts.includes(fromSent.host));
  if (!hostOk || fromSent.href !== sent || !fromTyped || fromTyped.href !== sent) {
    out.push([typed, sent, fromSent && fromSent.href, fromTyped && fromTyped.href]);
  }
}
process.stdout.write(JSON.stringify(out));
"""


def _candidates(count: int) -> list[str]:
    pick = random.Random(20261130).choice  # noqa: S311 (test data, not secrets)
    return [
        pick(AROUND)
        + pick(SCHEMES)
        + pick(USERS)
        + ".".join([*(pick(LABELS) for _ in range(pick([0, 1, 1, 2]))), pick(BASES)])
        + pick(PORTS)
        + pick(PATHS)
        + pick(AROUND)
        for _ in range(count)
    ]


def test_every_url_the_modal_accepts_node_parses_to_what_is_sent() -> None:
    accepted = []
    for typed in itertools.chain(
        _candidates(6000), (f"https://{label}.nhs.uk/" for label in LABELS)
    ):
        # White space inside a URL separates two URLs: only what stays one piece is compared.
        pieces = split_urls(typed)
        sent = normalise_url(pieces[0], DOMAINS, HOSTS) if len(pieces) == 1 else None
        if isinstance(sent, str):
            accepted.append((typed, sent))
    assert len(accepted) > 800, "the candidates must exercise acceptance, not only refusals"
    assert NODE is not None
    run = subprocess.run(  # noqa: S603 (a fixed script, our own data on stdin)
        [NODE, "-e", CHECK, DOMAINS[0], ",".join(HOSTS)],
        input=json.dumps(accepted),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    disagreements = json.loads(run.stdout)
    assert disagreements == [], disagreements[:10]
    tally["examples: URL rules, accepted URLs checked by Node.js"] += len(accepted)
