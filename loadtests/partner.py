"""What a partner's code does: keys, client assertions, DPoP proofs (joserfc). Used by tests and benchmarks."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

ISSUER = "http://127.0.0.1:8000"


class Partner:
    def __init__(self, client_alg: str = "ES256"):
        self.client_alg = client_alg
        if client_alg == "ES256":
            self.client_key = ECKey.generate_key("P-256", parameters={"kid": "client-1"}, private=True)
        else:
            self.client_key = RSAKey.generate_key(2048, parameters={"kid": "client-1"}, private=True)
        self.dpop_key = ECKey.generate_key("P-256", private=True)
        self.client_id: str | None = None
        self.registration: dict = {}

    def public_jwks(self) -> dict:
        return {"keys": [self.client_key.as_dict(private=False)]}

    def fapi2_metadata(self, **overrides) -> dict:
        return {
            "client_name": "测试商城 Test Mall",
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": self.client_alg,
            "redirect_uris": ["https://tpp.example/callback"],
            "jwks": self.public_jwks(),
            **overrides,
        }

    def assertion(self, *, alg: str | None = None, key=None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.client_id, "sub": self.client_id, "aud": ISSUER, "jti": str(uuid.uuid4()),
                   "iat": now, "exp": now + 60}  # fmt: skip
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        alg = alg or self.client_alg
        header = {"alg": alg, "kid": "client-1"}
        return jwt.encode(header, payload, key or self.client_key, algorithms=[alg])

    def dpop(self, method: str, url: str, *, access_token: str | None = None, **claims) -> str:
        payload = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if access_token:
            digest = hashlib.sha256(access_token.encode()).digest()
            payload["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        payload.update(claims)
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_key.as_dict(private=False)}
        return jws.serialize_compact(
            header, json.dumps(payload).encode(), self.dpop_key, algorithms=["ES256"]
        )

    def client_credentials_form(self, scope: str = "accounts", **assertion_claims) -> dict:
        return {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(**assertion_claims),
        }

    def assertion_form(self) -> dict:
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(),
        }

    def par_form(self, challenge: str, **overrides) -> dict:
        """A pushed authorization request; pass a parameter as None to leave it out."""
        form = {
            **self.assertion_form(),
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": "https://tpp.example/callback",
            "scope": "openid",
            "state": "state-" + uuid.uuid4().hex[:8],
            "nonce": "nonce-" + uuid.uuid4().hex[:8],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in form.items() if v is not None}

    def code_form(
        self, code: str, verifier: str | None, redirect_uri: str = "https://tpp.example/callback"
    ) -> dict:
        form = {**self.assertion_form(), "grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": verifier}  # fmt: skip
        return {k: v for k, v in form.items() if v is not None}

    def refresh_form(self, refresh_token: str) -> dict:
        return {**self.assertion_form(), "grant_type": "refresh_token", "refresh_token": refresh_token}


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def unsigned_jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."
