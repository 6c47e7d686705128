"""Internal route for scheduled payment and standing order consents: the customer revoked one at the bank
(the same contract as accounts' `/consents/{id}/revocation`, docs/internal-api.md)."""

from __future__ import annotations

from fastapi import APIRouter

from openbank_kit.deps import DbDep
from openbank_kit.internal_auth import InternalCaller
from services.payments import scheduling
from services.payments.scheduling_schemas import RevocationRequest

router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: scheduled payment consents"])


@router.post("/consents/{consent_id}/revocation")
def revoke_consent(
    tenant_id: str, consent_id: str, body: RevocationRequest, db: DbDep, _caller: InternalCaller
) -> dict:
    return scheduling.revoke(db, tenant_id, consent_id, body.CustomerId)
