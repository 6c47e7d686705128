"""Sandbox controls (DESIGN.md §4): tenants, reset, clock. Routes call the tenant service and nothing else."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.api.deps import InitialAccessTenant, TenantServiceDep, bearer_token
from gateway.oauth.keys import SIGNING_ALGS
from gateway.sandbox.schemas import AdvanceClockBody, CreateTenantBody
from openbank_kit.errors import Forbidden
from sandbox_data import PERSONAS, SANDBOX_OTP, SANDBOX_PASSWORD

router = APIRouter(prefix="/sandbox/v1", tags=["sandbox"])


@router.post("/tenants", status_code=201)
def create_tenant(body: CreateTenantBody, request: Request, tenants: TenantServiceDep) -> JSONResponse:
    settings = request.app.state.settings
    if not settings.open_signup:
        token = bearer_token(request) or ""
        if not settings.operator_token or not hmac.compare_digest(token, settings.operator_token):
            raise Forbidden(message="open sign-up is off: creating a tenant needs the operator token")
    created = tenants.create(body.Name)
    return JSONResponse(
        {"TenantId": created.tenant_id, "InitialAccessToken": created.initial_access_token}, 201
    )


def _require_operator(request: Request) -> None:
    settings = request.app.state.settings
    token = bearer_token(request) or ""
    if not settings.operator_token or not hmac.compare_digest(token, settings.operator_token):
        raise Forbidden(message="this needs the operator token (OPENBANK_OPERATOR_TOKEN)")


@router.post("/signing-keys/rotate")
def rotate_signing_keys(request: Request) -> dict:
    """Operator only: new signing keys; the old ones stop signing and stay in the JWKS for 24 h."""
    _require_operator(request)
    keys = request.app.state.oauth.token_issuer.keys
    return {"Kids": {alg: keys.rotate(alg) for alg in SIGNING_ALGS}}


@router.post("/reset")
def reset_tenant(tenant: InitialAccessTenant, tenants: TenantServiceDep) -> dict:
    tenants.reset(tenant.tenant_id)
    return {"TenantId": tenant.tenant_id, "Now": tenants.clock(tenant.tenant_id).isoformat()}


@router.get("/clock")
def get_clock(tenant: InitialAccessTenant, tenants: TenantServiceDep) -> dict:
    return {"Now": tenants.clock(tenant.tenant_id).isoformat()}


@router.post("/clock/advance")
def advance_clock(body: AdvanceClockBody, tenant: InitialAccessTenant, tenants: TenantServiceDep) -> dict:
    return {"Now": tenants.advance_clock(tenant.tenant_id, body.Days).isoformat()}


@router.get("/audit")
def list_audit_records(tenant: InitialAccessTenant, request: Request, limit: int = 50) -> dict:
    """The tenant's most recent API calls through the front door (newest first, at most 200)."""
    records = request.app.state.audit.recent(tenant.tenant_id, limit)
    return {
        "Data": {
            "AuditRecord": [
                {
                    "AuditId": r.audit_id,
                    "DateTime": r.recorded_at.isoformat(),
                    "ClientId": r.client_id,
                    "Subject": r.subject,
                    "ConsentId": r.consent_id,
                    "Method": r.method,
                    "Path": r.path,
                    "Status": r.status_code,
                    "LatencyMs": r.latency_ms,
                    "InteractionId": r.interaction_id,
                }  # fmt: skip
                for r in records
            ]
        }
    }


@router.get("/personas")
def list_personas() -> dict:
    """The persona catalogue, the same in every tenant."""
    return {
        "Password": SANDBOX_PASSWORD,
        "Otp": SANDBOX_OTP,
        "Persona": [
            {
                "Username": persona.username,
                "CustomerId": persona.customer_id,
                "DisplayName": persona.display_name,
                "Summary": persona.summary_en,
                "ExpectedOutcome": persona.expected_outcome,
            }
            for persona in PERSONAS
        ],
    }
