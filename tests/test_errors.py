"""The app's exceptions have one root, `shared.errors.AppError`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import shared
from bench.imports import FUNCTION_MODULES
from shared.errors import AppError


def app_modules() -> list[str]:
    names = [f"shared.{info.name}" for info in pkgutil.iter_modules(shared.__path__)]
    return [*names, *FUNCTION_MODULES]


def test_every_exception_the_app_defines_derives_from_app_error() -> None:
    defined = {
        f"{module}.{name}": cls
        for module in app_modules()
        for name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if cls.__module__ == module and issubclass(cls, BaseException)
    }
    assert len(defined) >= 6, sorted(defined)
    assert [name for name, cls in defined.items() if not issubclass(cls, AppError)] == []
