"""Sandbox inspectors (docs/sandbox-api.md): the tenant's credit decisions (from loans) and idempotency records
(from each service). Authorised by the tenant's initial access token; data reached by the internal APIs."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from gateway.api.deps import InitialAccessTenant
from openbank_kit.errors import NotFound, ServiceUnavailable
from openbank_kit.http_client import ServiceCallError

router = APIRouter(prefix="/sandbox/v1", tags=["sandbox: inspectors"])
IDEMPOTENCY_SERVICES = ("accounts", "payments", "loans")
MAX_LIMIT = 200


def _get(request: Request, service: str, path: str) -> dict:
    try:
        response = request.app.state.internal_clients[service].get(path)
    except ServiceCallError:
        raise ServiceUnavailable(message=f"the {service} service is not reachable") from None
    if response.status_code == 404:
        raise NotFound(message=_message_of(response))
    if response.status_code != 200:
        raise ServiceUnavailable(message=f"the {service} service answered {response.status_code}")
    return response.json()


def _message_of(response) -> str:
    try:
        return "; ".join(e.get("Message", "") for e in response.json().get("Errors") or []) or "not found"
    except ValueError:
        return "not found"


@router.get("/loan-decisions")
def list_loan_decisions(
    request: Request, tenant: InitialAccessTenant, limit: int = Query(50, ge=1, le=MAX_LIMIT)
) -> dict:
    """The tenant's credit decisions, newest first: inputs, rule hits, score, outcome, rules version."""
    return _get(request, "loans", f"/internal/v1/tenants/{tenant.tenant_id}/decisions?limit={limit}")


@router.get("/loan-decisions/{decision_id}")
def get_loan_decision(decision_id: str, request: Request, tenant: InitialAccessTenant) -> dict:
    return _get(request, "loans", f"/internal/v1/tenants/{tenant.tenant_id}/decisions/{decision_id}")


@router.get("/idempotency-records")
def list_idempotency_records(
    request: Request,
    tenant: InitialAccessTenant,
    service: Literal["accounts", "payments", "loans"] | None = None,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> dict:
    """Each service's stored idempotency keys, newest first (at most `limit` from each service)."""
    records: list[dict] = []
    for name in (service,) if service else IDEMPOTENCY_SERVICES:
        answer = _get(
            request, name, f"/internal/v1/tenants/{tenant.tenant_id}/idempotency-records?limit={limit}"
        )
        records += answer["Data"]["IdempotencyRecord"]
    records.sort(key=lambda record: record["CreationDateTime"], reverse=True)
    return {"Data": {"IdempotencyRecord": records[:limit]}}
