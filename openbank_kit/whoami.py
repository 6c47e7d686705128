"""`GET /whoami` on every service: what the service knows of the caller (the gateway's forwarded identity)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from openbank_kit.caller import CallerDep

router = APIRouter(tags=["whoami"])


@router.get("/whoami")
async def whoami(caller: CallerDep, request: Request) -> dict:
    return {
        "Data": {
            "Service": request.app.state.service,
            "TenantId": caller.tenant_id,
            "ClientId": caller.client_id,
            "Subject": caller.subject,
            "Scope": " ".join(caller.scope),
            "ConsentId": caller.intent_id,
        }
    }
