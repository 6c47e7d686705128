"""Durability (issue #5): the payments process is SIGKILLed in the middle of a load of payments on PostgreSQL,
restarted, and then every 201-acknowledged payment is in the ledger exactly once, nothing unacknowledged is
half-posted, `openbank ledger verify` passes and every event is delivered or dead-lettered.

Real processes (uvicorn: accounts, payments, loans, gateway) on a fresh database of the test server, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from loadtests import payments_bench
from loadtests.processes import BenchStack
from tests.conftest import TEST_POOL_SIZE
from tests.services.payments.api.test_events import Receiver

PAYMENTS = 96
KILL_AFTER = 24  # acknowledged payments before the SIGKILL: 8 threads keep requests in flight when it lands
# A small world is enough to pay between (40 customers' accounts for 8 threads), and it provisions in a fraction of
# the default's time. The event lease (how long a delivery the killed process had claimed waits before another
# process retries it) stays above the 3 s push timeout, but need not be the default 30 s here.
CRASH_ENV = {
    "OPENBANK_WORLD_RETAIL_CUSTOMERS": "40",
    "OPENBANK_WORLD_SMES": "4",
    "OPENBANK_EVENT_LEASE_S": "8",
    "OPENBANK_DB_POOL_SIZE": str(TEST_POOL_SIZE),  # the other test worker shares the server's 100 connections
}
pytestmark = pytest.mark.skipif(
    not os.environ.get("OPENBANK_TEST_DATABASE_URL"), reason="the crash test runs on PostgreSQL"
)


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.setenv("OPENBANK_BENCH_DATABASE_URL", os.environ["OPENBANK_TEST_DATABASE_URL"])
    monkeypatch.delenv("OPENBANK_BENCH_REDIS_URL", raising=False)
    with BenchStack(("accounts", "payments", "loans", "gateway"), workers=1, prefix="crash",
                    extra_env=CRASH_ENV) as stack:  # fmt: skip
        yield stack


def _pay(client: httpx.Client, item: dict) -> str | None:
    """The payment id if the bank answered 201, else None (refused, or the process was gone)."""
    try:
        response = client.post("/open-banking/v4.0/pisp/domestic-payments", json=item["Body"],
                               headers={"Authorization": f"Bearer {item['Token']}", "x-idempotency-key": item["Key"]})  # fmt: skip
    except httpx.HTTPError:
        return None
    return response.json()["Data"]["DomesticPaymentId"] if response.status_code == 201 else None


def _wait_until(predicate, timeout_s: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def test_sigkill_of_payments_mid_load_loses_and_doubles_nothing(bench):
    from openbank_kit.idempotency import IdempotencyRecord
    from services.accounts.models import LedgerTransaction
    from services.payments.events.models import EventDelivery
    from services.payments.models import DomesticPayment

    receiver = Receiver()
    try:
        client_id, app_token = payments_bench._app(bench.issuer, bench.initial_token)
        subscribed = httpx.post(f"{bench.issuer}/open-banking/v4.0/event-subscriptions",
                                json={"Data": {"Version": "4.0", "CallbackUrl": receiver.url}},
                                headers={"Authorization": f"Bearer {app_token}"})  # fmt: skip
        assert subscribed.status_code == 201, subscribed.text
        work = payments_bench._prepare(bench, PAYMENTS, lambda _line: None, app=(client_id, app_token))

        acknowledged: dict[str, str] = {}  # idempotency key → payment id
        killed = threading.Event()
        lock = threading.Lock()

        def one(item: dict) -> None:
            with httpx.Client(base_url=bench.issuer, timeout=10) as client:
                payment_id = _pay(client, item)
            if payment_id:
                with lock:
                    acknowledged[item["Key"]] = payment_id
                    if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                        killed.set()
                        bench.processes["payments"].kill()  # SIGKILL, mid-load: other requests are in flight

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, work))
        assert killed.is_set()
        bench.processes["payments"].wait(timeout=10)
        unanswered = [item for item in work if item["Key"] not in acknowledged]
        assert unanswered, "the kill came too late to interrupt anything"

        bench.start("payments")  # restart; the partner retries what got no 201, with the same keys
        with httpx.Client(base_url=bench.issuer, timeout=10) as client:
            for item in unanswered:
                payment_id = _pay(client, item)
                if payment_id:
                    acknowledged[item["Key"]] = payment_id
        moved = httpx.post(f"{bench.issuer}/sandbox/v1/clock/advance", json={"Days": 1},
                           headers={"Authorization": f"Bearer {bench.initial_token}"})  # fmt: skip
        assert moved.status_code == 200, moved.text  # the recovery sweep: any payment left RCVD is finished

        with bench.stack.databases["payments"].read_session() as session:
            payments = {p.payment_id: p for p in session.scalars(select(DomesticPayment).where(
                DomesticPayment.tenant_id == "bench"))}  # fmt: skip
        with bench.stack.databases["accounts"].read_session() as session:
            ledger_keys = [r.key for r in session.scalars(select(IdempotencyRecord).where(
                IdempotencyRecord.tenant_id == "bench", IdempotencyRecord.key.like("pay-%")))]  # fmt: skip
            transactions = set(session.scalars(select(LedgerTransaction.transaction_id).where(
                LedgerTransaction.tenant_id == "bench")))  # fmt: skip

        # Every acknowledged payment is settled and posted, once.
        assert set(acknowledged.values()) <= set(payments)
        assert all(payments[pid].status == "ACCC" for pid in acknowledged.values())
        assert len(ledger_keys) == len(set(ledger_keys))
        posted = {p.payment_id for p in payments.values() if p.status == "ACCC"}
        assert set(ledger_keys) == {f"pay-{pid}" for pid in posted}  # no posting without its settled payment
        assert all(payments[pid].ledger_transaction_id in transactions for pid in posted)
        # Nothing half-done: no payment left between accepted and settled.
        assert {p.status for p in payments.values()} <= {"ACCC", "RJCT"}
        assert len(payments) >= len(acknowledged) == PAYMENTS  # every retry got its answer

        verify = subprocess.run([sys.executable, "-m", "openbank_cli.main", "ledger", "verify", "--tenant", "bench"],
                                env=bench.env, capture_output=True, text=True)  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr

        def all_final() -> bool:
            with bench.stack.databases["payments"].read_session() as session:
                statuses = set(session.scalars(select(EventDelivery.status).where(
                    EventDelivery.tenant_id == "bench")))  # fmt: skip
            return bool(statuses) and statuses <= {"DELIVERED", "DEAD_LETTERED"}

        assert _wait_until(all_final), "some event deliveries never reached a final state"
        assert receiver.received  # the webhook got them
    finally:
        receiver.close()
