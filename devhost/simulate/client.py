"""The one client for a running devhost: its simulators, its functions and its durable API.

Tests, the benchmarks and `make run` drive devhost through this class only, over HTTP, as a
developer would with curl (the endpoints are described in README.md next to this file). A
client keeps one keep-alive session; use one client per thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

WEBHOOK = "/runtime/webhooks/durabletask"
CONTINUATION_HEADER = "x-ms-continuation-token"
DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.02
FINAL_STATUSES = ("Completed", "Failed", "Terminated")
T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    Fails (``AssertionError`` naming ``what``) once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_SECONDS)


class DevhostError(AssertionError):
    """devhost answered a driving or inspection request with an unexpected status."""


class DevhostClient:
    """Drives the simulated Slack user, reads what the simulators saw, and the durable API.

    ``app_timeout`` (seconds) is how long the simulated Slack waits for the app's answer to a
    command, submission or click; unset, Slack's own 3 s applies.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEADLINE_SECONDS,
        app_timeout: float | None = None,
    ) -> None:
        """Talk to the devhost at ``base_url`` (no proxy, whatever the environment says)."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.app_timeout = app_timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def close(self) -> None:
        """Close the keep-alive connections."""
        self.session.close()

    # --- plain HTTP ------------------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request to ``path`` as it is (e.g. straight to the app's functions)."""
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **params: str) -> Any:
        """GET ``path``; its JSON (``DevhostError`` unless 200)."""
        return self._checked(self.send("GET", path, params=params), "GET", path)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """POST a JSON body to ``path``; the JSON answer (``DevhostError`` unless 200)."""
        return self._checked(self.send("POST", path, json=dict(body or {})), "POST", path)

    @staticmethod
    def _checked(response: requests.Response, method: str, path: str) -> Any:
        if response.status_code != 200:
            raise DevhostError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    # --- the user's side of Slack ----------------------------------------------------------------

    def _driving(self, body: Mapping[str, Any]) -> dict[str, Any]:
        knobs = {} if self.app_timeout is None else {"timeout": self.app_timeout}
        return knobs | dict(body)

    def command(self, user_id: str, text: str = "", **extra: Any) -> dict[str, Any]:
        """Type the slash command as ``user_id``; the app's answer as Slack saw it.

        ``extra``: ``user_name``, ``channel_id``, and the test knobs ``timeout``,
        ``timestamp`` and ``signing_secret``.
        """
        body = {"user_id": user_id, "text": text, **extra}
        return self.post("/sim/slack/command", self._driving(body))

    def submit(self, user_id: str, **extra: Any) -> dict[str, Any]:
        """Submit the user's open form (``environment``, ``urls``, ``values``, ``view_id``)."""
        return self.post("/sim/slack/submit", self._driving({"user_id": user_id, **extra}))

    def close_view(self, user_id: str, **extra: Any) -> dict[str, Any]:
        """Close the user's open view (``view_id``: another than the latest)."""
        return self.post("/sim/slack/close", self._driving({"user_id": user_id, **extra}))

    def click(
        self,
        user_id: str,
        action_id: str,
        *,
        channel: str | None = None,
        ts: str | None = None,
        view_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Click a button as ``user_id``: in the message at ``channel`` + ``ts``, or a modal.

        The app gets a signed ``block_actions`` payload; ``extra`` may set ``value`` (a
        tampered button value) and the test knobs.
        """
        where = {"view_id": view_id} if view_id else {"channel": channel, "ts": ts}
        body = {"user_id": user_id, "action_id": action_id, **where, **extra}
        return self.post("/sim/slack/click", self._driving(body))

    def open_home(self, user_id: str, **extra: Any) -> dict[str, Any]:
        """Open the app's Home tab as ``user_id``: Slack sends the app ``app_home_opened``.

        Answers the delivery (``status``, ``body``, ``event_id``) and the user's ``home``
        (the published view's record, or ``None``) once the app answered. ``extra``: ``tab``,
        ``retry_of``/``retry_num``/``retry_reason`` and the test knobs.
        """
        return self.post("/sim/slack/home/open", self._driving({"user_id": user_id, **extra}))

    def home(self, user_id: str) -> dict[str, Any] | None:
        """The view the app last published on the user's Home tab (``None`` when never)."""
        homes = self.get("/sim/slack/home", user_id=user_id)["homes"]
        return homes[0]["view"] if homes else None

    def click_home(self, user_id: str, action_id: str, **extra: Any) -> dict[str, Any]:
        """Click a button on the user's Home tab (``block_id``/``button_value`` pick which)."""
        body = {"user_id": user_id, "action_id": action_id, **extra}
        return self.post("/sim/slack/home/click", self._driving(body))

    def post_message(self, user_id: str, text: str, channel: str | None = None) -> dict[str, Any]:
        """Post ``text`` as ``user_id`` typed it, in ``channel`` (default ``#general``)."""
        body = {"user_id": user_id, "text": text} | ({"channel": channel} if channel else {})
        return self.post("/sim/slack/post", body)

    def shortcut(self, user_id: str, channel: str, ts: str, **extra: Any) -> dict[str, Any]:
        """Run the message shortcut (``callback_id``, default ``flush_links``) on a message."""
        body = {"user_id": user_id, "channel": channel, "ts": ts, **extra}
        return self.post("/sim/slack/shortcut", self._driving(body))

    def app_event(self, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Deliver any Events API ``event`` to the app, in Slack's signed envelope."""
        return self.post("/sim/slack/app-event", self._driving({"event": event, **extra}))

    # --- the Slack Web API, as the app calls it --------------------------------------------------

    def web_api(
        self, method: str, args: Mapping[str, Any] | None = None, *, token: str | None
    ) -> dict[str, Any]:
        """Call a simulated Web API method with a JSON body (``token=None``: no token)."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        path = f"/sim/slack/api/{method}"
        response = self.send("POST", path, json=dict(args or {}), headers=headers)
        result: dict[str, Any] = self._checked(response, "POST", method)
        return result

    # --- what the simulated Slack saw ------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """The Web API calls the app made, in order (optionally of one method)."""
        return self.get("/sim/slack/calls", **({"method": method} if method else {}))["calls"]

    def views(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """The user's views (or everyone's), oldest first, with their life story."""
        return self.get("/sim/slack/views", **({"user_id": user_id} if user_id else {}))["views"]

    def only_view(self, user_id: str) -> dict[str, Any]:
        """The user's only view (fails when there are none or several)."""
        views = self.views(user_id)
        if len(views) != 1:
            raise DevhostError(f"{user_id} has {len(views)} views: {views}")
        return views[0]

    def current_view(self, user_id: str) -> dict[str, Any]:
        """The content of the user's latest view."""
        views = self.views(user_id)
        if not views:
            raise DevhostError(f"{user_id} has no view")
        view: dict[str, Any] = views[-1]["view"]
        return view

    def messages(
        self,
        *,
        user_id: str | None = None,
        channel: str | None = None,
        visible_to: str | None = None,
    ) -> list[dict[str, Any]]:
        """Message records: DMs to ``user_id``, posts in ``channel``, or everything.

        ``visible_to`` leaves out ephemeral messages shown to someone else.
        """
        params = {"user_id": user_id, "channel": channel, "visible_to": visible_to}
        chosen = {k: v for k, v in params.items() if v}
        return self.get("/sim/slack/messages", **chosen)["messages"]

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """The messages (``text``, ``blocks``, ``ts``…) the app sent ``user_id`` directly."""
        return [record["message"] for record in self.messages(user_id=user_id)]

    def channel_posts(self, channel: str) -> list[dict[str, Any]]:
        """The messages posted in ``channel`` (name or ID) for everyone to see."""
        records = self.messages(channel=channel)
        return [record["message"] for record in records if not record.get("ephemeral")]

    def ephemerals(self, user_id: str, channel: str | None = None) -> list[dict[str, Any]]:
        """The ephemeral messages shown to ``user_id`` alone (in ``channel``, if given)."""
        records = self.messages(channel=channel, visible_to=user_id)
        return [
            record["message"]
            for record in records
            if record.get("ephemeral") and record["user_id"] == user_id
        ]

    def wait_dms(self, user_id: str, count: int = 1) -> list[dict[str, Any]]:
        """Wait until ``user_id`` has at least ``count`` DMs; return them all."""

        def arrived() -> list[dict[str, Any]] | None:
            dms = self.dms(user_id)
            return dms if len(dms) >= count else None

        return wait_until(arrived, f"{count} DM(s) to {user_id}", self.timeout)

    def events(self, since: int = 0, wait: float | None = None) -> dict[str, Any]:
        """Simulator events after ``since`` (``wait``: long-poll up to that many seconds)."""
        params = {"since": str(since)} | ({"wait": str(wait)} if wait is not None else {})
        result: dict[str, Any] = self.get("/sim/events", **params)
        return result

    # --- setting the scene -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the simulators' views, messages, calls and faults; restore user groups."""
        self.post("/sim/reset")

    def slack_fault(self, method: str | None = None, **fault: Any) -> None:
        """Make the next ``times`` Web API calls (of ``method``) fail as described."""
        self.post("/sim/slack/faults", ({"method": method} if method else {}) | fault)

    def usergroups(self) -> dict[str, list[str]]:
        """The simulated workspace's user groups and their members."""
        groups: dict[str, list[str]] = self.get("/sim/slack/usergroups")["usergroups"]
        return groups

    def set_usergroup(self, usergroup: str, users: list[str] | None) -> None:
        """Give ``usergroup`` these members (``None`` deletes it: ``no_such_subteam``)."""
        self.post("/sim/slack/usergroups", {"usergroup": usergroup, "users": users})

    def flush_calls(self) -> list[dict[str, Any]]:
        """The calls the app made to cache-flush, in order."""
        return self.get("/sim/cache-flush/calls")["calls"]

    def flush_fault(self, **fault: Any) -> None:
        """Make the next ``times`` cache-flush calls fail as described."""
        self.post("/sim/cache-flush/faults", fault)

    def akamai_error(self, **error: Any) -> None:
        """Make Akamai answer the next ``times`` valid flushes with an error (``status``)."""
        self.post("/sim/cache-flush/akamai-errors", error)

    # --- the durable management API --------------------------------------------------------------

    def instances(self, **filters: str) -> list[dict[str, Any]]:
        """Every orchestration instance's status (``runtimeStatus=…`` filters), all pages."""
        found: list[dict[str, Any]] = []
        headers: dict[str, str] = {}
        while True:
            response = self.send("GET", f"{WEBHOOK}/instances", params=filters, headers=headers)
            found.extend(self._checked(response, "GET", f"{WEBHOOK}/instances"))
            token = response.headers.get(CONTINUATION_HEADER)
            if not token:
                return found
            headers = {CONTINUATION_HEADER: token}

    def status(self, instance_id: str, *, history: bool = False) -> dict[str, Any] | None:
        """An instance's status (with its history and outputs if asked); ``None`` if unknown."""
        params = {"showHistory": "true", "showHistoryOutput": "true"} if history else {}
        response = self.send("GET", f"{WEBHOOK}/instances/{instance_id}", params=params)
        if response.status_code == 404:
            return None
        if response.status_code not in (200, 202):
            raise DevhostError(f"status of {instance_id}: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def wait_status(
        self,
        instance_id: str,
        statuses: tuple[str, ...] = FINAL_STATUSES,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Wait until the instance exists with one of ``statuses``; its status with history."""

        def reached() -> dict[str, Any] | None:
            status = self.status(instance_id)
            return status if status and status["runtimeStatus"] in statuses else None

        wait_until(reached, f"instance {instance_id} to reach {statuses}", timeout or self.timeout)
        final = self.status(instance_id, history=True)
        if final is None:
            raise DevhostError(f"instance {instance_id} vanished")
        return final

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> int:
        """Raise an external event on an instance; the HTTP status (202, 404 or 410)."""
        path = f"{WEBHOOK}/instances/{instance_id}/raiseEvent/{event_name}"
        return self.send("POST", path, json=data).status_code

    def terminate(self, instance_id: str, reason: str = "") -> int:
        """Terminate an instance; the HTTP status."""
        path = f"{WEBHOOK}/instances/{instance_id}/terminate"
        return self.send("POST", path, params={"reason": reason}).status_code
