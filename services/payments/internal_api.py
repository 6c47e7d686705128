"""Routes only the gateway and other services call: the consent contract of docs/internal-api.md."""

from __future__ import annotations

from fastapi import APIRouter

from openbank_kit.deps import AccountsDep, DbDep
from openbank_kit.internal_auth import InternalCaller
from services.payments import customer_consents, service
from services.payments.schemas import AuthorisationRequest, CustomerRevocationRequest

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: payment consents"])


@router.get("/consents/{consent_id}")
def get_consent(tenant_id: str, consent_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return service.internal_get_consent(db, tenant_id, consent_id)


@router.post("/consents/{consent_id}/authorisation")
def authorise_consent(
    tenant_id: str, consent_id: str, body: AuthorisationRequest, db: DbDep, accounts: AccountsDep,
    _caller: InternalCaller,
) -> dict:  # fmt: skip
    return service.internal_authorise(db, accounts, tenant_id, consent_id, body.model_dump(mode="json"))


@router.get("/customers/{customer_id}/consents")
def get_customer_consents(tenant_id: str, customer_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return customer_consents.customer_consents(db, tenant_id, customer_id)


@router.post("/consents/{consent_id}/revocation")
def revoke_consent(
    tenant_id: str, consent_id: str, body: CustomerRevocationRequest, db: DbDep, _caller: InternalCaller
) -> dict:
    return customer_consents.revoke_consent(db, tenant_id, consent_id, body.CustomerId)
