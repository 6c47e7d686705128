"""`private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9), hardened for FAPI 2.0.

Authlib's `JWTBearerClientAssertion` accepts RS256, refuses PS256 and accepts an `aud` array; FAPI 2.0 Final wants
PS256/ES256/EdDSA only and `aud` exactly the issuer *string* (not the token or PAR URL, not an array). So this module
does the checks itself with joserfc and plugs into Authlib as a client-auth method, as Authlib's own does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.oauth.replay_cache import ReplayCache

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ASSERTION_ALGS = ("PS256", "ES256", "EdDSA")
FUTURE_LEEWAY_S = 10  # iat/nbf up to 10 s ahead are clock skew; beyond that the assertion is refused
MAX_LIFETIME_S = (
    600  # an assertion valid for longer than this is refused (limits the replay window we must track)
)
MAX_ASSERTION_BYTES = 8192


def _refuse(description: str) -> InvalidClientError:
    return InvalidClientError(description=description, status_code=401)


class PrivateKeyJWTAuthentication:
    """Callable registered with `AuthorizationServer.register_client_auth_method("private_key_jwt", ...)`."""

    def __init__(
        self,
        issuer: str,
        replay_cache: ReplayCache,
        client_keys: Callable[[Any], KeySet],
        clock: Callable[[], float] = time.time,
    ):
        self.issuer, self.replay_cache, self.client_keys, self.clock = (
            issuer,
            replay_cache,
            client_keys,
            clock,
        )

    def __call__(self, query_client, request):
        form = request.form
        assertion = form.get("client_assertion")
        if not assertion:
            return None  # not this method; Authlib tries the client's other methods, then refuses
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise _refuse(f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}")
        if len(assertion) > MAX_ASSERTION_BYTES:
            raise _refuse("client_assertion is too large")
        claims_unverified = self._peek(assertion)
        client_id = claims_unverified.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise _refuse("client_assertion has no sub")
        if form.get("client_id") not in (None, client_id):
            raise _refuse("client_id does not match the client_assertion's sub")
        client = query_client(client_id)
        if client is None:
            raise _refuse("unknown client")
        claims = self._verify(assertion, self.client_keys(client), client_id)
        if not self.replay_cache.first_use(
            f"assertion:{client_id}:{claims['jti']}", ttl_s=MAX_LIFETIME_S + 60
        ):
            raise _refuse("client_assertion jti was already used")
        return client

    def _peek(self, assertion: str) -> dict:
        try:
            token = jws.extract_compact(assertion.encode())
            header = token.protected
            claims = json.loads(token.payload)
        except (JoseError, ValueError):
            raise _refuse("client_assertion is not a compact JWS") from None
        if header.get("alg") not in CLIENT_ASSERTION_ALGS:
            raise _refuse(f"client_assertion alg must be one of {', '.join(CLIENT_ASSERTION_ALGS)}")
        if not isinstance(claims, dict):
            raise _refuse("client_assertion claims are not a JSON object")
        return claims

    def _verify(self, assertion: str, keys: KeySet, client_id: str) -> dict:
        try:
            token = jwt.decode(assertion, keys, algorithms=list(CLIENT_ASSERTION_ALGS))
        except JoseError as exc:
            raise _refuse(
                f"client_assertion signature is not valid for the client's keys ({exc.error})"
            ) from None
        claims = token.claims
        now = self.clock()
        if claims.get("iss") != client_id:
            raise _refuse("client_assertion iss must be the client_id")
        aud = claims.get("aud")
        if not isinstance(aud, str):
            raise _refuse("client_assertion aud must be the issuer as a single string, not an array")
        if aud != self.issuer:
            raise _refuse(f"client_assertion aud must be exactly {self.issuer}")
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise _refuse("client_assertion has no exp")
        if exp <= now:
            raise _refuse("client_assertion has expired")
        for name in ("iat", "nbf"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int | float) or value > now + FUTURE_LEEWAY_S):
                raise _refuse(f"client_assertion {name} is in the future")
        issued = claims.get("iat", claims.get("nbf", now))
        if exp - issued > MAX_LIFETIME_S:
            raise _refuse(f"client_assertion lifetime exceeds {MAX_LIFETIME_S} s")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
            raise _refuse("client_assertion has no jti")
        return claims
