"""The app's exceptions have one root, `shared.errors.AppError`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import shared
from shared.errors import AppError

ROOT = Path(__file__).resolve().parents[1]


def app_modules() -> list[str]:
    names = [f"shared.{info.name}" for info in pkgutil.iter_modules(shared.__path__)]
    functions = sorted(path.parent.name for path in ROOT.glob("*/function.json"))
    return [*names, *functions]


def test_every_exception_the_app_defines_derives_from_app_error() -> None:
    defined = {
        f"{module}.{name}": cls
        for module in app_modules()
        for name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if cls.__module__ == module and issubclass(cls, BaseException)
    }
    assert len(defined) >= 6, sorted(defined)
    assert [name for name, cls in defined.items() if not issubclass(cls, AppError)] == []
