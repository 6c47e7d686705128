"""Hot-path statements (openbank_kit.sql): the same values in and out as SQLAlchemy gives, on both databases."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from openbank_kit import sql
from openbank_kit.db import Database, UtcDateTime


@pytest.fixture
def probe(test_settings):
    """A table of every type the hot paths use, in the loans database, dropped afterwards."""
    db = Database("loans", test_settings)
    if db.is_postgresql:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS loans")
    table = Table(
        f"kit_sql_probe_{secrets.token_hex(3)}",
        MetaData(),
        Column("id", String(20), primary_key=True),
        Column("amount_fen", BigInteger, nullable=False),
        Column("at", UtcDateTime, nullable=True),
        Column("on_day", Date, nullable=True),
        Column("body", JSON, nullable=True),
        Column("status", String(8), nullable=False),
    )
    table.create(db.engine)
    yield db, table
    table.drop(db.engine)
    db.dispose()


def _statements(table):
    c = table.c
    add = sql.Statement(
        insert(table).values({col.name: bindparam(col.name, type_=col.type) for col in table.columns})
    )
    read = sql.Statement(
        select(c.id, c.amount_fen, c.at, c.on_day, c.body, c.status).where(
            c.id == bindparam("id"), c.status != "GONE"
        )  # "GONE": a literal bound when the statement was built
    )
    move = sql.Statement(
        update(table).where(c.id == bindparam("id")).values(amount_fen=c.amount_fen + bindparam("by"))
    )
    return add, read, move


def test_values_go_in_and_come_back_as_sqlalchemy_gives_them(probe):
    db, table = probe
    add, read, move = _statements(table)
    at = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    row = {"id": "a", "amount_fen": 9_007_199_254_740_993, "at": at, "on_day": date(2026, 12, 31),
           "body": {"Amount": "8661.90", "Nested": [1, "二"]}, "status": "NEW"}  # fmt: skip
    with db.write_session() as session:
        inserted, moved, read_back = sql.run(
            session, (add, row), (move, {"id": "a", "by": 7}), (read, {"id": "a"})
        )
        session.commit()
    assert inserted.rowcount == 1 and moved.rowcount == 1
    assert read_back.rows == [("a", 9_007_199_254_740_993 + 7, at, date(2026, 12, 31), row["body"], "NEW")]
    assert read_back.one()[2].tzinfo is not None and read_back.one()[2].utcoffset() == timedelta(0)
    with db.read_session() as session:  # and SQLAlchemy reads what the driver wrote
        assert session.execute(select(table)).one() == read_back.one()


def test_nulls_an_empty_result_and_the_pipeline_keeps_order(probe):
    db, table = probe
    add, read, move = _statements(table)
    with db.write_session() as session:
        results = sql.run(
            session,
            (read, {"id": "b"}),
            (add, {"id": "b", "amount_fen": 0, "at": None, "on_day": None, "body": None, "status": "NEW"}),
            (read, {"id": "b"}),
            (move, {"id": "b", "by": -5}),
            (read, {"id": "b"}),
        )
        session.commit()
    assert results[0].rows == [] and results[0].first() is None and results[0].scalar() is None
    assert results[2].one() == ("b", 0, None, None, None, "NEW")
    assert results[4].scalar() == "b" and results[4].one()[1] == -5


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_rolls_back_with_the_session(probe):
    db, table = probe
    add, read, _move = _statements(table)
    row = {"id": "c", "amount_fen": 1, "at": datetime.now(UTC), "on_day": None, "body": [], "status": "NEW"}
    with db.write_session() as session:
        sql.run(session, (add, row))
        session.commit()
    with db.write_session() as session, pytest.raises(IntegrityError):
        sql.run(session, (add, {**row, "id": "d"}), (add, row))
    with db.read_session() as session:
        assert sql.run(session, (read, {"id": "d"}))[0].rows == []  # the batch's first insert went with it


def test_expanding_parameters_are_refused(probe):
    db, table = probe
    statement = sql.Statement(select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True))))
    with db.read_session() as session, pytest.raises(ValueError, match="expanding"):
        sql.run(session, (statement, {"ids": ["a"]}))


def test_a_bundle_of_writes_is_one_statement_on_postgresql_and_its_members_elsewhere(probe):
    db, table = probe
    add, read, move = _statements(table)
    c = table.c
    mark = sql.Statement(
        update(table).where(c.id == bindparam("id"), c.status == "NEW").values(status="DONE")
    )
    bundle = sql.Bundle(add, mark, move)
    row = {
        "id": "e",
        "amount_fen": 10,
        "at": None,
        "on_day": date(2027, 1, 31),
        "body": {"k": "v"},
        "status": "NEW",
    }
    with db.write_session() as session:
        sql.run(session, (add, {**row, "id": "f"}), (add, {**row, "id": "g"}))
        # Each member touches its own rows: a row changed by two members of one statement keeps only one change.
        (moved,) = sql.run(session, (bundle, bundle.parameters(row, {"id": "g"}, {"id": "f", "by": 5})))
        session.commit()
    assert moved.rowcount == 1  # the last member's answer
    with db.read_session() as session:
        e, f, g = (sql.run(session, (read, {"id": name}))[0].first() for name in ("e", "f", "g"))
    assert e == ("e", 10, None, date(2027, 1, 31), {"k": "v"}, "NEW")
    assert (f[1], f[5], g[1], g[5]) == (15, "NEW", 10, "DONE")  # every member ran, with its own parameters
    flat, ends = sql.flattened(db.engine.dialect, [(bundle, {})])
    if db.is_postgresql:
        assert len(flat) == 1 and flat[0][0].compiled_for(db.engine.dialect).sql.startswith(
            "WITH w0 AS (INSERT"
        )
    else:
        assert [statement for statement, _ in flat] == [add, mark, move] and ends == [2]
