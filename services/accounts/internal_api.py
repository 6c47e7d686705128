"""Routes only other services and the gateway call: the ledger (payments and loans move money only here),
holds, and the consent contract of docs/internal-api.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from openbank_kit.deps import json_body_schema, parsed_body
from openbank_kit.idempotency import IDEMPOTENCY_HEADER
from openbank_kit.internal_auth import InternalCaller, require_internal_caller
from openbank_kit.responses import OrjsonResponse
from services.accounts import consent_events, consent_service, loan_accounts, service
from services.accounts.schemas import (
    CaptureHoldBody,
    ConsentAuthorisationBody,
    ConsentRevocationBody,
    LedgerTransactionBody,
    LoanAccountBody,
    PlaceHoldBody,
)

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: ledger"])

SERVICE_HEADER = "x-openbank-service"  # the calling service: it scopes the idempotency keys
MAX_SERVICE_CHARS = 64
_POSTING_PARAMETERS = [  # what FastAPI documented when it read them itself
    {"name": "tenant_id", "in": "path", "required": True, "schema": {"type": "string"}},
    {"name": IDEMPOTENCY_HEADER, "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": SERVICE_HEADER, "in": "header", "required": False,
     "schema": {"type": "string", "maxLength": MAX_SERVICE_CHARS, "default": "internal"}},
]  # fmt: skip


@router.post(
    "/ledger/transactions",
    status_code=201,
    openapi_extra={**json_body_schema(LedgerTransactionBody), "parameters": _POSTING_PARAMETERS},
)
async def post_ledger_transaction(request: Request) -> JSONResponse:
    """The ledger's latency-critical path (every payment and loan posts here): async (openbank_kit/async_db.py) and a
    hot route (app.py). The token is checked before the body is read: an unauthenticated call is refused unread."""
    await require_internal_caller(request)
    caller, body = _posting_request(request, await request.body())
    state = request.app.state
    stored = await service.post_transaction_async(
        state.adb, state.clock_offsets, request.path_params["tenant_id"], caller,
        request.headers.get(IDEMPOTENCY_HEADER), body,
    )  # fmt: skip
    return OrjsonResponse(stored.body, status_code=stored.status_code)


def _posting_request(request: Request, raw: bytes) -> tuple[str, LedgerTransactionBody]:
    """The calling service and the body, refused with the errors FastAPI gave for both together."""
    caller = request.headers.get(SERVICE_HEADER, "internal")
    problems = []
    if len(caller) > MAX_SERVICE_CHARS:
        problems.append({"type": "string_too_long", "loc": ("header", SERVICE_HEADER), "input": caller,
                         "msg": f"String should have at most {MAX_SERVICE_CHARS} characters",
                         "ctx": {"max_length": MAX_SERVICE_CHARS}})  # fmt: skip
    try:
        body = parsed_body(LedgerTransactionBody, raw)
    except RequestValidationError as exc:
        raise RequestValidationError([*problems, *exc.errors()]) from None
    if problems:
        raise RequestValidationError(problems)
    return caller, body


@router.post("/loan-accounts", status_code=201)
def open_loan_account(
    tenant_id: str, body: LoanAccountBody, request: Request, _caller: InternalCaller
) -> JSONResponse:
    status, account = loan_accounts.open_loan_account(request.app.state.db, tenant_id, body)
    return JSONResponse(account, status_code=status)


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
