"""OBIE v4.0 Payment Initiation, domestic payments (`/open-banking/v4.0/pisp`): thin routes that call service.py."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from openbank_kit.caller import CallerDep
from openbank_kit.deps import AccountsDep, DbDep, IdempotencyKeyDep, IssuerDep
from services.payments import service
from services.payments.faults import FaultDep
from services.payments.schemas import ConsentRequest, PaymentRequest

router = APIRouter(prefix="/open-banking/v4.0/pisp", tags=["pisp: domestic payments"])


def _json(body) -> dict:
    return body.model_dump(mode="json", exclude_none=True)


@router.post("/domestic-payment-consents", status_code=201)
def create_consent(
    body: ConsentRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    key: IdempotencyKeyDep = None,
) -> JSONResponse:  # fmt: skip
    stored = service.create_consent(db, accounts, caller, key, _json(body), issuer)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/domestic-payment-consents/{consent_id}")
def get_consent(consent_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.get_consent(db, caller, consent_id, issuer)


@router.get("/domestic-payment-consents/{consent_id}/funds-confirmation")
def get_funds_confirmation(
    consent_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    fault: FaultDep = None,
) -> dict:  # fmt: skip
    return service.consent_funds_confirmation(db, accounts, caller, consent_id, issuer, fault)


@router.post("/domestic-payments", status_code=201)
def create_payment(
    body: PaymentRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    key: IdempotencyKeyDep = None, fault: FaultDep = None,
) -> JSONResponse:  # fmt: skip
    stored = service.create_payment(db, accounts, caller, key, _json(body), issuer, fault)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/domestic-payments/{payment_id}")
def get_payment(
    payment_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep
) -> dict:
    return service.get_payment(db, accounts, caller, payment_id, issuer)


@router.get("/domestic-payments/{payment_id}/payment-details")
def get_payment_details(
    payment_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep
) -> dict:
    return service.get_payment_details(db, accounts, caller, payment_id, issuer)
