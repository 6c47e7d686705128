"""Tenants through the public sandbox API: creation, isolation, reset, clock, all-or-nothing provisioning."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.models import SandboxUser, Tenant
from sandbox_data import PERSONAS
from services.accounts.models import Account, Posting
from services.loans.models import FraudBlacklistEntry
from services.payments.models import Bill

SERVICES = ("accounts", "payments", "loans")


def _rows(stack, tenant_id: str) -> dict:
    counts = {}
    for service in SERVICES:
        response = stack.services[service].get(
            f"/internal/v1/tenants/{tenant_id}", headers=stack.internal_headers
        )
        assert response.status_code == 200
        counts[service] = response.json()["Rows"]
    return counts


def _ledger_digest(stack, tenant_id: str) -> str:
    with stack.db("accounts").read_session() as session:
        postings = session.scalars(
            select(Posting).where(Posting.tenant_id == tenant_id).order_by(Posting.posting_id)
        ).all()
        data = [(p.posting_id, p.transaction_id, p.account_id, p.amount_fen) for p in postings]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def _transfer(stack, tenant_id: str, key: str, amount: str = "100.00") -> httpx.Response:
    body = {
        "Category": "TRANSFER",
        "Description": "test transfer",
        "Postings": [
            {
                "AccountId": "INT-CLEARING-CNAPS",
                "CreditDebitIndicator": "Debit",
                "Amount": {"Amount": amount, "Currency": "CNY"},
            },
            {
                "AccountId": _zhang_wei_class_i(stack, tenant_id),
                "CreditDebitIndicator": "Credit",
                "Amount": {"Amount": amount, "Currency": "CNY"},
            },
        ],
    }
    return stack.services["accounts"].post(
        f"/internal/v1/tenants/{tenant_id}/ledger/transactions",
        json=body,
        headers={**stack.internal_headers, "x-idempotency-key": key},
    )


def _zhang_wei_class_i(stack, tenant_id: str) -> str:
    with stack.db("accounts").read_session() as session:
        return session.scalar(
            select(Account.account_id).where(
                Account.tenant_id == tenant_id,
                Account.customer_id == "CUS000001",
                Account.account_class == "I",
            )
        )


def _balance(stack, tenant_id: str, account_id: str) -> str:
    response = stack.services["accounts"].get(
        f"/internal/v1/tenants/{tenant_id}/accounts/{account_id}/balance", headers=stack.internal_headers
    )
    assert response.status_code == 200, response.text
    return response.json()["Balance"]["Amount"]


def test_new_tenant_gets_the_full_world_in_every_service(stack, new_tenant):
    tenant_id, token = new_tenant()
    assert token.startswith("iat_")
    rows = _rows(stack, tenant_id)
    assert rows["accounts"]["posting"] > 10_000
    assert rows["accounts"]["customer"] >= 200 + 30 + 8
    assert rows["payments"]["biller"] >= 10 and rows["payments"]["bill"] > 100
    assert rows["loans"]["bureau_subject"] >= 200 and rows["loans"]["tax_filing"] > 24
    with stack.db("gateway").read_session() as session:
        usernames = set(
            session.scalars(select(SandboxUser.username).where(SandboxUser.tenant_id == tenant_id))
        )
    assert {persona.username for persona in PERSONAS} <= usernames


def test_two_tenants_hold_identical_worlds(stack, new_tenant):
    first, _ = new_tenant()
    second, _ = new_tenant()
    assert _rows(stack, first) == _rows(stack, second)
    assert _ledger_digest(stack, first) == _ledger_digest(stack, second)


def test_a_tenant_never_sees_another_tenants_changes(stack, new_tenant):
    first, _ = new_tenant()
    second, _ = new_tenant()
    account_id = _zhang_wei_class_i(stack, first)
    before_second = _balance(stack, second, account_id)
    assert _transfer(stack, first, "iso-1", "250.00").status_code == 201
    assert _balance(stack, second, account_id) == before_second
    assert _ledger_digest(stack, first) != _ledger_digest(stack, second)


def test_duplicate_tenant_name_is_refused_with_409(stack, new_tenant):
    tenant_id, _ = new_tenant()
    response = stack.gateway.post("/sandbox/v1/tenants", json={"Name": tenant_id})
    assert response.status_code == 409
    assert response.json()["Errors"][0]["Path"] == "Name"


def test_invalid_tenant_name_is_a_400_naming_the_field(stack):
    response = stack.gateway.post("/sandbox/v1/tenants", json={"Name": "Team A!"})
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "Name"


def test_reset_restores_the_world_exactly(stack, new_tenant):
    tenant_id, token = new_tenant()
    digest, rows = _ledger_digest(stack, tenant_id), _rows(stack, tenant_id)
    assert _transfer(stack, tenant_id, "reset-1").status_code == 201
    assert (
        stack.gateway.post(
            "/sandbox/v1/clock/advance", json={"Days": 3}, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    assert _ledger_digest(stack, tenant_id) != digest

    response = stack.gateway.post("/sandbox/v1/reset", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert _ledger_digest(stack, tenant_id) == digest
    assert _rows(stack, tenant_id) == rows  # idempotency records gone too
    now = datetime.fromisoformat(
        stack.gateway.get("/sandbox/v1/clock", headers={"Authorization": f"Bearer {token}"}).json()["Now"]
    )
    assert abs(now - datetime.now(now.tzinfo)) < timedelta(minutes=1)
    # The idempotency key used before the reset is free again: a new transaction, not a replay.
    assert _transfer(stack, tenant_id, "reset-1").status_code == 201


def test_sandbox_calls_need_the_tenants_initial_access_token(stack, new_tenant):
    tenant_id, _ = new_tenant()
    assert stack.gateway.post("/sandbox/v1/reset").status_code == 401
    response = stack.gateway.post("/sandbox/v1/reset", headers={"Authorization": "Bearer iat_wrong"})
    assert response.status_code == 401
    assert response.json()["Errors"][0]["ErrorCode"]


def test_clock_moves_forward_only_and_every_service_follows(stack, new_tenant):
    tenant_id, token = new_tenant()
    auth = {"Authorization": f"Bearer {token}"}
    before = datetime.fromisoformat(stack.gateway.get("/sandbox/v1/clock", headers=auth).json()["Now"])
    after = datetime.fromisoformat(
        stack.gateway.post("/sandbox/v1/clock/advance", json={"Days": 30}, headers=auth).json()["Now"]
    )
    assert timedelta(days=30) <= after - before < timedelta(days=30, minutes=1)
    assert after.utcoffset() == timedelta(hours=8)
    assert stack.gateway.post("/sandbox/v1/clock/advance", json={"Days": -1}, headers=auth).status_code == 400
    assert stack.gateway.post("/sandbox/v1/clock/advance", json={"Days": 0}, headers=auth).status_code == 400
    from openbank_kit.clock import tenant_now

    for service in SERVICES:
        with stack.db(service).read_session() as session:
            assert tenant_now(session, tenant_id) - after < timedelta(minutes=1)
            assert tenant_now(session, tenant_id) >= after


def test_failed_provisioning_leaves_no_partial_tenant(stack):
    """The loans service is down: the tenant must not exist anywhere afterwards."""
    from gateway.app import create_app as gateway_app

    def loans_down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"Code": "503"})

    clients = {
        **stack.services,
        "loans": httpx.Client(transport=httpx.MockTransport(loans_down), base_url="http://loans"),
    }
    with TestClient(gateway_app(stack.settings, service_clients=clients)) as broken_gateway:
        response = broken_gateway.post("/sandbox/v1/tenants", json={"Name": "half-made"})
    assert response.status_code == 503
    assert "loans" in response.json()["Message"]
    for service in ("accounts", "payments"):
        assert all(count == 0 for count in _rows(stack, "half-made")[service].values())
    with stack.db("gateway").read_session() as session:
        assert session.get(Tenant, "half-made") is None
        assert not session.scalars(select(SandboxUser).where(SandboxUser.tenant_id == "half-made")).first()


def test_world_tables_carry_tenant_ids_and_personas_outcome_data(stack, new_tenant):
    tenant_id, _ = new_tenant()
    with stack.db("loans").read_session() as session:
        listed = session.scalars(
            select(FraudBlacklistEntry.full_name).where(FraudBlacklistEntry.tenant_id == tenant_id)
        ).all()
    assert any(name for name in listed)
    with stack.db("payments").read_session() as session:
        assert session.scalars(
            select(Bill).where(Bill.tenant_id == tenant_id, Bill.status == "OUTSTANDING")
        ).first()
