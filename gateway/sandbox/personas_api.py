"""Sandbox persona views (docs/sandbox-api.md): one persona's accounts and bureau summary, the consents they
decided across every service, and revocation at the bank. Authorised by the tenant's initial access token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.api.deps import InitialAccessTenant

router = APIRouter(prefix="/sandbox/v1/personas/{username}", tags=["sandbox: personas"])


@router.get("")
def get_persona(username: str, request: Request, tenant: InitialAccessTenant) -> dict:
    return request.app.state.customer_view.persona_detail(tenant.tenant_id, username)


@router.get("/consents")
def list_persona_consents(username: str, request: Request, tenant: InitialAccessTenant) -> dict:
    return request.app.state.customer_view.consents(tenant.tenant_id, username)


@router.post("/consents/{consent_id}/revoke")
def revoke_persona_consent(
    username: str, consent_id: str, request: Request, tenant: InitialAccessTenant
) -> dict:
    return request.app.state.customer_view.revoke(tenant.tenant_id, username, consent_id)
