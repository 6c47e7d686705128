"""Sandbox inspector of large-value transaction records (大额交易报告) the tenant's payments produced.
Authorised by the tenant's initial access token; the records live in payments, reached by its internal API."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from gateway.api.deps import InitialAccessTenant
from openbank_kit.errors import ServiceUnavailable
from openbank_kit.http_client import ServiceCallError

router = APIRouter(prefix="/sandbox/v1", tags=["sandbox: large-value reports"])
MAX_REPORTS_PER_PAGE = 500


@router.get("/large-value-reports")
def list_large_value_reports(
    request: Request, tenant: InitialAccessTenant, limit: int = Query(100, ge=1, le=MAX_REPORTS_PER_PAGE)
) -> JSONResponse:
    path = f"/internal/v1/tenants/{tenant.tenant_id}/large-value-reports?limit={limit}"
    try:
        response = request.app.state.internal_clients["payments"].request("GET", path)
    except ServiceCallError:
        raise ServiceUnavailable(message="the payments service is not reachable") from None
    return JSONResponse(response.json(), status_code=response.status_code)
