"""OBIE v4.0 Confirmation of Funds (`/open-banking/v4.0/cbpii`): thin routes that call the CBPII service."""

from __future__ import annotations

from fastapi import APIRouter, Response

from openbank_kit.caller import CallerDep
from openbank_kit.deps import AccountsDep, DbDep, IssuerDep
from services.payments import funds_confirmation_service as service
from services.payments.faults import FaultDep
from services.payments.schemas import FundsConfirmationRequest, FundsConsentRequest

router = APIRouter(prefix="/open-banking/v4.0/cbpii", tags=["cbpii: confirmation of funds"])


@router.post("/funds-confirmation-consents", status_code=201)
def create_consent(body: FundsConsentRequest, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.create_consent(db, caller, body.model_dump(mode="json", exclude_none=True), issuer)


@router.get("/funds-confirmation-consents/{consent_id}")
def get_consent(consent_id: str, caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.get_consent(db, caller, consent_id, issuer)


@router.delete("/funds-confirmation-consents/{consent_id}", status_code=204)
def delete_consent(consent_id: str, caller: CallerDep, db: DbDep) -> Response:
    service.delete_consent(db, caller, consent_id)
    return Response(status_code=204)


@router.post("/funds-confirmations", status_code=201)
def confirm_funds(
    body: FundsConfirmationRequest, caller: CallerDep, db: DbDep, accounts: AccountsDep, issuer: IssuerDep,
    fault: FaultDep = None,
) -> dict:  # fmt: skip
    return service.confirm_funds(db, accounts, caller, body.model_dump(mode="json"), issuer, fault)
