"""RFC 7591/7592 client registration, authorised by the tenant's initial access token."""

from __future__ import annotations

from loadtests.partner import ISSUER, Partner


def _register(stack, token: str, body: dict, path: str = "/oauth2/register"):
    return stack.gateway.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_registration_echoes_every_field_with_defaults_and_credentials(stack, tenant):
    partner = Partner()
    response = _register(stack, tenant[1], partner.fapi2_metadata())
    assert response.status_code == 201
    body = response.json()
    assert body["client_id"].startswith("cli_") and isinstance(body["client_id_issued_at"], int)
    assert body["registration_access_token"].startswith("rat_")
    assert body["registration_client_uri"] == f"{ISSUER}/oauth2/register/{body['client_id']}"
    assert body["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert body["response_types"] == ["code"]
    assert body["id_token_signed_response_alg"] == "ES256"
    assert body["openbank_security_profile"] == "fapi2" and body["dpop_bound_access_tokens"] is True
    assert body["jwks"] == partner.public_jwks()
    assert "client_secret" not in body
    assert response.headers["cache-control"] == "no-store"


def test_sandbox_apps_registers_the_same_way_and_basic_clients_get_a_secret(stack, tenant):
    body = {"token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["http://class.example/cb"]}
    response = _register(stack, tenant[1], body, "/sandbox/v1/apps")
    assert response.status_code == 201, response.text
    assert response.json()["openbank_security_profile"] == "sandbox-basic"
    assert len(response.json()["client_secret"]) > 30


def test_registration_without_a_valid_initial_access_token_is_401(stack):
    response = stack.gateway.post("/oauth2/register", json=Partner().fapi2_metadata())
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_bad_metadata_is_refused_with_the_rfc7591_error(stack, tenant):
    partner = Partner()
    cases = [
        (
            {"redirect_uris": ["https://x.example/cb"]},
            "invalid_client_metadata",
            "token_endpoint_auth_method",
        ),
        (partner.fapi2_metadata(redirect_uris=["http://tpp.example/cb"]), "invalid_redirect_uri", "https"),
        (
            partner.fapi2_metadata(redirect_uris=["https://tpp.example/cb#frag"]),
            "invalid_redirect_uri",
            "fragment",
        ),
        (partner.fapi2_metadata(redirect_uris=[]), "invalid_redirect_uri", "required"),
        (partner.fapi2_metadata(jwks=None), "invalid_client_metadata", "jwks"),
        (
            partner.fapi2_metadata(jwks={"keys": [partner.client_key.as_dict(private=True)]}),
            "invalid_client_metadata",
            "public",
        ),
        (
            partner.fapi2_metadata(
                token_endpoint_auth_method="client_secret_basic", openbank_security_profile="fapi2"
            ),
            "invalid_client_metadata",
            "not allowed",
        ),  # fmt: skip
        (
            partner.fapi2_metadata(response_types=["code id_token"]),
            "invalid_client_metadata",
            "response_types",
        ),
        (partner.fapi2_metadata(grant_types=["password"]), "invalid_client_metadata", "grant_types"),
        (partner.fapi2_metadata(scope="openid admin"), "invalid_client_metadata", "scope"),
        (partner.fapi2_metadata(token_endpoint_auth_signing_alg="RS256"), "invalid_client_metadata", "RS256"),
    ]
    for body, error, hint in cases:
        response = _register(stack, tenant[1], {k: v for k, v in body.items() if v is not None})
        assert response.status_code == 400, body
        assert response.json()["error"] == error, response.json()
        assert hint.lower() in response.json()["error_description"].lower() or hint == "RS256", (
            response.json()
        )


def test_loopback_http_redirect_is_allowed_for_fapi2(stack, tenant):
    body = Partner().fapi2_metadata(redirect_uris=["http://127.0.0.1:5000/cb", "https://anything.invalid/cb"])
    assert _register(stack, tenant[1], body).status_code == 201


def test_client_configuration_read_update_delete(stack, registered_partner):
    uri = f"/oauth2/register/{registered_partner.client_id}"
    auth = {"Authorization": f"Bearer {registered_partner.registration['registration_access_token']}"}
    read = stack.gateway.get(uri, headers=auth)
    assert read.status_code == 200 and read.json()["client_name"] == "测试商城 Test Mall"
    assert "registration_access_token" not in read.json()
    assert stack.gateway.get(uri, headers={"Authorization": "Bearer rat_wrong"}).status_code == 401
    assert stack.gateway.get("/oauth2/register/cli_unknown", headers=auth).status_code == 401

    updated = stack.gateway.put(uri, json={**read.json(), "client_name": "新名字"}, headers=auth)
    assert updated.status_code == 200 and updated.json()["client_name"] == "新名字"
    assert stack.gateway.delete(uri, headers=auth).status_code == 204
    assert stack.gateway.get(uri, headers=auth).status_code == 401


def test_discovery_publishes_the_fapi2_metadata_and_jwks_has_public_keys_only(stack):
    discovery = stack.gateway.get("/.well-known/openid-configuration").json()
    assert discovery["issuer"] == ISSUER
    assert discovery["require_pushed_authorization_requests"] is True
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert "private_key_jwt" in discovery["token_endpoint_auth_methods_supported"]
    assert discovery["authorization_response_iss_parameter_supported"] is True
    assert set(discovery["dpop_signing_alg_values_supported"]) >= {"ES256", "PS256"}
    keys = stack.gateway.get(discovery["jwks_uri"].removeprefix(ISSUER)).json()["keys"]
    assert {key["alg"] for key in keys} >= {"ES256", "PS256"}
    assert all(key["kid"] and not ({"d", "p", "q"} & set(key)) for key in keys)
