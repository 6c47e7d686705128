"""Sandbox event inspector (contract A): the tenant's push deliveries, their attempts, and redelivery.
Authorised by the tenant's initial access token; the data lives in payments, reached by its internal API."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from gateway.api.deps import InitialAccessTenant
from openbank_kit.errors import ServiceUnavailable
from openbank_kit.http_client import ServiceCallError

router = APIRouter(prefix="/sandbox/v1", tags=["sandbox: events"])


def _payments(request: Request, method: str, path: str) -> JSONResponse:
    try:
        response = request.app.state.internal_clients["payments"].request(method, path)
    except ServiceCallError:
        raise ServiceUnavailable(message="the payments service is not reachable") from None
    return JSONResponse(response.json(), status_code=response.status_code)


@router.get("/event-deliveries")
def list_deliveries(request: Request, tenant: InitialAccessTenant, limit: int = Query(50, ge=1, le=500)):
    return _payments(
        request, "GET", f"/internal/v1/tenants/{tenant.tenant_id}/event-deliveries?limit={limit}"
    )


@router.post("/event-deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(delivery_id: str, request: Request, tenant: InitialAccessTenant):
    return _payments(
        request, "POST", f"/internal/v1/tenants/{tenant.tenant_id}/event-deliveries/{delivery_id}/redeliver"
    )
