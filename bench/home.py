"""The Home tab with a full history, and Flush again, through devhost --simulate.

devhost's store is seeded with finished flushes (10,000 in a full run: 100 people, created
over the retention period) before it starts. Two figures:

- **Home tab**: a signed `app_home_opened` delivery to `/api/slack-events` until its answer.
  The app publishes the tab (`views.publish`) before it answers, so this is the time to the
  publish plus the answer's way back: an upper bound on "opened to published".
- **Flush again**: a click on a Home tab's Flush again (through `/sim/slack/home/click`) until
  the simulated Slack records the app's `views.open` (wall clock, milliseconds).
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.appenv import FLUSH_URL, user_id
from bench.devhost_proc import Devhost
from bench.stats import across_runs
from devhost.simulate.client import DevhostClient
from devhost.simulate.slack_user import slack_signature
from devhost.simulate.slack_workspace import TEAM_ID
from devhost.store import FinishedInstance, seed_finished_instances
from shared.approval import Ended, Stage
from shared.instance_ids import instance_id

PEOPLE = 100
RETENTION_DAYS = 90
EVENTS_PATH = "/api/slack-events"


def seed(state_dir: Path, instances: int, rng: random.Random) -> list[str]:
    """Seed finished flushes spread over people and days; the IDs of the first person's."""
    now = datetime.now(UTC)
    seeded: list[FinishedInstance] = []
    for number in range(instances):
        person = user_id(number % PEOPLE)
        view = f"V0SEED{number:06d}"
        created = now - timedelta(seconds=rng.uniform(60, RETENTION_DAYS * 86_400 - 3_600))
        request = {
            "user_id": person,
            "user_name": f"bench_user_{number % PEOPLE}",
            "team_id": TEAM_ID,
            "view_id": view,
            "environment": "staging",
            "urls": [FLUSH_URL, f"{FLUSH_URL}{number}/"],
            "channel": None,
            "retry_interval_ms": 5000,
        }
        ending = Ended(Stage.FLUSHED, f"P-{number:08d}")
        seeded.append(
            FinishedInstance(
                instance_id=instance_id(TEAM_ID, person, view),
                name="flush_orchestrator",
                runtime_status="Completed",
                created_time=created,
                input=json.dumps(json.dumps(request)),
                custom_status=json.dumps(ending.status()),
            )
        )
    seed_finished_instances(state_dir, seeded)
    first = user_id(0)
    return [s.instance_id for s in seeded if s.instance_id.startswith(f"flush-{TEAM_ID}-{first}-")]


def home_opened(client: DevhostClient, secret: str, user: str) -> float:
    """Send one signed `app_home_opened`; seconds until the app answered."""
    body = json.dumps(
        {
            "token": "bench",
            "team_id": TEAM_ID,
            "api_app_id": "A0BENCH001",
            "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0B"},
        }
    ).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(secret, timestamp, body),
    }
    started = time.monotonic()
    response = client.send("POST", EVENTS_PATH, data=body, headers=headers)
    elapsed = time.monotonic() - started
    if response.status_code != 200:
        raise RuntimeError(f"/api/slack-events answered {response.status_code}")
    return elapsed


def _iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def flush_again(client: DevhostClient, user: str, instance: str) -> float:
    """Click Flush again on the Home tab; seconds until the app's `views.open` reached Slack."""
    seen = len(client.calls("views.open"))
    sent = time.time()
    answer = client.click_home(user, "flush_again", button_value=instance)
    if answer.get("status") != 200:
        raise RuntimeError(f"Flush again answered {answer.get('status')}")
    opened = client.calls("views.open")[seen:]
    if not opened:
        raise RuntimeError("the app did not call views.open")
    return max(_iso_seconds(opened[0]["time"]) - sent, 0.0)


def measure(
    workdir: Path,
    settings: dict[str, str],
    *,
    instances: int,
    runs: int,
    samples: int,
    warmup: int,
    rng: random.Random,
) -> dict[str, Any]:
    """Seed the store, start devhost, then time the Home tab and Flush again."""
    user = user_id(0)
    state = workdir / "state"
    state.mkdir(parents=True, exist_ok=True)
    own = seed(state, instances, rng)
    secret = settings["SLACK_SIGNING_SECRET"]
    publish_runs: list[list[float]] = []
    again_runs: list[list[float]] = []
    with Devhost(workdir, settings) as host:
        client = DevhostClient(host.base_url, timeout=30)
        for _ in range(warmup):
            home_opened(client, secret, user)
        client.open_home(user)
        shown = json.dumps(client.home(user))
        again = [i for i in own if i in shown]
        if not again:
            raise RuntimeError("the Home tab shows none of the person's flushes")
        for _ in range(warmup):
            flush_again(client, user, again[0])
        for _ in range(runs):
            publish_runs.append([home_opened(client, secret, user) for _ in range(samples)])
            again_runs.append(
                [flush_again(client, user, again[n % len(again)]) for n in range(samples)]
            )
        client.close()
    return {
        "instances": instances,
        "own_instances": len(own),
        "publish_ms": across_runs(publish_runs, 1000),
        "flush_again_ms": across_runs(again_runs, 1000),
    }
