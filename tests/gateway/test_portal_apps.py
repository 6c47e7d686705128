"""Apps in the portal: create (sandbox-basic, fapi2 with a generated key, pasted or uploaded JWKS), the form's
explained errors, view, rotate and delete; the credentials shown work at the token endpoint."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from loadtests.partner import ISSUER, Partner
from tests.gateway import portal_helpers

developers = portal_helpers.developers  # the fixture


def create(developer, **fields):
    data = {"name": "我的商城 My Shop", "redirect_uris": "https://shop.example/cb", "profile": "fapi2",
            "key_source": "generate", **fields}  # fmt: skip
    files = data.pop("files", None)
    return developer.post("/portal/apps", data, files=files, csrf_from="/portal/apps/new")


def shown(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]+)<', html).group(1)


def basic_token(stack, client_id: str, secret: str):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return stack.gateway.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "accounts"},
                              headers={"Authorization": f"Basic {basic}"})  # fmt: skip


def fapi2_token(stack, client_id: str, private_jwk: dict):
    key = ECKey.import_key(private_jwk)
    now = int(time.time())
    assertion = jwt.encode({"alg": "ES256", "kid": private_jwk["kid"]},
                           {"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": str(uuid.uuid4()),
                            "iat": now, "exp": now + 60}, key, algorithms=["ES256"])  # fmt: skip
    form = {"grant_type": "client_credentials", "scope": "accounts", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}  # fmt: skip
    return stack.gateway.post("/oauth2/token", data=form,
                              headers={"DPoP": Partner().dpop("POST", f"{ISSUER}/oauth2/token")})  # fmt: skip


def app_ids(developer) -> list[str]:
    return re.findall(r'data-client-id="([^"]+)"', developer.browser.get("/portal/apps").text)


def test_a_sandbox_basic_app_shows_its_secret_once_and_the_secret_works(stack, developers):
    developer = developers()
    response = create(developer, profile="sandbox-basic", redirect_uris="http://class.example/cb")
    assert response.status_code == 201, response.text
    client_id, secret = shown(response.text, "client-id"), shown(response.text, "client-secret")
    assert basic_token(stack, client_id, secret).status_code == 200
    assert app_ids(developer) == [client_id]
    view = developer.browser.get(f"/portal/apps/{client_id}")
    assert view.status_code == 200 and secret not in view.text and "client_secret_basic" in view.text


def test_a_fapi2_app_with_a_generated_key_offers_the_private_key_once_and_keeps_only_the_public_part(
    stack, developers
):
    developer = developers()
    response = create(developer)
    assert response.status_code == 201, response.text
    client_id = shown(response.text, "client-id")
    private_jwk = json.loads(
        re.search(r'id="private-jwk">([^<]+)<', response.text).group(1).replace("&#34;", '"')
    )
    assert "BEGIN PRIVATE KEY" in response.text and 'data-test="download-jwk"' in response.text
    assert fapi2_token(stack, client_id, private_jwk).status_code == 200
    stored = stack.gateway.app.state.oauth.clients.get(client_id).client_metadata["jwks"]["keys"]
    assert [k["kid"] for k in stored] == [private_jwk["kid"]] and "d" not in stored[0]
    view = developer.browser.get(f"/portal/apps/{client_id}")
    assert private_jwk["d"] not in view.text and "BEGIN PRIVATE KEY" not in view.text


def test_a_fapi2_app_takes_a_pasted_or_uploaded_jwks(stack, developers):
    developer = developers()
    pasted = Partner()
    response = create(developer, key_source="jwks", jwks=json.dumps(pasted.public_jwks()))
    assert response.status_code == 201, response.text
    assert "BEGIN PRIVATE KEY" not in response.text
    uploaded = Partner()
    response = create(developer, key_source="jwks", redirect_uris="http://127.0.0.1:9000/cb",
                      files={"jwks_file": ("keys.json", json.dumps(uploaded.public_jwks()), "application/json")})  # fmt: skip
    assert response.status_code == 201, response.text
    client_id = shown(response.text, "client-id")
    assert (
        stack.gateway.app.state.oauth.clients.get(client_id).client_metadata["jwks"] == uploaded.public_jwks()
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"redirect_uris": "https://a.example/cb\nhttps://a.example/cb"}, "redirect_uris", "same URI twice"),
        ({"redirect_uris": "http://shop.example/cb"}, "redirect_uris", "fapi2 clients use https"),
        ({"redirect_uris": ""}, "redirect_uris", "redirect_uris is required"),
        ({"key_source": "jwks", "jwks": "{not json"}, "jwks", "not JSON"),
        ({"key_source": "jwks", "jwks": ""}, "jwks", "Paste or upload a JWKS"),
        ({"key_source": "jwks", "jwks": "PRIVATE"}, "jwks", "public keys only"),
        ({"name": ""}, "name", "Required"),
        ({"profile": "other"}, "profile", "Choose fapi2 or sandbox-basic"),
    ],
)
def test_form_errors_are_explained_by_field_and_nothing_is_saved(stack, developers, fields, field, message):
    developer = developers()
    developer.browser.get("/portal/lang/en")
    if fields.get("jwks") == "PRIVATE":
        fields["jwks"] = json.dumps({"keys": [Partner().client_key.as_dict(private=True)]})
    response = create(developer, **fields)
    assert response.status_code == 400, response.text
    error = re.search(rf'data-test="error-{field}">([^<]+)<', response.text)
    assert error and message in error.group(1), response.text[-3000:]
    assert app_ids(developer) == []
    assert stack.gateway.app.state.oauth.clients.of_tenant(developer.tenant_id) == []


def test_rotating_a_sandbox_basic_app_replaces_its_secret(stack, developers):
    developer = developers()
    first = create(developer, profile="sandbox-basic", redirect_uris="http://class.example/cb")
    client_id, old_secret = shown(first.text, "client-id"), shown(first.text, "client-secret")
    rotated = developer.post(f"/portal/apps/{client_id}/rotate", csrf_from=f"/portal/apps/{client_id}")
    assert rotated.status_code == 200
    new_secret = shown(rotated.text, "client-secret")
    assert new_secret != old_secret
    assert basic_token(stack, client_id, old_secret).status_code == 401
    assert basic_token(stack, client_id, new_secret).status_code == 200


def test_rotating_a_fapi2_app_replaces_its_key(stack, developers):
    developer = developers()
    first = create(developer)
    client_id = shown(first.text, "client-id")
    old_jwk = json.loads(re.search(r'id="private-jwk">([^<]+)<', first.text).group(1).replace("&#34;", '"'))
    rotated = developer.post(f"/portal/apps/{client_id}/rotate", csrf_from=f"/portal/apps/{client_id}")
    new_jwk = json.loads(re.search(r'id="private-jwk">([^<]+)<', rotated.text).group(1).replace("&#34;", '"'))
    assert new_jwk["kid"] != old_jwk["kid"]
    assert fapi2_token(stack, client_id, old_jwk).status_code == 401
    assert fapi2_token(stack, client_id, new_jwk).status_code == 200


def test_delete_and_another_developers_apps_are_out_of_reach(stack, developers):
    owner, stranger = developers(), developers()
    client_id = shown(
        create(owner, profile="sandbox-basic", redirect_uris="http://a.example/cb").text, "client-id"
    )
    assert stranger.browser.get(f"/portal/apps/{client_id}").status_code == 404
    assert stranger.post(f"/portal/apps/{client_id}/delete").status_code == 404
    assert stranger.post(f"/portal/apps/{client_id}/rotate").status_code == 404
    assert app_ids(owner) == [client_id]
    deleted = owner.post(f"/portal/apps/{client_id}/delete", csrf_from=f"/portal/apps/{client_id}")
    assert deleted.status_code == 303 and app_ids(owner) == []
    assert stack.gateway.app.state.oauth.clients.get(client_id) is None
