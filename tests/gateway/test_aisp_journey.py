"""The whole AISP journey through the public API, as a fapi2 partner does it: client-credentials consent → PAR
naming it → the customer's choice of accounts on the consent page → code + DPoP → account data of the chosen
accounts only; then the customer's revocation ends both the data and the refresh token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from gateway.models import SandboxUser
from loadtests.partner import ISSUER, pkce_pair
from tests.gateway.test_authorization_code import authorization_url, exchange, headless, redirect_params

AISP = "/open-banking/v4.0/aisp"
PERMISSIONS = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits",
               "ReadTransactionsDebits"]  # fmt: skip


def dpop_get(stack, partner, path: str, token: str):
    url = ISSUER + path
    return stack.gateway.get(
        path,
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": partner.dpop("GET", url.split("?")[0], access_token=token),
        },
    )


def app_token(stack, partner, scope: str = "accounts") -> str:
    url = f"{ISSUER}/oauth2/token"
    response = stack.gateway.post(
        "/oauth2/token",
        data=partner.client_credentials_form(scope=scope),
        headers={"DPoP": partner.dpop("POST", url)},
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def create_consent(stack, partner) -> str:
    token = app_token(stack, partner)
    url = ISSUER + AISP + "/account-access-consents"
    response = stack.gateway.post(
        AISP + "/account-access-consents",
        json={"Data": {"Permissions": PERMISSIONS}, "Risk": {}},
        headers={"Authorization": f"DPoP {token}", "DPoP": partner.dpop("POST", url, access_token=token)},
    )
    assert response.status_code == 201, response.text
    assert response.json()["Data"]["Status"] == "AWAU"
    return response.json()["Data"]["ConsentId"]


def test_a_partner_reads_only_the_accounts_the_customer_chose(stack, tenant, registered_partner):
    consent_id = create_consent(stack, registered_partner)
    with stack.db("gateway").read_session() as session:
        customer = session.get(SandboxUser, (tenant[0], "zhang.wei")).customer_id
    accounts = stack.gateway.app.state.oauth.lookup_intent.customer_accounts(tenant[0], customer)
    assert len(accounts) >= 2  # zhang.wei: Class I and Class II
    chosen = accounts[0]["AccountId"]

    verifier, challenge = pkce_pair()
    from tests.gateway.test_authorization_code import push

    request_uri = push(
        stack, registered_partner, challenge, scope="openid accounts", openbanking_intent_id=consent_id
    )
    params = redirect_params(
        headless(
            stack,
            tenant[1],
            authorization_url(registered_partner.client_id, request_uri),
            AccountIds=[chosen],
        )
    )
    tokens = exchange(stack, registered_partner, params["code"], verifier).json()
    listed = dpop_get(stack, registered_partner, AISP + "/accounts", tokens["access_token"])
    assert listed.status_code == 200, listed.text
    assert [a["AccountId"] for a in listed.json()["Data"]["Account"]] == [chosen]
    other = accounts[1]["AccountId"]
    refused = dpop_get(stack, registered_partner, f"{AISP}/accounts/{other}/balances", tokens["access_token"])
    assert refused.status_code == 403  # not chosen: as if it did not exist
    balances = dpop_get(
        stack, registered_partner, f"{AISP}/accounts/{chosen}/balances", tokens["access_token"]
    )
    assert balances.status_code == 200 and balances.json()["Data"]["Balance"]

    consent = stack.gateway.app.state.oauth.lookup_intent(tenant[0], consent_id, "accounts")
    assert consent["Status"] == "AUTH" and consent["AccountIds"] == [chosen]

    # The partner deletes the consent: data and refresh stop.
    token = app_token(stack, registered_partner)
    url = f"{ISSUER}{AISP}/account-access-consents/{consent_id}"
    deleted = stack.gateway.delete(
        f"{AISP}/account-access-consents/{consent_id}",
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": registered_partner.dpop("DELETE", url, access_token=token),
        },
    )
    assert deleted.status_code == 204
    assert dpop_get(stack, registered_partner, AISP + "/accounts", tokens["access_token"]).status_code in (
        401,
        403,
    )
    refresh = stack.gateway.post(
        "/oauth2/token",
        data=registered_partner.refresh_form(tokens["refresh_token"]),
        headers={"DPoP": registered_partner.dpop("POST", f"{ISSUER}/oauth2/token")},
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_the_consent_page_lists_the_customers_real_accounts(stack, tenant, registered_partner):
    consent_id = create_consent(stack, registered_partner)
    _, challenge = pkce_pair()
    from tests.gateway.test_authorization_code import push
    from tests.gateway.test_consent_pages import browser_sign_in

    request_uri = push(
        stack, registered_partner, challenge, scope="accounts", openbanking_intent_id=consent_id
    )
    signed, interaction, csrf = browser_sign_in(
        stack, authorization_url(registered_partner.client_id, request_uri)
    )
    page = stack.gateway.get(interaction)
    assert page.status_code == 200 and page.text.count('name="account_id"') >= 2
    assert "账户余额" in page.text
    denied = stack.gateway.post(
        interaction + "/decision", data={"csrf": csrf, "decision": "deny"}, follow_redirects=False
    )
    params = parse_qs(urlsplit(denied.headers["location"]).query)
    assert params["error"] == ["access_denied"]
    assert stack.gateway.app.state.oauth.lookup_intent(tenant[0], consent_id, "accounts")["Status"] == "RJCT"
