"""OBIE v4.0 Payment Initiation, domestic payments (`/open-banking/v4.0/pisp`): thin routes that call service.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openbank_kit.caller import CallerDep, current_caller
from openbank_kit.deps import AccountsDep, DbDep, IdempotencyKeyDep, IssuerDep, json_body_schema, parsed_body
from openbank_kit.idempotency import IDEMPOTENCY_HEADER
from openbank_kit.responses import OrjsonResponse
from services.payments import service, submission
from services.payments.faults import FAULT_HEADER, FaultDep
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


@router.post("/domestic-payments", status_code=201, openapi_extra=json_body_schema(PaymentRequest))
async def create_payment(request: Request) -> JSONResponse:
    """The benchmarked path: async (services/payments/submission.py), served as a hot route (no FastAPI dependencies
    or body parameter: the caller, the body and the key are read here, in that order)."""
    state = request.app.state
    caller = await current_caller(request)
    body = parsed_body(PaymentRequest, await request.body())
    stored = await submission.create_payment(
        state.adb, state.db, state.accounts_client, caller, request.headers.get(IDEMPOTENCY_HEADER), _json(body),
        state.settings.issuer, request.headers.get(FAULT_HEADER), state.clock_offsets,
    )  # fmt: skip
    return OrjsonResponse(stored.body, status_code=stored.status_code)


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
