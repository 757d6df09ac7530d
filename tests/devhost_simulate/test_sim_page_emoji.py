"""The demo page draws every emoji shortcode the app sends as an emoji, not as text."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_JS = ROOT / "devhost" / "simulate" / "web" / "app.js"
SHORTCODE = re.compile(r":([a-z0-9_+-]+):")


def page_emoji() -> set[str]:
    """The shortcodes in app.js's EMOJI table."""
    source = APP_JS.read_text(encoding="utf-8")
    table = re.search(r"const EMOJI = \{(.*?)\n  \};", source, re.DOTALL)
    assert table, "app.js has an EMOJI table"
    return set(re.findall(r"^\s+(\w+): \[", table.group(1), re.MULTILINE))


def app_shortcodes() -> dict[str, str]:
    """Every shortcode in the app's package, with a file that uses it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        for name in SHORTCODE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, path.name)
    return found


def test_every_shortcode_the_app_sends_is_drawn_as_an_emoji() -> None:
    used = app_shortcodes()
    assert "white_check_mark" in used, "the scan finds the app's shortcodes"
    missing = {name: where for name, where in used.items() if name not in page_emoji()}
    assert missing == {}, f"add these to EMOJI in {APP_JS.name}: {missing}"
