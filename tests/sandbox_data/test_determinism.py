"""Same config gives the same bytes; seed, as-of date and population size change what they should."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sandbox_data import PERSONAS, SANDBOX_OTP, SANDBOX_PASSWORD, WorldConfig, generate_world
from sandbox_data.world import PRIMARY_KEYS

SMALL = dict(retail_customers=10, smes=2)


def test_same_config_gives_the_same_digest(world):
    again = generate_world(
        WorldConfig(seed=8, as_of_date=world.config.as_of_date, retail_customers=200, smes=30)
    )
    assert again.digest() == world.digest()
    assert again.tables == world.tables


def test_a_different_seed_gives_a_different_world(world):
    other = generate_world(WorldConfig(seed=9, as_of_date=world.config.as_of_date))
    assert other.digest() != world.digest()


def test_the_as_of_date_moves_the_history():
    a = generate_world(WorldConfig(as_of_date=date(2026, 12, 2), **SMALL))
    b = generate_world(WorldConfig(as_of_date=date(2027, 3, 15), **SMALL))
    assert a.digest() != b.digest()
    for world in (a, b):
        start = world.config.history_start
        booked = [t["booked_at"] for t in world.tables["accounts.ledger_transaction"]]
        assert min(booked).date() == start
        assert max(booked).date() == world.config.as_of_date - timedelta(days=1)
        assert {s["report_date"] for s in world.tables["loans.bureau_subject"]} == {world.config.as_of_date}


def test_population_size_is_configurable():
    small = generate_world(WorldConfig(as_of_date=date(2026, 12, 2), **SMALL))
    customers = small.tables["accounts.customer"]
    assert len([c for c in customers if c["party_type"] == "PERSON"]) == len(PERSONAS) + 10
    assert len([c for c in customers if c["party_type"] == "ORGANISATION"]) == 2 + 2
    assert len(small.tables["gateway.sandbox_user"]) == len(PERSONAS) + 10
    only_personas = generate_world(WorldConfig(as_of_date=date(2026, 12, 2), retail_customers=0, smes=0))
    assert {u["username"] for u in only_personas.tables["gateway.sandbox_user"]} == {
        p.username for p in PERSONAS
    }
    with pytest.raises(ValueError):
        WorldConfig(as_of_date=date(2026, 12, 2), retail_customers=0, smes=3)


def test_default_population_and_volume(world):
    customers = world.tables["accounts.customer"]
    assert len([c for c in customers if c["party_type"] == "PERSON"]) == 208
    assert len([c for c in customers if c["party_type"] == "ORGANISATION"]) == 32
    assert 40_000 <= len(world.tables["accounts.posting"]) <= 80_000


def test_progress_is_reported():
    calls = []
    generate_world(
        WorldConfig(as_of_date=date(2026, 12, 2), **SMALL), progress=lambda d, t: calls.append((d, t))
    )
    assert calls and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_constants():
    assert SANDBOX_PASSWORD == "sandbox" and SANDBOX_OTP == "123456"
    assert [p.customer_id for p in PERSONAS] == [f"CUS00000{n}" for n in range(1, 9)]
    assert [p.username for p in PERSONAS] == [
        "zhang.wei", "li.na", "wang.fang", "chen.jie", "liu.yang", "zhao.min", "sun.hui", "zhou.qiang",
    ]  # fmt: skip


def test_rows_have_uniform_columns_allowed_types_and_sorted_keys(world):
    allowed = (str, int, bool, type(None), date)  # datetime is a date subclass
    for name, rows in world.tables.items():
        assert rows, name
        columns = set(rows[0])
        key = PRIMARY_KEYS[name]
        for row in rows:
            assert set(row) == columns, name
            for column, value in row.items():
                assert isinstance(value, allowed), (name, column, value)
                assert not isinstance(value, float)
                if isinstance(value, datetime):
                    assert value.utcoffset() == timedelta(hours=8), (name, column)
                if column.endswith("_fen"):
                    assert isinstance(value, int) or value is None, (name, column)
        keys = [row[key] for row in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), name


def test_tables_match_the_service_models(world):
    """Every generated table has exactly the columns of the service's model (less tenant_id)."""
    from gateway import models as gateway_models
    from services.accounts import models as accounts_models
    from services.loans import models as loans_models
    from services.payments import models as payments_models

    for service, module in (("gateway", gateway_models), ("accounts", accounts_models),
                            ("payments", payments_models), ("loans", loans_models)):  # fmt: skip
        rows_by_table = world.for_service(service)
        for table in module.TENANT_TABLES.world_tables:
            columns = {c.name for c in table.columns} - {"tenant_id"}
            assert set(rows_by_table[table.name][0]) == columns, table.name
        assert set(rows_by_table) == {t.name for t in module.TENANT_TABLES.world_tables}
