"""Helpers for the deployment tests: run the scripts, serve HTTP on loopback, fake az."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from devhost.standins.recording import RecordedRequest
from devhost.standins.stub_server import Reply, StubServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
FAKE_AZ = Path(__file__).with_name("fake_az.py")


def run_script(
    name: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    path_prefix: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run scripts/<name> with a clean environment holding only PATH, HOME, LANG and ``env``."""
    search_path = os.environ["PATH"]
    if path_prefix is not None:
        search_path = f"{path_prefix}{os.pathsep}{search_path}"
    environment = {
        "PATH": search_path,
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    environment.update(env or {})
    return subprocess.run(  # noqa: S603 - the project's own scripts
        [str(SCRIPTS / name), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    """Everything the script printed, stdout then stderr."""
    return result.stdout + result.stderr


def unescape_logging_value(value: str) -> str:
    """Undo the escaping of a logging command's value, as the Azure Pipelines agent does."""
    for escaped, character in (("%0D", "\r"), ("%0A", "\n"), ("%AZP25", "%")):
        value = value.replace(escaped, character)
    return value


def secret_variables(stdout: str) -> list[tuple[str, str]]:
    """The (name, value) of every ``task.setvariable ...;issecret=true`` command, in order."""
    prefix = "##vso[task.setvariable variable="
    found = []
    for line in stdout.splitlines():
        if line.startswith(prefix):
            properties, _, value = line[len(prefix) :].partition("]")
            name, _, flags = properties.partition(";")
            assert flags == "issecret=true", line
            found.append((name, unescape_logging_value(value)))
    return found


@dataclass(frozen=True)
class Request:
    """One request received by a ``LocalServer``."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What a ``LocalServer`` handler returns."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any) -> Answer:
        """An answer with a JSON body."""
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


class LocalServer(StubServer):
    """A stand-in on 127.0.0.1 that answers with ``handler``, which sees each ``Request``."""

    def __init__(self, handler: Callable[[Request], Answer]) -> None:
        """Prepare a server answering with ``handler``; ``start()`` binds a free port."""
        super().__init__("deploy-test")
        self.handler = handler

    def received(self) -> list[Request]:
        """Every request so far, in arrival order."""
        return [_as_request(recorded) for recorded in self.requests()]

    def handle(self, request: RecordedRequest) -> Reply:
        """What ``handler`` answers."""
        answer = self.handler(_as_request(request))
        return Reply(answer.status, body=answer.body, headers=answer.headers)


def _as_request(recorded: RecordedRequest) -> Request:
    return Request(
        method=recorded.method,
        path=recorded.path,
        query=parse_qs(recorded.raw_query, keep_blank_values=True),
        headers={name.lower(): value for name, value in recorded.headers.items()},
        body=recorded.body,
    )


class FakeAz:
    """An ``az`` command on PATH that logs its calls and answers as the test tells it."""

    def __init__(self, directory: Path) -> None:
        """Create the command and its log in ``directory``."""
        self.bin = directory / "bin"
        self.bin.mkdir()
        self.log = directory / "az-calls.jsonl"
        self.rules_file = directory / "az-rules.json"
        self.state_file = directory / "az-state.json"
        self.rules: list[dict[str, Any]] = []
        command = self.bin / "az"
        command.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_AZ}" "$@"\n')
        command.chmod(0o755)
        self._save()

    def answer(
        self, args_prefix: list[str], stdout: str = "", exit_code: int = 0, times: int = -1
    ) -> None:
        """Answer calls whose arguments start with ``args_prefix``.

        The first matching rule that is not used up wins; ``times`` limits how often a rule
        answers (-1: always).
        """
        rule = {"args_prefix": args_prefix, "stdout": stdout, "exit": exit_code, "times": times}
        self.rules.append(rule)
        self._save()

    def _save(self) -> None:
        self.rules_file.write_text(json.dumps(self.rules))

    def model_app(self, state: dict[str, Any]) -> None:
        """Let calls that no rule answers act on a model of the function app (fake_az.py):
        ``host``, ``app_settings`` and optionally ``function_key``."""
        self.state_file.write_text(json.dumps(state))

    def app(self) -> dict[str, Any]:
        """The modelled function app as the calls so far left it."""
        return json.loads(self.state_file.read_text())

    @property
    def env(self) -> dict[str, str]:
        """The environment variables the fake reads."""
        env = {"FAKE_AZ_LOG": str(self.log), "FAKE_AZ_RULES": str(self.rules_file)}
        if self.state_file.exists():
            env["FAKE_AZ_STATE"] = str(self.state_file)
        return env

    def calls(self) -> list[dict[str, Any]]:
        """Every call so far: its ``args`` and the content of each ``@file`` argument."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> Iterator[list[str]]:
        """The arguments of every call so far."""
        return (call["args"] for call in self.calls())


# App settings the platform reads (host storage, telemetry, the identity), not the app.
PLATFORM_SETTINGS = frozenset(
    {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "AZURE_CLIENT_ID",
    }
)
