"""RFC 7009 revocation and RFC 7662 introspection: client-authenticated, own tokens only, enforced at the door."""

from __future__ import annotations

from loadtests.partner import ISSUER, Partner
from tests.gateway.test_front_door import WHOAMI, _call, _dpop_token, _refused


def _post(stack, partner: Partner, path: str, token: str):
    form = {**partner.client_credentials_form(), "token": token}
    for name in ("grant_type", "scope"):
        form.pop(name)
    return stack.gateway.post(path, data=form)


def test_introspection_describes_the_clients_own_token(stack, registered_partner, tenant):
    token = _dpop_token(stack, registered_partner)
    response = _post(stack, registered_partner, "/oauth2/introspect", token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is True and body["client_id"] == registered_partner.client_id
    assert body["token_type"] == "DPoP" and body["cnf"]["jkt"] and body["tenant"] == tenant[0]
    assert body["iss"] == ISSUER and body["scope"] == "accounts"
    assert _post(stack, registered_partner, "/oauth2/introspect", "garbage").json() == {"active": False}


def test_a_revoked_token_is_inactive_and_refused_at_the_front_door(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    assert _call(stack, registered_partner, token).status_code == 200
    assert _post(stack, registered_partner, "/oauth2/revoke", token).status_code == 200
    assert _post(stack, registered_partner, "/oauth2/revoke", token).status_code == 200  # idempotent
    assert _post(stack, registered_partner, "/oauth2/introspect", token).json() == {"active": False}
    _refused(_call(stack, registered_partner, token), "invalid_token")


def test_another_client_can_neither_revoke_nor_introspect_my_token(stack, registered_partner, tenant):
    token = _dpop_token(stack, registered_partner)
    other = Partner()
    registration = stack.gateway.post("/oauth2/register", json=other.fapi2_metadata(),
                                      headers={"Authorization": f"Bearer {tenant[1]}"})  # fmt: skip
    other.client_id = registration.json()["client_id"]
    assert _post(stack, other, "/oauth2/introspect", token).json() == {"active": False}
    assert _post(stack, other, "/oauth2/revoke", token).status_code == 200
    assert (
        _call(stack, registered_partner, token).status_code == 200
    )  # still works: it was not theirs to revoke


def test_revocation_and_introspection_need_client_authentication(stack, registered_partner):
    token = _dpop_token(stack, registered_partner)
    for path in ("/oauth2/revoke", "/oauth2/introspect"):
        response = stack.gateway.post(path, data={"token": token, "client_id": registered_partner.client_id})
        assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client"
    assert _call(stack, registered_partner, token, WHOAMI).status_code == 200
