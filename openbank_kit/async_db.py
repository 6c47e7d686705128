"""The service's database for its latency-critical async routes (the credit decision, a payment, a ledger posting).

Why not the thread pool: a plain `def` route with a pooled connection costs 1.3 ms of CPU per request at eight
requests in flight against 0.5 ms for the same pipelined statements from an `async def` route (measured: FastAPI,
uvicorn, psycopg; thread hand-offs and the GIL's contention, not the SQL). So these routes never leave the event
loop on PostgreSQL: psycopg's async pool, statements compiled by `openbank_kit.sql` and sent as pipelines.

SQLite (the embedded default) keeps its synchronous engine: each batch of a unit runs in a worker thread, on one
session held for the unit (its writers take the write lock up front, as `Database.write_session` does; one write
unit at a time per process, so that the holder of the lock always finds a thread).

A write unit is one transaction: `run` sends statements (and what was deferred) and returns their rows, `commit=True`
sends the COMMIT in the same pipeline; leaving the unit without committing rolls back. A read unit runs in
autocommit on PostgreSQL (no BEGIN or COMMIT round trips; each statement sees its own snapshot), and ends with
COMMIT on SQLite (psycopg forgets a connection's prepared statements on ROLLBACK: see `Database.read_session`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from typing import Any

import anyio
import psycopg
from psycopg.pq import ExecStatus
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from openbank_kit import sql
from openbank_kit.db import Database, postgresql_host
from openbank_kit.settings import KitSettings

_NOT_CONNECTED = "the async database is not open (the app's lifespan opens it)"


def postgresql_conninfo(database_url: str, **extra: Any) -> str:
    """libpq's connection string for a SQLAlchemy URL (its server: `postgresql_host`)."""
    from psycopg.conninfo import make_conninfo

    url = make_url(database_url)
    return make_conninfo(
        host=postgresql_host(url), port=url.port or 5432, dbname=url.database, user=url.username, password=url.password,
        connect_timeout=5, **extra,
    )  # fmt: skip


class AsyncUnit:
    """One transaction's statements, sent in batches."""

    def __init__(self) -> None:
        self._deferred: list[tuple[sql.Statement, dict[str, Any], sql.Check | None]] = []
        self.committed = False
        self.observers: Sequence[Callable[[list[str]], None]] = ()  # `AsyncDatabase.observers`

    def defer(
        self, statement: sql.Statement, parameters: dict[str, Any], check: sql.Check | None = None
    ) -> None:
        """Queue a statement to go out with the next `run`, ahead of that call's own (checks: `openbank_kit.sql`)."""
        self._deferred.append((statement, parameters, check))

    async def run(
        self,
        *calls: tuple[sql.Statement | sql.Bundle, dict[str, Any]],
        commit: bool = False,
        bundle: bool = False,
    ) -> list[sql.Rows]:
        """`bundle`: what was deferred and these calls are writes nobody reads (no checks), sent as one
        `sql.Bundle` (one statement on PostgreSQL; the last one's rows come back, for every call)."""
        deferred, self._deferred = self._deferred, []
        everything = [(statement, parameters) for statement, parameters, _check in deferred] + list(calls)
        if bundle and len(everything) > 1:
            assert all(check is None for _s, _p, check in deferred), "a bundle's results are not read"
            together = sql.Bundle.of(*(statement for statement, _ in everything))
            rows = await self.run((together, together.parameters(*(p for _, p in everything))), commit=commit)
            return rows * len(calls)
        flat, ends = sql.flattened(self.dialect, everything)
        if self.observers:
            sent_sql = [statement.compiled_for(self.dialect).sql for statement, _ in flat]
            for observe in self.observers:
                observe(sent_sql)
        sent = await self._send(flat, commit)
        results = [sent[end] for end in ends]
        for (_statement, _parameters, check), rows in zip(deferred, results, strict=False):
            if check is not None:
                check(rows)
        self.committed = commit
        return results[len(deferred) :]

    async def _send(self, calls: list[tuple[sql.Statement, dict[str, Any]]], commit: bool) -> list[sql.Rows]:
        raise NotImplementedError


class _PostgresUnit(AsyncUnit):
    def __init__(self, connection, dialect) -> None:
        super().__init__()
        self.connection = connection
        self.dialect = dialect

    async def _pipelined(self, prepared, cursors: list, commit: bool) -> None:
        async with self.connection.pipeline():
            for compiled, parameters in prepared:
                cursor = self.connection.cursor()
                await cursor.execute(compiled.sql, compiled.parameters(parameters))
                cursors.append(cursor)
            if commit:
                await self.connection.commit()

    async def _send(self, calls, commit: bool) -> list[sql.Rows]:
        prepared = [(statement.compiled_for(self.dialect), parameters) for statement, parameters in calls]
        cursors = []
        try:
            if len(prepared) == 1 and not commit:  # one statement: no pipeline to enter and sync
                (compiled, parameters), cursor = prepared[0], self.connection.cursor()
                await cursor.execute(compiled.sql, compiled.parameters(parameters))
                cursors.append(cursor)
            else:
                await self._pipelined(prepared, cursors, commit)
            results = []
            for (compiled, _), cursor in zip(prepared, cursors, strict=True):
                # The result's status, not cursor.description: that builds a Column object per field each time.
                returned_rows = cursor.pgresult is not None and cursor.pgresult.status == ExecStatus.TUPLES_OK
                fetched = await cursor.fetchall() if returned_rows else []
                results.append(sql.Rows(compiled.rows(fetched), cursor.rowcount, compiled.row_type))
            return results
        except psycopg.Error as exc:
            statement = prepared[0][0].sql if prepared else "COMMIT"
            raise DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=self.dialect) from exc


class _ThreadUnit(AsyncUnit):
    """SQLite: the sync session, one worker-thread hop per batch."""

    def __init__(self, session) -> None:
        super().__init__()
        self.session = session
        self.dialect = session.get_bind().dialect

    async def _send(self, calls, commit: bool) -> list[sql.Rows]:
        def send() -> list[sql.Rows]:
            results = sql.run(self.session, *calls) if calls else []
            if commit:
                self.session.commit()
            return results

        return await anyio.to_thread.run_sync(send)


class AsyncDatabase:
    """`db`'s database for async routes; `open()` and `close()` run in the app's event loop (its lifespan)."""

    def __init__(self, db: Database, settings: KitSettings) -> None:
        self.db = db
        self.settings = settings
        self._pool = None
        self._read_pool = None
        # Called with each batch's SQL as it is sent, on either dialect (tests count a route's statements: these
        # bypass the engine's events).
        self.observers: list[Callable[[list[str]], None]] = []
        # SQLite: one write unit at a time. Writers queue anyway (BEGIN IMMEDIATE), but a unit holding the write lock
        # needs a worker thread for each batch: without this, 40 writers waiting for the lock took every thread.
        self._sqlite_writer = anyio.Lock()

    @property
    def is_postgresql(self) -> bool:
        return self.db.is_postgresql

    async def open(self) -> None:
        if not self.db.is_postgresql or self._pool is not None:
            return
        from psycopg_pool import AsyncConnectionPool

        conninfo = postgresql_conninfo(
            self.db.url,
            options=f"-csearch_path={self.db.schema} -clock_timeout={self.settings.db_lock_timeout_ms}",
        )

        def pool(kind: str, autocommit: bool) -> AsyncConnectionPool:
            return AsyncConnectionPool(
                conninfo,
                kwargs={"autocommit": autocommit},
                min_size=0,  # opened on demand and closed when idle: PostgreSQL's 100 connections are shared
                max_size=self.settings.db_pool_size,
                max_idle=60,
                timeout=self.settings.db_pool_timeout_s,
                max_lifetime=1800,  # as the sync engine's pool_recycle
                open=False,
                name=f"{self.db.service}-async-{kind}",
            )

        # Reads in autocommit (no BEGIN or COMMIT to send), writes in transactions: two pools, so that no
        # connection switches mode per unit (each switch is one more turn of the driver).
        self._pool, self._read_pool = pool("write", False), pool("read", True)
        await self._pool.open()
        await self._read_pool.open()

    async def close(self) -> None:
        if self._pool is not None:
            pools, self._pool, self._read_pool = (self._pool, self._read_pool), None, None
            for pool in pools:
                await pool.close()

    def connections_in_use(self) -> int:
        """How many of the pool's connections are out (tests: nothing is held across a call to another service)."""
        if self._pool is None:
            return sum(engine.pool.checkedout() for engine in {self.db.engine, self.db.write_engine})
        return sum(
            stats.get("pool_size", 0) - stats.get("pool_available", 0)
            for stats in (self._pool.get_stats(), self._read_pool.get_stats())
        )

    @asynccontextmanager
    async def unit(self, *, write: bool = True) -> AsyncIterator[AsyncUnit]:
        """One transaction. A write unit must `run(..., commit=True)` to keep its work; a read unit commits
        on leaving (nothing to keep, but a COMMIT keeps the connection's prepared statements)."""
        if not self.db.is_postgresql:
            async with self._sqlite_writer if write else nullcontext():
                session = (self.db._write if write else self.db._read)()
                unit = _ThreadUnit(session)
                unit.observers = self.observers
                try:
                    yield unit
                    if not write and not unit.committed:
                        await anyio.to_thread.run_sync(session.commit)
                finally:
                    await anyio.to_thread.run_sync(session.close)  # rolls back whatever was not committed
            return
        if self._pool is None:
            raise RuntimeError(_NOT_CONNECTED)
        async with (self._pool if write else self._read_pool).connection() as connection:
            unit = _PostgresUnit(connection, self.db.engine.dialect)
            unit.observers = self.observers
            try:
                yield unit
                if write and not unit.committed:
                    await connection.rollback()
            except BaseException:
                if not connection.closed and write:
                    await connection.rollback()
                raise
