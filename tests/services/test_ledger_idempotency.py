"""The ledger's posting API and the OBIE idempotency semantics it is built on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from openbank_kit.errors import BadRequest
from services.accounts import service
from services.accounts.models import LedgerTransaction
from services.accounts.schemas import LedgerTransactionBody


def _body(amount: str = "10.00", description: str = "test", to_account: str = "INT-CASH") -> dict:
    return {
        "Category": "TRANSFER",
        "Description": description,
        "Postings": [
            {
                "AccountId": "INT-CLEARING-CNAPS",
                "CreditDebitIndicator": "Debit",
                "Amount": {"Amount": amount, "Currency": "CNY"},
            },
            {
                "AccountId": to_account,
                "CreditDebitIndicator": "Credit",
                "Amount": {"Amount": amount, "Currency": "CNY"},
            },
        ],
    }


def _post(stack, tenant_id: str, body: dict, key: str | None = "k-1"):
    headers = dict(stack.internal_headers)
    if key is not None:
        headers["x-idempotency-key"] = key
    return stack.services["accounts"].post(
        f"/internal/v1/tenants/{tenant_id}/ledger/transactions", json=body, headers=headers
    )


def _transaction_count(stack, tenant_id: str) -> int:
    with stack.db("accounts").read_session() as session:
        return session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.tenant_id == tenant_id)
        )


def test_same_key_and_body_returns_the_original_transaction(stack, new_tenant):
    tenant_id, _ = new_tenant()
    first = _post(stack, tenant_id, _body())
    second = _post(stack, tenant_id, _body())
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert _transaction_count(stack, tenant_id) == _transaction_count(stack, tenant_id)


def test_same_key_with_a_different_body_is_a_400_and_changes_nothing(stack, new_tenant):
    tenant_id, _ = new_tenant()
    assert _post(stack, tenant_id, _body("10.00")).status_code == 201
    count = _transaction_count(stack, tenant_id)
    response = _post(stack, tenant_id, _body("11.00"))
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "x-idempotency-key"
    assert _transaction_count(stack, tenant_id) == count


def test_missing_idempotency_key_is_refused(stack, new_tenant):
    tenant_id, _ = new_tenant()
    response = _post(stack, tenant_id, _body(), key=None)
    assert response.status_code == 400
    assert response.json()["Errors"][0]["Path"] == "x-idempotency-key"


def test_keys_are_scoped_per_tenant(stack, new_tenant):
    first, _ = new_tenant()
    second, _ = new_tenant()
    a = _post(stack, first, _body(), key="shared-key")
    b = _post(stack, second, _body("12.00"), key="shared-key")
    assert a.status_code == b.status_code == 201
    assert a.json()["TransactionId"] != b.json()["TransactionId"]


def test_idempotency_key_expires_after_24_hours_of_tenant_time(stack, new_tenant):
    tenant_id, token = new_tenant()
    first = _post(stack, tenant_id, _body(), key="day-key")
    stack.gateway.post(
        "/sandbox/v1/clock/advance", json={"Days": 1}, headers={"Authorization": f"Bearer {token}"}
    )
    again = _post(stack, tenant_id, _body("13.00"), key="day-key")
    assert again.status_code == 201
    assert again.json()["TransactionId"] != first.json()["TransactionId"]


def test_overdraft_is_refused_and_balances_do_not_move(stack, new_tenant):
    tenant_id, _ = new_tenant()
    body = _body("999999999.00")
    body["Postings"][0]["AccountId"] = _customer_account(stack, tenant_id, "CUS000006")  # zhao.min, Class III
    body["Postings"][1]["AccountId"] = "INT-CASH"
    count = _transaction_count(stack, tenant_id)
    response = _post(stack, tenant_id, body)
    assert response.status_code == 400
    assert "insufficient funds" in response.json()["Errors"][0]["Message"]
    assert _transaction_count(stack, tenant_id) == count


def test_class_iii_account_cannot_be_credited_above_2000(stack, new_tenant):
    tenant_id, _ = new_tenant()
    response = _post(
        stack, tenant_id, _body("2000.01", to_account=_customer_account(stack, tenant_id, "CUS000006"))
    )
    assert response.status_code == 400
    assert "CLASS_III_BALANCE_LIMIT" in response.json()["Errors"][0]["Message"]


def test_unbalanced_or_malformed_postings_are_400_with_the_path(stack, new_tenant):
    tenant_id, _ = new_tenant()
    body = _body()
    body["Postings"][1]["Amount"]["Amount"] = "9.99"
    response = _post(stack, tenant_id, body, key="unbalanced")
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "Postings"
    body = _body("1.005")
    response = _post(stack, tenant_id, body, key="three-decimals")
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"].startswith(
        "Postings[0].Amount"
    )
    body = _body()
    body["Postings"][1]["AccountId"] = "ACC-NOPE"
    response = _post(stack, tenant_id, body, key="unknown-account")
    assert response.status_code == 404


def test_an_unknown_account_is_refused_at_its_leg_and_leaves_the_key_unused(stack, new_tenant):
    tenant_id, _ = new_tenant()
    body = _body("3.00")
    body["Postings"].insert(1, {**body["Postings"][1], "AccountId": "ACC-NOPE"})
    body["Postings"][0]["Amount"]["Amount"] = "6.00"
    count = _transaction_count(stack, tenant_id)
    refused = _post(stack, tenant_id, body, key="nope-1")
    assert refused.status_code == 404, refused.text
    assert refused.json()["Errors"][0]["Path"] == "Postings[1].AccountId"
    assert _transaction_count(stack, tenant_id) == count
    assert (
        _post(stack, tenant_id, _body("3.00"), key="nope-1").status_code == 201
    )  # the refusal claimed nothing


def test_a_key_stored_by_the_synchronous_path_replays_on_the_route(stack, new_tenant):
    """Same operation, client and body digest: keys the sync path stored (before the route went async) still
    answer the same."""
    tenant_id, _ = new_tenant()
    body = _body("4.00")
    stored = service.post_transaction(
        stack.db("accounts"), tenant_id, "payments", "old-key", LedgerTransactionBody.model_validate(body)
    )
    count = _transaction_count(stack, tenant_id)
    headers = {**stack.internal_headers, "x-idempotency-key": "old-key", "x-openbank-service": "payments"}
    path = f"/internal/v1/tenants/{tenant_id}/ledger/transactions"
    replayed = stack.services["accounts"].post(path, json=body, headers=headers)
    assert replayed.status_code == 201 and replayed.json() == stored.body
    other = stack.services["accounts"].post(path, json=_body("5.00"), headers=headers)
    assert other.status_code == 400 and other.json()["Errors"][0]["Path"] == "x-idempotency-key"
    assert _transaction_count(stack, tenant_id) == count


def test_postings_are_booked_at_the_tenant_clock_as_it_moves(stack, new_tenant):
    """The route guesses the tenant's time from the clock offset it last saw; a moved clock is found and used, for
    a replay's expiry as for a new posting's time."""
    tenant_id, token = new_tenant()

    def advance(days: int) -> None:
        moved = stack.gateway.post(
            "/sandbox/v1/clock/advance", json={"Days": days}, headers={"Authorization": f"Bearer {token}"}
        )
        assert moved.status_code == 200, moved.text

    first = _post(stack, tenant_id, _body(), key="day-key").json()
    advance(3)
    again = _post(stack, tenant_id, _body(), key="day-key").json()  # the same body, but the key has expired
    advance(2)
    later = _post(stack, tenant_id, _body(), key="new-key").json()
    assert again["TransactionId"] != first["TransactionId"]
    booked = [datetime.fromisoformat(answer["BookedAt"]) for answer in (first, again, later)]
    assert timedelta(days=3) <= booked[1] - booked[0] < timedelta(days=3, minutes=1)
    assert timedelta(days=5) <= booked[2] - booked[0] < timedelta(days=5, minutes=1)


def test_internal_routes_refuse_callers_without_the_internal_token(stack, new_tenant):
    tenant_id, _ = new_tenant()
    response = stack.services["accounts"].post(
        f"/internal/v1/tenants/{tenant_id}/ledger/transactions",
        json=_body(),
        headers={"x-idempotency-key": "k"},
    )
    assert response.status_code == 401


def test_the_seeded_ledger_balances_to_zero(stack, new_tenant):
    tenant_id, _ = new_tenant()
    response = stack.services["accounts"].get(
        f"/internal/v1/tenants/{tenant_id}/ledger/check", headers=stack.internal_headers
    )
    assert response.json()["Balanced"] is True and response.json()["Transactions"] > 1000


def test_fifty_concurrent_duplicates_create_exactly_one_transaction(stack, new_tenant, backend):
    """Real threads, real connections: on PostgreSQL the losers wait on the key's row and replay the winner."""
    if backend != "postgresql":
        pytest.skip("concurrency is proven against PostgreSQL (SQLite serialises writers)")
    tenant_id, _ = new_tenant()
    db = stack.db("accounts")
    body = LedgerTransactionBody.model_validate(_body("7.00"))
    before = _transaction_count(stack, tenant_id)

    def attempt(_n: int):
        try:
            return service.post_transaction(db, tenant_id, "test", "concurrent-key", body)
        except BadRequest as exc:  # pragma: no cover - would be a bug
            return exc

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))
    assert all(not isinstance(result, Exception) for result in results)
    assert {result.body["TransactionId"] for result in results} == {results[0].body["TransactionId"]}
    assert sum(not result.replayed for result in results) == 1
    assert _transaction_count(stack, tenant_id) == before + 1


def _customer_account(stack, tenant_id: str, customer_id: str) -> str:
    from services.accounts.models import Account

    with stack.db("accounts").read_session() as session:
        return session.scalar(
            select(Account.account_id)
            .where(Account.tenant_id == tenant_id, Account.customer_id == customer_id)
            .order_by(Account.account_id)
        )
