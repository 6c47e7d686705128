"""The audit trail: one record per API call through the front door, written off the request path in batches.

A call appends its record to a bounded in-memory buffer (never blocks, never wakes anyone); one writer thread takes
what has gathered every FLUSH_INTERVAL_S and writes it in one go: PostgreSQL's COPY (a few microseconds a row),
SQLite an executemany. When a burst overfills the buffer, records are dropped and counted (and logged) rather than
slowing partners down. Measured: the queue's per-record hand-off and the per-row INSERTs cost the gateway 0.4 ms
of CPU per call under load.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import astuple, dataclass, fields
from datetime import datetime

import structlog
from sqlalchemy import insert, select

from gateway.models import AuditRecord
from openbank_kit.db import Database
from openbank_kit.ids import new_id

BUFFER_MAX = 10_000
BATCH_MAX = 5_000
FLUSH_INTERVAL_S = 0.2
READ_LIMIT_MAX = 200


@dataclass(frozen=True)
class AuditEntry:
    tenant_id: str
    recorded_at: datetime
    client_id: str
    subject: str
    consent_id: str | None
    method: str
    path: str
    status_code: int
    latency_ms: float
    interaction_id: str


class AuditLog:
    def __init__(self, db: Database):
        self.db = db
        self.dropped = 0
        self._buffer: deque[AuditEntry] = deque()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()
        self._written = threading.Condition()  # flush() waits on it
        self._pending = 0  # records taken by the writer and not yet written

    def record(self, entry: AuditEntry) -> None:
        self._start()
        if len(self._buffer) >= BUFFER_MAX:
            self.dropped += 1
            structlog.get_logger().warning("audit record dropped: buffer full", dropped=self.dropped)
            return
        self._buffer.append(entry)  # deque.append is atomic: no lock on the request path

    def flush(self) -> None:
        """Wait until every record appended so far is written (tests, shutdown)."""
        with self._written:
            self._written.wait_for(lambda: not self._buffer and not self._pending, timeout=30)

    def recent(self, tenant_id: str, limit: int) -> list[AuditRecord]:
        limit = max(1, min(limit, READ_LIMIT_MAX))
        with self.db.read_session() as session:
            query = select(AuditRecord).where(AuditRecord.tenant_id == tenant_id)
            return list(session.scalars(query.order_by(AuditRecord.recorded_at.desc()).limit(limit)))

    def _start(self) -> None:
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_forever, name="audit-writer", daemon=True
                    )
                    self._writer.start()

    def _write_forever(self) -> None:
        while True:
            threading.Event().wait(FLUSH_INTERVAL_S)
            while self._buffer:
                with self._written:
                    batch = [self._buffer.popleft() for _ in range(min(len(self._buffer), BATCH_MAX))]
                    self._pending = len(batch)
                try:
                    self._write(batch)
                except Exception as exc:  # the trail must not take the gateway down; say what was lost
                    structlog.get_logger().error(
                        "audit records not written", count=len(batch), error=str(exc)
                    )
                finally:
                    with self._written:
                        self._pending = 0
                        self._written.notify_all()
            with self._written:
                self._written.notify_all()

    def _write(self, batch: list[AuditEntry]) -> None:
        if self.db.is_postgresql:
            with self.db.engine.connect() as connection:
                driver_connection = connection.connection.dbapi_connection
                with driver_connection.cursor().copy(_COPY_SQL) as copy:
                    for entry in batch:
                        copy.write_row(_values(entry))
                driver_connection.commit()  # the driver's own: SQLAlchemy saw no statement, so it began nothing
            return
        with self.db.write_session() as session:
            # Core (the table), not the ORM entity: the ORM's bulk path costs far more per row.
            session.execute(insert(AuditRecord.__table__), [_row(entry) for entry in batch])
            session.commit()


# The record's id is made here, in the writer, not on the request path.
_COLUMNS = ["audit_id", *(field.name for field in fields(AuditEntry))]
_COPY_SQL = f"COPY audit_record ({', '.join(_COLUMNS)}) FROM STDIN"


def _values(entry: AuditEntry) -> tuple:
    return (new_id("aud"), *astuple(entry))


def _row(entry: AuditEntry) -> dict:
    return dict(zip(_COLUMNS, _values(entry), strict=True))
