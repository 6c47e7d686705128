"""OBIE v4.0 Payment Initiation, domestic scheduled payments (`/open-banking/v4.0/pisp`): thin routes that call
scheduling.py. The spec has no DELETE here: the customer cancels at the bank (the internal revocation route)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from openbank_kit.caller import CallerDep
from openbank_kit.deps import AccountsDep, DbDep, IdempotencyKeyDep, IssuerDep
from services.payments import scheduling
from services.payments.scheduling_models import KIND_SCHEDULED
from services.payments.scheduling_schemas import ScheduledConsentRequest, ScheduledPaymentRequest

router = APIRouter(prefix="/open-banking/v4.0/pisp", tags=["pisp: domestic scheduled payments"])


def _json(body) -> dict:
    return body.model_dump(mode="json", exclude_none=True)


@router.post("/domestic-scheduled-payment-consents", status_code=201)
def create_consent(
    body: ScheduledConsentRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    key: IdempotencyKeyDep = None,
) -> JSONResponse:  # fmt: skip
    stored = scheduling.create_consent(db, accounts, caller, KIND_SCHEDULED, key, _json(body), issuer)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/domestic-scheduled-payment-consents/{consent_id}")
def get_consent(consent_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return scheduling.get_consent(db, caller, KIND_SCHEDULED, consent_id, issuer)


@router.post("/domestic-scheduled-payments", status_code=201)
def create_payment(
    body: ScheduledPaymentRequest,
    caller: CallerDep,
    db: DbDep,
    issuer: IssuerDep,
    key: IdempotencyKeyDep = None,
) -> JSONResponse:
    stored = scheduling.create_order(db, caller, KIND_SCHEDULED, key, _json(body), issuer)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/domestic-scheduled-payments/{payment_id}")
def get_payment(
    payment_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep
) -> dict:
    return scheduling.get_order(db, accounts, caller, KIND_SCHEDULED, payment_id, issuer)


@router.get("/domestic-scheduled-payments/{payment_id}/payment-details")
def get_payment_details(
    payment_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep
) -> dict:
    return scheduling.get_order_details(db, accounts, caller, KIND_SCHEDULED, payment_id, issuer)
