"""Token endpoint with client credentials: FAPI 2.0 client-assertion and DPoP negatives, as in the OIDF suite."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from gateway.oauth.rfc9449_dpop import jwk_thumbprint
from loadtests.partner import ISSUER, Partner, unsigned_jwt

TOKEN_URL = f"{ISSUER}/oauth2/token"


def _token(stack, partner: Partner, form: dict | None = None, *, dpop: bool = True, **assertion_claims):
    form = form if form is not None else partner.client_credentials_form(**assertion_claims)
    headers = {"DPoP": partner.dpop("POST", TOKEN_URL)} if dpop else {}
    return stack.gateway.post("/oauth2/token", data=form, headers=headers)


def test_fapi2_client_gets_a_short_lived_dpop_bound_jwt(stack, registered_partner, tenant):
    response = _token(stack, registered_partner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP" and body["expires_in"] <= 600 and body["scope"] == "accounts"
    assert "refresh_token" not in body
    assert response.headers["cache-control"] == "no-store"
    jwks = KeySet.import_key_set(stack.gateway.get("/oauth2/jwks").json())
    decoded = jwt.decode(body["access_token"], jwks, algorithms=["ES256", "PS256"])
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert claims["iss"] == ISSUER and claims["client_id"] == registered_partner.client_id
    assert claims["tenant"] == tenant[0]
    assert claims["cnf"]["jkt"] == jwk_thumbprint(registered_partner.dpop_key.as_dict(private=False))
    assert claims["exp"] - claims["iat"] <= 600


def test_client_assertion_signed_with_ps256_is_accepted(stack, tenant):
    partner = Partner("PS256")
    registration = stack.gateway.post("/oauth2/register", json=partner.fapi2_metadata(),
                                      headers={"Authorization": f"Bearer {tenant[1]}"})  # fmt: skip
    partner.client_id = registration.json()["client_id"]
    assert _token(stack, partner).status_code == 200


def test_sandbox_basic_client_gets_a_bearer_token_with_its_secret(stack, tenant):
    registration = stack.gateway.post(
        "/sandbox/v1/apps",
        json={"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"]},
        headers={"Authorization": f"Bearer {tenant[1]}"},
    ).json()
    form = {"grant_type": "client_credentials", "scope": "lending payments"}
    response = stack.gateway.post("/oauth2/token", data=form,
                                  auth=(registration["client_id"], registration["client_secret"]))  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer" and response.json()["scope"] == "lending payments"
    wrong = stack.gateway.post("/oauth2/token", data=form, auth=(registration["client_id"], "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def _invalid_client(response) -> str:
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client", response.json()
    return response.json()["error_description"]


# Claims are built when the test runs: times computed at collection would drift during a long session.
@pytest.mark.parametrize(
    ("name", "claims"),
    [
        ("wrong-aud", lambda now: {"aud": "https://other.example"}),
        ("array-aud", lambda now: {"aud": [ISSUER]}),
        ("token-endpoint-url-as-aud", lambda now: {"aud": TOKEN_URL}),
        ("par-endpoint-url-as-aud", lambda now: {"aud": f"{ISSUER}/oauth2/par"}),
        ("expired", lambda now: {"iat": now - 400, "exp": now - 300}),
        ("nbf-over-60-seconds-in-the-future", lambda now: {"nbf": now + 70}),
        ("iat-in-the-future", lambda now: {"iat": now + 70, "exp": now + 120}),
        ("no-exp", lambda now: {"exp": None}),
        ("no-jti", lambda now: {"jti": None}),
        ("wrong-iss", lambda now: {"iss": "someone-else"}),
        ("lifetime-over-10-minutes", lambda now: {"exp": now + 3600}),
    ],
)
def test_bad_client_assertions_fail(stack, registered_partner, name, claims):
    _invalid_client(_token(stack, registered_partner, **claims(int(time.time()))))


def test_client_assertion_nbf_8_seconds_in_the_future_is_accepted(stack, registered_partner):
    assert _token(stack, registered_partner, nbf=int(time.time()) + 8).status_code == 200


def test_client_assertion_without_sub_fails(stack, registered_partner):
    _invalid_client(_token(stack, registered_partner, sub=None))


def test_client_assertion_signed_with_rs256_fails(stack, registered_partner):
    rsa = RSAKey.generate_key(2048, parameters={"kid": "client-1"}, private=True)
    form = registered_partner.client_credentials_form()
    form["client_assertion"] = registered_partner.assertion(alg="RS256", key=rsa)
    assert "alg" in _invalid_client(_token(stack, registered_partner, form))


def test_unsigned_client_assertion_fails(stack, registered_partner):
    form = registered_partner.client_credentials_form()
    now = int(time.time())
    form["client_assertion"] = unsigned_jwt({"iss": registered_partner.client_id, "sub": registered_partner.client_id,
                                             "aud": ISSUER, "jti": "x", "iat": now, "exp": now + 60})  # fmt: skip
    _invalid_client(_token(stack, registered_partner, form))


def test_client_assertion_signed_by_another_key_fails(stack, registered_partner):
    stranger = Partner()
    stranger.client_id = registered_partner.client_id
    _invalid_client(_token(stack, registered_partner, stranger.client_credentials_form()))


def test_token_request_without_client_authentication_fails(stack, registered_partner):
    form = {
        "grant_type": "client_credentials",
        "scope": "accounts",
        "client_id": registered_partner.client_id,
    }
    _invalid_client(_token(stack, registered_partner, form))


def test_replayed_client_assertion_fails(stack, registered_partner):
    form = registered_partner.client_credentials_form()
    assert _token(stack, registered_partner, dict(form)).status_code == 200
    assert "already used" in _invalid_client(_token(stack, registered_partner, dict(form)))


def test_fapi2_token_request_without_dpop_fails(stack, registered_partner):
    response = _token(stack, registered_partner, dpop=False)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


def test_token_request_with_a_dpop_proof_for_another_url_fails(stack, registered_partner):
    form = registered_partner.client_credentials_form()
    headers = {"DPoP": registered_partner.dpop("POST", f"{ISSUER}/oauth2/par")}
    response = stack.gateway.post("/oauth2/token", data=form, headers=headers)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


def test_unknown_or_forbidden_grants_and_scopes_are_refused(stack, registered_partner):
    for grant in ("password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"):
        form = {**registered_partner.client_credentials_form(), "grant_type": grant}
        assert _token(stack, registered_partner, form).json()["error"] == "unsupported_grant_type"
    for scope in ("openid", "admin", ""):
        response = _token(stack, registered_partner, registered_partner.client_credentials_form(scope=scope))
        assert response.status_code == 400, scope


def test_token_request_must_be_a_form_without_repeated_parameters(stack, registered_partner):
    assert (
        stack.gateway.post("/oauth2/token", json={"grant_type": "client_credentials"}).json()["error"]
        == "invalid_request"
    )
    body = "grant_type=client_credentials&grant_type=client_credentials"
    response = stack.gateway.post("/oauth2/token", content=body,
                                  headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 400 and "more than once" in response.json()["error_description"]
