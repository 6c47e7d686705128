"""Routes only other services and the gateway call: the ledger (payments and loans move money only here),
holds, and the consent contract of docs/internal-api.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from openbank_kit.internal_auth import InternalCaller
from services.accounts import consent_events, consent_service, service
from services.accounts.schemas import (
    CaptureHoldBody,
    ConsentAuthorisationBody,
    ConsentRevocationBody,
    LedgerTransactionBody,
    PlaceHoldBody,
)

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: ledger"])


@router.post("/ledger/transactions", status_code=201)
def post_ledger_transaction(
    tenant_id: str,
    body: LedgerTransactionBody,
    request: Request,
    _caller: InternalCaller,
    x_idempotency_key: Annotated[str | None, Header()] = None,
    x_openbank_service: Annotated[str, Header(max_length=64)] = "internal",
) -> JSONResponse:
    stored = service.post_transaction(
        request.app.state.db, tenant_id, x_openbank_service, x_idempotency_key, body
    )
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/accounts/{account_id}/balance")
def get_account_balance(tenant_id: str, account_id: str, request: Request, _caller: InternalCaller) -> dict:
    return service.account_balance(request.app.state.db, tenant_id, account_id)


@router.get("/ledger/check")
def get_ledger_check(tenant_id: str, request: Request, _caller: InternalCaller) -> dict:
    return service.ledger_check(request.app.state.db, tenant_id)


# --- holds: payments sets money aside while a payment is pending ------------------------------------------


@router.post("/ledger/holds", status_code=201)
def place_hold(
    tenant_id: str,
    body: PlaceHoldBody,
    request: Request,
    _caller: InternalCaller,
    x_idempotency_key: Annotated[str | None, Header()] = None,
    x_openbank_service: Annotated[str, Header(max_length=64)] = "internal",
) -> JSONResponse:
    stored = service.place_hold(request.app.state.db, tenant_id, x_openbank_service, x_idempotency_key, body)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/ledger/holds/{hold_id}")
def get_hold(tenant_id: str, hold_id: str, request: Request, _caller: InternalCaller) -> dict:
    return service.get_hold(request.app.state.db, tenant_id, hold_id)


@router.post("/ledger/holds/{hold_id}/capture", status_code=201)
def capture_hold(
    tenant_id: str,
    hold_id: str,
    body: CaptureHoldBody,
    request: Request,
    _caller: InternalCaller,
    x_idempotency_key: Annotated[str | None, Header()] = None,
    x_openbank_service: Annotated[str, Header(max_length=64)] = "internal",
) -> JSONResponse:
    stored = service.capture_hold(
        request.app.state.db, tenant_id, x_openbank_service, x_idempotency_key, hold_id, body
    )
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.post("/ledger/holds/{hold_id}/release")
def release_hold(tenant_id: str, hold_id: str, request: Request, _caller: InternalCaller) -> dict:
    return service.release_hold(request.app.state.db, tenant_id, hold_id)


# --- consents: the gateway's PAR check and consent page (docs/internal-api.md) -----------------------------


@router.get("/consents/{consent_id}")
def get_consent(tenant_id: str, consent_id: str, request: Request, _caller: InternalCaller) -> dict:
    return consent_service.internal_consent(request.app.state.db, tenant_id, consent_id)


@router.post("/consents/{consent_id}/authorisation")
def authorise_consent(
    tenant_id: str, consent_id: str, body: ConsentAuthorisationBody, request: Request, _caller: InternalCaller
) -> dict:
    return consent_service.authorise_consent(request.app.state.db, tenant_id, consent_id, body)


@router.post("/consents/{consent_id}/revocation")
def revoke_consent(
    tenant_id: str, consent_id: str, body: ConsentRevocationBody, request: Request, _caller: InternalCaller
) -> dict:
    revoked = consent_service.revoke_consent(request.app.state.db, tenant_id, consent_id, body)
    consent_events.after_revocation(request, tenant_id, consent_id)  # best effort, never fails the revocation
    return revoked


@router.get("/customers/{customer_id}/accounts")
def get_customer_accounts(
    tenant_id: str, customer_id: str, request: Request, _caller: InternalCaller
) -> dict:
    return consent_service.customer_accounts(request.app.state.db, tenant_id, customer_id)


@router.get("/customers/{customer_id}/consents")
def get_customer_consents(
    tenant_id: str, customer_id: str, request: Request, _caller: InternalCaller
) -> dict:
    return consent_service.customer_consents(request.app.state.db, tenant_id, customer_id)
