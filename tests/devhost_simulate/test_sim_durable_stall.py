"""`/sim/durable/faults`: delays for the durable API's starts and status reads, nothing else."""

from __future__ import annotations

import pytest

from tests.devhost_simulate.conftest import SimServer


@pytest.mark.parametrize(
    "body",
    [
        {"method": "raise_event", "delay": 1},
        {"delay": 1},
        {"method": "start", "delay": 1, "status": 500},
    ],
)
def test_only_a_delay_of_a_start_or_a_status_read_is_accepted(
    server: SimServer, body: dict
) -> None:
    assert server.post("/sim/durable/faults", body).status_code == 400
    assert server.client.get("/sim/durable/faults")["faults"] == []


def test_a_delay_is_listed_and_cleared(server: SimServer) -> None:
    answer = server.post("/sim/durable/faults", {"method": "status", "delay": 0.5, "times": 2})
    assert answer.status_code == 200, answer.text
    [fault] = server.client.get("/sim/durable/faults")["faults"]
    assert fault["method"] == "status"
    assert server.client.send("DELETE", "/sim/durable/faults").status_code == 200
    assert server.client.get("/sim/durable/faults")["faults"] == []
