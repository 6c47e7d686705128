"""A partner's first FAPI 2.0 journey against the sandbox, with Authlib's OAuth client over httpx.

    discovery → dynamic registration (private_key_jwt) → client-credentials token → an account-access consent
    → PAR naming it → headless authorisation → code exchange with PKCE and DPoP → the customer's accounts and
    balances (OBIE v4.0 AISP), every call DPoP-bound, through the gateway

Run it against `make run` (the demo tenant's initial access token is in var/demo-initial-access-token):

    .venv/bin/python -m examples.partner_fapi2 --issuer http://127.0.0.1:8000

Authlib's client does the OAuth parts (client assertions, token requests, PKCE); DPoP proofs (RFC 9449) are a few
lines of joserfc, below, because the client library does not make them.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws
from joserfc.jwk import ECKey

REDIRECT_URI = (
    "https://shop.example/bank/callback"  # fapi2: https (it need not resolve: the sandbox answers headless)
)


class DPoP:
    """Makes DPoP proofs with one key pair the partner keeps for the session (RFC 9449 §4)."""

    def __init__(self):
        self.key = ECKey.generate_key("P-256", private=True)

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


def run(issuer: str, initial_access_token: str, username: str = "zhang.wei", say=print) -> dict:
    http = httpx.Client(timeout=30, trust_env=False)
    dpop = DPoP()

    # 1. Discovery: every endpoint comes from here, nothing is hard-coded.
    meta = http.get(f"{issuer}/.well-known/openid-configuration").json()
    say(
        f"1. discovery: issuer {meta['issuer']}, PAR required: {meta['require_pushed_authorization_requests']}"
    )

    # 2. Register the app (RFC 7591) with our public key; the private half never leaves this process.
    client_key = ECKey.generate_key("P-256", parameters={"kid": "shop-key-1", "use": "sig"}, private=True)
    registration = http.post(
        meta["registration_endpoint"],
        headers={"Authorization": f"Bearer {initial_access_token}"},
        json={
            "client_name": "家电商城 Appliance Shop",
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "redirect_uris": [REDIRECT_URI],
            "jwks": {"keys": [client_key.as_dict(private=False)]},
        },
    )
    registration.raise_for_status()
    client_id = registration.json()["client_id"]
    say(f"2. registered client {client_id}")

    # FAPI 2.0: the assertion's aud is the issuer itself, so it is what we hand Authlib as the "token endpoint".
    assertion = ShortLivedAssertion(token_endpoint=meta["issuer"], alg="ES256", headers={"kid": "shop-key-1"})
    oauth = OAuth2Client(client_id=client_id, client_secret=client_key, token_endpoint_auth_method=assertion,
                         timeout=30, trust_env=False)  # fmt: skip
    oauth.register_client_auth_method(assertion)

    # 3. A client-credentials token, DPoP-bound (a fapi2 client always sends a proof).
    token_endpoint = meta["token_endpoint"]
    app_token = oauth.fetch_token(token_endpoint, grant_type="client_credentials", scope="accounts",
                                  headers={"DPoP": dpop.proof("POST", token_endpoint)})  # fmt: skip
    say(f"3. client-credentials token: {app_token['token_type']}, {app_token['expires_in']} s")

    def call(method: str, url: str, access_token: str, body: dict | None = None) -> httpx.Response:
        """A resource call: the token as `DPoP`, and a proof naming this method and URL and the token's hash."""
        headers = {"Authorization": f"DPoP {access_token}", "DPoP": dpop.proof(method, url, access_token)}
        return http.request(method, url, json=body, headers=headers)

    aisp = f"{issuer}/open-banking/v4.0/aisp"
    permissions = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits",
                   "ReadTransactionsDebits"]  # fmt: skip
    consent = call("POST", f"{aisp}/account-access-consents", app_token["access_token"],
                   {"Data": {"Permissions": permissions}, "Risk": {}})  # fmt: skip
    consent.raise_for_status()
    consent_id = consent.json()["Data"]["ConsentId"]
    say(f"   account-access consent {consent_id}: {consent.json()['Data']['Status']}")

    # 4. Push the authorization request (RFC 9126) with PKCE S256; the code gets bound to our DPoP key.
    verifier = generate_token(64)
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    par_endpoint = meta["pushed_authorization_request_endpoint"]
    pushed = oauth.post(
        par_endpoint,
        data={
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid accounts",
            "openbanking_intent_id": consent_id,  # the consent this authorization is for
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        },  # fmt: skip
        headers={"DPoP": dpop.proof("POST", par_endpoint)},
        auth=oauth.client_auth(assertion),
    )
    pushed.raise_for_status()
    authorization_url = f"{meta['authorization_endpoint']}?" + urlencode(
        {"client_id": client_id, "request_uri": pushed.json()["request_uri"]}
    )
    say(f"4. pushed: {pushed.json()['request_uri'][:48]}…")

    # 5. The customer approves. In a browser they would open authorization_url; the sandbox can do it headless.
    approved = http.post(
        f"{issuer}/sandbox/v1/authorize",
        headers={"Authorization": f"Bearer {initial_access_token}"},
        json={
            "AuthorizationUrl": authorization_url,
            "Username": username,
            "Password": "sandbox",
            "Otp": "123456",
            "Decision": "approve",
        },  # fmt: skip
    )
    approved.raise_for_status()
    response = {k: v[0] for k, v in parse_qs(urlsplit(approved.json()["RedirectTo"]).query).items()}
    if (
        response.get("state") != state or response.get("iss") != meta["issuer"]
    ):  # RFC 9207: check who answered
        raise RuntimeError(f"unexpected authorization response {response}")
    say(f"5. {username} approved; code received with iss {response['iss']}")

    # 6. Exchange the code: PKCE verifier, client assertion, DPoP proof with the same key as at PAR.
    tokens = oauth.fetch_token(token_endpoint, grant_type="authorization_code", code=response["code"],
                               redirect_uri=REDIRECT_URI, code_verifier=verifier,
                               headers={"DPoP": dpop.proof("POST", token_endpoint)})  # fmt: skip
    say(f"6. tokens: {tokens['token_type']} access token, refresh token, ID token: {'id_token' in tokens}")

    # 7. The customer's data, with DPoP-bound calls through the gateway's front door.
    access_token = tokens["access_token"]
    who = call("GET", f"{issuer}/sandbox/v1/whoami/accounts", access_token)
    who.raise_for_status()
    accounts = call("GET", f"{aisp}/accounts", access_token)
    accounts.raise_for_status()
    listed = accounts.json()["Data"]["Account"]
    first = listed[0]["AccountId"]
    balances = call("GET", f"{aisp}/accounts/{first}/balances", access_token)
    balances.raise_for_status()
    amounts = [(b["Type"], b["Amount"]["Amount"]) for b in balances.json()["Data"]["Balance"]]
    say(f"7. {len(listed)} account(s) shared; balances of {first}: {amounts}")
    return {"client_id": client_id, "tokens": tokens, "whoami": who.json()["Data"], "accounts": listed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default="http://127.0.0.1:8000")
    parser.add_argument("--token-file", default="var/demo-initial-access-token", type=Path)
    parser.add_argument("--username", default="zhang.wei")
    args = parser.parse_args()
    run(args.issuer, args.token_file.read_text().strip(), args.username)


if __name__ == "__main__":
    main()
