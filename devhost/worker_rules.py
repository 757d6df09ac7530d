"""The load-time checks of Microsoft's Python worker, so devhost refuses what Azure refuses.

When the worker (azure-functions-python-worker; its v1-model runtime is published as
``azure-functions-runtime-v1``) loads a function.json function, its ``Registry.add_function``
reads the entry point's signature and ``typing.get_type_hints`` and refuses the function with
a ``FunctionLoadError`` ("cannot load the <name> function: ...") when:

- a binding has direction ``inout``, or ``$return`` is not ``out``;
- a ``context`` parameter that is no binding is annotated with anything but
  ``azure.functions.Context``;
- a parameter has no binding, or a binding (other than ``$return``) has no parameter;
- an annotation is neither a class nor a ``typing`` generic (``typing.Dict[str, Any]`` passes,
  ``dict[str, Any]``, ``X | None`` and ``typing.Optional[X]`` do not: from Python 3.11 a
  builtin generic alias is no class);
- ``azure.functions.Out[...]`` annotates an ``in`` binding, an ``out`` binding is annotated
  without it, or ``Out`` does not take exactly one type;
- the binding's converter (``azure.functions``' own ``check_input_type_annotation`` /
  ``check_output_type_annotation``; ``str``/``bytes`` on a binding without implicit output
  are checked as the generic binding) rejects the annotated type;
- with a ``$return`` binding, the return annotation is ``Out``, is no class, or its converter
  rejects it.

The messages are the worker's own, word for word. Checks run in the worker's order, so the
first refusal is the one Azure would report.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from azure.functions import meta

from devhost.config import StartupError

RETURN_BINDING = "$return"
CONTEXT_PARAMETER = "context"
OUT = "out"
INOUT = "inout"
_GENERIC_BINDING = "generic"
# The worker's generic-type test looks at typing's own alias classes, not at builtin aliases.
_GENERIC_ALIAS: type = getattr(typing, "_GenericAlias")  # noqa: B009
_TYPING_ALIASES: tuple[type, ...] = (_GENERIC_ALIAS, getattr(typing, "_SpecialGenericAlias"))  # noqa: B009
_NOT_GENERIC_ORIGINS: tuple[Any, ...] = (typing.Union, tuple, typing.ClassVar, Callable)


class BindingInfo(Protocol):
    """What the checks read of a function.json binding."""

    @property
    def name(self) -> str:
        """The binding name (``$return`` for the return value)."""

    @property
    def type(self) -> str:
        """The binding type, e.g. ``httpTrigger``."""

    @property
    def direction(self) -> str:
        """``in``, ``out`` or ``inout`` (lower case)."""

    @property
    def settings(self) -> Mapping[str, Any]:
        """The raw binding object (``dataType`` is read from it)."""


class WorkerLoadError(StartupError):
    """The worker would refuse to load the function; the message is the worker's."""

    def __init__(self, function: str, message: str) -> None:
        """Word the refusal as the worker's ``FunctionLoadError`` does."""
        super().__init__(f"cannot load the {function} function: {message}")


def binding_direction_error(name: str, direction: str) -> str | None:
    """The worker's refusal of a binding's direction, or ``None`` when it is accepted."""
    if direction == INOUT:
        return '"inout" bindings are not supported'
    if name == RETURN_BINDING and direction != OUT:
        return '"$return" binding must have direction set to "out"'
    return None


def _is_class(annotation: Any) -> bool:
    """A class, as Python 3.11+ sees it: ``list[int]`` is not one (it was before 3.11)."""
    return isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias)


def _origin(annotation: Any) -> Any:
    if isinstance(annotation, _GENERIC_ALIAS):
        origin = getattr(annotation, "__origin__", None)
        return None if origin is typing.ClassVar else origin
    return typing.Generic if annotation is typing.Generic else None


def _is_generic(annotation: Any) -> bool:
    """A ``typing`` generic: ``typing.Dict[str, Any]``, ``Out[str]``, a Generic subclass."""
    if _is_class(annotation):
        return issubclass(annotation, typing.Generic)
    return isinstance(annotation, _TYPING_ALIASES) and (
        getattr(annotation, "__origin__", None) not in _NOT_GENERIC_ORIGINS
    )


def _is_out(annotation: Any) -> bool:
    if _is_generic(annotation):
        origin = _origin(annotation)
        if origin is not None:
            return _is_class(origin) and origin.__name__ == "Out"
    return _is_class(annotation) and annotation.__name__ == "Out"


def _converter(binding_type: str) -> Any:
    return meta.get_binding_registry().get(binding_type)


def _has_implicit_output(binding_type: str) -> bool:
    converter = _converter(binding_type)
    if converter is None:  # the worker's generic binding: implicit output, except a client
        return binding_type != "durableClient"
    check = getattr(converter, "has_implicit_output", None)
    return bool(check()) if check is not None else False


def _accepts(binding_type: str, pytype: Any, *, output: bool) -> bool:
    converter = _converter(binding_type)
    if converter is None:
        allowed: tuple[type, ...] = (str, bytes, bytearray) if output else (str, bytes)
        return issubclass(pytype, allowed)
    if output:
        return bool(converter.check_output_type_annotation(pytype))
    return bool(converter.check_input_type_annotation(pytype))


def _type_name(pytype: Any) -> str:
    return str(getattr(pytype, "__name__", repr(pytype)))


def _check_parameter(
    function: str, name: str, binding: BindingInfo, annotations: Mapping[str, Any]
) -> None:
    has_annotation = name in annotations
    annotation = annotations.get(name)
    is_out = has_annotation and _is_out(annotation)
    if is_out:
        arguments: tuple[Any, ...] = (
            getattr(annotation, "__args__", ()) if isinstance(annotation, _GENERIC_ALIAS) else ()
        )
        if len(arguments) != 1:
            raise WorkerLoadError(
                function, f"binding {name} has invalid Out annotation {annotation!r}"
            )
        pytype = arguments[0]
    else:
        pytype = annotation
    if has_annotation and not _is_class(pytype) and not _is_generic(pytype):
        raise WorkerLoadError(
            function, f"binding {name} has invalid non-type annotation {annotation!r}"
        )
    binding_is_out = binding.direction == OUT
    if binding_is_out and has_annotation and not is_out:
        raise WorkerLoadError(
            function,
            f'binding {name} is declared to have the "out" direction, but its annotation in '
            "Python is not a subclass of azure.functions.Out",
        )
    if not binding_is_out and is_out:
        raise WorkerLoadError(
            function,
            f'binding {name} is declared to have the "in" direction in function.json, but its '
            "annotation is azure.functions.Out in Python",
        )
    if not has_annotation:
        return
    checked_as = binding.type
    if pytype in (str, bytes) and not _has_implicit_output(binding.type):
        checked_as = _GENERIC_BINDING
    try:
        accepted = _accepts(checked_as, pytype, output=is_out)
    except TypeError as exc:  # the worker fails on such an annotation too, with this error
        raise WorkerLoadError(function, f"{type(exc).__name__}: {exc}") from None
    if accepted:
        return
    if binding.settings.get("dataType") not in (None, "undefined"):
        raise WorkerLoadError(
            function,
            f'binding type "{name!r}" and dataType "{binding.type}" in function.json do not '
            "match the corresponding function parameter's Python type annotation "
            f"{_type_name(pytype)}",
        )
    raise WorkerLoadError(
        function,
        f'type of {name} binding in function.json "{binding.type}" does not match its '
        f'Python annotation "{_type_name(pytype)}"',
    )


def _check_return(
    function: str, return_binding: BindingInfo | None, annotations: Mapping[str, Any]
) -> None:
    if return_binding is None or "return" not in annotations:
        return
    annotation = annotations["return"]
    origin = _origin(annotation) if _is_generic(annotation) else None
    if origin is not None and getattr(origin, "__name__", None) == "Out":
        raise WorkerLoadError(function, "return annotation should not be azure.functions.Out")
    if not _is_class(annotation):
        raise WorkerLoadError(function, f"has invalid non-type return annotation {annotation!r}")
    try:
        accepted = _accepts(return_binding.type, annotation, output=True)
    except TypeError as exc:
        raise WorkerLoadError(function, f"{type(exc).__name__}: {exc}") from None
    if not accepted:
        raise WorkerLoadError(
            function,
            f'Python return annotation "{_type_name(annotation)}" does not match binding type '
            f'"{return_binding.type}"',
        )


def check_entry_point(
    function: str, func: Callable[..., Any], bindings: Sequence[BindingInfo]
) -> bool:
    """Apply the worker's load-time checks; return whether a ``context`` is passed.

    Raises ``WorkerLoadError`` with the worker's message when the worker would refuse.
    """
    for binding in bindings:
        problem = binding_direction_error(binding.name, binding.direction)
        if problem:
            raise WorkerLoadError(function, problem)
    try:
        annotations = typing.get_type_hints(func)
    except Exception as exc:  # an unresolvable annotation fails the worker's load as well
        raise WorkerLoadError(function, f"{type(exc).__name__}: {exc}") from None
    parameters = dict(inspect.signature(func).parameters)
    bound = {b.name: b for b in bindings if b.name != RETURN_BINDING}
    return_binding = next((b for b in bindings if b.name == RETURN_BINDING), None)

    wants_context = CONTEXT_PARAMETER in parameters and CONTEXT_PARAMETER not in bound
    if wants_context:
        del parameters[CONTEXT_PARAMETER]
        if CONTEXT_PARAMETER in annotations:
            annotation = annotations[CONTEXT_PARAMETER]
            if not _is_class(annotation) or annotation.__name__ != "Context":
                raise WorkerLoadError(
                    function,
                    'the "context" parameter is expected to be of type azure.functions.Context, '
                    f'got "{annotation!r}"',
                )
    extra = set(parameters) - set(bound)
    if extra:
        raise WorkerLoadError(
            function,
            f"the following parameters are declared in Python but not in function.json: {extra!r}",
        )
    missing = set(bound) - set(parameters)
    if missing:
        raise WorkerLoadError(
            function,
            "the following parameters are declared in function.json but not in Python: "
            f"{missing!r}",
        )
    for name in parameters:
        _check_parameter(function, name, bound[name], annotations)
    _check_return(function, return_binding, annotations)
    return wants_context
