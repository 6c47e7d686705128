"""Routes only the gateway and other services call: the consent contract of docs/internal-api.md."""

from __future__ import annotations

from fastapi import APIRouter, Query

from openbank_kit.deps import AccountsDep, DbDep
from openbank_kit.internal_auth import InternalCaller
from services.loans import sandbox_inspectors, service
from services.loans.schemas import AuthorisationRequest, CustomerRevocationRequest

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: lending consents"])


@router.get("/consents/{consent_id}")
def get_consent(tenant_id: str, consent_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return service.internal_get_consent(db, tenant_id, consent_id)


@router.post("/consents/{consent_id}/authorisation")
def authorise_consent(
    tenant_id: str, consent_id: str, body: AuthorisationRequest, db: DbDep, accounts: AccountsDep,
    _caller: InternalCaller,
) -> dict:  # fmt: skip
    return service.internal_authorise(db, accounts, tenant_id, consent_id, body.model_dump(mode="json"))


# --- the sandbox's views (docs/sandbox-api.md) ------------------------------------------------------------


@router.get("/customers/{customer_id}/consents")
def get_customer_consents(tenant_id: str, customer_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return sandbox_inspectors.customer_consents(db, tenant_id, customer_id)


@router.post("/consents/{consent_id}/revocation")
def revoke_consent(
    tenant_id: str, consent_id: str, body: CustomerRevocationRequest, db: DbDep, _caller: InternalCaller
) -> dict:
    return sandbox_inspectors.revoke_consent(db, tenant_id, consent_id, body.CustomerId)


@router.get("/customers/{customer_id}/bureau")
def get_bureau_summary(tenant_id: str, customer_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return sandbox_inspectors.bureau_summary(db, tenant_id, customer_id)


@router.get("/decisions")
def list_decisions(
    tenant_id: str, db: DbDep, _caller: InternalCaller,
    limit: int = Query(50, ge=1, le=sandbox_inspectors.MAX_DECISIONS),
) -> dict:  # fmt: skip
    return sandbox_inspectors.list_decisions(db, tenant_id, limit)


@router.get("/decisions/{decision_id}")
def get_decision(tenant_id: str, decision_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return sandbox_inspectors.get_decision(db, tenant_id, decision_id)
