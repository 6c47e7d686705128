"""A partner's FAPI 2.0 client for the sandbox, shared by the examples: Authlib's OAuth client over httpx for the
OAuth parts (private_key_jwt client assertions, token requests, PKCE), plus DPoP proofs (RFC 9449) in a few lines of
joserfc, because the client library does not make them.

    client = Fapi2Client.register(issuer, initial_access_token, "My App", ["https://app.example/callback"])
    app_token = client.client_credentials("accounts")
    consent = client.call("POST", f"{issuer}/open-banking/v4.0/aisp/account-access-consents", app_token, body)
    authorization = client.push_authorization("openid accounts", consent_id, redirect_uri)
    # ... the customer opens authorization.url, the bank redirects back with code, state and iss ...
    tokens = client.exchange_code(authorization, code)
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws
from joserfc.jwk import ECKey

HTTP_TIMEOUT_S = 30.0
CLIENT_KEY_ID = "partner-key-1"


class DPoP:
    """Makes DPoP proofs with one key pair the partner keeps for the session (RFC 9449 §4)."""

    def __init__(self, key: ECKey | None = None):
        self.key = key or ECKey.generate_key("P-256", private=True)

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url.split("?")[0], "iat": int(time.time())}
        if access_token:  # a resource call proves it holds the key the token is bound to
            claims["ath"] = (
                base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
            )
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False)}
        return jws.serialize_compact(header, json.dumps(claims).encode(), self.key, algorithms=["ES256"])


class ShortLivedAssertion(PrivateKeyJWT):
    """Authlib's private_key_jwt, living 60 s: its default of 3600 s is more than this server accepts (600 s)."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}  # a fresh dict each time: Authlib adds the jti to it
        return super().sign(auth, token_endpoint)


@dataclass(frozen=True)
class PendingAuthorization:
    """What the partner keeps between sending the customer to the bank and the customer coming back."""

    url: str  # the /oauth2/authorize URL the customer opens
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


class Fapi2Client:
    """One registered `fapi2` app: the bank's discovery metadata, the app's private key, a DPoP key."""

    def __init__(self, issuer: str, client_id: str, client_key: ECKey, dpop: DPoP | None = None):
        self.http = httpx.Client(timeout=HTTP_TIMEOUT_S, trust_env=False)
        # Discovery: every endpoint comes from here, nothing is hard-coded.
        self.meta = self.http.get(f"{issuer}/.well-known/openid-configuration").json()
        self.issuer = self.meta["issuer"]
        self.client_id = client_id
        self.client_key = client_key
        self.dpop = dpop or DPoP()
        # FAPI 2.0: the assertion's aud is the issuer itself, so it is what we hand Authlib as the "token endpoint".
        kid = client_key.as_dict(private=False).get("kid", CLIENT_KEY_ID)
        self.assertion = ShortLivedAssertion(token_endpoint=self.issuer, alg="ES256", headers={"kid": kid})
        self.oauth = OAuth2Client(client_id=client_id, client_secret=client_key,
                                  token_endpoint_auth_method=self.assertion, timeout=HTTP_TIMEOUT_S,
                                  trust_env=False)  # fmt: skip
        self.oauth.register_client_auth_method(self.assertion)

    @classmethod
    def register(
        cls, issuer: str, initial_access_token: str, client_name: str, redirect_uris: list[str]
    ) -> tuple[Fapi2Client, dict]:
        """Register a new app (RFC 7591) with a fresh key pair; the private half never leaves this process."""
        client_key = ECKey.generate_key(
            "P-256", parameters={"kid": CLIENT_KEY_ID, "use": "sig"}, private=True
        )
        with httpx.Client(timeout=HTTP_TIMEOUT_S, trust_env=False) as http:
            meta = http.get(f"{issuer}/.well-known/openid-configuration").json()
            registration = http.post(
                meta["registration_endpoint"],
                headers={"Authorization": f"Bearer {initial_access_token}"},
                json={
                    "client_name": client_name,
                    "token_endpoint_auth_method": "private_key_jwt",
                    "token_endpoint_auth_signing_alg": "ES256",
                    "redirect_uris": redirect_uris,
                    "jwks": {"keys": [client_key.as_dict(private=False)]},
                },
            )
        registration.raise_for_status()
        return cls(issuer, registration.json()["client_id"], client_key), registration.json()

    def client_credentials(self, scope: str) -> dict:
        """An app token (no customer), DPoP-bound: a fapi2 client always sends a proof."""
        endpoint = self.meta["token_endpoint"]
        return self.oauth.fetch_token(endpoint, grant_type="client_credentials", scope=scope,
                                      headers={"DPoP": self.dpop.proof("POST", endpoint)})  # fmt: skip

    def push_authorization(self, scope: str, intent_id: str, redirect_uri: str) -> PendingAuthorization:
        """Push the authorization request (RFC 9126) naming the consent, with PKCE S256; the code the bank will
        issue is bound to our DPoP key (the proof sent here)."""
        verifier = generate_token(64)
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        endpoint = self.meta["pushed_authorization_request_endpoint"]
        pushed = self.oauth.post(
            endpoint,
            data={
                "client_id": self.client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": scope,
                "openbanking_intent_id": intent_id,  # the consent this authorization is for
                "state": state,
                "nonce": nonce,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
            },
            headers={"DPoP": self.dpop.proof("POST", endpoint)},
            auth=self.oauth.client_auth(self.assertion),
        )
        pushed.raise_for_status()
        url = f"{self.meta['authorization_endpoint']}?" + urlencode(
            {"client_id": self.client_id, "request_uri": pushed.json()["request_uri"]}
        )
        return PendingAuthorization(url, state, nonce, verifier, redirect_uri)

    def check_response(self, pending: PendingAuthorization, params: dict) -> None:
        """RFC 9207: the answer must come from our bank and for our request; raise otherwise."""
        if params.get("state") != pending.state or params.get("iss") != self.issuer:
            raise ValueError(f"unexpected authorization response {params}")

    def exchange_code(self, pending: PendingAuthorization, code: str) -> dict:
        """The code for tokens: PKCE verifier, client assertion, DPoP proof with the same key as at PAR."""
        endpoint = self.meta["token_endpoint"]
        return self.oauth.fetch_token(endpoint, grant_type="authorization_code", code=code,
                                      redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier,
                                      headers={"DPoP": self.dpop.proof("POST", endpoint)})  # fmt: skip

    def refresh(self, refresh_token: str) -> dict:
        """New tokens for the same grant (access tokens live at most 600 s); the proof keeps the DPoP binding."""
        endpoint = self.meta["token_endpoint"]
        return self.oauth.fetch_token(endpoint, grant_type="refresh_token", refresh_token=refresh_token,
                                      headers={"DPoP": self.dpop.proof("POST", endpoint)})  # fmt: skip

    def call(
        self,
        method: str,
        url: str,
        access_token: str,
        body: dict | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """A resource call: the token as `DPoP`, and a proof naming this method and URL and the token's hash."""
        headers = {
            "Authorization": f"DPoP {access_token}",
            "DPoP": self.dpop.proof(method, url, access_token),
        }
        if idempotency_key:
            headers["x-idempotency-key"] = idempotency_key
        return self.http.request(method, url, json=body, headers=headers)

    def close(self) -> None:
        self.http.close()
        self.oauth.close()
