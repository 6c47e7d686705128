"""Event routes: OBIE event subscriptions and aggregated polling (public, through the gateway), the publish API
other services call, payments' SET signing keys and the sandbox inspector (internal)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from openbank_kit.caller import CallerDep
from openbank_kit.deps import DbDep, IssuerDep
from openbank_kit.internal_auth import InternalCaller
from services.payments.events import service
from services.payments.events.schemas import PollingRequest, PublishRequest, SubscriptionRequest

public = APIRouter(prefix="/open-banking/v4.0", tags=["events"])
internal = APIRouter(prefix="/internal/v1", tags=["internal: events"])
FaultDep = Annotated[str | None, Header(alias="x-openbank-fault")]


def _json(body) -> dict:
    return body.model_dump(mode="json", exclude_none=True)


@public.post("/event-subscriptions", status_code=201)
def create_subscription(
    body: SubscriptionRequest, caller: CallerDep, db: DbDep, issuer: IssuerDep, fault: FaultDep = None
) -> dict:
    return service.create_subscription(db, caller, _json(body), fault, issuer)


@public.get("/event-subscriptions")
def list_subscriptions(caller: CallerDep, db: DbDep, issuer: IssuerDep) -> dict:
    return service.list_subscriptions(db, caller, issuer)


@public.put("/event-subscriptions/{subscription_id}")
def update_subscription(
    subscription_id: str, body: SubscriptionRequest, caller: CallerDep, db: DbDep, issuer: IssuerDep
) -> dict:
    return service.update_subscription(db, caller, subscription_id, _json(body), issuer)


@public.delete("/event-subscriptions/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: str, caller: CallerDep, db: DbDep) -> Response:
    service.delete_subscription(db, caller, subscription_id)
    return Response(status_code=204)


@public.post("/events")
def poll_events(
    body: PollingRequest, request: Request, caller: CallerDep, db: DbDep, issuer: IssuerDep
) -> dict:
    state = request.app.state
    return service.poll(db, caller, _json(body), state.event_signer, issuer, state.event_long_poll_s)


@internal.post("/tenants/{tenant_id}/events")
def publish_event(tenant_id: str, body: PublishRequest, db: DbDep, _caller: InternalCaller) -> JSONResponse:
    status, result = service.publish(db, tenant_id, body.model_dump(mode="json"))
    return JSONResponse(result, status_code=status)


@internal.get("/event-signing-keys")
def event_signing_keys(request: Request, _caller: InternalCaller) -> dict:
    return request.app.state.event_signer.public_jwks()


@internal.get("/tenants/{tenant_id}/event-deliveries")
def list_deliveries(
    tenant_id: str, db: DbDep, _caller: InternalCaller, limit: int = Query(50, ge=1, le=500)
) -> dict:
    return service.list_deliveries(db, tenant_id, limit)


@internal.post("/tenants/{tenant_id}/event-deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(tenant_id: str, delivery_id: str, db: DbDep, _caller: InternalCaller) -> dict:
    return {"Data": {"Delivery": [service.redeliver(db, tenant_id, delivery_id)]}}
