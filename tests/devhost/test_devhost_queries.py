"""Listing and purging instances: the extension's HTTP API, and the SDK's client through it."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost import create_host
from devhost.management import CONTINUATION_HEADER, DEFAULT_PAGE_SIZE
from devhost.simulate.client import WEBHOOK, wait_until
from devhost.store import (
    DATABASE_FILE,
    FinishedInstance,
    InstanceQuery,
    prefix_upper_bound,
    seed_finished_instances,
)
from tests.devhost.conftest import HERE, RunningHost
from tests.devhost.toolkit import ToyClient

BASE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _at(seconds: int) -> datetime:
    return BASE + timedelta(seconds=seconds)


def _sdk_time(moment: datetime) -> str:
    """A time as the SDK writes it in its query strings (DATETIME_STRING_FORMAT)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _batch(
    prefix: str,
    count: int,
    status: str,
    *,
    digits: int = 3,
    start: int = 0,
    fields: Callable[[int], dict[str, str]] = lambda i: {},
) -> list[FinishedInstance]:
    """``count`` instances ``<prefix><i>`` in ``status``, the i-th created ``start + i`` s in.

    ``fields(i)`` gives the i-th one's JSON texts (input, output, custom status).
    """
    return [
        FinishedInstance(
            instance_id=f"{prefix}{i:0{digits}d}",
            name="toy_flow",
            runtime_status=status,
            created_time=_at(start + i),
            **fields(i),
        )
        for i in range(count)
    ]


def _seed() -> list[FinishedInstance]:
    seeded = _batch(
        "alpha-",
        250,
        "Completed",
        digits=4,
        fields=lambda i: {
            "input": f'{{"n": {i}}}',
            "output": '"done"',
            "custom_status": f'{{"step": {i}}}',
        },
    )
    seeded += _batch("beta-", 50, "Failed", fields=lambda i: {"input": f'"b{i}"'})
    seeded += _batch("gamma-", 30, "Terminated", start=1000)
    # Lies just above every "alpha-" ID: a prefix range must stop before it.
    seeded.append(
        FinishedInstance("alpha.", "toy_flow", "Completed", created_time=_at(5), input="1")
    )
    return seeded


@pytest.fixture(scope="module")
def seeded(loop_thread, tmp_path_factory) -> Iterator[RunningHost]:
    """devhost on the toy app, over a state directory seeded with finished instances."""
    work_dir = tmp_path_factory.mktemp("queries-work")
    state_dir = work_dir / "state"
    assert seed_finished_instances(state_dir, _seed()) == 331
    host = create_host(HERE / "toyapp", state_dir, port=0)
    loop_thread.run(host.start())
    try:
        yield RunningHost(host=host, client=ToyClient(host.base_url), work_dir=work_dir)
    finally:
        loop_thread.run(host.stop())


def _ids(body: list[dict]) -> list[str]:
    return [s["instanceId"] for s in body]


def test_pages_follow_the_continuation_token_in_instance_id_order(seeded):
    client = seeded.client
    pages, token = [], None
    while True:
        headers = {CONTINUATION_HEADER: token} if token else {}
        response = client.send(
            "GET",
            f"{WEBHOOK}/instances",
            params={"instanceIdPrefix": "alpha-", "top": "100"},
            headers=headers,
        )
        assert response.status_code == 200
        pages.append(_ids(response.json()))
        token = response.headers.get(CONTINUATION_HEADER)
        if not token:
            break
    assert [len(page) for page in pages] == [100, 100, 50]
    everything = [i for page in pages for i in page]
    assert everything == [f"alpha-{i:04d}" for i in range(250)]


def test_without_top_a_page_holds_the_extension_default_of_100(seeded):
    response = seeded.client.send("GET", f"{WEBHOOK}/instances/?instanceIdPrefix=alpha-")
    assert len(response.json()) == DEFAULT_PAGE_SIZE == 100
    assert response.headers.get(CONTINUATION_HEADER)
    # The last page carries no token.
    last = seeded.client.send("GET", f"{WEBHOOK}/instances", params={"instanceIdPrefix": "beta-"})
    assert len(last.json()) == 50
    assert CONTINUATION_HEADER not in last.headers


def test_filters_combine(seeded):
    params = {
        "runtimeStatus": "Failed,Terminated",
        "createdTimeFrom": _sdk_time(_at(10)),
        "createdTimeTo": _sdk_time(_at(19)),
        "top": "1000",
    }
    body = seeded.client.send("GET", f"{WEBHOOK}/instances", params=params).json()
    # alpha-0010..19 are Completed, gamma are outside the time range: only beta-010..019.
    assert _ids(body) == [f"beta-{i:03d}" for i in range(10, 20)]
    assert body[0]["input"] == "b10"
    assert body[0]["createdTime"] == "2026-01-05T08:00:10Z"

    prefixed = {**params, "runtimeStatus": "Completed", "instanceIdPrefix": "alpha-001"}
    body = seeded.client.send("GET", f"{WEBHOOK}/instances", params=prefixed).json()
    assert _ids(body) == [f"alpha-{i:04d}" for i in range(10, 20)]
    assert body[3]["customStatus"] == {"step": 13}

    hidden = {**prefixed, "showInput": "false"}
    body = seeded.client.send("GET", f"{WEBHOOK}/instances", params=hidden).json()
    assert {s["input"] for s in body} == {None}


def test_an_invalid_continuation_token_is_refused(seeded):
    response = seeded.client.send(
        "GET", f"{WEBHOOK}/instances", headers={CONTINUATION_HEADER: "not-a-token"}
    )
    assert response.status_code == 400


def test_the_sdk_client_lists_by_status_prefix_and_time(seeded):
    """get_status_by as the app calls it: the SDK's own URL, dates and parsing."""
    client = seeded.client
    waiting = client.start("toy_wait", {"who": "lister"}, instance_id=f"lst-{uuid.uuid4().hex}")
    wait_until(lambda: (client.status(waiting) or {}).get("customStatus") == "waiting", "the wait")
    since = datetime.now(UTC) - timedelta(minutes=5)
    response = client.send(
        "GET",
        "/api/query",
        params={"status": "Running,Pending", "prefix": "lst-", "from": since.isoformat()},
    )
    assert response.status_code == 200, response.text
    (found,) = response.json()
    assert found["instanceId"] == waiting
    assert found["runtimeStatus"] == "Running"
    assert found["customStatus"] == "waiting"
    assert found["input"] == '{"who": "lister"}'  # the status shows the input as JSON text
    assert datetime.fromisoformat(found["createdTime"]) >= since.replace(microsecond=0)

    seeded_query = {"status": "Failed", "prefix": "beta-00", "to": _at(4).isoformat()}
    body = client.send("GET", "/api/query", params=seeded_query).json()
    assert [(s["instanceId"], s["input"]) for s in body] == [
        (f"beta-00{i}", f"b{i}") for i in range(5)
    ]
    assert body[0]["createdTime"] == "2026-01-05T08:00:00+00:00"
    client.terminate(waiting)
    client.wait_status(waiting)


def test_purge_by_filter_answers_as_the_extension(seeded):
    client = seeded.client
    window = {"from": _at(1000).isoformat(), "to": _at(1009).isoformat()}
    purged = client.send("POST", "/api/purge", params={**window, "status": "Terminated"})
    assert purged.json() == {"instancesDeleted": 10}
    # Nothing left to match: the extension answers 404, which the SDK reads as 0 deleted.
    again = client.send("POST", "/api/purge", params={**window, "status": "Terminated"})
    assert again.json() == {"instancesDeleted": 0}
    direct = client.send(
        "DELETE",
        f"{WEBHOOK}/instances",
        params={"createdTimeFrom": _sdk_time(_at(1000)), "createdTimeTo": _sdk_time(_at(1009))},
    )
    assert direct.status_code == 404
    assert client.status("gamma-000") is None
    assert client.status("gamma-010")["runtimeStatus"] == "Terminated"

    missing_from = client.send("DELETE", f"{WEBHOOK}/instances/")
    assert missing_from.status_code == 400
    assert missing_from.json() == "Please provide value for 'createdTimeFrom' parameter."


def test_purge_never_removes_a_running_instance(seeded):
    client = seeded.client
    before = datetime.now(UTC) - timedelta(seconds=1)
    running = client.start("toy_wait", {"who": "purge"}, instance_id=f"prg-{uuid.uuid4().hex}")
    done = client.start("toy_flow", {"n": 1}, instance_id=f"prg-{uuid.uuid4().hex}")
    client.wait_status(done)
    wait_until(lambda: (client.status(running) or {}).get("customStatus") == "waiting", "wait")
    window = {"createdTimeFrom": _sdk_time(before)}

    only_running = client.send(
        "DELETE", f"{WEBHOOK}/instances", params={**window, "runtimeStatus": "Running"}
    )
    assert only_running.status_code == 404
    everything = client.send("DELETE", f"{WEBHOOK}/instances", params=window)
    assert everything.status_code == 200
    assert everything.json()["instancesDeleted"] >= 1
    assert client.status(done) is None
    assert client.status(running)["runtimeStatus"] == "Running"
    refused = client.send("DELETE", f"{WEBHOOK}/instances/{running}")
    assert refused.status_code == 412

    assert client.raise_event(running, "Approval", "yes") == 202
    client.wait_status(running)
    with sqlite3.connect(seeded.work_dir / "state" / DATABASE_FILE) as db:
        (rows,) = db.execute("SELECT count(*) FROM history WHERE instance_id = ?", (running,))
        assert rows[0] > 0
    purged = client.send("POST", "/api/purge", params={"id": running})
    assert purged.json() == {"instancesDeleted": 1}
    assert client.send("POST", "/api/purge", params={"id": running}).json() == {
        "instancesDeleted": 0
    }
    with sqlite3.connect(seeded.work_dir / "state" / DATABASE_FILE) as db:
        for table in ("instances", "history", "inbox"):
            sql = f"SELECT count(*) FROM {table} WHERE instance_id = ?"  # noqa: S608
            assert db.execute(sql, (running,)).fetchone() == (0,)


def test_an_activity_with_a_durable_client_queries_its_own_instance(seeded):
    instance_id = seeded.client.start("toy_client_caller")
    final = seeded.client.wait_status(instance_id)
    assert final["runtimeStatus"] == "Completed", final["output"]
    assert final["output"] == {"runtimeStatus": "Running", "instanceId": instance_id}


def test_queries_over_10000_instances_use_the_indexes(tmp_path: Path):
    moments = [BASE + timedelta(milliseconds=i) for i in range(10_000)]
    seed_finished_instances(
        tmp_path,
        (
            FinishedInstance(f"bulk-{i:05d}", "toy_flow", "Completed", created_time=moment)
            for i, moment in enumerate(moments)
        ),
    )
    queries = [
        ("instance_id>? AND instance_id<?", InstanceQuery(prefix="bulk-01")),
        ("created_time>?", InstanceQuery(created_from="2026-01-05T08:00:01.000000Z")),
        ("runtime_status=?", InstanceQuery(statuses=("Completed", "Failed"))),
        (
            "instance_id>? AND instance_id<?",
            InstanceQuery(
                statuses=("Running",),
                prefix="bulk-0",
                created_from="2026-01-05T08:00:00.000000Z",
                created_to="2026-01-05T08:00:02.000000Z",
            ),
        ),
    ]
    with sqlite3.connect(tmp_path / DATABASE_FILE) as db:
        for searched, query in queries:
            source, parameters = query.sql(after="bulk-00000")
            # The statement the store runs for a page of GET instances.
            sql = f"SELECT * FROM {source} ORDER BY instance_id LIMIT 101"  # noqa: S608
            plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", parameters)]
            assert plan[0].startswith("SEARCH instances USING"), plan
            assert searched in plan[0], plan
        count = db.execute(
            "SELECT count(*) FROM instances WHERE instance_id >= ? AND instance_id < ?",
            ("bulk-01", prefix_upper_bound("bulk-01")),
        ).fetchone()
        assert count == (1000,)


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("abc", "abd"),
        ("alpha-", "alpha."),
        ("a\U0010ffff", "b"),
        ("\U0010ffff", None),
        ("a\ud7ff", "a\ue000"),
    ],
)
def test_prefix_upper_bound(prefix, bound):
    assert prefix_upper_bound(prefix) == bound


def test_only_finished_instances_can_be_seeded(tmp_path: Path):
    with pytest.raises(ValueError, match="only finished instances"):
        seed_finished_instances(tmp_path, [FinishedInstance("x", "toy_flow", "Running", BASE)])
