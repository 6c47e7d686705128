"""Routes only other services call: the ledger's posting API (payments and loans move money only here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from openbank_kit.internal_auth import InternalCaller
from services.accounts import service
from services.accounts.schemas import LedgerTransactionBody

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: ledger"])


@router.post("/ledger/transactions", status_code=201)
def post_ledger_transaction(
    tenant_id: str,
    body: LedgerTransactionBody,
    request: Request,
    _caller: InternalCaller,
    x_idempotency_key: Annotated[str | None, Header()] = None,
    x_openbank_caller: Annotated[str, Header(max_length=64)] = "internal",
) -> JSONResponse:
    stored = service.post_transaction(
        request.app.state.db, tenant_id, x_openbank_caller, x_idempotency_key, body
    )
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/accounts/{account_id}/balance")
def get_account_balance(tenant_id: str, account_id: str, request: Request, _caller: InternalCaller) -> dict:
    return service.account_balance(request.app.state.db, tenant_id, account_id)


@router.get("/ledger/check")
def get_ledger_check(tenant_id: str, request: Request, _caller: InternalCaller) -> dict:
    return service.ledger_check(request.app.state.db, tenant_id)
