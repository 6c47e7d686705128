"""The authorization code flow end to end (PAR → headless authorisation → code + PKCE + DPoP → tokens → refresh),
and the FAPI 2.0 conformance negatives around codes, request_uris and the authorization endpoint."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.models import AuthorizationCode, PushedAuthorizationRequest, SandboxUser
from loadtests.partner import ISSUER, Partner, pkce_pair
from openbank_kit.clock import wall_clock

PAR_URL = f"{ISSUER}/oauth2/par"
TOKEN_URL = f"{ISSUER}/oauth2/token"
REDIRECT = "https://tpp.example/callback"


def push(
    stack, partner: Partner, challenge: str, *, dpop_key_partner: Partner | None = None, **overrides
) -> str:
    proof_by = dpop_key_partner or partner
    response = stack.gateway.post(
        "/oauth2/par",
        data=partner.par_form(challenge, **overrides),
        headers={"DPoP": proof_by.dpop("POST", PAR_URL)},
    )
    assert response.status_code == 201, response.text
    return response.json()["request_uri"]


def authorization_url(client_id: str, request_uri: str) -> str:
    return f"{ISSUER}/oauth2/authorize?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def headless(stack, tenant_token: str, url: str, *, username="zhang.wei", password="sandbox", otp="123456",
             decision="approve", **extra):  # fmt: skip
    body = {
        "AuthorizationUrl": url,
        "Username": username,
        "Password": password,
        "Otp": otp,
        "Decision": decision,
    }
    body.update(extra)
    return stack.gateway.post(
        "/sandbox/v1/authorize", json=body, headers={"Authorization": f"Bearer {tenant_token}"}
    )


def redirect_params(response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    target = urlsplit(response.json()["RedirectTo"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(target.query).items()}


def exchange(stack, partner: Partner, code: str, verifier: str | None, *, dpop=True, redirect_uri=REDIRECT,
             proof_by: Partner | None = None):  # fmt: skip
    headers = {"DPoP": (proof_by or partner).dpop("POST", TOKEN_URL)} if dpop else {}
    return stack.gateway.post(
        "/oauth2/token", data=partner.code_form(code, verifier, redirect_uri), headers=headers
    )


def whoami(stack, partner: Partner, access_token: str):
    url = f"{ISSUER}/sandbox/v1/whoami/accounts"
    return stack.gateway.get(
        "/sandbox/v1/whoami/accounts",
        headers={
            "Authorization": f"DPoP {access_token}",
            "DPoP": partner.dpop("GET", url, access_token=access_token),
        },
    )


def customer_id_of(stack, tenant_id: str, username: str) -> str:
    with stack.db("gateway").read_session() as session:
        return session.get(SandboxUser, (tenant_id, username)).customer_id


@pytest.fixture
def code_flow(stack, tenant, registered_partner):
    """A fapi2 partner that went through PAR and headless approval: (partner, code, verifier, redirect params)."""

    def run(**overrides):
        verifier, challenge = pkce_pair()
        request_uri = push(stack, registered_partner, challenge, **overrides)
        params = redirect_params(
            headless(stack, tenant[1], authorization_url(registered_partner.client_id, request_uri))
        )
        return registered_partner, params["code"], verifier, params

    return run


def test_the_whole_fapi2_flow_gives_dpop_bound_tokens_an_id_token_and_a_working_refresh(
    stack, tenant, code_flow
):
    partner, code, verifier, params = code_flow(nonce="n" * 64, state="st-42")
    assert params["iss"] == ISSUER and params["state"] == "st-42"  # RFC 9207
    response = exchange(stack, partner, code, verifier)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "DPoP" and 0 < token["expires_in"] <= 600 and token["scope"] == "openid"
    assert response.headers["cache-control"] == "no-store"

    keys = KeySet.import_key_set(stack.gateway.get("/oauth2/jwks").json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["ES256", "PS256"])
    customer = customer_id_of(stack, tenant[0], "zhang.wei")
    assert id_token.header["alg"] == partner.registration["id_token_signed_response_alg"]
    claims = id_token.claims
    assert claims["iss"] == ISSUER and claims["aud"] == partner.client_id and claims["sub"] == customer
    assert claims["nonce"] == "n" * 64 and claims["exp"] > claims["iat"] and "auth_time" in claims

    access = jwt.decode(token["access_token"], keys, algorithms=["ES256"]).claims
    assert access["sub"] == customer and access["cnf"]["jkt"] and access["tenant"] == tenant[0]
    called = whoami(stack, partner, token["access_token"])
    assert called.status_code == 200, called.text
    assert called.json()["Data"]["Subject"] == customer

    refreshed = stack.gateway.post(
        "/oauth2/token",
        data=partner.refresh_form(token["refresh_token"]),
        headers={"DPoP": partner.dpop("POST", TOKEN_URL)},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["token_type"] == "DPoP" and "refresh_token" not in refreshed.json()  # no rotation
    again = stack.gateway.post(
        "/oauth2/token",
        data=partner.refresh_form(token["refresh_token"]),
        headers={"DPoP": partner.dpop("POST", TOKEN_URL)},
    )
    assert again.status_code == 200  # the same refresh token keeps working


def test_no_state_and_no_nonce_are_fine(stack, code_flow):
    partner, code, verifier, params = code_flow(state=None, nonce=None)
    assert "state" not in params and params["iss"] == ISSUER
    token = exchange(stack, partner, code, verifier).json()
    assert (
        "nonce"
        not in jwt.decode(
            token["id_token"], KeySet.import_key_set(stack.gateway.get("/oauth2/jwks").json())
        ).claims
    )


def test_code_reuse_is_refused_and_revokes_the_tokens_issued_from_it(stack, code_flow):
    partner, code, verifier, _ = code_flow()
    first = exchange(stack, partner, code, verifier).json()
    assert whoami(stack, partner, first["access_token"]).status_code == 200
    second = exchange(stack, partner, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    refused = whoami(stack, partner, first["access_token"])
    assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]
    refresh = stack.gateway.post(
        "/oauth2/token",
        data=partner.refresh_form(first["refresh_token"]),
        headers={"DPoP": partner.dpop("POST", TOKEN_URL)},
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_a_code_older_than_60_seconds_is_refused(stack, code_flow):
    partner, code, verifier, _ = code_flow()
    with stack.db("gateway").write_session() as session:
        for row in session.query(AuthorizationCode).filter_by(client_id=partner.client_id, used_at=None):
            row.expires_at = wall_clock() - timedelta(seconds=1)
            session.add(row)
        session.commit()
    response = exchange(stack, partner, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("verifier", "error"),
    [
        (None, "invalid_request"),
        ("wrong-verifier-" + "x" * 40, "invalid_grant"),
        ("short", "invalid_request"),
    ],
)
def test_the_code_verifier_must_match_the_challenge(stack, code_flow, verifier, error):
    partner, code, _, _ = code_flow()
    response = exchange(stack, partner, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == error, response.text


def test_a_code_cannot_be_used_by_another_client(stack, tenant, code_flow):
    partner, code, verifier, _ = code_flow()
    other = Partner()
    registered = stack.gateway.post(
        "/oauth2/register", json=other.fapi2_metadata(), headers={"Authorization": f"Bearer {tenant[1]}"}
    )
    other.client_id = registered.json()["client_id"]
    response = exchange(stack, other, code, verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert exchange(stack, partner, code, verifier).status_code == 200  # the rightful client still can


def test_fapi2_token_request_without_dpop_is_refused_and_the_code_survives(stack, code_flow):
    partner, code, verifier, _ = code_flow()
    response = exchange(stack, partner, code, verifier, dpop=False)
    assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof"
    assert exchange(stack, partner, code, verifier).status_code == 200


def test_the_code_is_bound_to_the_dpop_key_shown_at_par(stack, code_flow):
    partner, code, verifier, _ = code_flow()
    response = exchange(stack, partner, code, verifier, proof_by=Partner())
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "DPoP" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("redirect_uri", "error"), [(None, "invalid_request"), ("https://tpp.example/other", "invalid_grant")]
)
def test_the_token_request_must_repeat_the_redirect_uri(stack, code_flow, redirect_uri, error):
    partner, code, verifier, _ = code_flow()
    response = exchange(stack, partner, code, verifier, redirect_uri=redirect_uri)
    assert response.status_code == 400 and response.json()["error"] == error


def test_denial_redirects_with_access_denied_state_and_iss(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    request_uri = push(stack, registered_partner, challenge, state="s-9")
    params = redirect_params(
        headless(
            stack, tenant[1], authorization_url(registered_partner.client_id, request_uri), decision="deny"
        )
    )
    assert params["error"] == "access_denied" and params["state"] == "s-9" and params["iss"] == ISSUER
    assert "code" not in params


def test_wrong_password_or_code_answers_401_and_keeps_the_request_uri(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    url = authorization_url(registered_partner.client_id, push(stack, registered_partner, challenge))
    for wrong in ({"password": "nope"}, {"otp": "000000"}, {"username": "no.one"}):
        response = headless(stack, tenant[1], url, **wrong)
        assert response.status_code == 401, response.text
        assert "RedirectTo" not in response.json()
    assert headless(stack, tenant[1], url).status_code == 200


def test_request_uris_are_single_use_expiring_and_client_bound(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    request_uri = push(stack, registered_partner, challenge)
    url = authorization_url(registered_partner.client_id, request_uri)
    assert headless(stack, tenant[1], url).status_code == 200
    reused = headless(stack, tenant[1], url)
    assert reused.status_code == 400 and "request_uri" in reused.text

    expired_uri = push(stack, registered_partner, challenge)
    with stack.db("gateway").write_session() as session:
        row = session.get(PushedAuthorizationRequest, expired_uri)
        row.expires_at = wall_clock() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    assert (
        headless(stack, tenant[1], authorization_url(registered_partner.client_id, expired_uri)).status_code
        == 400
    )

    other = Partner()
    registered = stack.gateway.post(
        "/oauth2/register", json=other.fapi2_metadata(), headers={"Authorization": f"Bearer {tenant[1]}"}
    )
    foreign = authorization_url(registered.json()["client_id"], push(stack, registered_partner, challenge))
    assert headless(stack, tenant[1], foreign).status_code == 400


def test_a_fapi2_client_cannot_skip_par(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    query = {"client_id": registered_partner.client_id, "response_type": "code", "redirect_uri": REDIRECT,
             "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    url = f"{ISSUER}/oauth2/authorize?{urlencode(query)}"
    response = headless(stack, tenant[1], url)
    assert response.status_code == 400 and "PAR" in response.text
    page = stack.gateway.get(url.removeprefix(ISSUER), follow_redirects=False)
    assert page.status_code == 400 and "PAR" in page.text and "location" not in page.headers


def test_headless_authorisation_is_for_the_callers_own_tenant_only(stack, new_tenant, registered_partner):
    _, challenge = pkce_pair()
    url = authorization_url(registered_partner.client_id, push(stack, registered_partner, challenge))
    _, other_token = new_tenant("other")
    response = headless(stack, other_token, url)
    assert response.status_code == 400 and "another tenant" in response.text
    assert stack.gateway.post("/sandbox/v1/authorize", json={}).status_code in (400, 401)


def test_headless_refuses_a_url_that_is_not_this_authorization_endpoint(stack, tenant):
    response = headless(stack, tenant[1], "https://evil.example/oauth2/authorize?client_id=x&request_uri=y")
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "$.AuthorizationUrl"


def test_refresh_stops_after_the_tenant_is_reset(stack, tenant, code_flow):
    partner, code, verifier, _ = code_flow()
    token = exchange(stack, partner, code, verifier).json()
    assert (
        stack.gateway.post("/sandbox/v1/reset", headers={"Authorization": f"Bearer {tenant[1]}"}).status_code
        == 200
    )
    refresh = stack.gateway.post(
        "/oauth2/token",
        data=partner.refresh_form(token["refresh_token"]),
        headers={"DPoP": partner.dpop("POST", TOKEN_URL)},
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_revoking_the_refresh_token_revokes_the_grant(stack, code_flow):
    partner, code, verifier, _ = code_flow()
    token = exchange(stack, partner, code, verifier).json()
    revoked = stack.gateway.post(
        "/oauth2/revoke", data={**partner.assertion_form(), "token": token["refresh_token"]}
    )
    assert revoked.status_code == 200
    refresh = stack.gateway.post(
        "/oauth2/token",
        data=partner.refresh_form(token["refresh_token"]),
        headers={"DPoP": partner.dpop("POST", TOKEN_URL)},
    )
    assert refresh.json()["error"] == "invalid_grant"
    assert whoami(stack, partner, token["access_token"]).status_code == 401


def test_concurrent_exchanges_of_one_code_let_exactly_one_through(stack, tenant):
    """Real threads on real connections: the code row is claimed under a row lock (PostgreSQL) or a write lock."""
    from concurrent.futures import ThreadPoolExecutor

    from gateway.models import OAuthGrant
    from gateway.oauth.authorization_code import Authorization

    grants = stack.gateway.app.state.oauth.grants
    _, challenge = pkce_pair()
    code = grants.issue_code(
        Authorization(
            tenant_id=tenant[0],
            client_id="cli_race",
            customer_id="cus_1",
            redirect_uri=REDIRECT,
            scope="openid",
            code_challenge=challenge,
            code_challenge_method="S256",
            nonce=None,
            intent_id=None,
            dpop_jkt=None,
            auth_time=0,
        )  # fmt: skip
    )
    with ThreadPoolExecutor(max_workers=12) as pool:
        claimed = list(pool.map(lambda _: grants.claim_code(code, "cli_race", lambda row: None), range(12)))
    winners = [row for row in claimed if row is not None]
    assert len(winners) == 1
    with stack.db("gateway").read_session() as session:
        grant = session.get(OAuthGrant, winners[0].grant_id)
    assert (
        grant.revoked_at is not None
    )  # the losers were reuses: what the winner gets is revoked, as RFC 6749 asks
