"""Block Kit checks and form-state building, as Slack applies them to views and messages.

The checks are deliberately loose: they catch what would make Slack refuse a
view or message in practice (sizes, counts, missing texts, duplicate IDs),
with error messages in Slack's own `[ERROR] … [json-pointer:…]` style.
"""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import dataclass
from typing import Any

MAX_MODAL_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
MAX_MESSAGE_TEXT = 40_000

_ID_ALPHABET = string.ascii_letters + string.digits
_BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "markdown"}
    | {"rich_text", "section", "video"}
)
SINGLE_SELECTS = frozenset({"static_select", "radio_buttons", "external_select"})
_MULTI_SELECTS = frozenset({"multi_static_select", "checkboxes", "multi_external_select"})
TEXT_INPUTS = frozenset({"plain_text_input", "url_text_input", "email_text_input", "number_input"})
_PICKED_KEYS = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "rich_text_input": "rich_text_value",
}
_INPUT_ELEMENTS = SINGLE_SELECTS | _MULTI_SELECTS | TEXT_INPUTS | frozenset(_PICKED_KEYS)


def _error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _check_text(
    errors: list[str],
    obj: Any,
    pointer: str,
    max_len: int,
    *,
    plain_only: bool = False,
    required: bool = True,
) -> None:
    if obj is None:
        if required:
            errors.append(_error("missing required field", pointer))
        return
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        errors.append(_error(f"must be a text object of type {' or '.join(kinds)}", pointer))
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(_error("must be more than 0 characters", f"{pointer}/text"))
    elif len(text) > max_len:
        errors.append(_error(f"must be less than {max_len + 1} characters", f"{pointer}/text"))


def _check_count(errors: list[str], items: Any, pointer: str, low: int, high: int) -> list[Any]:
    if not isinstance(items, list):
        errors.append(_error("must be an array", pointer))
        return []
    if len(items) < low:
        errors.append(_error(f"must provide at least {low} items", pointer))
    if len(items) > high:
        errors.append(_error(f"no more than {high} items allowed", pointer))
    return items


def _check_options(errors: list[str], element: dict[str, Any], pointer: str) -> None:
    for group_index, group in enumerate(element.get("option_groups") or []):
        group_pointer = f"{pointer}/option_groups/{group_index}"
        if isinstance(group, dict):
            _check_option_list(errors, group.get("options"), f"{group_pointer}/options")
    if "options" in element or element.get("type") in {"radio_buttons", "checkboxes"}:
        _check_option_list(errors, element.get("options"), f"{pointer}/options")


def _check_option_list(errors: list[str], options: Any, pointer: str) -> None:
    for index, option in enumerate(_check_count(errors, options, pointer, 1, 100)):
        option_pointer = f"{pointer}/{index}"
        if not isinstance(option, dict):
            errors.append(_error("must be an option object", option_pointer))
            continue
        _check_text(errors, option.get("text"), f"{option_pointer}/text", 75)
        value = option.get("value")
        if not isinstance(value, str) or not 0 < len(value) <= 150:
            errors.append(_error("must be 1 to 150 characters", f"{option_pointer}/value"))


def _check_element(errors: list[str], element: Any, pointer: str) -> None:
    if not isinstance(element, dict) or element.get("type") not in _INPUT_ELEMENTS:
        errors.append(_error("must be a supported input element", pointer))
        return
    _check_text(errors, element.get("placeholder"), f"{pointer}/placeholder", 150, required=False)
    if element["type"] in SINGLE_SELECTS | _MULTI_SELECTS:
        _check_options(errors, element, pointer)
    initial = element.get("initial_value")
    if initial is not None and (not isinstance(initial, str) or len(initial) > 3000):
        errors.append(
            _error("must be a string of at most 3000 characters", f"{pointer}/initial_value")
        )


def _check_block(errors: list[str], block: dict[str, Any], pointer: str) -> None:
    kind = block["type"]
    if kind == "section":
        if block.get("text") is None and block.get("fields") is None:
            errors.append(_error("must provide either text or fields", pointer))
        _check_text(errors, block.get("text"), f"{pointer}/text", 3000, required=False)
        if block.get("fields") is not None:
            fields = _check_count(errors, block["fields"], f"{pointer}/fields", 1, 10)
            for index, field in enumerate(fields):
                _check_text(errors, field, f"{pointer}/fields/{index}", 2000)
    elif kind == "header":
        _check_text(errors, block.get("text"), f"{pointer}/text", 150, plain_only=True)
    elif kind == "context":
        _check_count(errors, block.get("elements"), f"{pointer}/elements", 1, 10)
    elif kind == "actions":
        _check_count(errors, block.get("elements"), f"{pointer}/elements", 1, 25)
    elif kind == "input":
        _check_text(errors, block.get("label"), f"{pointer}/label", 2000, plain_only=True)
        _check_text(
            errors, block.get("hint"), f"{pointer}/hint", 2000, plain_only=True, required=False
        )
        _check_element(errors, block.get("element"), f"{pointer}/element")


def check_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    """Return Slack-style errors for a list of blocks (empty when acceptable)."""
    errors: list[str] = []
    seen_ids: set[str] = set()
    for index, block in enumerate(_check_count(errors, blocks, pointer, 0, max_blocks)):
        block_pointer = f"{pointer}/{index}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            errors.append(_error("must be a block of a supported type", block_pointer))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                errors.append(_error("must be 1 to 255 characters", f"{block_pointer}/block_id"))
            elif block_id in seen_ids:
                errors.append(_error("duplicate block_id", f"{block_pointer}/block_id"))
            else:
                seen_ids.add(block_id)
        _check_block(errors, block, block_pointer)
    return errors


def _check_optional_string(errors: list[str], view: dict[str, Any], key: str, limit: int) -> None:
    value = view.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        errors.append(_error(f"must be a string of at most {limit} characters", f"/view/{key}"))


def check_view(view: Any) -> list[str]:
    """Return Slack-style errors for a modal view (empty when acceptable)."""
    if not isinstance(view, dict):
        return [_error("must be a view object", "/view")]
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append(_error("must be `modal`", "/view/type"))
    _check_text(errors, view.get("title"), "/view/title", 24, plain_only=True)
    _check_text(errors, view.get("submit"), "/view/submit", 24, plain_only=True, required=False)
    _check_text(errors, view.get("close"), "/view/close", 24, plain_only=True, required=False)
    errors.extend(check_blocks(view.get("blocks"), "/view/blocks", MAX_MODAL_BLOCKS))
    has_inputs = any(
        isinstance(block, dict) and block.get("type") == "input"
        for block in view.get("blocks") or []
    )
    if has_inputs and view.get("submit") is None:
        errors.append(_error("submit is required when an input block is present", "/view/submit"))
    _check_optional_string(errors, view, "private_metadata", 3000)
    _check_optional_string(errors, view, "callback_id", 255)
    _check_optional_string(errors, view, "external_id", 255)
    return errors


def _new_id(taken: set[str]) -> str:
    while True:
        candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def with_generated_ids(blocks: list[Any]) -> list[Any]:
    """Return a deep copy of `blocks`; blocks and input elements lacking IDs get random ones."""
    result = copy.deepcopy(blocks)
    taken = {
        str(block["block_id"])
        for block in result
        if isinstance(block, dict) and block.get("block_id") is not None
    }
    for block in result:
        if not isinstance(block, dict):
            continue
        if block.get("block_id") is None:
            block["block_id"] = _new_id(taken)
        element = block.get("element")
        if block.get("type") == "input" and isinstance(element, dict):
            element.setdefault("action_id", _new_id(taken))
    return result


@dataclass(frozen=True)
class InputField:
    """One input block of a view: where its value goes in `state.values`, and its element."""

    block_id: str
    action_id: str
    element: dict[str, Any]
    optional: bool

    @property
    def kind(self) -> str:
        """Return the element type, e.g. `static_select`."""
        return str(self.element.get("type"))

    def mentions(self, word: str) -> bool:
        """Tell whether the block or action ID contains `word` (case-insensitive)."""
        return word in self.block_id.lower() or word in self.action_id.lower()


def input_fields(view: dict[str, Any]) -> list[InputField]:
    """Return the view's input blocks in order."""
    fields = []
    for block in view.get("blocks") or []:
        element = block.get("element") if isinstance(block, dict) else None
        if block.get("type") == "input" and isinstance(element, dict):
            fields.append(
                InputField(
                    block_id=str(block.get("block_id")),
                    action_id=str(element.get("action_id")),
                    element=element,
                    optional=bool(block.get("optional", False)),
                )
            )
    return fields


def _all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options


def _pick_option(element: dict[str, Any], wanted: Any) -> dict[str, Any] | None:
    if wanted is None or wanted == "":
        return None
    if isinstance(wanted, dict):
        return copy.deepcopy(wanted)
    wanted_text = str(wanted)
    for option in _all_options(element):
        label = (
            option.get("text", {}).get("text", "") if isinstance(option.get("text"), dict) else ""
        )
        if wanted_text in (option.get("value"), label) or wanted_text.lower() == label.lower():
            return copy.deepcopy(option)
    return {
        "text": {"type": "plain_text", "text": wanted_text, "emoji": True},
        "value": wanted_text,
    }


def _initial(element: dict[str, Any]) -> Any:
    for key in ("initial_option", "initial_options", "initial_value", "initial_user"):
        if key in element:
            return element[key]
    return None


def state_entry(field: InputField, answer: Any, *, answered: bool) -> dict[str, Any]:
    """Return the `state.values[block][action]` entry Slack sends for the field's element."""
    element = field.element
    value = answer if answered else _initial(element)
    kind = field.kind
    if kind in SINGLE_SELECTS:
        return {"type": kind, "selected_option": _pick_option(element, value)}
    if kind in _MULTI_SELECTS:
        wanted = value if isinstance(value, list) else [] if value in (None, "") else [value]
        picked = [option for item in wanted if (option := _pick_option(element, item))]
        return {"type": kind, "selected_options": picked}
    if kind in TEXT_INPUTS:
        if isinstance(value, list):
            value = "\n".join(str(item) for item in value)
        return {"type": kind, "value": None if value in (None, "") else str(value)}
    return {"type": kind, _PICKED_KEYS.get(kind, "value"): value}


def is_empty(entry: dict[str, Any]) -> bool:
    """Tell whether a state entry holds no value (Slack refuses to submit a required one)."""
    return all(value in (None, "", []) for key, value in entry.items() if key != "type")
