"""x-fapi-interaction-id: echo the caller's correlation id (or make one); keep it and the tenant for logs.

The per-request state is one mutable object held in a contextvar. Sync routes and dependencies run in a
thread pool on a *copy* of the context, so a plain contextvar set there (e.g. the tenant, bound by an auth
dependency) would be invisible to the middleware; mutating the shared object is not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INTERACTION_HEADER = "x-fapi-interaction-id"
_INTERACTION_HEADER_BYTES = INTERACTION_HEADER.encode("ascii")
# A caller's id longer than this (or with control characters) is replaced: it goes into logs and headers.
MAX_INTERACTION_ID_CHARS = 100
# Where the middleware leaves the id in the ASGI scope, for handlers that run after it has unwound.
SCOPE_KEY = "openbank.interaction_id"


@dataclass
class RequestContext:
    interaction_id: str | None = None
    tenant_id: str | None = None


_request_context: ContextVar[RequestContext | None] = ContextVar("openbank_request_context", default=None)


def current_interaction_id() -> str | None:
    context = _request_context.get()
    return context.interaction_id if context else None


def current_tenant_id() -> str | None:
    context = _request_context.get()
    return context.tenant_id if context else None


def bind_tenant_id(tenant_id: str | None) -> None:
    """Record the tenant this request (or job) acts for, so every later log line carries it."""
    context = _request_context.get()
    if context is None:
        _request_context.set(RequestContext(tenant_id=tenant_id))
    else:
        context.tenant_id = tenant_id


@contextmanager
def request_context(
    interaction_id: str | None = None, tenant_id: str | None = None
) -> Iterator[RequestContext]:
    """Scope an interaction (a request, or a background job that calls other services) and restore after."""
    context = RequestContext(interaction_id=interaction_id or new_interaction_id(), tenant_id=tenant_id)
    token = _request_context.set(context)
    try:
        yield context
    finally:
        _request_context.reset(token)


def new_interaction_id() -> str:
    return str(uuid.uuid4())


def accept_interaction_id(value: str | None) -> str:
    """The caller's id, exactly, when it is sane; otherwise a fresh UUID."""
    if value and len(value) <= MAX_INTERACTION_ID_CHARS and all(" " <= char <= "~" for char in value):
        return value
    return new_interaction_id()


def interaction_id_from_scope(scope: Scope) -> str | None:
    value = scope.get(SCOPE_KEY)
    return value if isinstance(value, str) else None


class InteractionIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): streaming bodies and thread-pool routes pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope.get("headers", ()):
            if name.lower() == _INTERACTION_HEADER_BYTES:
                sent = value.decode("latin-1")
                break
        interaction_id = accept_interaction_id(sent)
        scope[SCOPE_KEY] = interaction_id
        header_value = interaction_id.encode("latin-1")

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Replace, not append: an error handler may already have set the same header.
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != _INTERACTION_HEADER_BYTES
                ]
                headers.append((_INTERACTION_HEADER_BYTES, header_value))
                message = {**message, "headers": headers}
            await send(message)

        with request_context(interaction_id):
            await self.app(scope, receive, send_with_header)
