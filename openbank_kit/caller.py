"""Who is calling a service's public route: read from the gateway's signed caller assertion.

Trust between gateway and services: the gateway checks the partner's access token and DPoP proof, then forwards
the call with `x-openbank-caller`, a JWT it signs with its own keys (typ `openbank-caller+jwt`, `aud` the service,
60 s). Services verify it against the gateway's JWKS, so a request that did not pass the gateway (or a forged
identity header) is refused with 401; the partner's own token is never trusted by a service on its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated

import anyio
import httpx
from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from openbank_kit.errors import Unauthorized
from openbank_kit.interaction import bind_tenant_id

CALLER_HEADER = "x-openbank-caller"
CALLER_TYP = "openbank-caller+jwt"
CALLER_LIFETIME_S = 60
JWKS_CACHE_S = 300.0
JWKS_REFETCH_MIN_S = 5.0  # an unknown kid refetches, at most this often (a flood cannot hammer the gateway)


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    client_id: str
    subject: str
    scope: tuple[str, ...]
    intent_id: str | None

    @property
    def is_customer(self) -> bool:
        """A customer's token (authorization code, issued for one consent); else the client's own (client credentials)."""
        return self.intent_id is not None


class GatewayKeys:
    """The gateway's public keys, fetched from its JWKS and cached."""

    def __init__(self, jwks_url: str, client: httpx.Client | None = None):
        self.jwks_url = jwks_url
        self.client = client or httpx.Client(timeout=httpx.Timeout(3.0), trust_env=False)
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def fresh(self) -> KeySet | None:
        """The cached keys while they are fresh, without waiting or fetching (None: ask `key_set`)."""
        keys = self._keys
        return keys if keys is not None and time.monotonic() - self._fetched_at <= JWKS_CACHE_S else None

    def key_set(self, *, refresh: bool = False) -> KeySet:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._keys is None or age > JWKS_CACHE_S or (refresh and age > JWKS_REFETCH_MIN_S):
                response = self.client.get(self.jwks_url)
                response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
                self._fetched_at = time.monotonic()
            return self._keys


def verify_caller(
    token: str | None, keys: GatewayKeys, issuer: str, service: str, *, cached_only: bool = False
) -> Caller | None:
    """The caller named by a valid assertion. With `cached_only`, nothing blocks: None when the cached keys are
    stale or do not verify it (the caller then verifies again, allowed to fetch the gateway's JWKS)."""
    if not token:
        raise Unauthorized(message="this route is reached through the gateway only")
    try:
        if cached_only:
            cached = keys.fresh()
            if cached is None:
                return None
            try:
                decoded = jwt.decode(token, cached, algorithms=["ES256", "PS256"])
            except JoseError:
                return None
        else:
            try:
                decoded = jwt.decode(token, keys.key_set(), algorithms=["ES256", "PS256"])
            except JoseError:
                decoded = jwt.decode(token, keys.key_set(refresh=True), algorithms=["ES256", "PS256"])
    except (JoseError, ValueError, httpx.HTTPError):
        raise Unauthorized(message="caller assertion not valid") from None
    claims = decoded.claims
    now = time.time()
    if (
        decoded.header.get("typ") != CALLER_TYP
        or claims.get("iss") != issuer
        or claims.get("aud") != service
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] <= now
    ):
        raise Unauthorized(message="caller assertion not valid for this service")
    return Caller(
        tenant_id=claims["tenant"],
        client_id=claims["client_id"],
        subject=claims["sub"],
        scope=tuple(claims.get("scope", "").split()),
        intent_id=claims.get("openbanking_intent_id"),
    )


async def current_caller(request: Request) -> Caller:
    """Verified on the event loop with the cached keys (CPU only); a JWKS fetch, when needed, runs in a thread.
    An `async def` dependency: a plain `def` one costs a thread-pool hop on every request."""
    state = request.app.state
    arguments = (request.headers.get(CALLER_HEADER), state.gateway_keys, state.settings.issuer, state.service)
    caller = verify_caller(*arguments, cached_only=True) or await anyio.to_thread.run_sync(
        verify_caller, *arguments
    )
    bind_tenant_id(caller.tenant_id)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
