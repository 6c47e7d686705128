"""Internal sandbox inspector every service shares: the tenant's idempotency records (newest first).

The gateway's `GET /sandbox/v1/idempotency-records` gathers them from each service (docs/sandbox-api.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from openbank_kit.clock import tenant_now
from openbank_kit.idempotency import IdempotencyRecord
from openbank_kit.internal_auth import InternalCaller

MAX_RECORDS = 500


def idempotency_router() -> APIRouter:
    router = APIRouter(prefix="/internal/v1/tenants/{tenant_id}", tags=["internal: sandbox inspectors"])

    @router.get("/idempotency-records")
    def list_idempotency_records(
        tenant_id: str,
        request: Request,
        _caller: InternalCaller,
        limit: int = Query(50, ge=1, le=MAX_RECORDS),
    ) -> dict:
        service = request.app.state.service
        with request.app.state.db.read_session() as session:
            now = tenant_now(session, tenant_id)
            query = (
                select(IdempotencyRecord)
                .where(IdempotencyRecord.tenant_id == tenant_id)
                .order_by(IdempotencyRecord.created_at.desc(), IdempotencyRecord.key)
                .limit(limit)
            )
            records = list(session.scalars(query))
        return {
            "Data": {
                "IdempotencyRecord": [
                    {
                        "Service": service,
                        "Key": record.key,
                        # A partner's client id on public calls; the calling service's name on the ledger's.
                        "ClientId": record.client_id,
                        "Operation": record.operation,
                        "Status": record.status_code,
                        "ResourceId": record.resource_id,
                        "CreationDateTime": record.created_at.astimezone(now.tzinfo).isoformat(),
                        "ExpirationDateTime": record.expires_at.astimezone(now.tzinfo).isoformat(),
                        "Expired": record.expires_at <= now,
                    }
                    for record in records
                ]
            }
        }

    return router
