"""The single public front door: routes by path prefix to the owning service after the token checks.

A pure ASGI middleware in front of FastAPI's router, on the event loop: the checks are CPU and in-process caches
(a worker thread when they wait on Redis), the call to the service goes through aiohttp's pooled connections. In the
thread pool, the same front door cost 2.5x the CPU per call under load (thread hand-offs and GIL contention).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.proxy import faults
from gateway.proxy.audit import AuditEntry
from gateway.proxy.rate_limit import DEFAULT_RATE_PER_S, retry_after_s
from gateway.proxy.token_check import VerifiedCall, verify_resource_call
from gateway.sandbox.app_settings import AppSwitches
from openbank_kit.caller import CALLER_HEADER, sign_caller
from openbank_kit.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    OBIEError,
    ServiceUnavailable,
    TooManyRequests,
    obie_error_response,
)
from openbank_kit.faults import FAULT_HEADER
from openbank_kit.ids import new_id
from openbank_kit.interaction import INTERACTION_HEADER, current_interaction_id

# Public path prefix → (owning service, scope the token must carry). DESIGN.md §3.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/open-banking/v4.0/aisp/", "accounts", "accounts"),
    ("/open-banking/v4.0/pisp/", "payments", "payments"),
    ("/open-banking/v4.0/cbpii/", "payments", "fundsconfirmations"),
    ("/open-banking/v4.0/event-subscriptions", "payments", "payments"),
    ("/open-banking/v4.0/events", "payments", "payments"),
    ("/billpay/v1/", "payments", "payments"),
    ("/lending/v1/", "loans", "lending"),
)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length", "authorization", "dpop", CALLER_HEADER}  # fmt: skip
MAX_BODY_BYTES = 1_000_000
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


@dataclass(frozen=True)
class Admitted:
    """A call that passed the front door's checks, and what the sandbox's switches say to do with it."""

    verified: VerifiedCall
    switches: AppSwitches
    action: str | None  # a transport fault the front door applies itself
    wait_ms: int
    started: float


def admit(request: Request, scope: str | None, requested_faults: frozenset[str] = frozenset()) -> Admitted:
    """The token, DPoP and tenant checks, the rate limit and the fault switches (raises the refusal).

    CPU and in-process caches only, unless the gateway shares its state through Redis: the front door then runs
    this in a worker thread. A cache past its age reads the database once (the tenant, the app, its switches, the
    revocation list: at most one read each per second or five)."""
    started = time.perf_counter()
    state = request.app.state
    issuer = state.settings.issuer
    url = issuer + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    verified = verify_resource_call(
        authorization=request.headers.get("authorization"),
        dpop_values=request.headers.getlist("dpop"),
        method=request.method,
        url=url,
        required_scope=scope,
        tokens=state.oauth.token_issuer,
        dpop=state.oauth.dpop,
        tenants=state.tenant_service,
        revocations=state.oauth.revocations,
    )
    client_row = state.oauth.clients.get(verified.claims["client_id"])
    # The tenant's sandbox switches for this app (docs/sandbox-api.md): a lower rate limit, fault toggles.
    switches = state.app_settings.switches(verified.claims["tenant"], verified.claims["client_id"])
    rate_per_s = switches.rate_limit_per_s or (client_row.client_metadata if client_row else {}).get(
        "openbank_rate_limit_per_second", DEFAULT_RATE_PER_S
    )
    wait_s = state.rate_limiter.take(
        f"{verified.claims['tenant']}:{verified.claims['client_id']}", rate_per_s
    )
    if wait_s > 0:
        raise TooManyRequests(
            retry_after_s(wait_s), message=f"rate limit of {rate_per_s} requests/s for this app reached"
        )
    # A fault named on the request wins over the app's toggles; the transport faults are answered here.
    action = faults.gateway_action(requested_faults or frozenset(switches.faults))
    admitted = Admitted(verified, switches, action, faults.delay_ms(action, request.headers), started)
    if action == faults.THROTTLING:
        _refuse(request, admitted)
    return admitted


def _refuse(request: Request, admitted: Admitted) -> None:
    try:
        faults.refuse(admitted.action)
    except OBIEError as exc:
        _audit(request, admitted.verified.claims, exc.status_code, admitted.started)
        raise
    raise AssertionError(f"{admitted.action} does not refuse")


async def forward(
    request: Request, body: bytes, service: str, service_path: str, admitted: Admitted
) -> Response:
    """The call to the owning service, with the gateway's signed caller assertion; on the event loop."""
    state = request.app.state
    verified, switches = admitted.verified, admitted.switches
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    headers[CALLER_HEADER] = sign_caller(
        state.caller_key, state.settings.issuer, service, verified.claims, new_id("cal")
    )
    headers[INTERACTION_HEADER] = current_interaction_id() or headers.get(INTERACTION_HEADER, "")
    if switches.faults and not headers.get(
        FAULT_HEADER
    ):  # a fault named on the request wins over the toggles
        headers[FAULT_HEADER] = ", ".join(switches.faults)
    target = service_path + (f"?{request.url.query}" if request.url.query else "")
    try:
        upstream = await state.service_http[service].asend(request.method, target, body, headers)
    except Exception as exc:  # connect errors and timeouts: the partner sees a clean 503, never our internals
        _audit(request, verified.claims, 503, admitted.started)
        raise ServiceUnavailable(message=f"the {service} service is not answering") from exc
    _audit(request, verified.claims, upstream.status_code, admitted.started)
    passed = {k: v for k, v in upstream.headers if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
    passed.pop(INTERACTION_HEADER, None)  # the middleware sets it on the way out
    return Response(upstream.content, upstream.status_code, headers=passed)


def _audit(request: Request, claims: dict, status_code: int, started: float) -> None:
    request.app.state.audit.record(
        AuditEntry(
            tenant_id=claims["tenant"],
            recorded_at=datetime.now(UTC),
            client_id=claims["client_id"],
            subject=claims["sub"],
            consent_id=claims.get("openbanking_intent_id"),
            method=request.method,
            path=request.url.path[:300],
            status_code=status_code,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            interaction_id=current_interaction_id() or "",
        )
    )


def _route_for(path: str) -> tuple[str, str]:
    for prefix, service, scope in ROUTES:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return service, scope
    raise NotFound(message="no such resource")


async def _read_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(message=f"request body larger than {MAX_BODY_BYTES} bytes")
    return body


WHOAMI_PREFIX = "/sandbox/v1/whoami/"
PROXIED_PREFIXES = ("/open-banking/v4.0/", "/billpay/v1/", "/lending/v1/", WHOAMI_PREFIX)


class FrontDoorMiddleware:
    """Pure ASGI: front-door calls skip FastAPI's routing and dependency machinery (they need none of it).

    It sits inside the interaction-id and request-log middleware, so every answer still carries
    `x-fapi-interaction-id` and is logged; refusals are OBIE error bodies as everywhere else.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PROXIED_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            if scope["method"] not in METHODS:
                raise MethodNotAllowed(message=f"{scope['method']} is not allowed here")
            if path.startswith(WHOAMI_PREFIX):
                service, scope_needed, body = _whoami_target(path), None, b""
                service_path = "/whoami"
            else:
                (service, scope_needed), service_path = _route_for(path), path
                body = await _read_body(request)
            requested = faults.requested(request.headers)  # an unknown fault: 400, nothing checked or sent
            if request.app.state.front_door_checks_wait:  # Redis round trips: off the event loop
                admitted = await anyio.to_thread.run_sync(admit, request, scope_needed, requested)
            else:
                admitted = admit(request, scope_needed, requested)
            if admitted.wait_ms:  # slow-response, bank-timeout
                await faults.pause(admitted.wait_ms)
            if admitted.action == faults.BANK_TIMEOUT:
                _refuse(request, admitted)
            response = await forward(request, body, service, service_path, admitted)
        except OBIEError as exc:
            response = obie_error_response(exc)
        await response(scope, receive, send)


def _whoami_target(path: str) -> str:
    """`GET /sandbox/v1/whoami/{service}`: a DPoP-checked call to a service, for partners testing their tokens."""
    service = path.removeprefix(WHOAMI_PREFIX)
    if service not in ("accounts", "payments", "loans"):
        raise NotFound(message=f"unknown service {service!r}")
    return service
