"""Evaluate the Azure Pipelines condition expressions the pipeline uses, as the service does.

Supports literals ('text', numbers), ``variables['Name']``, dotted context paths with
indexers (``dependencies.job.outputs['step.NAME']``) and the functions and, or, not, eq, ne,
startsWith, endsWith, gt, lt, succeeded, failed, always. As in Azure Pipelines, names and
string comparisons ignore case, and gt/lt convert the right operand to the left one's type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<punct>[(),\[\]]))"
)


def _lookup(mapping: Any, key: Any) -> Any:
    if isinstance(mapping, Mapping):
        for candidate, value in mapping.items():
            if str(candidate).lower() == str(key).lower():
                return value
    return ""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _convert_like(value: Any, model: Any) -> Any:
    if isinstance(model, (int, float)) and not isinstance(model, bool):
        return float(value)
    return _text(value).lower()


def _compare(left: Any, right: Any) -> int:
    left_value = _convert_like(left, left)
    right_value = _convert_like(right, left)
    return (left_value > right_value) - (left_value < right_value)


def evaluate(expression: str, context: Mapping[str, Any], *, succeeded: bool) -> Any:
    """Evaluate ``expression``; ``succeeded`` is what succeeded() answers."""
    functions: dict[str, Callable[..., Any]] = {
        "and": lambda *args: all(args),
        "or": lambda *args: any(args),
        "not": lambda value: not value,
        "eq": lambda a, b: _text(a).lower() == _text(b).lower(),
        "ne": lambda a, b: _text(a).lower() != _text(b).lower(),
        "startswith": lambda a, b: _text(a).lower().startswith(_text(b).lower()),
        "endswith": lambda a, b: _text(a).lower().endswith(_text(b).lower()),
        "gt": lambda a, b: _compare(a, b) > 0,
        "lt": lambda a, b: _compare(a, b) < 0,
        "succeeded": lambda: succeeded,
        "failed": lambda: not succeeded,
        "always": lambda: True,
    }
    tokens = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"cannot read {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    index = 0

    def peek() -> str | None:
        return tokens[index][1] if index < len(tokens) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal index
        token = tokens[index]
        index += 1
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r} in {expression!r}")
        return token

    def parse() -> Any:
        kind, token = take()
        value: Any
        if kind == "string":
            value = token[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(token) if "." in token else int(token)
        elif kind == "name" and peek() == "(":
            take("(")
            args = []
            while peek() != ")":
                args.append(parse())
                if peek() == ",":
                    take(",")
            take(")")
            value = functions[token.lower()](*args)
        elif kind == "name":
            value = context
            for part in token.split("."):
                value = _lookup(value, part)
        else:
            raise ValueError(f"unexpected {token!r} in {expression!r}")
        while peek() == "[":
            take("[")
            value = _lookup(value, parse())
            take("]")
        return value

    result = parse()
    if index != len(tokens):
        raise ValueError(f"trailing text in {expression!r}")
    return result
