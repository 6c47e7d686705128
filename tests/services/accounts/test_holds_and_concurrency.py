"""Holds (place / capture / release) and the no-overdraft rule under real concurrency (PostgreSQL row locks)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from openbank_kit.db import Database
from openbank_kit.errors import OBIEError
from services.accounts import service
from services.accounts.ledger_verify import verify_tenant
from services.accounts.schemas import LedgerTransactionBody

HOT_ACCOUNTS = ["INT-CLEARING-CNAPS", "INT-SETTLEMENT-ECOM"]
THREADS = 50
DURATION_S = 10.0


def _internal(stack, method: str, path: str, key: str | None = None, **kwargs):
    headers = dict(stack.internal_headers)
    if key:
        headers["x-idempotency-key"] = key
    return stack.services["accounts"].request(method, path, headers=headers, **kwargs)


def _balance(stack, tenant_id: str, account_id: str) -> tuple[Decimal, Decimal]:
    body = _internal(stack, "GET", f"/internal/v1/tenants/{tenant_id}/accounts/{account_id}/balance").json()
    return Decimal(body["Balance"]["Amount"]), Decimal(body["AvailableBalance"]["Amount"])


def _transfer(debit: str, credit: str, amount: str) -> dict:
    leg = {"Amount": {"Amount": amount, "Currency": "CNY"}}
    return {"Category": "TRANSFER", "Description": "test transfer",
            "Postings": [{"AccountId": debit, "CreditDebitIndicator": "Debit", **leg},
                         {"AccountId": credit, "CreditDebitIndicator": "Credit", **leg}]}  # fmt: skip


def _set_balance(stack, tenant_id: str, account_id: str, target: Decimal) -> None:
    booked, _ = _balance(stack, tenant_id, account_id)
    if booked != target:
        debit, credit = (account_id, "INT-CASH") if booked > target else ("INT-CASH", account_id)
        response = _internal(stack, "POST", f"/internal/v1/tenants/{tenant_id}/ledger/transactions",
                             key=f"set-{account_id}", json=_transfer(debit, credit, f"{abs(booked - target):.2f}"))  # fmt: skip
        assert response.status_code == 201, response.text


def test_hold_lowers_available_capture_posts_it_release_gives_it_back(stack, new_tenant):
    tenant_id, _ = new_tenant("hold")
    base = f"/internal/v1/tenants/{tenant_id}/ledger/holds"
    _set_balance(stack, tenant_id, "ACC0000001", Decimal("1000.00"))
    hold_body = {"AccountId": "ACC0000001", "Amount": {"Amount": "600.00", "Currency": "CNY"},
                 "Description": "checkout", "Reference": "ORDER-1"}  # fmt: skip
    placed = _internal(stack, "POST", base, key="h1", json=hold_body)
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["HoldId"]
    again = _internal(stack, "POST", base, key="h1", json=hold_body)  # the same key places nothing new
    assert again.json()["HoldId"] == hold_id
    assert _balance(stack, tenant_id, "ACC0000001") == (Decimal("1000.00"), Decimal("400.00"))
    # Held money cannot be spent twice: a debit past the available balance, and a second hold, are refused.
    refused = _internal(stack, "POST", f"/internal/v1/tenants/{tenant_id}/ledger/transactions", key="t1",
                        json=_transfer("ACC0000001", "INT-CASH", "500.00"))  # fmt: skip
    assert refused.status_code == 400 and "insufficient funds" in refused.json()["Errors"][0]["Message"]
    too_big = _internal(stack, "POST", base, key="h2",
                        json={"AccountId": "ACC0000001", "Amount": {"Amount": "400.01", "Currency": "CNY"},
                              "Description": "second"})  # fmt: skip
    assert too_big.status_code == 400 and too_big.json()["Errors"][0]["Path"] == "Amount.Amount"
    captured = _internal(stack, "POST", f"{base}/{hold_id}/capture", key="c1",
                         json={"CreditAccountId": "INT-SETTLEMENT-ECOM", "Amount": {"Amount": "550.00", "Currency": "CNY"},
                               "Category": "ECOMMERCE", "Description": "checkout paid"})  # fmt: skip
    assert captured.status_code == 201, captured.text
    assert captured.json()["Status"] == "CAPTURED" and captured.json()["Transaction"]["Postings"]
    # A partial capture closes the hold: the rest goes back to the available balance.
    assert _balance(stack, tenant_id, "ACC0000001") == (Decimal("450.00"), Decimal("450.00"))
    replay = _internal(stack, "POST", f"{base}/{hold_id}/capture", key="c1",
                       json={"CreditAccountId": "INT-SETTLEMENT-ECOM", "Amount": {"Amount": "550.00", "Currency": "CNY"},
                             "Category": "ECOMMERCE", "Description": "checkout paid"})  # fmt: skip
    assert replay.json() == captured.json()
    assert _internal(stack, "POST", f"{base}/{hold_id}/release").status_code == 409
    second = _internal(stack, "POST", base, key="h3",
                       json={"AccountId": "ACC0000001", "Amount": {"Amount": "50.00", "Currency": "CNY"},
                             "Description": "third"}).json()  # fmt: skip
    released = _internal(stack, "POST", f"{base}/{second['HoldId']}/release")
    assert released.status_code == 200 and released.json()["Status"] == "RELEASED"
    assert _internal(stack, "POST", f"{base}/{second['HoldId']}/release").json()["Status"] == "RELEASED"
    assert _balance(stack, tenant_id, "ACC0000001") == (Decimal("450.00"), Decimal("450.00"))
    assert _internal(stack, "GET", f"{base}/hold_unknown").status_code == 404
    assert verify_tenant(stack.db("accounts"), tenant_id).breach_count == 0


def test_placed_holds_bound_what_a_posting_may_take_to_the_fen(stack, new_tenant):
    tenant_id, _ = new_tenant("avail")
    path = f"/internal/v1/tenants/{tenant_id}/ledger/transactions"
    _set_balance(stack, tenant_id, "ACC0000001", Decimal("100.00"))
    for n, amount in enumerate(("25.00", "35.00")):  # two holds: both count
        hold = {
            "AccountId": "ACC0000001",
            "Amount": {"Amount": amount, "Currency": "CNY"},
            "Description": "held",
        }
        placed = _internal(
            stack, "POST", f"/internal/v1/tenants/{tenant_id}/ledger/holds", key=f"h{n}", json=hold
        )
        assert placed.status_code == 201, placed.text
    over = _internal(stack, "POST", path, key="over", json=_transfer("ACC0000001", "INT-CASH", "40.01"))
    assert over.status_code == 400 and "insufficient funds" in over.json()["Errors"][0]["Message"]
    exact = _internal(stack, "POST", path, key="exact", json=_transfer("ACC0000001", "INT-CASH", "40.00"))
    assert exact.status_code == 201, exact.text
    assert _balance(stack, tenant_id, "ACC0000001") == (Decimal("60.00"), Decimal("0.00"))


def test_concurrent_debits_never_overdraw(stack, new_tenant, backend):
    """20 threads each take 10.00 from an account holding 100.00: exactly ten succeed, the balance ends at 0."""
    if backend != "postgresql":
        pytest.skip("concurrency is proven against PostgreSQL (SQLite serialises writers)")
    tenant_id, _ = new_tenant("race")
    _set_balance(stack, tenant_id, "ACC0000001", Decimal("100.00"))
    db = stack.db("accounts")
    body = LedgerTransactionBody.model_validate(_transfer("ACC0000001", "INT-CLEARING-CNAPS", "10.00"))
    start = threading.Barrier(20)

    def attempt(n: int) -> bool:
        start.wait()
        try:
            service.post_transaction(db, tenant_id, "race", f"race-{n}", body)
            return True
        except OBIEError as exc:
            assert "insufficient funds" in exc.message
            return False

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert sum(results) == 10
    assert _balance(stack, tenant_id, "ACC0000001") == (Decimal("0.00"), Decimal("0.00"))


def test_concurrent_postings_through_the_route_never_overdraw_and_post_each_key_once(
    stack, new_tenant, backend
):
    """20 keys, each sent twice at once, take 10.00 each from 100.00 through the route (the async path, its pool):
    ten keys post, once each; a key's two answers agree (a duplicate waits for the first and replays it)."""
    if backend != "postgresql":
        pytest.skip("concurrency is proven against PostgreSQL (SQLite serialises writers)")
    tenant_id, _ = new_tenant("route-race")
    _set_balance(stack, tenant_id, "ACC0000001", Decimal("100.00"))
    path = f"/internal/v1/tenants/{tenant_id}/ledger/transactions"
    body = _transfer("ACC0000001", "INT-CLEARING-CNAPS", "10.00")
    keys = [f"rr-{n}" for n in range(20)] * 2
    start = threading.Barrier(len(keys))

    def attempt(key: str):
        start.wait()
        return key, _internal(stack, "POST", path, key=key, json=body)

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        answers = list(pool.map(attempt, keys))
    posted: dict[str, set[str]] = {}
    for key, response in answers:
        assert response.status_code in (201, 400, 409), response.text
        if response.status_code == 201:
            posted.setdefault(key, set()).add(response.json()["TransactionId"])
        elif response.status_code == 400:
            assert "insufficient funds" in response.json()["Errors"][0]["Message"]
    assert len(posted) == 10 and all(len(ids) == 1 for ids in posted.values()), posted
    assert _balance(stack, tenant_id, "ACC0000001") == (Decimal("0.00"), Decimal("0.00"))
    assert stack.services["accounts"].app.state.adb.connections_in_use() == 0
    assert verify_tenant(stack.db("accounts"), tenant_id).breach_count == 0


def test_more_postings_at_once_than_worker_threads_all_post(stack, new_tenant):
    """60 at once through the route: on SQLite its units run in worker threads (40), and one holding the write lock
    must still get a thread for its next batch while the others wait for that lock."""
    tenant_id, _ = new_tenant("many")
    path = f"/internal/v1/tenants/{tenant_id}/ledger/transactions"
    body = _transfer("ACC0000001", "INT-CASH", "0.01")
    start = threading.Barrier(60)

    def attempt(n: int) -> int:
        start.wait()
        return _internal(stack, "POST", path, key=f"many-{n}", json=body).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=60) as pool:
        statuses = list(pool.map(attempt, range(60)))
    assert statuses == [201] * 60 and time.monotonic() - started < 10.0, statuses


def test_fifty_threads_of_random_transfers_with_hot_accounts_keep_every_invariant(stack, new_tenant, backend):
    if backend != "postgresql":
        pytest.skip("concurrency is proven against PostgreSQL (SQLite serialises writers)")
    tenant_id, _ = new_tenant("storm")
    # One connection per thread (the service's default pool is sized for its 40 request threads, not 50 workers).
    settings = stack.settings.model_copy(update={"db_pool_size": 30, "db_pool_timeout_s": 60.0})
    db = Database("accounts", settings)
    customers = [f"ACC{n:07d}" for n in range(1, 19)]
    accounts = customers + HOT_ACCOUNTS
    for account_id in customers:
        _set_balance(stack, tenant_id, account_id, Decimal("500.00"))
    for account_id in HOT_ACCOUNTS:  # the hot accounts start at zero, so the total is known
        _set_balance(stack, tenant_id, account_id, Decimal("0.00"))
    total_before = sum(_balance(stack, tenant_id, a)[0] for a in accounts)
    deadline = time.monotonic() + DURATION_S
    outcomes = {"posted": 0, "refused": 0}
    lock = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(n)
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            # Every other transfer touches a hot account: the clearing/settlement shape of real traffic.
            debit = rng.choice(accounts if attempt % 2 else customers)
            credit = rng.choice([a for a in (HOT_ACCOUNTS if attempt % 2 == 0 else accounts) if a != debit])
            amount = f"{rng.randint(1, 30000) / 100:.2f}"
            body = LedgerTransactionBody.model_validate(_transfer(debit, credit, amount))
            key = f"s{n}-{attempt}"
            try:
                first = service.post_transaction(db, tenant_id, "storm", key, body)
                retry = service.post_transaction(
                    db, tenant_id, "storm", key, body
                )  # a retry never posts twice
                assert retry.replayed and retry.body == first.body
                with lock:
                    outcomes["posted"] += 1
            except OBIEError as exc:
                assert exc.status_code == 400 and "insufficient funds" in exc.message, exc.message
                with lock:
                    outcomes["refused"] += 1

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(worker, range(THREADS)))
    finally:
        db.dispose()
    elapsed_s = time.monotonic() - started
    print(f"random transfers: {outcomes} in {elapsed_s:.1f} s, {outcomes['posted'] / elapsed_s:.0f} posted/s")
    assert outcomes["posted"] > 100, outcomes
    report = verify_tenant(db, tenant_id)
    assert report.breach_count == 0, report.breaches
    after = {a: _balance(stack, tenant_id, a)[0] for a in accounts}
    assert sum(after.values()) == total_before
    assert all(after[a] >= 0 for a in customers)


@pytest.mark.parametrize("through", ["service", "route"])
def test_a_hot_account_is_never_locked_by_postings(stack, new_tenant, backend, through):
    """Another transaction holding the clearing account's row lock does not delay transfers through it (the
    synchronous `_book` and the route's async path alike)."""
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    from sqlalchemy import select

    from services.accounts.models import Account

    tenant_id, _ = new_tenant("hot")
    db = stack.db("accounts")
    with db.write_session() as blocker:
        blocker.execute(
            select(Account)
            .where(Account.tenant_id == tenant_id, Account.account_id == "INT-CLEARING-CNAPS")
            .with_for_update()
        ).one()
        started = time.monotonic()
        transfer = _transfer("ACC0000001", "INT-CLEARING-CNAPS", "1.00")
        if through == "service":
            body = LedgerTransactionBody.model_validate(transfer)
            status = service.post_transaction(db, tenant_id, "hot", "hot-1", body).status_code
        else:
            path = f"/internal/v1/tenants/{tenant_id}/ledger/transactions"
            status = _internal(stack, "POST", path, key="hot-1", json=transfer).status_code
        assert status == 201 and time.monotonic() - started < 2.0
        blocker.rollback()
