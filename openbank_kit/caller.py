"""Who is calling a service's public route: read from the gateway's signed caller assertion.

Trust between gateway and services: the gateway checks the partner's access token and DPoP proof, then forwards
the call with `x-openbank-caller`, a 60-second JWT (typ `openbank-caller+jwt`, `aud` the service) signed with
HS256 under a key derived from the internal token. A request that did not pass the gateway (or a forged identity
header) is refused with 401; the partner's own token is never trusted by a service on its own.

Why HMAC and not the gateway's ES256 keys: the internal token already authorises every internal route between these
processes (ledger postings included), so a key derived from it draws the same trust boundary, and an ECDSA
verification per call was 9% of a credit decision's CPU in loans (callgrind), a signature another 4% in the gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from openbank_kit import compact_jws
from openbank_kit.errors import Unauthorized
from openbank_kit.interaction import bind_tenant_id

CALLER_HEADER = "x-openbank-caller"
CALLER_TYP = "openbank-caller+jwt"
CALLER_ALG = "HS256"
CALLER_LIFETIME_S = 60
_KEY_CONTEXT = b"openbank caller assertion v1"  # a key of its own, not the internal token itself


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


def caller_key(internal_token: str) -> bytes:
    """The caller assertions' HMAC key, derived from the internal token every process of the sandbox shares."""
    return hmac.new(internal_token.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def sign_caller(key: bytes, issuer: str, service: str, claims: dict, jti: str) -> str:
    """The gateway's statement of who is calling, for one service (60 s)."""
    now = int(time.time())
    payload = {
        "iss": issuer, "aud": service, "sub": claims["sub"], "tenant": claims["tenant"],
        "client_id": claims["client_id"], "scope": claims["scope"], "jti": jti,
        "iat": now, "exp": now + CALLER_LIFETIME_S,
    }  # fmt: skip
    if claims.get("openbanking_intent_id"):
        payload["openbanking_intent_id"] = claims["openbanking_intent_id"]
    return compact_jws.hs256_sign(key, {"alg": CALLER_ALG, "typ": CALLER_TYP}, payload)


def verify_caller(token: str | None, key: bytes, issuer: str, service: str) -> Caller:
    if not token:
        raise Unauthorized(message="this route is reached through the gateway only")
    try:
        header, claims = compact_jws.hs256_verify(key, token)
    except compact_jws.InvalidJWS:
        raise Unauthorized(message="caller assertion not valid") from None
    if (
        header.get("typ") != CALLER_TYP
        or claims.get("iss") != issuer
        or claims.get("aud") != service
        or not isinstance(claims.get("exp"), int)
        or claims["exp"] <= time.time()
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
    """CPU only (an HMAC), so an `async def` dependency: a plain `def` one costs a thread-pool hop per request."""
    state = request.app.state
    caller = verify_caller(
        request.headers.get(CALLER_HEADER), state.caller_key, state.settings.issuer, state.service
    )
    bind_tenant_id(caller.tenant_id)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
