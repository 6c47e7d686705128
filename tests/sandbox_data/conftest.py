"""Shared fixtures: the default world is generated once per test module (it takes well under a second)."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

# This directory is also named sandbox_data: with tests/ on sys.path (other conftests put it there), a plain
# import would find it as a namespace package instead of the real one. Put the repository root first.
_ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("sandbox_data"), "__file__", "") is None:
    del sys.modules["sandbox_data"]

from sandbox_data import World, WorldConfig, generate_world  # noqa: E402

# Another as-of date can be tried with SANDBOX_DATA_TEST_AS_OF=2027-01-31 (the persona checks are date-relative).
AS_OF = date.fromisoformat(os.environ.get("SANDBOX_DATA_TEST_AS_OF", "2026-12-02"))


@dataclass
class Index:
    """Lookups over a world's tables that most tests need."""

    world: World
    customers: dict[str, dict]
    accounts: dict[str, dict]
    accounts_of: dict[str, list[dict]]
    transactions: dict[str, dict]
    postings_of_tx: dict[str, list[dict]]
    postings_of_account: dict[str, list[dict]]  # in booked_at order

    def rows(self, table: str) -> list[dict]:
        return self.world.tables[table]

    def where(self, table: str, **match) -> list[dict]:
        return [row for row in self.rows(table) if all(row[k] == v for k, v in match.items())]

    def account_transactions(self, account_id: str) -> list[tuple[dict, int]]:
        """(transaction, signed amount for this account) in booked order."""
        return [
            (self.transactions[p["transaction_id"]], p["amount_fen"])
            for p in self.postings_of_account[account_id]
        ]


def build_index(world: World) -> Index:
    tables = world.tables
    transactions = {t["transaction_id"]: t for t in tables["accounts.ledger_transaction"]}
    postings_of_tx: dict[str, list[dict]] = defaultdict(list)
    postings_of_account: dict[str, list[dict]] = defaultdict(list)
    for posting in tables["accounts.posting"]:
        postings_of_tx[posting["transaction_id"]].append(posting)
        postings_of_account[posting["account_id"]].append(posting)
    for postings in postings_of_account.values():
        postings.sort(key=lambda p: (transactions[p["transaction_id"]]["booked_at"], p["transaction_id"]))
    accounts_of: dict[str, list[dict]] = defaultdict(list)
    for account in tables["accounts.account"]:
        accounts_of[account["customer_id"]].append(account)
    return Index(
        world=world,
        customers={c["customer_id"]: c for c in tables["accounts.customer"]},
        accounts={a["account_id"]: a for a in tables["accounts.account"]},
        accounts_of=accounts_of,
        transactions=transactions,
        postings_of_tx=postings_of_tx,
        postings_of_account=postings_of_account,
    )


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(as_of_date=AS_OF))


@pytest.fixture(scope="module")
def idx(world: World) -> Index:
    return build_index(world)
