"""Hot-path statements: SQLAlchemy writes each statement's SQL once per dialect; the driver runs it.

On the decision and payment paths SQLAlchemy's per-call machinery (an execution context, a result object, row
processing) cost twice the statement's own round trip (measured: 133 µs against 65 µs for a one-row read). So a
`Statement` is compiled once per dialect, its parameters go through the same type processors SQLAlchemy would apply
(aware datetimes, JSON, dates on SQLite), and the DBAPI cursor of the session's own connection runs it, inside the
session's transaction. `run` sends several statements at once: on PostgreSQL in one pipeline (one network round trip
and one wake-up of the server for all of them), on SQLite one after the other.

`defer` queues a statement to go out with the session's next `run`, ahead of that call's own statements (a unit of
work's writes travel together; an idempotency key's claim travels with the first reads). A deferred statement may
carry a check of its result, run when its result is back; a check that raises leaves the transaction to be rolled
back by the caller (the statements sent with it have run). While statements are deferred, the session must not run
SQL through SQLAlchemy: they would be overtaken.

Statements must not use expanding (IN-list) parameters: those change the SQL on every call.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable, visitors
from sqlalchemy.sql.elements import BindParameter, _anonymous_label


@dataclass(frozen=True)
class Rows:
    """What one statement gave back: its rows (tuples, in the statement's column order) and rowcount."""

    rows: list[tuple]
    rowcount: int
    row_type: type | None = None  # a namedtuple of the statement's column names

    def named(self) -> list:
        """The rows with attribute access by column name."""
        assert self.row_type is not None, "the statement returns no columns"
        return [self.row_type._make(row) for row in self.rows]

    def one(self) -> tuple:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def first(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else row[0]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # the order of the parameters when the dialect's style is positional
    names: tuple[str, ...]
    fixed: dict[str, Any]  # values bound when the statement was built (literals in the expression)
    bind_processors: dict[str, Callable[[Any], Any]]
    result_processors: tuple[Callable[[Any], Any] | None, ...]
    row_type: type | None

    def parameters(self, given: dict[str, Any]) -> dict[str, Any] | tuple:
        values = {}
        for name in self.names:
            value = given[name] if name in given else self.fixed[name]
            processor = self.bind_processors.get(name)
            values[name] = processor(value) if processor is not None and value is not None else value
        if self.positional is None:
            return values
        return tuple(values[name] for name in self.positional)

    def rows(self, fetched: Sequence[Sequence[Any]]) -> list[tuple]:
        processors = self.result_processors
        if not any(processors):
            return [tuple(row) for row in fetched]
        return [
            tuple(value if p is None else p(value) for p, value in zip(processors, row, strict=True))
            for row in fetched
        ]


class Statement:
    """A Core statement (built once, with bound parameters), compiled once per dialect."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def compiled_for(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found


class Bundle:
    """Writes whose results nobody reads, sent as ONE statement on PostgreSQL (a data-modifying WITH:
    `WITH w0 AS (first), w1 AS (second) last`), one after the other elsewhere. Each member is a separate round of
    the driver's work in a pipeline (about 0.1 ms of CPU on this machine); a bundle pays once.

    The members run on one snapshot and must not depend on each other's effects (a row inserted by one is not
    seen by another) nor change the same row (PostgreSQL keeps one of the changes); what earlier statements of the
    transaction did, they all see. Parameters are given per member (`parameters(...)`); their names are prefixed per
    member inside the one statement.
    """

    def __init__(self, *members: Statement) -> None:
        assert len(members) >= 2
        self.members = members
        self._postgresql: Statement | None = None

    @staticmethod
    def of(*members: Statement) -> Bundle:
        """The bundle of these statements, made once per combination (its SQL is compiled once)."""
        return _bundle_of(members)

    def parameters(self, *per_member: dict[str, Any]) -> dict[str, Any]:
        assert len(per_member) == len(self.members)
        return {f"b{n}_{name}": value for n, given in enumerate(per_member) for name, value in given.items()}

    def calls(self, dialect, parameters: dict[str, Any]) -> list[tuple[Statement, dict[str, Any]]]:
        """What to send for `parameters` (from `parameters(...)`) on this dialect."""
        if dialect.name == "postgresql":
            if self._postgresql is None:
                self._postgresql = _BundleStatement(self.members)
            return [(self._postgresql, parameters)]
        return [
            (
                member,
                {
                    name[len(f"b{n}_") :]: value
                    for name, value in parameters.items()
                    if name.startswith(f"b{n}_")
                },
            )
            for n, member in enumerate(self.members)
        ]


@cache
def insert_statement(table: Table) -> Statement:
    """An INSERT of every column of `table`, each bound under its own name (rows go in as dicts)."""
    return Statement(insert(table).values({c.name: bindparam(c.name, type_=c.type) for c in table.columns}))


@lru_cache(maxsize=256)
def _bundle_of(members: tuple[Statement, ...]) -> Bundle:
    return Bundle(*members)


class _BundleStatement(Statement):
    def __init__(self, members: Sequence[Statement]) -> None:
        super().__init__(None)
        self.members = [_prefixed(member.statement, f"b{n}_") for n, member in enumerate(members)]

    def compiled_for(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            parts = [_compile(member, dialect) for member in self.members]
            *leading, last = parts
            text = (
                "WITH "
                + ", ".join(f"w{n} AS ({part.sql})" for n, part in enumerate(leading))
                + " "
                + last.sql
            )
            found = self._compiled[dialect.name] = _Compiled(
                sql=text,
                positional=None,
                names=tuple(name for part in parts for name in part.names),
                fixed={name: value for part in parts for name, value in part.fixed.items()},
                bind_processors={name: p for part in parts for name, p in part.bind_processors.items()},
                result_processors=last.result_processors,
                row_type=last.row_type,
            )
        return found


def _prefixed(statement: Executable, prefix: str) -> Executable:
    """The statement with every bound parameter renamed `prefix + name` (anonymous ones numbered)."""
    counter = iter(range(1_000_000))

    def rename(element):
        if isinstance(element, BindParameter):
            anonymous = isinstance(element.key, _anonymous_label)  # a literal in the expression
            clone = element._clone()
            clone.key = clone._identifying_key = prefix + (
                f"anon{next(counter)}" if anonymous else element.key
            )
            clone.unique = False
            return clone
        return None

    return visitors.replacement_traverse(statement, {}, rename)


def _compile(statement: Executable, dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    if any(bind.expanding for bind in binds.values()):
        raise ValueError("a hot-path statement cannot have expanding (IN-list) parameters")
    processors = dict(compiled._bind_processors)  # what SQLAlchemy applies to each parameter
    columns = getattr(compiled, "_result_columns", [])
    result_processors = tuple(entry.type._cached_result_processor(dialect, None) for entry in columns)
    row_type = namedtuple("Row", [entry.keyname for entry in columns], rename=True) if columns else None
    return _Compiled(
        sql=compiled.string,
        positional=tuple(compiled.positiontup) if compiled.positiontup is not None else None,
        names=tuple(binds),
        fixed={name: bind.effective_value for name, bind in binds.items() if not bind.required},
        bind_processors=processors,
        result_processors=result_processors,
        row_type=row_type,
    )


_DEFERRED = "openbank_sql_deferred"
Check = Callable[["Rows"], None]


def defer(
    session: Session, statement: Statement, parameters: dict[str, Any], check: Check | None = None
) -> None:
    """Queue a statement for the session's next `run` (or `flush`)."""
    session.info.setdefault(_DEFERRED, []).append((statement, parameters, check))


def flush(session: Session) -> None:
    """Send what is deferred, if anything."""
    if session.info.get(_DEFERRED):
        run(session)


def run(session: Session, *calls: tuple[Statement | Bundle, dict[str, Any]]) -> list[Rows]:
    """Run what is deferred, then these statements, in order, in the session's transaction; on PostgreSQL as one
    pipeline. Returns the results of `calls` (the deferred statements' results go to their checks).

    Errors come back as SQLAlchemy's exception classes (IntegrityError, OperationalError...), as if SQLAlchemy had
    run the statements, so callers handle them the same way.
    """
    deferred = session.info.pop(_DEFERRED, [])
    connection = session.connection()  # begins the session's transaction (BEGIN IMMEDIATE for SQLite writers)
    everything = [(statement, parameters) for statement, parameters, _check in deferred] + list(calls)
    flat, ends = flattened(connection.dialect, everything)
    sent = _send(connection, flat)
    results = [sent[end] for end in ends]
    for (_statement, _parameters, check), rows in zip(deferred, results, strict=False):
        if check is not None:
            check(rows)
    return results[len(deferred) :]


def flattened(dialect, calls: Sequence[tuple[Statement | Bundle, dict[str, Any]]]) -> tuple[list, list[int]]:
    """What this dialect sends for `calls` (a bundle: one statement on PostgreSQL, its members elsewhere), and for
    each call the index of its last statement there (a bundle answers with its last member's rows)."""
    out: list[tuple[Statement, dict[str, Any]]] = []
    ends: list[int] = []
    for statement, parameters in calls:
        if isinstance(statement, Bundle):
            out += statement.calls(dialect, parameters)
        else:
            out.append((statement, parameters))
        ends.append(len(out) - 1)
    return out, ends


def _send(connection, calls: list[tuple[Statement, dict[str, Any]]]) -> list[Rows]:
    dialect = connection.dialect
    driver_connection = connection.connection.dbapi_connection
    prepared = [(statement.compiled_for(dialect), parameters) for statement, parameters in calls]
    if not prepared:
        return []
    try:
        if dialect.name == "postgresql":
            cursors = []
            with driver_connection.pipeline():
                for compiled, parameters in prepared:
                    cursor = driver_connection.cursor()
                    cursor.execute(compiled.sql, compiled.parameters(parameters))
                    cursors.append(cursor)
            return [_rows(compiled, cursor) for (compiled, _), cursor in zip(prepared, cursors, strict=True)]
        results = []
        cursor = driver_connection.cursor()
        for compiled, parameters in prepared:
            cursor.execute(compiled.sql, compiled.parameters(parameters))
            results.append(_rows(compiled, cursor))
        return results
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            prepared[0][0].sql, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc


def _rows(compiled: _Compiled, cursor) -> Rows:
    fetched = cursor.fetchall() if cursor.description is not None else []
    return Rows(compiled.rows(fetched), cursor.rowcount, compiled.row_type)
