"""OBIE v4.0 Payment Initiation, domestic standing orders (`/open-banking/v4.0/pisp`): thin routes that call
scheduling.py. The spec has no DELETE here: the customer cancels at the bank (the internal revocation route)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from openbank_kit.caller import CallerDep
from openbank_kit.deps import AccountsDep, DbDep, IdempotencyKeyDep, IssuerDep
from services.payments import scheduling
from services.payments.scheduling_models import KIND_STANDING_ORDER
from services.payments.scheduling_schemas import StandingOrderConsentRequest, StandingOrderRequest

router = APIRouter(prefix="/open-banking/v4.0/pisp", tags=["pisp: domestic standing orders"])


def _json(body) -> dict:
    return body.model_dump(mode="json", exclude_none=True)


@router.post("/domestic-standing-order-consents", status_code=201)
def create_consent(
    body: StandingOrderConsentRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    key: IdempotencyKeyDep = None,
) -> JSONResponse:  # fmt: skip
    stored = scheduling.create_consent(db, accounts, caller, KIND_STANDING_ORDER, key, _json(body), issuer)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/domestic-standing-order-consents/{consent_id}")
def get_consent(consent_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return scheduling.get_consent(db, caller, KIND_STANDING_ORDER, consent_id, issuer)


@router.post("/domestic-standing-orders", status_code=201)
def create_order(
    body: StandingOrderRequest, caller: CallerDep, db: DbDep, issuer: IssuerDep, key: IdempotencyKeyDep = None
) -> JSONResponse:
    stored = scheduling.create_order(db, caller, KIND_STANDING_ORDER, key, _json(body), issuer)
    return JSONResponse(stored.body, status_code=stored.status_code)


@router.get("/domestic-standing-orders/{order_id}")
def get_order(order_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep) -> dict:
    return scheduling.get_order(db, accounts, caller, KIND_STANDING_ORDER, order_id, issuer)


@router.get("/domestic-standing-orders/{order_id}/payment-details")
def get_order_details(
    order_id: str, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep
) -> dict:
    return scheduling.get_order_details(db, accounts, caller, KIND_STANDING_ORDER, order_id, issuer)
