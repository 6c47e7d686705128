"""OBIE idempotency, backed by each service's own database.

Semantics (DESIGN.md §3, §6): within 24 h (tenant clock) the same key with the same body returns the original
response; the same key with a different body is a 400; concurrent duplicates create exactly one resource.

How: the key's record is inserted *first* (`INSERT … ON CONFLICT DO NOTHING`) in the same transaction that creates
the resource. A concurrent duplicate's insert waits on the primary key until the first transaction ends (PostgreSQL
row lock, SQLite write lock), then either inserts nothing (the first committed: we read and return its response) or
inserts (the first rolled back: we create). A wait longer than the lock timeout answers 409.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, Session, SQLModel

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database, UtcDateTime, insert_with_conflict_clause
from openbank_kit.errors import BadRequest, Conflict, FieldInvalid

IDEMPOTENCY_HEADER = "x-idempotency-key"
RETENTION = timedelta(hours=24)
MAX_ATTEMPTS = 3  # one insert race lost at most once per attempt; three is plenty
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,40}$")  # OBIE Max40Text, printable, no spaces


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    tenant_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(primary_key=True, max_length=128)
    operation: str = Field(primary_key=True, max_length=128)
    key: str = Field(primary_key=True, max_length=40)
    request_hash: str = Field(max_length=64)
    status_code: int = 0
    response_body: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    resource_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    resource_id: str | None = None
    replayed: bool = False


def request_fingerprint(body: Any) -> str:
    """A digest of the request body that ignores key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_idempotency_key(key: str | None) -> str:
    if key is None or key == "":
        raise FieldInvalid(path=IDEMPOTENCY_HEADER, message="x-idempotency-key header is required")
    if not _KEY_PATTERN.match(key):
        raise FieldInvalid(
            path=IDEMPOTENCY_HEADER, message="x-idempotency-key must be 1-40 printable characters"
        )
    return key


class IdempotencyStore:
    def __init__(self, db: Database):
        self.db = db

    def run(
        self,
        *,
        tenant_id: str,
        client_id: str,
        operation: str,
        key: str | None,
        body: Any,
        create: Callable[[Session, datetime], StoredResponse],
    ) -> StoredResponse:
        """Create once per (tenant, client, operation, key); `create` adds its rows to the session, never commits."""
        key = validate_idempotency_key(key)
        fingerprint = request_fingerprint(body)
        table = IdempotencyRecord.__table__
        this_key = and_(
            table.c.tenant_id == tenant_id,
            table.c.client_id == client_id,
            table.c.operation == operation,
            table.c.key == key,
        )
        for _attempt in range(MAX_ATTEMPTS):
            with self.db.write_session() as session:
                now = tenant_now(session, tenant_id)
                record = {"tenant_id": tenant_id, "client_id": client_id, "operation": operation, "key": key,
                          "request_hash": fingerprint, "status_code": 0, "created_at": now,
                          "expires_at": now + RETENTION}  # fmt: skip
                try:
                    # Core, not the ORM: one statement on the hot path of every money-moving POST.
                    claimed = session.execute(_insert_if_absent(session, record)).first() is not None
                    if not claimed:
                        existing = session.execute(select(table).where(this_key)).one_or_none()
                        if existing is not None and existing.expires_at > now:
                            return _replay(existing, fingerprint)
                        if existing is None:  # the holder rolled back after we waited: try again
                            session.rollback()
                            continue
                        session.execute(delete(table).where(this_key))  # expired: the key is free again
                        session.execute(insert(table).values(**record))
                except IntegrityError:
                    session.rollback()
                    continue  # a duplicate committed first: read its response on the next attempt
                except OperationalError as exc:
                    raise _still_in_progress() from exc
                response = create(session, now)
                session.execute(
                    update(table)
                    .where(this_key)
                    .values(
                        status_code=response.status_code,
                        response_body=response.body,
                        resource_id=response.resource_id,
                    )
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    continue
                return response
        raise _still_in_progress()


def _insert_if_absent(session: Session, record: dict):
    """INSERT … ON CONFLICT DO NOTHING: a concurrent holder of the key makes us wait for its commit or rollback."""
    table = IdempotencyRecord.__table__
    return (
        insert_with_conflict_clause(session, table)
        .values(**record)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )


def _replay(existing, fingerprint: str) -> StoredResponse:
    if existing.request_hash != fingerprint:
        raise BadRequest(
            message="x-idempotency-key was already used with a different request body",
            path=IDEMPOTENCY_HEADER,
        )
    return StoredResponse(existing.status_code, existing.response_body, existing.resource_id, replayed=True)


def _still_in_progress() -> Conflict:
    return Conflict(message="a request with this x-idempotency-key is still being processed; retry shortly")
