"""devhost as a child process for the benchmarks, with the log of the invocations it ran."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from bench.appenv import REPO_ROOT, child_environment
from devhost.lifecycle import StartStop
from devhost.process import DevhostProcess

_INVOCATION = re.compile(
    r"Execut(?P<phase>ing|ed) 'Functions\.(?P<name>[^']+)' \((?:(?P<outcome>\w+), )?"
    r"(?:Reason='[^']*', )?Id=(?P<id>[0-9a-f-]+)"
)
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Invocation:
    """One function invocation as devhost ran it (epoch seconds)."""

    name: str
    started: float
    finished: float
    outcome: str


class Devhost(StartStop):
    """``python -m devhost --simulate`` (through ``bench.devhost_probe``) on a free port."""

    def __init__(self, workdir: Path, settings: dict[str, str]) -> None:
        """Prepare a host whose state, output and invocation log live in ``workdir``."""
        self.workdir = workdir
        self.settings = settings
        self.invocation_log = workdir / "invocations.jsonl"
        self.output_log = workdir / "devhost.log"
        self.base_url = ""
        self._process: DevhostProcess | None = None

    def start(self) -> Self:
        """Start devhost and wait (with a deadline) until it listens.

        Its output goes straight to a file, never through a pipe this process would have to
        drain: a full pipe would stall devhost's logging, and with it the figures.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = child_environment(self.settings) | {"BENCH_INVOCATION_LOG": str(self.invocation_log)}
        args = ["--simulate", "--app-root", str(REPO_ROOT)]
        args += ["--state-dir", str(self.workdir / "state"), "--port", "0"]
        process = DevhostProcess(
            args, env=env, cwd=REPO_ROOT, module="bench.devhost_probe", output_file=self.output_log
        )
        self._process = process
        try:
            base_url = process.wait_listening(STARTUP_SECONDS)
        except TimeoutError:
            base_url = None
        if base_url is None:
            self.stop()
            raise RuntimeError(f"devhost did not start:\n{process.output[-2000:]}")
        self.base_url = base_url
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is not None:
            process.stop(timeout=timeout)

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) devhost has used so far; ``None`` where /proc is missing."""
        if self._process is None:
            return None
        try:
            stat = Path(f"/proc/{self._process.pid}/stat").read_text(encoding="ascii")
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def invocations(self) -> list[Invocation]:
        """Every finished invocation so far, from the probe's log."""
        started: dict[str, tuple[str, float]] = {}
        finished: list[Invocation] = []
        if not self.invocation_log.exists():
            return finished
        with self.invocation_log.open(encoding="utf-8") as log:
            for line in log:
                record = json.loads(line)
                match = _INVOCATION.search(record["m"])
                if match is None:
                    continue
                if match["phase"] == "ing":
                    started[match["id"]] = (match["name"], record["t"])
                elif match["id"] in started:
                    name, begin = started.pop(match["id"])
                    finished.append(Invocation(name, begin, record["t"], match["outcome"] or ""))
        return finished
