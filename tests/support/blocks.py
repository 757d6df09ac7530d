"""Reading Block Kit the way a person reads it: every text of the blocks, joined."""

from __future__ import annotations

from typing import Any


def block_texts(blocks: list[dict[str, Any]]) -> str:
    """Every text of the section and context blocks, one per line."""
    return "\n".join(
        [block["text"]["text"] for block in blocks if "text" in block]
        + [
            item["text"]
            for block in blocks
            for item in block.get("elements", [])
            if isinstance(item.get("text"), str)
        ]
    )
