"""Internal routes every service offers the gateway for tenant lifecycle: load (create/reset), drop, clock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from openbank_kit.clock import clock_now, set_clock_offset
from openbank_kit.errors import BadRequest
from openbank_kit.internal_auth import InternalCaller
from openbank_kit.tenancy import TENANT_NAME, WorldSpec, count_tenant_rows, drop_tenant, load_tenant


class WorldSpecBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Seed: int = Field(ge=0)
    AsOf: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    RetailCustomers: int = Field(ge=0, le=20000)
    Smes: int = Field(ge=0, le=5000)

    def to_spec(self) -> WorldSpec:
        data = {
            "seed": self.Seed,
            "as_of": self.AsOf,
            "retail_customers": self.RetailCustomers,
            "smes": self.Smes,
        }
        return WorldSpec.from_json(data)


class LoadTenantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    World: WorldSpecBody
    ClockOffsetSeconds: int = Field(default=0, ge=0)


class ClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    OffsetSeconds: int = Field(ge=0)


def _tenant_id(tenant_id: str) -> str:
    if not TENANT_NAME.match(tenant_id):
        raise BadRequest(message=f"invalid tenant id {tenant_id!r}", path="TenantId")
    return tenant_id


def tenant_router() -> APIRouter:
    router = APIRouter(prefix="/internal/v1/tenants", tags=["internal: tenants"])

    @router.put("/{tenant_id}")
    def put_tenant(tenant_id: str, body: LoadTenantBody, request: Request, _caller: InternalCaller) -> dict:
        counts = load_tenant(
            request.app.state.db,
            request.app.state.tenant_tables,
            _tenant_id(tenant_id),
            body.World.to_spec(),
            body.ClockOffsetSeconds,
        )
        return {"TenantId": tenant_id, "Rows": counts}

    @router.get("/{tenant_id}")
    def get_tenant(tenant_id: str, request: Request, _caller: InternalCaller) -> dict:
        counts = count_tenant_rows(
            request.app.state.db, request.app.state.tenant_tables, _tenant_id(tenant_id)
        )
        return {"TenantId": tenant_id, "Rows": counts}

    @router.delete("/{tenant_id}", status_code=204)
    def delete_tenant(tenant_id: str, request: Request, _caller: InternalCaller) -> Response:
        drop_tenant(request.app.state.db, request.app.state.tenant_tables, _tenant_id(tenant_id))
        return Response(status_code=204)

    @router.put("/{tenant_id}/clock")
    def put_clock(
        tenant_id: str, body: Annotated[ClockBody, Body()], request: Request, _caller: InternalCaller
    ) -> dict:
        db = request.app.state.db
        with db.write_session() as session:
            try:
                set_clock_offset(session, _tenant_id(tenant_id), body.OffsetSeconds)
            except ValueError as exc:
                raise BadRequest(message=str(exc), path="OffsetSeconds") from None
            session.commit()
        on_clock_moved = getattr(request.app.state, "on_clock_moved", None)
        if on_clock_moved is not None:  # a service runs what falls due (e.g. loan instalments)
            on_clock_moved(tenant_id)
        return {"Now": clock_now(body.OffsetSeconds).isoformat()}

    return router
