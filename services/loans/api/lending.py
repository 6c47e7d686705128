"""The Lending API (`/lending/v1`): thin routes that call service.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from openbank_kit.caller import CallerDep, current_caller
from openbank_kit.deps import AccountsDep, DbDep, IdempotencyKeyDep, IssuerDep, json_body_schema, parsed_body
from openbank_kit.http_client import ServiceClient
from openbank_kit.idempotency import IDEMPOTENCY_HEADER
from openbank_kit.responses import OrjsonResponse
from services.loans import service
from services.loans.schemas import AcceptRequest, ApplicationRequest, ConsentRequest, RepaymentRequest

router = APIRouter(prefix="/lending/v1", tags=["lending"])


async def _payments(request: Request) -> ServiceClient:
    return request.app.state.payments_client


PaymentsDep = Annotated[ServiceClient, Depends(_payments)]  # loan events go through payments' event API


@router.get("/products")
def list_products(caller: CallerDep, issuer: IssuerDep) -> dict:
    return service.list_products(caller, issuer)


@router.post("/loan-application-consents", status_code=201)
def create_consent(
    body: ConsentRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep
) -> dict:
    return service.create_consent(db, accounts, caller, body.model_dump(mode="json")["Data"], issuer)


@router.get("/loan-application-consents/{consent_id}")
def get_consent(consent_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.get_consent(db, caller, consent_id, issuer)


@router.post("/applications", status_code=201, openapi_extra=json_body_schema(ApplicationRequest))
async def create_application(request: Request) -> JSONResponse:
    """The latency-critical path: async (openbank_kit/async_db.py), and no FastAPI dependencies or body parameter
    (the caller, the body and the key are read here, in that order: an unauthenticated call is refused unread)."""
    state = request.app.state
    caller = await current_caller(request)
    body = parsed_body(ApplicationRequest, await request.body())
    key = request.headers.get(IDEMPOTENCY_HEADER)
    stored = await service.create_application(
        state.adb,
        state.accounts_client,
        caller,
        key,
        body.model_dump(mode="json"),
        state.settings.issuer,
        hints=state.decision_hints,
    )
    return OrjsonResponse(stored.body, status_code=stored.status_code)


@router.get("/applications/{application_id}")
def get_application(application_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.get_application(db, caller, application_id, issuer)


@router.post("/applications/{application_id}/accept", status_code=201)
def accept_offer(
    application_id: str, body: AcceptRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep,
    payments: PaymentsDep, issuer: IssuerDep, key: IdempotencyKeyDep = None,
) -> dict:  # fmt: skip
    return service.accept_offer(
        db, accounts, payments, caller, application_id, key, body.model_dump(mode="json"), issuer
    )


@router.get("/decisions/{decision_id}")
def get_decision(decision_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.get_decision(db, caller, decision_id, issuer)


@router.get("/loans/{loan_id}")
def get_loan(
    loan_id: str,
    caller: CallerDep,
    db: DbDep,
    accounts: AccountsDep,
    payments: PaymentsDep,
    issuer: IssuerDep,
) -> dict:
    return service.get_loan(db, accounts, payments, caller, loan_id, issuer)


@router.get("/loans/{loan_id}/schedule")
def get_schedule(loan_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.get_schedule(db, caller, loan_id, issuer)


@router.post("/loans/{loan_id}/repayments", status_code=201)
def create_repayment(
    loan_id: str, body: RepaymentRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep,
    payments: PaymentsDep, issuer: IssuerDep, key: IdempotencyKeyDep = None,
) -> JSONResponse:  # fmt: skip
    stored = service.repay(db, accounts, payments, caller, loan_id, key, body.model_dump(mode="json"), issuer)
    return JSONResponse(stored.body, status_code=stored.status_code)
