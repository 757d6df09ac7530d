"""``devhost.process.DevhostProcess``, the one way devhost is started as a child process.

A stand-in module plays devhost's part here (it prints the listening line and reacts to
signals as told), so each case takes a fraction of a second; the tests that start the real
devhost this way are in test_devhost_process.py, tests/e2e and tests/robustness.
"""

from __future__ import annotations

import io
import os
import signal
import socket
from pathlib import Path

import pytest

from devhost.process import DevhostProcess, free_port
from tests.support.waiting import wait_until

STAND_IN = """
import os
import signal
import sys

mode = sys.argv[1]


def stop(signum, frame):
    print("stopped", flush=True)
    sys.exit(0)


if mode == "refuse":
    print("reading function.json", flush=True)
    print("devhost: cannot start: function 'x' uses queueTrigger", file=sys.stderr, flush=True)
    sys.exit(2)
signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else stop)
print(os.environ.get("STAND_IN_GREETING", "starting"), flush=True)
if mode != "silent":
    print("devhost listening on http://127.0.0.1:7071", flush=True)
while True:
    signal.pause()
"""
DEADLINE_SECONDS = 30.0
BASE_URL = "http://127.0.0.1:7071"


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """A folder holding the stand-in module ``standin``, to run from."""
    (tmp_path / "standin.py").write_text(STAND_IN, encoding="utf-8")
    return tmp_path


def launch(folder: Path, mode: str, **options: object) -> DevhostProcess:
    return DevhostProcess([mode], cwd=folder, module="standin", **options)


def test_reads_the_listening_line_echoes_the_output_and_stops_on_sigterm(stand_in) -> None:
    echo = io.StringIO()
    env = {**os.environ, "STAND_IN_GREETING": "hello from the environment"}
    process = launch(stand_in, "listen", env=env, echo=echo)
    try:
        assert process.wait_listening(DEADLINE_SECONDS) == BASE_URL
        assert process.base_url == BASE_URL
    finally:
        code = process.stop()
    assert code == 0
    expected = ["hello from the environment\n", f"devhost listening on {BASE_URL}\n", "stopped\n"]
    assert process.lines == expected
    assert process.output == "".join(expected)
    assert echo.getvalue() == "".join(expected)
    assert process.stop() == 0, "stopping again answers the same status"


def test_a_child_that_exits_before_listening_answers_none_with_its_output(stand_in) -> None:
    process = launch(stand_in, "refuse", separate_stderr=True)
    assert process.wait_listening(DEADLINE_SECONDS) is None
    assert process.poll() == 2
    assert process.base_url is None
    assert process.lines == ["reading function.json\n"]
    refusal = "devhost: cannot start: function 'x' uses queueTrigger\n"
    assert process.stderr_lines == [refusal]
    assert process.output == "reading function.json\n" + refusal


def test_stderr_joins_stdout_unless_kept_apart(stand_in) -> None:
    process = launch(stand_in, "refuse")
    assert process.wait_listening(DEADLINE_SECONDS) is None
    assert process.stderr_lines == []
    assert "devhost: cannot start" in process.output


def test_output_can_go_straight_to_a_file(stand_in, tmp_path: Path) -> None:
    log = tmp_path / "devhost.log"
    process = launch(stand_in, "listen", output_file=log)
    try:
        assert process.wait_listening(DEADLINE_SECONDS) == BASE_URL
    finally:
        code = process.stop()
    assert code == 0
    expected = ["starting\n", f"devhost listening on {BASE_URL}\n", "stopped\n"]
    assert log.read_text(encoding="utf-8") == "".join(expected)
    assert process.lines == expected


def test_stop_kills_a_child_that_ignores_sigterm(stand_in) -> None:
    process = launch(stand_in, "stubborn")
    try:
        assert process.wait_listening(DEADLINE_SECONDS) == BASE_URL
        assert process.stop(signal.SIGTERM, timeout=0.3) == -signal.SIGKILL
    finally:
        process.kill()


@pytest.mark.parametrize("to_file", [False, True], ids=["pipe", "file"])
def test_waiting_for_the_listening_line_has_a_deadline(stand_in, tmp_path, to_file) -> None:
    output_file = tmp_path / "out.log" if to_file else None
    process = launch(stand_in, "silent", output_file=output_file)
    try:
        # The child's first line, however slow the machine, then a deadline it cannot meet.
        wait_until(lambda: process.lines == ["starting\n"], "the child's first line")
        with pytest.raises(TimeoutError, match=r"within 0\.3 s:\nstarting"):
            process.wait_listening(0.3)
    finally:
        assert process.kill() == -signal.SIGKILL
    assert process.base_url is None


def test_leaving_the_with_block_stops_the_child(stand_in) -> None:
    with launch(stand_in, "listen") as process:
        assert process.wait_listening(DEADLINE_SECONDS) == BASE_URL
        assert process.poll() is None
    assert process.poll() == 0
    assert process.lines[-1] == "stopped\n"


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname()[1] == port
