"""Account-access consents: OBIE permission rules, the client's own resources, the gateway's internal contract."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.obie_schema import assert_obie_response
from tests.services.accounts.conftest import LI_NA, SUN_HUI, ZHANG_WEI, make_app

CONSENTS = "/account-access-consents"


def _internal(stack, tenant_id: str, path: str):
    return stack.services["accounts"].get(
        f"/internal/v1/tenants/{tenant_id}{path}", headers=stack.internal_headers
    )


def test_created_consent_awaits_authorisation_and_reads_back(app):
    consent = app.create_consent(["ReadAccountsBasic", "ReadBalances"])
    assert consent["Status"] == "AWAU" and consent["ConsentId"].startswith("aac_")
    response = app.call("GET", f"{CONSENTS}/{consent['ConsentId']}")
    assert response.status_code == 200
    assert_obie_response("account-info", "/account-access-consents/{ConsentId}", "get", response)
    assert response.json()["Data"]["Permissions"] == ["ReadAccountsBasic", "ReadBalances"]
    assert response.json()["Links"]["Self"].endswith(f"{CONSENTS}/{consent['ConsentId']}")


@pytest.mark.parametrize(
    ("permissions", "path"),
    [
        (["ReadAccountsBasic", "ReadEverything"], "Data.Permissions[1]"),
        (["ReadTransactionsBasic"], "Data.Permissions"),  # needs Credits and/or Debits
        (["ReadTransactionsCredits", "ReadAccountsBasic"], "Data.Permissions"),  # needs Basic or Detail
        (["ReadPAN"], "Data.Permissions"),
        ([], "Data.Permissions"),
    ],
)
def test_unknown_or_inconsistent_permissions_are_a_400_naming_the_field(app, permissions, path):
    response = app.call("POST", CONSENTS, json={"Data": {"Permissions": permissions}, "Risk": {}})
    assert response.status_code == 400, response.text
    assert_obie_response("account-info", CONSENTS, "post", response)
    assert response.json()["Errors"][0]["Path"] == path


def test_bad_dates_are_refused_and_nothing_is_created(app, stack, tenant):
    past = (datetime.now().astimezone() - timedelta(days=1)).isoformat()
    for data, path in [
        ({"ExpirationDateTime": past}, "Data.ExpirationDateTime"),
        ({"ExpirationDateTime": "tomorrow"}, "Data.ExpirationDateTime"),
        ({"TransactionFromDateTime": "2026-05-01T00:00:00+08:00", "TransactionToDateTime": "2026-04-01T00:00:00+08:00"},
         "Data.TransactionFromDateTime"),
    ]:  # fmt: skip
        body = {"Data": {"Permissions": ["ReadAccountsBasic"], **data}, "Risk": {}}
        response = app.call("POST", CONSENTS, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["Errors"][0]["Path"] == path
    counts = _internal(stack, tenant[0], "").json()["Rows"]
    assert counts["account_access_consent"] == 0


def test_missing_risk_or_unexpected_field_is_a_400(app):
    response = app.call("POST", CONSENTS, json={"Data": {"Permissions": ["ReadAccountsBasic"]}})
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "Risk"
    response = app.call(
        "POST", CONSENTS, json={"Data": {"Permissions": ["ReadAccountsBasic"], "X": 1}, "Risk": {}}
    )
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "Data.X"


def test_delete_cancels_and_the_consent_no_longer_opens_data(app):
    consent = app.create_consent(["ReadAccountsBasic"])
    assert app.authorise(consent["ConsentId"], ZHANG_WEI).status_code == 200
    token = app.customer_token(consent["ConsentId"], ZHANG_WEI)
    assert app.read("/accounts", token).status_code == 200
    response = app.call("DELETE", f"{CONSENTS}/{consent['ConsentId']}")
    assert response.status_code == 204 and not response.content
    after = app.call("GET", f"{CONSENTS}/{consent['ConsentId']}").json()["Data"]
    assert after["Status"] == "CANC"
    refused = app.read("/accounts", token, "/accounts", status=403)
    assert refused.json()["Errors"][0]["ErrorCode"]


def test_another_clients_or_tenants_consent_is_403_like_an_unknown_one(app, other_app, stack, new_tenant):
    consent = app.create_consent(["ReadAccountsBasic"])
    stranger = make_app(stack, new_tenant("aisp-other"))
    for caller in (other_app, stranger):
        for method in ("GET", "DELETE"):
            response = caller.call(method, f"{CONSENTS}/{consent['ConsentId']}")
            assert response.status_code == 403, response.text
    assert app.call("GET", f"{CONSENTS}/aac_unknown").status_code == 403
    assert app.call("GET", f"{CONSENTS}/{consent['ConsentId']}").json()["Data"]["Status"] == "AWAU"


def test_a_customer_token_cannot_manage_consents(app):
    token = app.authorised_token(ZHANG_WEI, ["ReadAccountsBasic"])
    response = app.call(
        "POST", CONSENTS, token, json={"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}}
    )
    assert response.status_code == 403


def test_the_tenant_clock_expires_consents(app):
    expiry = (datetime.now().astimezone() + timedelta(days=2)).isoformat()
    consent = app.create_consent(["ReadAccountsBasic"], ExpirationDateTime=expiry)
    app.authorise(consent["ConsentId"], ZHANG_WEI)
    token = app.customer_token(consent["ConsentId"], ZHANG_WEI)
    assert app.read("/accounts", token).status_code == 200
    app.advance_clock(3)
    app.read("/accounts", token, status=403)
    response = app.call("GET", f"{CONSENTS}/{consent['ConsentId']}")
    assert response.json()["Data"]["Status"] == "EXPD"
    assert_obie_response("account-info", "/account-access-consents/{ConsentId}", "get", response)


# --- the internal contract the gateway's PAR endpoint and consent page use ---------------------------------


def test_internal_get_follows_the_contract(app, stack):
    consent = app.create_consent(["ReadAccountsDetail"])
    data = _internal(stack, app.tenant_id, f"/consents/{consent['ConsentId']}").json()["Data"]
    assert data == {"ConsentId": consent["ConsentId"], "ClientId": app.client_id, "Status": "AWAU",
                    "Kind": "account-access", "CustomerId": None, "AccountIds": [], "AccountSelection": "many",
                    "Details": {"Permissions": ["ReadAccountsDetail"]}}  # fmt: skip
    assert _internal(stack, app.tenant_id, "/consents/aac_nope").status_code == 404


def test_approval_defaults_to_every_eligible_account_including_owned_smes(app, stack):
    consent = app.create_consent(["ReadAccountsBasic"])
    data = app.authorise(consent["ConsentId"], SUN_HUI).json()["Data"]
    eligible = _internal(stack, app.tenant_id, f"/customers/{SUN_HUI}/accounts").json()["Data"]["Account"]
    assert data["Status"] == "AUTH" and data["CustomerId"] == SUN_HUI
    assert data["AccountIds"] == [account["AccountId"] for account in eligible]
    assert {account["AccountClass"] for account in eligible} >= {"BUSINESS"}


def test_approval_with_chosen_accounts_and_the_refusals(app):
    consent = app.create_consent(["ReadAccountsBasic"])
    cid = consent["ConsentId"]
    response = app.authorise(cid, ZHANG_WEI, account_ids=["ACC0000001", "ACC0000003"])  # not his
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "AccountIds[1]"
    assert app.authorise(cid, ZHANG_WEI, client_id="someone-else").status_code == 403
    response = app.authorise(cid, ZHANG_WEI, account_ids=["ACC0000002"])
    assert response.status_code == 200 and response.json()["Data"]["AccountIds"] == ["ACC0000002"]
    second = app.authorise(cid, ZHANG_WEI, decision="deny")
    assert second.status_code == 409
    assert app.call("GET", f"{CONSENTS}/{cid}").json()["Data"]["Status"] == "AUTH"


def test_denial_rejects(app):
    consent = app.create_consent(["ReadAccountsBasic"])
    response = app.authorise(consent["ConsentId"], LI_NA, decision="deny")
    assert response.status_code == 200 and response.json()["Data"]["Status"] == "RJCT"
    token = app.customer_token(consent["ConsentId"], LI_NA)
    app.read("/accounts", token, status=403)


def test_customer_accounts_for_the_consent_page(app, stack):
    response = _internal(stack, app.tenant_id, f"/customers/{ZHANG_WEI}/accounts")
    assert response.status_code == 200
    accounts = response.json()["Data"]["Account"]
    assert [(a["AccountId"], a["AccountClass"]) for a in accounts] == [
        ("ACC0000001", "I"),
        ("ACC0000002", "II"),
    ]
    first = accounts[0]
    assert len(first["Identification"]) == 19 and first["Name"] == "张伟" and first["Currency"] == "CNY"
    assert set(first["AvailableBalance"]) == {"Amount", "Currency"}
    assert _internal(stack, app.tenant_id, "/customers/CUS999999/accounts").status_code == 404
    assert (
        stack.services["accounts"]
        .get(f"/internal/v1/tenants/{app.tenant_id}/customers/{ZHANG_WEI}/accounts")
        .status_code
        == 401
    )


def test_the_customer_can_revoke_at_the_bank_and_reads_stop(app, stack):
    consent_id = app.create_consent(["ReadAccountsBasic"])["ConsentId"]
    app.authorise(consent_id, ZHANG_WEI)
    token = app.customer_token(consent_id, ZHANG_WEI)
    app.read("/accounts", token)
    path = f"/internal/v1/tenants/{app.tenant_id}/consents/{consent_id}/revocation"
    accounts = stack.services["accounts"]
    other = accounts.post(path, json={"CustomerId": LI_NA}, headers=stack.internal_headers)
    assert other.status_code == 403
    revoked = accounts.post(path, json={"CustomerId": ZHANG_WEI}, headers=stack.internal_headers)
    assert revoked.status_code == 200 and revoked.json()["Data"]["Status"] == "CANC"
    assert (
        accounts.post(path, json={"CustomerId": ZHANG_WEI}, headers=stack.internal_headers).status_code == 200
    )
    app.read("/accounts", token, status=403)


def test_reset_empties_consents_and_holds(app, stack):
    consent = app.create_consent(["ReadAccountsBasic"])
    response = stack.gateway.post(
        "/sandbox/v1/reset", headers={"Authorization": f"Bearer {app.initial_token}"}
    )
    assert response.status_code == 200, response.text
    counts = _internal(stack, app.tenant_id, "").json()["Rows"]
    assert counts["account_access_consent"] == 0 and counts["ledger_hold"] == 0
    assert _internal(stack, app.tenant_id, f"/consents/{consent['ConsentId']}").status_code == 404
