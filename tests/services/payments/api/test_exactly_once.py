"""Exactly-once money: retries after a ledger outage or a crash between posting and recording, concurrent
duplicates (same key, other keys), and the daily limit under concurrency (threads, on PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import anyio
import pytest
from sqlalchemy import select

from openbank_kit.errors import ServiceUnavailable
from openbank_kit.idempotency import IdempotencyRecord
from services.payments import ledger
from tests.services.payments.conftest import PISP, pisp_valid


def _ledger_posts_with(monkeypatch, post) -> None:
    """Replace the ledger posting of both payment paths (the route's async one and the synchronous one)."""

    async def post_async(*args, **kwargs):
        return await anyio.to_thread.run_sync(partial(post, *args, **kwargs))

    monkeypatch.setattr(ledger, "post", post)
    monkeypatch.setattr(ledger, "post_async", post_async)


def _accounts(pisp):
    debtor = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    return debtor, pisp.accounts_of("li.na")[0]


def test_a_ledger_outage_leaves_the_payment_received_and_a_read_finishes_it_once(pisp, monkeypatch):
    debtor, creditor = _accounts(pisp)
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "7.00")

    def unreachable(*_args, **_kwargs):
        raise ServiceUnavailable(message="down")

    _ledger_posts_with(monkeypatch, unreachable)
    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    assert paid.status_code == 201 and paid.json()["Data"]["Status"] == "RCVD"
    assert pisp.balance_fen(debtor["AccountId"]) == before
    monkeypatch.undo()
    got = pisp.call("GET", f"{PISP}/domestic-payments/{paid.json()['Data']['DomesticPaymentId']}")
    assert got.json()["Data"]["Status"] == "ACCC"
    assert pisp.balance_fen(debtor["AccountId"]) == before - 700


def test_a_crash_after_the_ledger_posted_is_finished_with_the_same_key_and_never_posts_twice(
    pisp, monkeypatch, stack
):
    debtor, creditor = _accounts(pisp)
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "8.00")
    real_post = ledger.post

    def posted_then_lost(*args, **kwargs):
        real_post(*args, **kwargs)  # the ledger posts; the answer never reaches payments
        raise ServiceUnavailable(message="connection lost")

    _ledger_posts_with(monkeypatch, posted_then_lost)
    paid = pisp.pay(body, consent_id, token, key="crash-1")
    assert paid.json()["Data"]["Status"] == "RCVD"
    assert pisp.balance_fen(debtor["AccountId"]) == before - 800
    monkeypatch.undo()
    retried = pisp.pay(body, consent_id, token, key="crash-1")  # the partner retries with its key
    assert retried.status_code == 201 and retried.json()["Data"]["Status"] == "ACCC"
    assert retried.json()["Data"]["DomesticPaymentId"] == paid.json()["Data"]["DomesticPaymentId"]
    assert pisp.balance_fen(debtor["AccountId"]) == before - 800
    assert pisp.ledger_balanced()
    with stack.db(
        "accounts"
    ).read_session() as session:  # the ledger key is payments' own (x-openbank-service)
        key = f"pay-{paid.json()['Data']['DomesticPaymentId']}"
        records = session.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.tenant_id == pisp.tenant_id, IdempotencyRecord.key == key)).all()  # fmt: skip
        assert [r.client_id for r in records] == ["payments"]


def test_the_clock_move_finishes_received_payments(pisp, monkeypatch):
    debtor, creditor = _accounts(pisp)
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "9.00")
    _ledger_posts_with(monkeypatch, lambda *a, **k: (_ for _ in ()).throw(ServiceUnavailable()))
    assert pisp.pay(body, consent_id, token).json()["Data"]["Status"] == "RCVD"
    monkeypatch.undo()
    pisp.advance_clock(1)
    assert pisp.balance_fen(debtor["AccountId"]) == before - 900


def _postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")


def test_concurrent_identical_requests_make_exactly_one_payment(pisp, backend):
    _postgresql_only(backend)
    debtor, creditor = _accounts(pisp)
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "3.00")
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _n: pisp.pay(body, consent_id, token, key="race-1"), range(100)))
    statuses = {r.status_code for r in responses}
    assert statuses <= {201, 409} and 201 in statuses, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    created = [r.json()["Data"] for r in responses if r.status_code == 201]
    assert len({d["DomesticPaymentId"] for d in created}) == 1
    assert pisp.balance_fen(debtor["AccountId"]) == before - 300
    assert pisp.ledger_balanced()


def test_concurrent_requests_with_different_keys_use_the_consent_once(pisp, backend):
    _postgresql_only(backend)
    debtor, creditor = _accounts(pisp)
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "4.00")
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda n: pisp.pay(body, consent_id, token, key=f"k-{n}"), range(20)))
    codes = [r.status_code for r in responses]
    assert codes.count(201) == 1 and set(codes) <= {201, 403, 409}, codes
    assert pisp.balance_fen(debtor["AccountId"]) == before - 400


def test_the_class_ii_daily_limit_holds_under_concurrent_payments(pisp, backend):
    _postgresql_only(backend)
    (li_na,) = [a for a in pisp.accounts_of("li.na") if a["AccountClass"] == "II"]
    zhang = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    pisp.credit(li_na["AccountId"], "20000.00")
    before = pisp.balance_fen(li_na["AccountId"])
    consents = [pisp.authorised_consent("li.na", zhang["Identification"], "1000.00") for _ in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda c: pisp.pay(*c), consents))
    data = [r.json()["Data"] for r in responses]
    assert [d["Status"] for d in data].count("ACCC") == 10, [d["Status"] for d in data]
    refused = [d for d in data if d["Status"] == "RJCT"]
    assert len(refused) == 2
    assert all(d["StatusReason"][0]["StatusReasonDescription"].startswith("CLASS_II_DAILY") for d in refused)
    assert pisp.balance_fen(li_na["AccountId"]) == before - 1_000_000
