"""A partner's first FAPI 2.0 journey against the sandbox, with Authlib's OAuth client over httpx.

    discovery → dynamic registration (private_key_jwt) → client-credentials token → an account-access consent
    → PAR naming it → headless authorisation → code exchange with PKCE and DPoP → the customer's accounts and
    balances (OBIE v4.0 AISP), every call DPoP-bound, through the gateway

Run it against `make run` (the demo tenant's initial access token is in var/demo-initial-access-token):

    .venv/bin/python -m examples.partner_fapi2 --issuer http://127.0.0.1:8000

The OAuth and DPoP parts live in examples/fapi2_client.py (shared with the demo shop, examples/partner_shop/).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from examples.fapi2_client import Fapi2Client

REDIRECT_URI = (
    "https://shop.example/bank/callback"  # fapi2: https (it need not resolve: the sandbox answers headless)
)


def run(issuer: str, initial_access_token: str, username: str = "zhang.wei", say=print) -> dict:
    # 1–2. Discovery and registration (RFC 7591) with our own public key.
    client, _ = Fapi2Client.register(issuer, initial_access_token, "家电商城 Appliance Shop", [REDIRECT_URI])
    meta = client.meta
    say(
        f"1. discovery: issuer {meta['issuer']}, PAR required: {meta['require_pushed_authorization_requests']}"
    )
    say(f"2. registered client {client.client_id}")

    # 3. A client-credentials token, DPoP-bound (a fapi2 client always sends a proof).
    app_token = client.client_credentials("accounts")
    say(f"3. client-credentials token: {app_token['token_type']}, {app_token['expires_in']} s")

    aisp = f"{issuer}/open-banking/v4.0/aisp"
    permissions = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits",
                   "ReadTransactionsDebits"]  # fmt: skip
    consent = client.call("POST", f"{aisp}/account-access-consents", app_token["access_token"],
                          {"Data": {"Permissions": permissions}, "Risk": {}})  # fmt: skip
    consent.raise_for_status()
    consent_id = consent.json()["Data"]["ConsentId"]
    say(f"   account-access consent {consent_id}: {consent.json()['Data']['Status']}")

    # 4. Push the authorization request (RFC 9126) with PKCE S256; the code gets bound to our DPoP key.
    pending = client.push_authorization("openid accounts", consent_id, REDIRECT_URI)
    say(f"4. pushed: {pending.url.split('request_uri=')[1][:48]}…")

    # 5. The customer approves. In a browser they would open pending.url; the sandbox can do it headless.
    approved = client.http.post(
        f"{issuer}/sandbox/v1/authorize",
        headers={"Authorization": f"Bearer {initial_access_token}"},
        json={
            "AuthorizationUrl": pending.url,
            "Username": username,
            "Password": "sandbox",
            "Otp": "123456",
            "Decision": "approve",
        },  # fmt: skip
    )
    approved.raise_for_status()
    response = {k: v[0] for k, v in parse_qs(urlsplit(approved.json()["RedirectTo"]).query).items()}
    client.check_response(pending, response)  # RFC 9207: check who answered
    say(f"5. {username} approved; code received with iss {response['iss']}")

    # 6. Exchange the code: PKCE verifier, client assertion, DPoP proof with the same key as at PAR.
    tokens = client.exchange_code(pending, response["code"])
    say(f"6. tokens: {tokens['token_type']} access token, refresh token, ID token: {'id_token' in tokens}")

    # 7. The customer's data, with DPoP-bound calls through the gateway's front door.
    access_token = tokens["access_token"]
    who = client.call("GET", f"{issuer}/sandbox/v1/whoami/accounts", access_token)
    who.raise_for_status()
    accounts = client.call("GET", f"{aisp}/accounts", access_token)
    accounts.raise_for_status()
    listed = accounts.json()["Data"]["Account"]
    first = listed[0]["AccountId"]
    balances = client.call("GET", f"{aisp}/accounts/{first}/balances", access_token)
    balances.raise_for_status()
    amounts = [(b["Type"], b["Amount"]["Amount"]) for b in balances.json()["Data"]["Balance"]]
    say(f"7. {len(listed)} account(s) shared; balances of {first}: {amounts}")
    client.close()
    return {"client_id": client.client_id, "tokens": tokens, "whoami": who.json()["Data"], "accounts": listed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default="http://127.0.0.1:8000")
    parser.add_argument("--token-file", default="var/demo-initial-access-token", type=Path)
    parser.add_argument("--username", default="zhang.wei")
    args = parser.parse_args()
    run(args.issuer, args.token_file.read_text().strip(), args.username)


if __name__ == "__main__":
    main()
