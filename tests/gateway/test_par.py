"""RFC 9126 pushed authorization requests: the FAPI 2.0 conformance negatives and edge cases at the PAR endpoint."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest

from gateway.oauth.rfc9126_par import consume
from gateway.oauth.rfc9449_dpop import jwk_thumbprint
from loadtests.partner import ISSUER, Partner

PAR_URL = f"{ISSUER}/oauth2/par"


def _challenge() -> str:
    verifier = secrets.token_urlsafe(48)
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _form(partner: Partner, **overrides) -> dict:
    form = {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": partner.assertion(),
        "response_type": "code",
        "client_id": partner.client_id,
        "redirect_uri": "https://tpp.example/callback",
        "scope": "openid",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": _challenge(),
        "code_challenge_method": "S256",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def _par(stack, partner: Partner, form: dict, *, dpop: bool = True):
    headers = {"DPoP": partner.dpop("POST", PAR_URL)} if dpop else {}
    return stack.gateway.post("/oauth2/par", data=form, headers=headers)


def _rejected(response, error: str = "invalid_request", hint: str = "") -> None:
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == error, response.json()
    assert hint in response.json().get("error_description", ""), response.json()


def test_a_valid_pushed_request_gets_a_one_time_request_uri(stack, registered_partner):
    response = _par(stack, registered_partner, _form(registered_partner))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert 0 < body["expires_in"] < 600
    assert response.headers["cache-control"] == "no-store"
    with stack.db("gateway").write_session() as session:
        row = consume(session, body["request_uri"], registered_partner.client_id)
        assert row.dpop_jkt == jwk_thumbprint(registered_partner.dpop_key.as_dict(private=False))
        assert row.parameters["nonce"] == "n-1"
        session.commit()
    with stack.db("gateway").write_session() as session:
        assert consume(session, body["request_uri"], registered_partner.client_id) is None  # single use


def test_another_clients_request_uri_cannot_be_consumed(stack, registered_partner):
    request_uri = _par(stack, registered_partner, _form(registered_partner)).json()["request_uri"]
    with stack.db("gateway").write_session() as session:
        assert consume(session, request_uri, "cli_someone_else") is None


def test_par_by_get_is_refused(stack):
    assert stack.gateway.get("/oauth2/par").status_code == 405


@pytest.mark.parametrize(
    ("overrides", "error", "hint"),
    [
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request", "request_uri"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request", "code_challenge"),
        ({"code_challenge_method": "plain"}, "invalid_request", "S256"),
        ({"response_type": "code id_token"}, "unsupported_response_type", "code"),
        ({"response_type": "token"}, "unsupported_response_type", "code"),
        ({"redirect_uri": "https://tpp.example/other"}, "invalid_request", "registered"),
        ({"redirect_uri": None}, "invalid_request", "redirect_uri"),
        ({"nonce": "n" * 65}, "invalid_request", "nonce"),
        ({"scope": "accounts"}, "invalid_request", "openbanking_intent_id"),
        ({"scope": "openid accounts", "openbanking_intent_id": "aac_unknown"}, "invalid_request", "unknown"),
        ({"scope": "openid admin"}, "invalid_scope", ""),
        ({"scope": "accounts payments", "openbanking_intent_id": "x"}, "invalid_scope", "one consent"),
        ({"request": "eyJ.e30."}, "invalid_request", "JAR"),
    ],
)
def test_bad_pushed_requests_are_refused(stack, registered_partner, overrides, error, hint):
    _rejected(_par(stack, registered_partner, _form(registered_partner, **overrides)), error, hint)


def test_intent_named_in_the_claims_parameter_is_checked_too(stack, registered_partner):
    claims = '{"id_token": {"openbanking_intent_id": {"value": "aac_nope", "essential": true}}}'
    response = _par(
        stack, registered_partner, _form(registered_partner, scope="openid accounts", claims=claims)
    )
    _rejected(response, "invalid_request", "aac_nope")


def test_client_authentication_is_required_with_fapi_audience_rules(stack, registered_partner):
    form = _form(registered_partner, client_assertion=None, client_assertion_type=None)
    _rejected(_par(stack, registered_partner, form), "invalid_client")
    form = _form(registered_partner, client_assertion=registered_partner.assertion(aud=PAR_URL))
    _rejected(_par(stack, registered_partner, form), "invalid_client", "aud")


def test_mismatched_dpop_jkt_is_refused(stack, registered_partner):
    form = _form(registered_partner, dpop_jkt="not-the-proof-key")
    response = _par(stack, registered_partner, form)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"


def test_positive_edge_cases_no_state_no_nonce_64_char_nonce_and_no_dpop_at_par(stack, registered_partner):
    for overrides in ({"state": None}, {"nonce": None}, {"nonce": "n" * 64}):
        assert _par(stack, registered_partner, _form(registered_partner, **overrides)).status_code == 201
    assert _par(stack, registered_partner, _form(registered_partner), dpop=False).status_code == 201
