"""JWT access tokens (RFC 9068), signed by the gateway and verified locally by whoever holds the JWKS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError

from gateway.oauth.keys import DEFAULT_SIGNING_ALG, KeyStore
from openbank_kit import compact_jws
from openbank_kit.ids import new_id

ACCESS_TOKEN_LIFETIME_S = 600  # FAPI: short-lived, sender-constrained
ACCESS_TOKEN_TYP = "at+jwt"
ID_TOKEN_LIFETIME_S = 600
ACR_SCA = "urn:openbanking:psd2:sca"  # password + one-time code: two factors


@dataclass(frozen=True)
class AccessTokenClaims:
    tenant_id: str
    client_id: str
    subject: str  # the customer for authorization-code tokens, the client for client credentials
    scope: str
    jkt: str | None = None  # DPoP key thumbprint the token is bound to
    intent_id: str | None = None
    grant_id: str | None = None  # the customer's grant (authorization code flow): revoking it voids the token


class InvalidAccessToken(Exception):
    """The token is not one this gateway issued, or no longer valid; the message says which."""


class AccessTokenIssuer:
    def __init__(self, issuer: str, keys: KeyStore, clock: Callable[[], float] = time.time):
        self.issuer, self.keys, self.clock = issuer, keys, clock

    def issue(self, claims: AccessTokenClaims, lifetime_s: int = ACCESS_TOKEN_LIFETIME_S) -> tuple[str, dict]:
        assert 0 < lifetime_s <= ACCESS_TOKEN_LIFETIME_S
        now = int(self.clock())
        payload = {
            "iss": self.issuer,
            "sub": claims.subject,
            "aud": self.issuer,
            "client_id": claims.client_id,
            "tenant": claims.tenant_id,
            "scope": claims.scope,
            "jti": new_id("at"),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
        }
        if claims.jkt:
            payload["cnf"] = {"jkt": claims.jkt}
        if claims.intent_id:
            payload["openbanking_intent_id"] = claims.intent_id
        if claims.grant_id:
            payload["gid"] = claims.grant_id
        kid, key = self.keys.signing_key(DEFAULT_SIGNING_ALG)
        header = {"alg": DEFAULT_SIGNING_ALG, "typ": ACCESS_TOKEN_TYP, "kid": kid}
        return jwt.encode(header, payload, key, algorithms=[DEFAULT_SIGNING_ALG]), payload

    def verify(self, token: str) -> dict:
        """The claims of a valid, unexpired access token of this issuer. ES256 (what this gateway signs with) is
        checked directly (openbank_kit.compact_jws: this runs on every call); anything else goes through joserfc."""
        try:
            header, payload, signing_input, signature = compact_jws.parts(token)
            if header.get("alg") == DEFAULT_SIGNING_ALG:
                key = self.keys.es256_public_key(header.get("kid"))
                if key is None or not compact_jws.es256_signature_valid(key, signing_input, signature):
                    raise compact_jws.InvalidJWS("signature not valid with a published key")
                claims = compact_jws.claims_of(payload)
            else:
                decoded = jwt.decode(token, self.keys.verification_keys(), algorithms=["ES256", "PS256"])
                header, claims = decoded.header, decoded.claims
        except (JoseError, ValueError) as exc:
            raise InvalidAccessToken(f"access token signature not valid ({exc})") from None
        if header.get("typ") != ACCESS_TOKEN_TYP:
            raise InvalidAccessToken("not an access token (typ)")
        now = self.clock()
        if claims.get("iss") != self.issuer:
            raise InvalidAccessToken("access token from another issuer")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
            raise InvalidAccessToken("access token expired")
        return claims

    def issue_id_token(
        self,
        *,
        client_id: str,
        subject: str,
        alg: str,
        auth_time: int,
        nonce: str | None,
        intent_id: str | None,
    ) -> str:
        """An OpenID Connect ID token, signed with the algorithm the client registered."""
        now = int(self.clock())
        payload = {
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME_S,
            "auth_time": auth_time,
            "acr": ACR_SCA,
        }
        if nonce:
            payload["nonce"] = nonce
        if intent_id:
            payload["openbanking_intent_id"] = intent_id
        kid, key = self.keys.signing_key(alg)
        return jwt.encode({"alg": alg, "typ": "JWT", "kid": kid}, payload, key, algorithms=[alg])
