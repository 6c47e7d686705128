"""Routes only the gateway and other services call: the consent contract of docs/internal-api.md."""

from __future__ import annotations

from fastapi import APIRouter

from openbank_kit.deps import AccountsDep, DbDep
from openbank_kit.internal_auth import InternalCaller
from services.loans import service
from services.loans.schemas import AuthorisationRequest

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
