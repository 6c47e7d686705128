"""The shop's optional "use an app made in the portal" configuration (SHOP_CLIENT_ID + SHOP_CLIENT_KEY_FILE)."""

from __future__ import annotations

import json

import pytest

from examples.partner_shop.app import config_from_env
from examples.partner_shop.bank import load_client_key
from gateway.portal.service import generate_key_pair


def test_the_portals_private_jwk_and_pem_both_load_and_name_the_registered_key():
    public, private_jwk, private_pem = (
        generate_key_pair()
    )  # what the portal's "generate a key pair for me" makes
    from_jwk, from_pem = load_client_key(json.dumps(private_jwk)), load_client_key(private_pem)
    for key in (from_jwk, from_pem):
        assert key.is_private
        assert key.kid == public["kid"]  # the PEM has no kid: its thumbprint is the one the portal registered
        assert {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")} == {
            k: public[k] for k in ("kty", "crv", "x", "y")
        }


def test_a_public_key_is_refused():
    public, _, _ = generate_key_pair()
    with pytest.raises(ValueError, match="public key"):
        load_client_key(json.dumps(public))


def test_with_an_app_configured_no_initial_access_token_is_read(tmp_path, monkeypatch):
    _, private_jwk, _ = generate_key_pair()
    key_file = tmp_path / "app-private.jwk.json"
    key_file.write_text(json.dumps(private_jwk))
    monkeypatch.setenv("SHOP_CLIENT_ID", "cli_from_portal")
    monkeypatch.setenv("SHOP_CLIENT_KEY_FILE", str(key_file))
    monkeypatch.setenv("SHOP_INITIAL_ACCESS_TOKEN_FILE", str(tmp_path / "missing"))  # would fail if read
    monkeypatch.delenv("SHOP_INITIAL_ACCESS_TOKEN", raising=False)
    config = config_from_env()
    assert config.client_id == "cli_from_portal" and config.client_key.kid == private_jwk["kid"]
    assert config.initial_access_token == ""


def test_a_client_id_without_its_key_stops_the_shop(monkeypatch):
    monkeypatch.setenv("SHOP_CLIENT_ID", "cli_from_portal")
    monkeypatch.delenv("SHOP_CLIENT_KEY_FILE", raising=False)
    with pytest.raises(SystemExit, match="SHOP_CLIENT_KEY_FILE"):
        config_from_env()
