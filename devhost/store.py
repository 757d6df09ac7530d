"""Durable state in SQLite: instances, their history, and events not yet processed.

One connection, used only from the host's event loop. WAL journal with ``synchronous=NORMAL``:
each commit is a small append that survives a crash of the process (not necessarily of the
machine), which is the guarantee a development host needs, and stays fast on the loop.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DATABASE_FILE = "devhost.sqlite3"
FINISHED_STATUSES = ("Completed", "Failed", "Terminated")
# The engine's bookkeeping for an instance with nothing outstanding (new or seeded).
EMPTY_ENGINE_STATE = json.dumps({"actionsSeen": 0, "retries": [], "cancelledTimers": []})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    engine_state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_status ON instances (runtime_status);
CREATE INDEX IF NOT EXISTS instances_by_created_time ON instances (created_time, instance_id);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, position)
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox (instance_id);
CREATE TABLE IF NOT EXISTS timer_status (
    function_name TEXT PRIMARY KEY,
    schedule TEXT NOT NULL,
    last TEXT,
    next TEXT NOT NULL,
    last_updated TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class InstanceRecord:
    """One orchestration instance as stored.

    ``input``, ``output`` and ``custom_status`` hold JSON text (``None`` when absent);
    ``engine_state`` is the engine's own bookkeeping, also JSON.
    """

    instance_id: str
    name: str
    execution_id: str
    runtime_status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    engine_state: str

    @classmethod
    def new_execution(
        cls,
        instance_id: str,
        name: str,
        runtime_status: str,
        created_time: str,
        *,
        input: str | None,
        output: str | None = None,
        custom_status: str | None = None,
        last_updated_time: str | None = None,
    ) -> InstanceRecord:
        """A new execution: a fresh execution ID and no engine state yet."""
        return cls(
            instance_id=instance_id,
            name=name,
            execution_id=uuid.uuid4().hex,
            runtime_status=runtime_status,
            input=input,
            output=output,
            custom_status=custom_status,
            created_time=created_time,
            last_updated_time=last_updated_time or created_time,
            engine_state=EMPTY_ENGINE_STATE,
        )

    def evolve(self, **changes: Any) -> InstanceRecord:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class InstanceQuery:
    """Which instances to list or purge; every given filter must match.

    ``created_from`` and ``created_to`` (inclusive) are timestamps as the engine writes them
    (``format_timestamp``), which sort as text in time order.
    """

    statuses: tuple[str, ...] = ()
    prefix: str | None = None
    created_from: str | None = None
    created_to: str | None = None

    def sql(self, after: str | None = None) -> tuple[str, dict[str, Any]]:
        """``instances [INDEXED BY ...] [WHERE ...]`` for this query, and its parameters.

        ``after`` keeps only instance IDs that sort after it (the next page).

        The index is chosen here rather than left to SQLite's guess (it has no statistics, and
        with ``ORDER BY instance_id LIMIT n`` it tends to walk the whole key): an instance ID
        prefix is a range on the primary key, else a created-time range uses its index, else
        the statuses theirs. Conditions on the other columns are written ``+column`` so that
        they only filter what the chosen index yields.
        """
        by_prefix = bool(self.prefix)
        by_time = not by_prefix and (self.created_from or self.created_to) is not None
        by_status = not by_prefix and not by_time and bool(self.statuses)
        source = "instances"
        if by_time:
            source += " INDEXED BY instances_by_created_time"
        elif by_status:
            source += " INDEXED BY instances_by_status"
        conditions: list[str] = []
        parameters: dict[str, Any] = {}
        if self.prefix:
            # A range on the primary key instead of a LIKE scan: [prefix, next string).
            conditions.append("instance_id >= :prefix")
            parameters["prefix"] = self.prefix
            upper = prefix_upper_bound(self.prefix)
            if upper is not None:
                conditions.append("instance_id < :prefix_end")
                parameters["prefix_end"] = upper
        if after is not None:
            conditions.append("instance_id > :after")
            parameters["after"] = after
        created = "created_time" if by_time else "+created_time"
        if self.created_from is not None:
            conditions.append(f"{created} >= :created_from")
            parameters["created_from"] = self.created_from
        if self.created_to is not None:
            conditions.append(f"{created} <= :created_to")
            parameters["created_to"] = self.created_to
        if self.statuses:
            names = [f"status{i}" for i in range(len(self.statuses))]
            column = "runtime_status" if by_status else "+runtime_status"
            conditions.append(f"{column} IN ({', '.join(':' + n for n in names)})")
            parameters.update(zip(names, self.statuses, strict=True))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return source + where, parameters


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (``None``: no bound).

    SQLite compares text by its UTF-8 bytes, which orders as code points do, so bumping the
    last code point that can be bumped gives the end of the range.
    """
    stripped = prefix
    while stripped and ord(stripped[-1]) == sys.maxunicode:
        stripped = stripped[:-1]
    if not stripped:
        return None
    last = ord(stripped[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be stored: skip to the next character
        last = 0xE000
    return stripped[:-1] + chr(last)


@dataclass(frozen=True)
class FinishedInstance:
    """A finished instance to seed the store with (see :func:`seed_finished_instances`).

    ``input``, ``output`` and ``custom_status`` are JSON text as the extension stores them;
    ``created_time`` is timezone-aware.
    """

    instance_id: str
    name: str
    runtime_status: str
    created_time: datetime
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    last_updated_time: datetime | None = None

    def record(self) -> InstanceRecord:
        """The stored form; refuses a status that is not final."""
        if self.runtime_status not in FINISHED_STATUSES:
            raise ValueError(
                f"instance {self.instance_id!r}: only finished instances can be seeded "
                f"({', '.join(FINISHED_STATUSES)}), not {self.runtime_status!r}"
            )
        return InstanceRecord.new_execution(
            self.instance_id,
            self.name,
            self.runtime_status,
            _timestamp(self.created_time),
            input=self.input,
            output=self.output,
            custom_status=self.custom_status,
            last_updated_time=_timestamp(self.last_updated_time or self.created_time),
        )


@dataclass(frozen=True)
class TimerStatus:
    """A timer function's schedule status, as the Functions host keeps it between runs.

    ``last``, ``next`` and ``last_updated`` are ISO-8601 UTC timestamps; ``schedule`` is the
    expression the status was computed for.
    """

    schedule: str
    last: str | None
    next: str
    last_updated: str


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("seeded times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_COLUMNS = """
instance_id, name, execution_id, runtime_status, input, output, custom_status,
created_time, last_updated_time, engine_state
"""
_SELECT_ONE = """
SELECT instance_id, name, execution_id, runtime_status, input, output, custom_status,
       created_time, last_updated_time, engine_state
FROM instances WHERE instance_id = :instance_id
"""
_UPSERT = """
INSERT OR REPLACE INTO instances (
    instance_id, name, execution_id, runtime_status, input, output, custom_status,
    created_time, last_updated_time, engine_state
) VALUES (
    :instance_id, :name, :execution_id, :runtime_status, :input, :output, :custom_status,
    :created_time, :last_updated_time, :engine_state
)
"""
_NO_LIMIT = -1


class Store:
    """The SQLite database under the state directory."""

    def __init__(self, state_dir: Path) -> None:
        """Open (creating if needed) the database in ``state_dir``."""
        state_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(state_dir / DATABASE_FILE, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        """Return one instance, or ``None``."""
        row = self._db.execute(_SELECT_ONE, {"instance_id": instance_id}).fetchone()
        return InstanceRecord(*row) if row else None

    def list_instances(self, query: InstanceQuery | None = None) -> list[InstanceRecord]:
        """Return every instance matching ``query``, in instance ID order."""
        return self.query_instances(query or InstanceQuery())

    def query_instances(
        self, query: InstanceQuery, *, after: str | None = None, limit: int | None = None
    ) -> list[InstanceRecord]:
        """Return up to ``limit`` instances matching ``query`` whose ID sorts after ``after``.

        Instances come in instance ID order (as Azure Storage's Instances table, keyed by
        instance ID, returns them), so a page ends at an ID and the next starts after it.
        """
        source, parameters = query.sql(after)
        parameters["limit"] = _NO_LIMIT if limit is None else limit
        # Only the fixed text of InstanceQuery.sql is spliced in; values are bound.
        sql = f"SELECT {_COLUMNS} FROM {source} ORDER BY instance_id LIMIT :limit"  # noqa: S608  # nosec B608
        return [InstanceRecord(*row) for row in self._db.execute(sql, parameters)]

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """Return an instance's history events in order."""
        rows = self._db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY position", (instance_id,)
        )
        return [json.loads(event) for (event,) in rows]

    def inbox(self, instance_id: str, execution_id: str) -> list[tuple[int, dict[str, Any]]]:
        """Return the events delivered to an execution but not yet processed, in order."""
        rows = self._db.execute(
            "SELECT id, event FROM inbox WHERE instance_id = ? AND execution_id = ? ORDER BY id",
            (instance_id, execution_id),
        )
        return [(row_id, json.loads(event)) for row_id, event in rows]

    def put_instance(self, record: InstanceRecord) -> None:
        """Write an instance row as it is (its history and pending events stay)."""
        with self._transaction() as db:
            db.execute(_UPSERT, asdict(record))

    def create_instance(self, record: InstanceRecord, first_event: dict[str, Any]) -> int:
        """Create or replace an instance (dropping any old history); queue its first event."""
        with self._transaction() as db:
            db.execute("DELETE FROM history WHERE instance_id = ?", (record.instance_id,))
            db.execute("DELETE FROM inbox WHERE instance_id = ?", (record.instance_id,))
            db.execute(_UPSERT, asdict(record))
            return self._insert_inbox(db, record.instance_id, record.execution_id, first_event)

    @staticmethod
    def _insert_inbox(
        db: sqlite3.Connection, instance_id: str, execution_id: str, event: dict[str, Any]
    ) -> int:
        cursor = db.execute(
            "INSERT INTO inbox (instance_id, execution_id, event) VALUES (?, ?, ?)",
            (instance_id, execution_id, json.dumps(event)),
        )
        return int(cursor.lastrowid or 0)

    def add_to_inbox(self, instance_id: str, execution_id: str, event: dict[str, Any]) -> int:
        """Persist an event delivered to an instance; return its inbox ID."""
        return self._insert_inbox(self._db, instance_id, execution_id, event)

    def commit_episode(
        self,
        record: InstanceRecord,
        first_position: int,
        events: Iterable[dict[str, Any]],
        consumed_inbox_id: int,
    ) -> None:
        """Append an episode's history, update the instance and drop the consumed event."""
        rows = [
            (record.instance_id, first_position + offset, json.dumps(event))
            for offset, event in enumerate(events)
        ]
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO history (instance_id, position, event) VALUES (?, ?, ?)", rows
            )
            db.execute(
                "UPDATE instances SET runtime_status = ?, output = ?, custom_status = ?, "
                "last_updated_time = ?, engine_state = ? "
                "WHERE instance_id = ? AND execution_id = ?",
                (
                    record.runtime_status,
                    record.output,
                    record.custom_status,
                    record.last_updated_time,
                    record.engine_state,
                    record.instance_id,
                    record.execution_id,
                ),
            )
            db.execute("DELETE FROM inbox WHERE id = ?", (consumed_inbox_id,))

    def discard_inbox(self, inbox_id: int) -> None:
        """Drop an event that will never be processed."""
        self._db.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))

    def purge(self, instance_id: str) -> None:
        """Delete an instance and everything about it."""
        with self._transaction() as db:
            db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))
            db.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))
            db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))

    def purge_instances(self, query: InstanceQuery) -> int:
        """Delete every instance matching ``query``, with its history and pending events.

        Returns how many instances were deleted. Callers restrict ``query`` to finished
        statuses: the store deletes whatever matches.
        """
        source, parameters = query.sql()
        # Only the fixed text of InstanceQuery.sql is spliced in; values are bound.
        matching = f"SELECT instance_id FROM {source}"  # noqa: S608  # nosec B608
        with self._transaction() as db:
            for table in ("history", "inbox"):
                removal = f"DELETE FROM {table} WHERE instance_id IN ({matching})"  # noqa: S608  # nosec B608
                db.execute(removal, parameters)
            cursor = db.execute(f"DELETE FROM {source}", parameters)  # noqa: S608  # nosec B608
            return cursor.rowcount

    def insert_finished(self, instances: Iterable[FinishedInstance]) -> int:
        """Insert finished instances (no history) in one transaction; return how many.

        An instance with the same ID is replaced, as a new start would replace it.
        """
        rows = [instance.record() for instance in instances]
        with self._transaction() as db:
            for row in rows:
                db.execute("DELETE FROM history WHERE instance_id = ?", (row.instance_id,))
                db.execute("DELETE FROM inbox WHERE instance_id = ?", (row.instance_id,))
            db.executemany(_UPSERT, [asdict(row) for row in rows])
        return len(rows)

    def timer_status(self, function_name: str) -> TimerStatus | None:
        """The recorded schedule status of a timer function, or ``None``."""
        row = self._db.execute(
            "SELECT schedule, last, next, last_updated FROM timer_status WHERE function_name = ?",
            (function_name,),
        ).fetchone()
        return TimerStatus(*row) if row else None

    def save_timer_status(self, function_name: str, status: TimerStatus) -> None:
        """Record a timer function's schedule status."""
        self._db.execute(
            "INSERT OR REPLACE INTO timer_status (function_name, schedule, last, next, "
            "last_updated) VALUES (?, ?, ?, ?, ?)",
            (function_name, status.schedule, status.last, status.next, status.last_updated),
        )


def seed_finished_instances(state_dir: Path, instances: Iterable[FinishedInstance]) -> int:
    """Put finished instances straight into the state directory's store; return how many.

    For tests and benchmarks that need many finished instances (say 10,000) without running
    them: call it while no devhost uses ``state_dir``, then start devhost on it. The
    instances have no history; everything else (status, input, output, custom status,
    created time) is queried, listed and purged like any other instance's.
    """
    store = Store(state_dir)
    try:
        return store.insert_finished(instances)
    finally:
        store.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
