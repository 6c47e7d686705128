"""One database per service: a SQLite file under var_dir, or a PostgreSQL schema named after the service.

Engines are made by `Database` (called from app factories and the CLI, never at import). Sessions are
synchronous; a unit of work commits explicitly (`with db.write_session() as s: ...; s.commit()`), and rolls back
on leaving the block otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson
import psycopg.types.json
from sqlalchemy import URL, DateTime, Engine, Table, create_engine, event, make_url, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from openbank_kit.settings import KitSettings

SERVICES = ("gateway", "accounts", "payments", "loans")
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def json_text(value) -> str:
    """JSON columns are written with orjson (a decision's response body: 2 µs against json's 33 µs, measured)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns read by psycopg directly (openbank_kit.sql) are parsed with orjson too.
psycopg.types.json.set_json_loads(orjson.loads)


def postgresql_host(url: URL) -> str:
    """The server a PostgreSQL URL names: its host, or the Unix socket directory given as `?host=/run/postgresql`
    (no TCP on a machine shared with the server), else 127.0.0.1."""
    return url.host or url.query.get("host") or "127.0.0.1"


class DatabaseUnavailable(Exception):
    """The database server cannot be reached; the message says which and where."""


def insert_with_conflict_clause(session: Session, table: Table):
    """`INSERT` for the session's dialect, with its `on_conflict_do_nothing/do_update` (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


class UtcDateTime(TypeDecorator):
    """Timezone-aware datetimes on both dialects: stored as UTC, read back as aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_location(service: str, settings: KitSettings) -> tuple[str, str | None]:
    """The SQLAlchemy URL and (on PostgreSQL) the schema a service owns."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    if settings.database_url and settings.database_url.startswith("postgresql"):
        return settings.database_url, service
    if settings.database_url and settings.database_url.startswith("sqlite:///"):
        # A single SQLite path given: each service still gets its own file beside it.
        base = Path(settings.database_url.removeprefix("sqlite:///"))
        return f"sqlite:///{base.with_name(f'{base.stem}-{service}.db')}", None
    return f"sqlite:///{Path(settings.var_dir) / f'{service}.db'}", None


class Database:
    """Engines and sessions for one service's own database."""

    def __init__(self, service: str, settings: KitSettings):
        self.service = service
        self.url, self.schema = database_location(service, settings)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            path = Path(make_url(self.url).database or "")
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(self.url, immediate=False)
            # Writers take the write lock up front so that concurrent writers queue (busy_timeout)
            # instead of failing with SQLITE_BUSY when a read transaction upgrades.
            self.write_engine = _sqlite_engine(self.url, immediate=True)
        else:
            assert self.schema and _SCHEMA_NAME.match(self.schema)
            self.engine = create_engine(
                self.url,
                json_serializer=json_text,
                json_deserializer=orjson.loads,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size,
                pool_timeout=settings.db_pool_timeout_s,
                # No pre-ping: it is a round trip per checkout (one per request and service). A connection the
                # server dropped fails one statement, which invalidates the pool; recycling bounds a connection's age.
                pool_recycle=1800,
                connect_args={
                    "options": f"-csearch_path={self.schema} -clock_timeout={settings.db_lock_timeout_ms}",
                    "connect_timeout": 5,
                },
            )
            self.write_engine = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def describe(self) -> str:
        url = make_url(self.url)
        if self.dialect == "sqlite":
            return f"SQLite file {url.database}"
        return f"PostgreSQL {postgresql_host(url)}:{url.port or 5432}/{url.database} schema {self.schema}"

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read: it ends with COMMIT, not ROLLBACK. psycopg forgets every prepared statement of a connection on
        ROLLBACK, so reads that rolled back (and the pool's reset after them) kept every statement from ever being
        prepared: PostgreSQL parsed and planned each one on every call."""
        with self._read() as session:
            yield session
            session.commit()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A unit of work: call `session.commit()` to keep it; leaving the block without it rolls back."""
        with self._write() as session:
            yield session

    def check_reachable(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(
                f"cannot reach the {self.service} database ({self.describe()}): {reason}"
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=json_text,
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's begin hook below issue BEGIN itself (pysqlite would otherwise delay it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
