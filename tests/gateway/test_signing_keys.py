"""Signing-key rotation: new tokens carry the new kid, tokens signed before still verify, the JWKS shows both."""

from __future__ import annotations

import pytest
from joserfc import jwt

from gateway.oauth.tokens import AccessTokenClaims


@pytest.fixture
def operator(stack):
    """The gateway with an operator token configured, for this test only."""
    state = stack.gateway.app.state
    original = state.settings
    state.settings = original.model_copy(update={"operator_token": "op-secret"})
    yield "op-secret"
    state.settings = original


def test_rotation_needs_the_operator_token(stack, tenant, operator):
    assert stack.gateway.post("/sandbox/v1/signing-keys/rotate").status_code == 403
    refused = stack.gateway.post(
        "/sandbox/v1/signing-keys/rotate", headers={"Authorization": f"Bearer {tenant[1]}"}
    )
    assert refused.status_code == 403  # a tenant's token is not the operator's


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(stack, tenant, operator):
    issuer = stack.gateway.app.state.oauth.token_issuer
    claims = AccessTokenClaims(tenant_id=tenant[0], client_id="cli_x", subject="cli_x", scope="accounts")
    old_token, _ = issuer.issue(claims)
    old_kid = jwt.decode(old_token, issuer.keys.verification_keys()).header["kid"]

    rotated = stack.gateway.post(
        "/sandbox/v1/signing-keys/rotate", headers={"Authorization": "Bearer op-secret"}
    )
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["Kids"]["ES256"]
    assert new_kid != old_kid

    published = {key["kid"] for key in stack.gateway.get("/oauth2/jwks").json()["keys"]}
    assert {old_kid, new_kid} <= published
    assert all(
        "d" not in key for key in stack.gateway.get("/oauth2/jwks").json()["keys"]
    )  # never a private key
    new_token, _ = issuer.issue(claims)
    assert jwt.decode(new_token, issuer.keys.verification_keys()).header["kid"] == new_kid
    assert issuer.verify(old_token)["sub"] == "cli_x"  # still valid until it expires
