"""What payments asks of accounts, over its internal API: look accounts up, read balances, post transfers.

Every post carries an idempotency key derived from the payment id, so a retry (after a timeout, a crash, or a
concurrent duplicate) returns the first posting and never moves money twice.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from openbank_kit.errors import ServiceUnavailable
from openbank_kit.http_client import ServiceCallError, ServiceClient

LEDGER_CALLER = "payments"
LEDGER_IN_PROGRESS_RETRIES = 40  # a concurrent duplicate of our own posting is finishing: wait up to ~2 s
LEDGER_IN_PROGRESS_WAIT_S = 0.05
_UNREACHABLE = "the ledger cannot be reached now; retry later"


@dataclass(frozen=True)
class Posted:
    transaction_id: str


@dataclass(frozen=True)
class Refused:
    message: str  # the ledger's reason (insufficient funds, Class III balance cap, ...)


def _call(accounts: ServiceClient, method: str, path: str, **kwargs):
    try:
        return accounts.request(method, path, **kwargs)
    except ServiceCallError:
        raise ServiceUnavailable(message=_UNREACHABLE) from None


def account_by_number(accounts: ServiceClient, tenant_id: str, number: str) -> dict | None:
    """An account of this bank by its 19-digit number, or None."""
    response = _call(accounts, "GET", f"/internal/v1/tenants/{tenant_id}/accounts/by-identification/{number}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    return response.json()["Data"]


def customer_accounts(accounts: ServiceClient, tenant_id: str, customer_id: str) -> list[dict] | None:
    """The accounts the customer may pay from (the consent page's list), or None for an unknown customer."""
    response = _call(accounts, "GET", f"/internal/v1/tenants/{tenant_id}/customers/{customer_id}/accounts")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    return response.json()["Data"]["Account"]


def available_fen(accounts: ServiceClient, tenant_id: str, account_id: str) -> int:
    response = _call(accounts, "GET", f"/internal/v1/tenants/{tenant_id}/accounts/{account_id}/balance")
    if response.status_code != 200:
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    amount = response.json()["AvailableBalance"]["Amount"]
    whole, _, fraction = amount.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


def _posting_call(tenant_id: str, key: str, posting: dict) -> tuple[tuple, dict]:
    return ("POST", f"/internal/v1/tenants/{tenant_id}/ledger/transactions"), {
        "json": posting,
        "idempotency_key": key,
        "headers": {"x-openbank-service": LEDGER_CALLER},  # scopes the ledger idempotency keys
    }


def _outcome(response) -> Posted | Refused | None:
    """What the ledger answered; None: a duplicate of this posting is still in flight there (409), wait for it."""
    if response.status_code == 201:
        return Posted(response.json()["TransactionId"])
    if response.status_code == 409:
        return None
    if 400 <= response.status_code < 500:
        errors = response.json().get("Errors") or [{}]
        return Refused(errors[0].get("Message", "refused"))
    raise ServiceUnavailable(message="the ledger cannot answer now; retry later")


_STILL_PROCESSING = "the ledger is still processing this posting; retry later"


def post(accounts: ServiceClient, tenant_id: str, key: str, posting: dict) -> Posted | Refused:
    """Post once per key; a duplicate still in flight (409) is waited for, never re-posted under another key."""
    args, kwargs = _posting_call(tenant_id, key, posting)
    for _attempt in range(LEDGER_IN_PROGRESS_RETRIES):
        outcome = _outcome(_call(accounts, *args, **kwargs))
        if outcome is not None:
            return outcome
        time.sleep(LEDGER_IN_PROGRESS_WAIT_S)
    raise ServiceUnavailable(message=_STILL_PROCESSING)


async def post_async(accounts: ServiceClient, tenant_id: str, key: str, posting: dict) -> Posted | Refused:
    """`post` for async routes."""
    args, kwargs = _posting_call(tenant_id, key, posting)
    for _attempt in range(LEDGER_IN_PROGRESS_RETRIES):
        try:
            response = await accounts.arequest(*args, **kwargs)
        except ServiceCallError:
            raise ServiceUnavailable(message=_UNREACHABLE) from None
        outcome = _outcome(response)
        if outcome is not None:
            return outcome
        await asyncio.sleep(LEDGER_IN_PROGRESS_WAIT_S)
    raise ServiceUnavailable(message=_STILL_PROCESSING)


def account_identification(accounts: ServiceClient, tenant_id: str, account_id: str) -> dict | None:
    """An account's number and name by id (internal accounts included), or None."""
    response = _call(
        accounts, "GET", f"/internal/v1/tenants/{tenant_id}/accounts/{account_id}/identification"
    )
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise ServiceUnavailable(message="the ledger cannot answer now; retry later")
    return response.json()["Data"]
