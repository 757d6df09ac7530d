"""Typed values passed between the flush orchestrator and its activities.

Each value crosses durable history as plain JSON: `to_dict` gives the JSON-ready form handed
to the Durable Functions SDK, and `from_dict` rebuilds the value from what the SDK hands back.
Nothing here reads a clock, the environment or the network, so the orchestrator may use it
during replay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any, Dict  # noqa: UP035 (see ActivityPayload)

from shared import instance_ids

JsonObject = dict[str, Any]

# What an activity entry point takes and returns. Microsoft's Python worker refuses, at load
# time, a binding annotation that is neither a class nor a `typing` generic, and on Python
# 3.11+ `dict[str, Any]` is neither: entry points must be annotated with this alias.
ActivityPayload = Dict[str, Any]  # noqa: UP006

# Answers worth another attempt: rate limited, or a gateway or host that is not ready yet.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# Answers from a gateway that did not get cache-flush's own: the call may have gone through.
GATEWAY_STATUSES = frozenset({502, 504})
PURGE_ID_CHARS = 200


def _json_ready(fields: list[tuple[str, Any]]) -> JsonObject:
    """Fields as JSON holds them: an enum member by its value, a tuple as a list."""
    ready: JsonObject = {}
    for name, value in fields:
        json_value = value.value if isinstance(value, Enum) else value
        ready[name] = list(json_value) if isinstance(json_value, tuple) else json_value
    return ready


@dataclass(frozen=True)
class Fields:
    """Base of the hand-offs whose JSON-ready form is their fields (`dataclasses.asdict`)."""

    def to_dict(self) -> JsonObject:
        """JSON-ready form."""
        return asdict(self, dict_factory=_json_ready)


@dataclass(frozen=True)
class ApprovalPlan(Fields):
    """How a flush is approved: where the request goes, how long it waits, who may decide.

    `approvers` is mrkdwn naming who may approve (see `shared.interaction.approvers_text`);
    it is shown, never used to decide.
    """

    channel: str
    timeout_minutes: float
    approvers: str

    def __post_init__(self) -> None:
        """Refuse a plan the orchestrator could not follow."""
        if not isinstance(self.channel, str) or not self.channel:
            raise ValueError("an approval plan needs a channel")
        minutes = self.timeout_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise ValueError("an approval plan's timeout must be a number of minutes")
        if not math.isfinite(minutes) or minutes <= 0:
            raise ValueError("an approval plan's timeout must be positive and finite")
        if not isinstance(self.approvers, str):
            raise ValueError("an approval plan's approvers must be text")

    @classmethod
    def from_dict(cls, data: Any) -> ApprovalPlan:
        """Rebuild from the orchestration input; ValueError if it is not a plan."""
        if not isinstance(data, Mapping):
            raise ValueError("an approval plan must be an object")
        channel: Any = data.get("channel")
        minutes: Any = data.get("timeout_minutes")
        approvers: Any = data.get("approvers")
        return cls(channel=channel, timeout_minutes=minutes, approvers=approvers)


@dataclass(frozen=True)
class FlushRequest:
    """The orchestration's input: who asked, where to report, and what to flush.

    `approval` is set when the flush waits for a second person's decision first; when it
    is None, `to_dict` leaves the key out. `enterprise_id` is the Enterprise Grid
    organisation the request came from (None outside Grid; left out of `to_dict` then):
    clicks on the request must come from the same organisation, or else the same team.
    `support_contact` is who a failure message tells the user to ask (the
    `SUPPORT_CONTACT` setting; left out of `to_dict` when unset): the orchestrator reads
    no settings of its own.
    """

    user_id: str
    user_name: str
    team_id: str
    view_id: str
    environment: str
    urls: tuple[str, ...]
    channel: str | None
    retry_interval_ms: int
    approval: ApprovalPlan | None = None
    enterprise_id: str | None = None
    support_contact: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; `approval` only when set."""
        data: dict[str, Any] = {
            "user_id": self.user_id,
            "user_name": self.user_name,
            "team_id": self.team_id,
            "view_id": self.view_id,
            "environment": self.environment,
            "urls": list(self.urls),
            "channel": self.channel,
            "retry_interval_ms": self.retry_interval_ms,
        }
        if self.approval is not None:
            data["approval"] = self.approval.to_dict()
        if self.enterprise_id:
            data["enterprise_id"] = self.enterprise_id
        if self.support_contact:
            data["support_contact"] = self.support_contact
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlushRequest:
        """Rebuild from the orchestration input.

        An `approval` that is present but not a plan raises ValueError: the flush never runs
        without the approval its input asked for.
        """
        approval = data.get("approval")
        return cls(
            user_id=data["user_id"],
            user_name=data["user_name"],
            team_id=data["team_id"],
            view_id=data["view_id"],
            environment=data["environment"],
            urls=tuple(data["urls"]),
            channel=data["channel"],
            retry_interval_ms=data["retry_interval_ms"],
            approval=None if approval is None else ApprovalPlan.from_dict(approval),
            enterprise_id=data.get("enterprise_id"),
            support_contact=data.get("support_contact"),
        )

    @property
    def instance_id(self) -> str:
        """The ID of this request's orchestration, the same however often it is submitted."""
        return instance_ids.instance_id(self.team_id, self.user_id, self.view_id)

    @property
    def retry_interval(self) -> timedelta:
        """The wait between two cache-flush attempts."""
        return timedelta(milliseconds=self.retry_interval_ms)


@dataclass(frozen=True)
class FlushCall:
    """The cache-flush activity's input: the environment and the URLs to flush."""

    environment: str
    urls: tuple[str, ...]

    def to_dict(self) -> JsonObject:
        """JSON-ready form."""
        return {"environment": self.environment, "urls": list(self.urls)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlushCall:
        """Rebuild from the activity's input."""
        return cls(environment=str(data["environment"]), urls=tuple(map(str, data["urls"])))


def purge_id_of(body: Any) -> str | None:
    """The purge ID in a cache-flush answer's body (Akamai's `purgeId`), cut short, if any."""
    details = body if isinstance(body, Mapping) else {}
    value = details.get("purgeId") or details.get("purgeID")
    return str(value)[:PURGE_ID_CHARS] if value else None


@dataclass(frozen=True)
class FlushResult(Fields):
    """One answer from cache-flush, or why there was none.

    `ok` for any 2xx. `status` is the answer's HTTP status; it is None when nothing answered
    (`transient`, with the network error in `error`) or when the call was never made (not
    `transient`, with the reason in `error`). `transient` marks a failure worth another
    attempt: no response, or HTTP 429, 502, 503 or 504. `retry_after_seconds` is how long
    the answer asked the caller to wait (its `Retry-After`), when it said.
    `unconfirmed` marks a call that may have reached Akamai all the same.
    """

    ok: bool
    status: int | None
    body: Any = None
    error: str | None = None
    transient: bool = False
    retry_after_seconds: float | None = None

    @classmethod
    def answered(
        cls,
        status: int,
        body: Any,
        error: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> FlushResult:
        """The result for an HTTP answer."""
        return cls(
            ok=200 <= status < 300,
            status=status,
            body=body,
            error=error,
            transient=status in TRANSIENT_STATUSES,
            retry_after_seconds=retry_after_seconds,
        )

    @property
    def unconfirmed(self) -> bool:
        """Whether cache-flush itself did not answer: no response, or a gateway's 502 or 504.

        Such a call may have reached cache-flush, and Akamai behind it, all the same.
        """
        return (self.status is None and self.transient) or self.status in GATEWAY_STATUSES

    @property
    def purge_id(self) -> str | None:
        """The purge ID cache-flush answered with, if any (Akamai's `purgeId`)."""
        return purge_id_of(self.body)

    @classmethod
    def no_response(cls, error: str) -> FlushResult:
        """Nothing answered (a timeout or a network error): worth another attempt."""
        return cls(ok=False, status=None, error=error, transient=True)

    @classmethod
    def not_sent(cls, error: str) -> FlushResult:
        """The app could not make the call at all: another attempt would not help."""
        return cls(ok=False, status=None, error=error, transient=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlushResult:
        """Rebuild from the activity's output."""
        status = data["status"]
        return cls(
            ok=bool(data["ok"]),
            status=None if status is None else int(status),
            body=data["body"],
            error=_optional_text(data["error"]),
            transient=bool(data["transient"]),
            retry_after_seconds=data["retry_after_seconds"],
        )


@dataclass(frozen=True)
class FlushAttempts:
    """What the cache-flush attempts came to: the result to report and how many attempts.

    `last` is the last answer received (a status and its body), or the final attempt's
    result when no attempt was answered. `unanswered_later` counts the attempts after it
    that got no response (the final one's network error is `later_error`): they may have
    reached Akamai. `unconfirmed_earlier` is set when an attempt before `last` got no answer
    from cache-flush itself (no response, or a gateway's 502 or 504): that attempt may have
    reached Akamai, so a failed `last` does not show that nothing was flushed.
    """

    last: FlushResult
    count: int = 1
    unconfirmed_earlier: bool = False
    unanswered_later: int = 0
    later_error: str | None = None

    @property
    def uncertain(self) -> bool:
        """Whether any attempt may have gone through without cache-flush confirming it."""
        return self.last.unconfirmed or self.unconfirmed_earlier or self.unanswered_later > 0


class NotificationKind(Enum):
    """The Slack call a notification makes."""

    UPDATE_VIEW = "update_view"
    POST_MESSAGE = "post_message"
    UPDATE_MESSAGE = "update_message"


SLACK_METHODS = {
    NotificationKind.UPDATE_VIEW: "views.update",
    NotificationKind.POST_MESSAGE: "chat.postMessage",
    NotificationKind.UPDATE_MESSAGE: "chat.update",
}


@dataclass(frozen=True)
class Notification(Fields):
    """One Slack call for the notify activity.

    `UPDATE_VIEW` replaces the modal `view_id` with `view` (`views.update`); `POST_MESSAGE`
    posts `text` (the notification fallback) and `blocks` to `channel`, a channel or a user
    ID for a direct message (`chat.postMessage`), as a reply in the thread of the message
    `thread_ts` when that is set; `UPDATE_MESSAGE` replaces the text and blocks of the message
    `ts` in `channel` (`chat.update`: the channel ID that `chat.postMessage` answered with).
    Build them with the class methods.
    """

    kind: NotificationKind
    view_id: str = ""
    view: JsonObject = field(default_factory=dict)
    channel: str = ""
    text: str = ""
    blocks: tuple[JsonObject, ...] = ()
    ts: str = ""
    thread_ts: str = ""

    def __post_init__(self) -> None:
        """Refuse a notification that lacks what its kind needs."""
        if self.kind is NotificationKind.UPDATE_VIEW and not (self.view_id and self.view):
            raise ValueError("a view update needs a view ID and a view")
        if self.kind is NotificationKind.POST_MESSAGE and not (self.channel and self.text):
            raise ValueError("a message needs a channel and a fallback text")
        if self.kind is NotificationKind.UPDATE_MESSAGE and not (
            self.channel and self.ts and self.text
        ):
            raise ValueError("a message update needs a channel, a ts and a fallback text")

    @property
    def slack_method(self) -> str:
        """The Slack Web API method that makes this call."""
        return SLACK_METHODS[self.kind]

    @classmethod
    def update_view(cls, view_id: str, view: JsonObject) -> Notification:
        """Replace the modal `view_id` with `view`."""
        return cls(NotificationKind.UPDATE_VIEW, view_id=view_id, view=view)

    @classmethod
    def post_message(
        cls, channel: str, message: Mapping[str, Any], thread_ts: str = ""
    ) -> Notification:
        """Post `message` (`text` and `blocks`) to a channel or, given a user ID, as a DM.

        With `thread_ts`, the message is a reply in the thread of that message.
        """
        return cls(
            NotificationKind.POST_MESSAGE,
            channel=channel,
            text=str(message["text"]),
            blocks=tuple(message["blocks"]),
            thread_ts=thread_ts,
        )

    @classmethod
    def update_message(cls, channel: str, ts: str, message: Mapping[str, Any]) -> Notification:
        """Replace the message `ts` in `channel` with `message` (`text` and `blocks`)."""
        return cls(
            NotificationKind.UPDATE_MESSAGE,
            channel=channel,
            ts=ts,
            text=str(message["text"]),
            blocks=tuple(message["blocks"]),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        """Rebuild from the activity's input."""
        return cls(
            kind=NotificationKind(data["kind"]),
            view_id=str(data["view_id"]),
            view=dict(data["view"]),
            channel=str(data["channel"]),
            text=str(data["text"]),
            blocks=tuple(data["blocks"]),
            ts=str(data["ts"]),
            thread_ts=str(data["thread_ts"]),
        )


@dataclass(frozen=True)
class Outcome(Fields):
    """A notification's outcome as the orchestration's summary records it."""

    delivered: bool
    reason: str | None = None


@dataclass(frozen=True)
class Delivery(Fields):
    """What the notify activity did: delivered, or why not (Slack's error code).

    For a posted message, `channel` (Slack's channel ID) and `ts` identify the message, so a
    later step can update it.
    """

    delivered: bool
    reason: str | None = None
    channel: str | None = None
    ts: str | None = None

    def outcome(self) -> Outcome:
        """The part the summary records."""
        return Outcome(self.delivered, self.reason)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Delivery:
        """Rebuild from the activity's output."""
        reason, channel, ts = (_optional_text(data[key]) for key in ("reason", "channel", "ts"))
        return cls(bool(data["delivered"]), reason, channel, ts)


@dataclass(frozen=True)
class AccessQuery(Fields):
    """The access activity's input: the user whose right to flush is checked."""

    user_id: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessQuery:
        """Rebuild from the activity's input."""
        return cls(user_id=str(data["user_id"]))


@dataclass(frozen=True)
class HomeOwner(Fields):
    """The Home tab activity's input: whose Home tab to publish again, in which workspace."""

    team_id: str
    user_id: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HomeOwner:
        """Rebuild from the activity's input."""
        return cls(team_id=str(data["team_id"]), user_id=str(data["user_id"]))


@dataclass(frozen=True)
class AccessAnswer(Fields):
    """The access activity's output: whether the user may flush now (CSV or user group)."""

    allowed: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessAnswer:
        """Rebuild from the activity's output; anything but a literal true is not allowed."""
        return cls(allowed=data.get("allowed") is True)


@dataclass(frozen=True)
class FlushSummary:
    """The orchestration's output: the flush outcome and each notification's outcome."""

    ok: bool
    status: int | None
    error: str | None
    notifications: Mapping[str, Outcome]

    @classmethod
    def of(cls, result: FlushResult, deliveries: Mapping[str, Delivery]) -> FlushSummary:
        """Summarise the last flush result and the notifications' deliveries."""
        return cls(
            ok=result.ok,
            status=result.status,
            error=result.error,
            notifications={name: delivery.outcome() for name, delivery in deliveries.items()},
        )

    def to_dict(self) -> JsonObject:
        """JSON-ready form, as the durable status endpoint shows it."""
        return {
            "flush": {"ok": self.ok, "status": self.status},
            "error": self.error,
            "notifications": {name: o.to_dict() for name, o in self.notifications.items()},
        }


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)
