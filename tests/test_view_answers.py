"""The answers to a view submission have the shapes Slack's `response_action` documents."""

from __future__ import annotations

import pytest

from shared.view_answers import ViewAnswer


def test_errors_keep_the_view_open_with_an_error_per_block() -> None:
    answer = ViewAnswer.show_errors({"urls_block": "Too many URLs"})
    assert answer.to_dict() == {
        "response_action": "errors",
        "errors": {"urls_block": "Too many URLs"},
    }


def test_an_update_replaces_the_view() -> None:
    view = {"type": "modal", "blocks": []}
    assert ViewAnswer.update(view).to_dict() == {"response_action": "update", "view": view}


@pytest.mark.parametrize(
    "fields",
    [{}, {"errors": {"urls_block": "x"}, "view": {"type": "modal"}}],
    ids=["neither", "both"],
)
def test_an_answer_has_either_errors_or_a_view(fields: dict[str, dict[str, str]]) -> None:
    with pytest.raises(ValueError, match="either errors or a view"):
        ViewAnswer(**fields)
