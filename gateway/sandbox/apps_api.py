"""Sandbox switches of one app (docs/sandbox-api.md): fault toggles and the rate limit the front door applies.
Authorised by the tenant's initial access token; an app of another tenant is unknown (404)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import InitialAccessTenant
from gateway.models import OAuthClient, Tenant
from gateway.proxy.rate_limit import DEFAULT_RATE_PER_S
from openbank_kit.errors import NotFound
from openbank_kit.faults import KNOWN_FAULTS, MAX_FAULTS_PER_APP

router = APIRouter(prefix="/sandbox/v1/apps/{client_id}", tags=["sandbox: apps"])


class FaultsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Faults: list[str] = Field(max_length=MAX_FAULTS_PER_APP)


class RateLimitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    RequestsPerSecond: int = Field(strict=True)


def _tenants_app(request: Request, tenant: Tenant, client_id: str) -> OAuthClient:
    client = request.app.state.oauth.clients.get(client_id)
    if client is None or client.tenant_id != tenant.tenant_id:
        raise NotFound(message=f"no app {client_id} in this tenant")
    return client


def registered_rate_per_s(client: OAuthClient) -> int:
    return (client.client_metadata or {}).get("openbank_rate_limit_per_second", DEFAULT_RATE_PER_S)


def _faults_body(client_id: str, faults) -> dict:
    return {"Data": {"ClientId": client_id, "Faults": list(faults), "KnownFaults": list(KNOWN_FAULTS)}}


def _rate_body(client: OAuthClient, override: int | None) -> dict:
    registered = registered_rate_per_s(client)
    return {
        "Data": {
            "ClientId": client.client_id,
            "RequestsPerSecond": override if override is not None else registered,
            "RegisteredRequestsPerSecond": registered,
            "DefaultRequestsPerSecond": DEFAULT_RATE_PER_S,
        }
    }


@router.get("/faults")
def get_faults(client_id: str, request: Request, tenant: InitialAccessTenant) -> dict:
    _tenants_app(request, tenant, client_id)
    return _faults_body(
        client_id, request.app.state.app_settings.switches(tenant.tenant_id, client_id).faults
    )


@router.put("/faults")
def put_faults(client_id: str, body: FaultsBody, request: Request, tenant: InitialAccessTenant) -> dict:
    _tenants_app(request, tenant, client_id)
    switches = request.app.state.app_settings.set_faults(tenant.tenant_id, client_id, body.Faults)
    return _faults_body(client_id, switches.faults)


@router.get("/rate-limit")
def get_rate_limit(client_id: str, request: Request, tenant: InitialAccessTenant) -> dict:
    client = _tenants_app(request, tenant, client_id)
    switches = request.app.state.app_settings.switches(tenant.tenant_id, client_id)
    return _rate_body(client, switches.rate_limit_per_s)


@router.put("/rate-limit")
def put_rate_limit(
    client_id: str, body: RateLimitBody, request: Request, tenant: InitialAccessTenant
) -> dict:
    client = _tenants_app(request, tenant, client_id)
    switches = request.app.state.app_settings.set_rate_limit(
        tenant.tenant_id, client_id, body.RequestsPerSecond
    )
    return _rate_body(client, switches.rate_limit_per_s)
