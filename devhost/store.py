"""Durable state in SQLite: instances, their history, and events not yet processed.

One connection, used only from the host's event loop. WAL journal with ``synchronous=NORMAL``:
each commit is a small append that survives a crash of the process (not necessarily of the
machine), which is the guarantee a development host needs, and stays fast on the loop.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

DATABASE_FILE = "devhost.sqlite3"

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

    def evolve(self, **changes: Any) -> InstanceRecord:
        """Return a copy with some fields changed."""
        return replace(self, **changes)


_SELECT_ONE = """
SELECT instance_id, name, execution_id, runtime_status, input, output, custom_status,
       created_time, last_updated_time, engine_state
FROM instances WHERE instance_id = :instance_id
"""
_SELECT_MANY = """
SELECT instance_id, name, execution_id, runtime_status, input, output, custom_status,
       created_time, last_updated_time, engine_state
FROM instances
WHERE (:statuses IS NULL OR instr(:statuses, ',' || runtime_status || ',') > 0)
  AND (:prefix IS NULL OR substr(instance_id, 1, length(:prefix)) = :prefix)
  AND (:created_from IS NULL OR created_time >= :created_from)
  AND (:created_to IS NULL OR created_time <= :created_to)
ORDER BY created_time, instance_id
LIMIT :limit
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

    def list_instances(
        self,
        *,
        statuses: Sequence[str] = (),
        prefix: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        limit: int | None = None,
    ) -> list[InstanceRecord]:
        """Return instances matching every given filter, oldest first."""
        parameters = {
            "statuses": f",{','.join(statuses)}," if statuses else None,
            "prefix": prefix or None,
            "created_from": created_from,
            "created_to": created_to,
            "limit": _NO_LIMIT if limit is None else limit,
        }
        return [InstanceRecord(*row) for row in self._db.execute(_SELECT_MANY, parameters)]

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


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
