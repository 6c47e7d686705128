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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, Session, SQLModel

from openbank_kit import sql
from openbank_kit.async_db import AsyncDatabase, AsyncUnit
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
        now: datetime | None = None,
        pipelined: bool = False,
    ) -> StoredResponse:
        """Create once per (tenant, client, operation, key); `create` adds its rows to the session, never commits.

        `now`: the tenant's time as the caller already read it (else read here). `pipelined`: the key's claim goes
        out with `create`'s first `openbank_kit.sql.run` (one round trip for both), and its response with the
        statements `create` deferred; `create` must then send its first statement through `sql.run`. A key already
        taken is found when that first batch comes back, and handled as below on a second attempt.
        """
        key = validate_idempotency_key(key)
        fingerprint = request_fingerprint(body)
        names = {"k_tenant": tenant_id, "k_client": client_id, "k_operation": operation, "k_key": key}
        for attempt in range(MAX_ATTEMPTS):
            with self.db.write_session() as session:
                if now is None or attempt:
                    now = tenant_now(session, tenant_id)
                record = {"tenant_id": tenant_id, "client_id": client_id, "operation": operation, "key": key,
                          "request_hash": fingerprint, "status_code": 0, "created_at": now,
                          "expires_at": now + RETENTION}  # fmt: skip
                if pipelined and attempt == 0:
                    try:
                        return self._run_pipelined(session, record, names, now, create)
                    except _KeyTaken:
                        session.rollback()
                        continue  # the next attempt reads the key's record the usual way
                    except IntegrityError:
                        session.rollback()
                        continue
                    except OperationalError as exc:
                        raise _still_in_progress() from exc
                try:
                    # Core, not the ORM: one statement on the hot path of every money-moving POST.
                    claimed = session.execute(_claim_statement(session), record).first() is not None
                    if not claimed:
                        existing = session.execute(_READ_KEY, names).one_or_none()
                        if existing is not None and existing.expires_at > now:
                            return _replay(existing, fingerprint)
                        if existing is None:  # the holder rolled back after we waited: try again
                            session.rollback()
                            continue
                        session.execute(_DELETE_KEY, names)  # expired: the key is free again
                        session.execute(insert(_TABLE), record)
                except IntegrityError:
                    session.rollback()
                    continue  # a duplicate committed first: read its response on the next attempt
                except OperationalError as exc:
                    raise _still_in_progress() from exc
                response = create(session, now)
                session.execute(
                    _STORE_RESPONSE,
                    names
                    | {
                        "r_status": response.status_code,
                        "r_body": response.body,
                        "r_resource": response.resource_id,
                    },
                )
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    continue
                return response
        raise _still_in_progress()

    @staticmethod
    def _run_pipelined(session: Session, record: dict, names: dict, now: datetime, create) -> StoredResponse:
        dialect = session.get_bind().dialect.name
        sql.defer(session, _PIPELINED_CLAIMS[dialect], record, check=_claimed)
        response = create(session, now)
        stored = {
            "r_status": response.status_code,
            "r_body": response.body,
            "r_resource": response.resource_id,
        }
        sql.run(session, (_PIPELINED_STORE, names | stored))  # with create's deferred writes (and the claim)
        session.commit()
        return response


# Statements built once with bound parameters: building and cache-keying them per call cost more than running them
# (this is on the path of every money-moving POST of every service).
_TABLE = IdempotencyRecord.__table__
_CLAIMS: dict[str, Any] = {}
_THIS_KEY = and_(
    _TABLE.c.tenant_id == bindparam("k_tenant"),
    _TABLE.c.client_id == bindparam("k_client"),
    _TABLE.c.operation == bindparam("k_operation"),
    _TABLE.c.key == bindparam("k_key"),
)
_READ_KEY = select(_TABLE).where(_THIS_KEY)
_DELETE_KEY = delete(_TABLE).where(_THIS_KEY)
_STORE_RESPONSE = (
    update(_TABLE)
    .where(_THIS_KEY)
    .values(
        status_code=bindparam("r_status", type_=_TABLE.c.status_code.type),
        response_body=bindparam("r_body", type_=_TABLE.c.response_body.type),
        resource_id=bindparam("r_resource", type_=_TABLE.c.resource_id.type),
    )
)


class _KeyTaken(Exception):
    """The claim inserted nothing: the key has a record already (or had one while we waited)."""


def _claimed(rows: sql.Rows) -> None:
    if rows.first() is None:
        raise _KeyTaken()


_CLAIMED_COLUMNS = ("tenant_id", "client_id", "operation", "key", "request_hash", "status_code", "created_at",
                    "expires_at")  # fmt: skip
_PIPELINED_CLAIMS = {
    dialect: sql.Statement(
        statement(_TABLE)
        .values({name: bindparam(name, type_=_TABLE.c[name].type) for name in _CLAIMED_COLUMNS})
        .on_conflict_do_nothing()
        .returning(_TABLE.c.key)
    )
    for dialect, statement in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
_PIPELINED_STORE = sql.Statement(_STORE_RESPONSE)


def _claim_statement(session: Session):
    """INSERT … ON CONFLICT DO NOTHING: a concurrent holder of the key makes us wait for its commit or rollback.
    Executed with the record as parameters; one statement per dialect."""
    dialect = session.get_bind().dialect.name
    statement = _CLAIMS.get(dialect)
    if statement is None:
        statement = (
            insert_with_conflict_clause(session, _TABLE).on_conflict_do_nothing().returning(_TABLE.c.key)
        )
        _CLAIMS[dialect] = statement
    return statement


def _replay(existing, fingerprint: str) -> StoredResponse:
    if existing.request_hash != fingerprint:
        raise BadRequest(
            message="x-idempotency-key was already used with a different request body",
            path=IDEMPOTENCY_HEADER,
        )
    return StoredResponse(existing.status_code, existing.response_body, existing.resource_id, replayed=True)


def _still_in_progress() -> Conflict:
    return Conflict(message="a request with this x-idempotency-key is still being processed; retry shortly")


_READ_KEY_STATEMENT = sql.Statement(_READ_KEY)
_DELETE_KEY_STATEMENT = sql.Statement(_DELETE_KEY)


class AsyncIdempotencyStore:
    """The same contract as `IdempotencyStore`, for async routes (`openbank_kit.async_db`).

    The key's claim goes out with `create`'s first batch (one round trip for both), and the response is stored in the
    batch that carries `create`'s deferred writes and the COMMIT: bundled with them into one statement
    (`sql.Bundle`), so what `create` defers must not depend on each other's effects nor change the same rows. A key
    already taken shows when that first batch comes back; the next attempt then reads the key's record and replays
    it (or frees an expired one).
    """

    def __init__(self, adb: AsyncDatabase):
        self.adb = adb

    async def run(
        self,
        *,
        tenant_id: str,
        client_id: str,
        operation: str,
        key: str | None,
        body: Any,
        create: Callable[[AsyncUnit, datetime], Awaitable[StoredResponse]],
        now: datetime,
    ) -> StoredResponse:
        """`now`: the tenant's time, read by the caller before the unit (its clock is one more statement)."""
        key = validate_idempotency_key(key)
        fingerprint = request_fingerprint(body)
        names = {"k_tenant": tenant_id, "k_client": client_id, "k_operation": operation, "k_key": key}
        claim = _PIPELINED_CLAIMS[self.adb.db.dialect]
        for attempt in range(MAX_ATTEMPTS):
            record = {"tenant_id": tenant_id, "client_id": client_id, "operation": operation, "key": key,
                      "request_hash": fingerprint, "status_code": 0, "created_at": now,
                      "expires_at": now + RETENTION}  # fmt: skip
            try:
                async with self.adb.unit() as unit:
                    if attempt == 0:
                        unit.defer(claim, record, check=_claimed)
                    else:
                        (claimed,) = await unit.run((claim, record))
                        if claimed.first() is None:
                            (found,) = await unit.run((_READ_KEY_STATEMENT, names))
                            existing = next(iter(found.named()), None)
                            if existing is not None and existing.expires_at > now:
                                return _replay(existing, fingerprint)
                            if existing is None:  # the holder rolled back after we waited: try again
                                continue
                            # Expired: the key is free again.
                            await unit.run((_DELETE_KEY_STATEMENT, names), (claim, record))
                    response = await create(unit, now)
                    stored = {"r_status": response.status_code, "r_body": response.body,
                              "r_resource": response.resource_id}  # fmt: skip
                    # With create's deferred writes, as one statement on PostgreSQL, and the COMMIT.
                    await unit.run((_PIPELINED_STORE, names | stored), commit=True, bundle=True)
                    return response
            except (_KeyTaken, IntegrityError):
                continue  # taken, or a duplicate committed first: read its record on the next attempt
            except OperationalError as exc:
                raise _still_in_progress() from exc
        raise _still_in_progress()
