"""Resource calls through the gateway: DPoP-bound tokens, the OIDF resource-call negatives, trust of services."""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.jwk import ECKey

from loadtests.partner import ISSUER, Partner

WHOAMI = "/sandbox/v1/whoami/accounts"


def _dpop_token(stack, partner: Partner, scope: str = "accounts") -> str:
    headers = {"DPoP": partner.dpop("POST", f"{ISSUER}/oauth2/token")}
    response = stack.gateway.post(
        "/oauth2/token", data=partner.client_credentials_form(scope=scope), headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _call(
    stack, partner: Partner, token: str, path: str = WHOAMI, *, proof: str | None = None, scheme: str = "DPoP"
):
    proof = proof if proof is not None else partner.dpop("GET", ISSUER + path, access_token=token)
    headers = {"Authorization": f"{scheme} {token}"}
    if proof:
        headers["DPoP"] = proof
    return stack.gateway.get(path, headers=headers)


def _refused(response, error: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith(f'DPoP error="{error}"'), response.headers
    assert response.json()["Errors"][0]["ErrorCode"]  # OBIE body inside
    assert response.headers["x-fapi-interaction-id"]


def test_a_dpop_bound_call_reaches_the_service_with_the_callers_identity(stack, registered_partner, tenant):
    token = _dpop_token(stack, registered_partner)
    response = _call(stack, registered_partner, token)
    assert response.status_code == 200, response.text
    data = response.json()["Data"]
    assert data == {"Service": "accounts", "TenantId": tenant[0], "ClientId": registered_partner.client_id,
                    "Subject": registered_partner.client_id, "Scope": "accounts", "ConsentId": None}  # fmt: skip


def test_interaction_id_is_echoed_through_the_front_door(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    proof = registered_partner.dpop("GET", ISSUER + WHOAMI, access_token=token)
    response = stack.gateway.get(WHOAMI, headers={"Authorization": f"DPoP {token}", "DPoP": proof,
                                                  "x-fapi-interaction-id": "tpp-trace-1"})  # fmt: skip
    assert response.status_code == 200 and response.headers["x-fapi-interaction-id"] == "tpp-trace-1"


def test_bearer_downgrade_of_a_dpop_token_fails(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    _refused(_call(stack, registered_partner, token, scheme="Bearer"), "invalid_token")


def test_missing_proof_fails(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    _refused(_call(stack, registered_partner, token, proof=""), "invalid_dpop_proof")


def test_replayed_proof_fails(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    proof = registered_partner.dpop("GET", ISSUER + WHOAMI, access_token=token)
    assert _call(stack, registered_partner, token, proof=proof).status_code == 200
    _refused(_call(stack, registered_partner, token, proof=proof), "invalid_dpop_proof")


def test_proof_with_wrong_ath_htm_or_htu_fails(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    other = _dpop_token(stack, registered_partner)
    for proof in (
        registered_partner.dpop("GET", ISSUER + WHOAMI, access_token=other),
        registered_partner.dpop("POST", ISSUER + WHOAMI, access_token=token),
        registered_partner.dpop("GET", ISSUER + "/sandbox/v1/whoami/loans", access_token=token),
        registered_partner.dpop("GET", ISSUER + WHOAMI),  # no ath at all
        registered_partner.dpop("GET", ISSUER + WHOAMI, access_token=token, iat=int(time.time()) - 120),
    ):
        _refused(_call(stack, registered_partner, token, proof=proof), "invalid_dpop_proof")


def test_a_stolen_token_is_useless_without_its_dpop_key(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    thief = Partner()
    _refused(_call(stack, thief, token), "invalid_dpop_proof")


def test_positive_edge_cases_capital_header_name_query_string_and_clock_skew(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    proof = registered_partner.dpop("GET", ISSUER + WHOAMI, access_token=token, iat=int(time.time()) + 9)
    response = stack.gateway.get(WHOAMI + "?x=1", headers={"Authorization": f"DPoP {token}", "DPOP": proof})
    assert response.status_code == 200, response.text


def test_forged_or_expired_tokens_fail(stack, registered_partner):
    _refused(_call(stack, registered_partner, "not-a-jwt"), "invalid_token")
    forger = ECKey.generate_key("P-256", private=True)
    now = int(time.time())
    forged = jwt.encode(
        {"alg": "ES256", "typ": "at+jwt"}, {"iss": ISSUER, "exp": now + 60, "tenant": "x"}, forger
    )
    _refused(_call(stack, registered_partner, forged), "invalid_token")
    assert stack.gateway.get(WHOAMI).status_code == 401


def test_tokens_issued_before_a_reset_stop_working(stack, registered_partner, tenant):
    token = _dpop_token(stack, registered_partner)
    time.sleep(1.05)  # token iat has one-second resolution
    assert (
        stack.gateway.post("/sandbox/v1/reset", headers={"Authorization": f"Bearer {tenant[1]}"}).status_code
        == 200
    )
    _refused(_call(stack, registered_partner, token), "invalid_token")
    fresh = _dpop_token(stack, registered_partner)  # the app survived the reset
    assert _call(stack, registered_partner, fresh).status_code == 200


def test_scope_is_checked_per_api_and_unknown_paths_are_404(stack, registered_partner):
    token = _dpop_token(stack, registered_partner, scope="lending")
    path = "/open-banking/v4.0/aisp/accounts"
    response = _call(stack, registered_partner, token, path)
    assert response.status_code == 403
    accounts_token = _dpop_token(stack, registered_partner, scope="accounts")
    response = _call(stack, registered_partner, accounts_token, path)
    # Past the scope check, accounts refuses a client's own token on customer data (it names no consent).
    assert response.status_code == 403 and response.json()["Errors"]
    unknown = "/open-banking/v4.0/aisp/offers"  # not offered by this sandbox
    response = _call(stack, registered_partner, accounts_token, unknown)
    assert response.status_code == 404 and response.json()["Errors"]


def test_sandbox_basic_bearer_tokens_work_as_bearer_only(stack, tenant):
    registration = stack.gateway.post(
        "/sandbox/v1/apps",
        json={"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]},
        headers={"Authorization": f"Bearer {tenant[1]}"},
    ).json()
    form = {"grant_type": "client_credentials", "scope": "payments", "client_id": registration["client_id"],
            "client_secret": registration["client_secret"]}  # fmt: skip
    token = stack.gateway.post("/oauth2/token", data=form).json()["access_token"]
    assert stack.gateway.get(WHOAMI, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert stack.gateway.get(WHOAMI, headers={"Authorization": f"DPoP {token}"}).status_code == 401


def test_services_refuse_calls_that_did_not_pass_the_gateway(stack, registered_partner):
    accounts = stack.services["accounts"]
    assert accounts.get("/whoami").status_code == 401
    token = _dpop_token(stack, registered_partner)
    assert accounts.get("/whoami", headers={"Authorization": f"DPoP {token}"}).status_code == 401
    forger = ECKey.generate_key("P-256", private=True)
    now = int(time.time())
    forged = jwt.encode({"alg": "ES256", "typ": "openbank-caller+jwt"},
                        {"iss": ISSUER, "aud": "accounts", "sub": "x", "tenant": "demo", "client_id": "x",
                         "scope": "accounts", "iat": now, "exp": now + 60}, forger)  # fmt: skip
    assert accounts.get("/whoami", headers={"x-openbank-caller": forged}).status_code == 401
    # HMAC-signed like the gateway's, under a key that is not the one derived from this sandbox's internal token.
    from openbank_kit.caller import caller_key, sign_caller

    claims = {"sub": "x", "tenant": "demo", "client_id": "x", "scope": "accounts"}
    guessed = sign_caller(caller_key("not-the-internal-token"), ISSUER, "accounts", claims, "cal_1")
    assert accounts.get("/whoami", headers={"x-openbank-caller": guessed}).status_code == 401
    genuine = sign_caller(caller_key(stack.settings.internal_token), ISSUER, "accounts", claims, "cal_2")
    assert accounts.get("/whoami", headers={"x-openbank-caller": genuine}).status_code == 200
    other_service = sign_caller(caller_key(stack.settings.internal_token), ISSUER, "loans", claims, "cal_3")
    assert accounts.get("/whoami", headers={"x-openbank-caller": other_service}).status_code == 401
