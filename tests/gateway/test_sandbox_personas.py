"""The sandbox's persona views through the gateway: a persona's accounts and bureau summary, the consents they
decided across AISP, PISP, CBPII and lending, and revocation at the bank (CANC, the partner's token stops working,
the consent-authorization-revoked event is emitted)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from services.payments.events.models import EventRecord
from tests.gateway.sandbox_helpers import (  # noqa: F401 (fixtures)
    AISP,
    CBPII,
    PISP,
    aisp_consent,
    apply,
    cbpii_consent,
    lending_consent,
    new_partner,
    pisp_consent,
    sandbox,
    services_reach_each_other_in_process,
)
from tests.services.payments.conftest import pisp_valid

AMOUNT = re.compile(r"^\d{1,13}\.\d{2}$")
REVOKED = "urn:uk:org:openbanking:events:consent-authorization-revoked"


@pytest.fixture
def partner(stack, new_tenant):
    return new_partner(stack, new_tenant)


def _consents(stack, partner, username: str) -> dict[str, dict]:
    listed = sandbox(stack, partner, "GET", f"/sandbox/v1/personas/{username}/consents")
    assert listed.status_code == 200, listed.text
    return {row["ConsentId"]: row for row in listed.json()["Data"]["Consent"]}


def _revoke(stack, partner, username: str, consent_id: str):
    return sandbox(stack, partner, "POST", f"/sandbox/v1/personas/{username}/consents/{consent_id}/revoke")


def _revoked_events(stack, tenant_id: str, consent_id: str) -> list[EventRecord]:
    with stack.db("payments").read_session() as session:
        return list(session.scalars(select(EventRecord).where(
            EventRecord.tenant_id == tenant_id, EventRecord.event_type == REVOKED,
            EventRecord.event_id == f"{consent_id}-REVOKED")))  # fmt: skip


def test_a_persona_shows_accounts_with_balances_and_a_bureau_summary(stack, partner):
    got = sandbox(stack, partner, "GET", "/sandbox/v1/personas/zhang.wei")
    assert got.status_code == 200, got.text
    persona = got.json()["Data"]["Persona"][0]
    assert persona["Username"] == "zhang.wei" and persona["CustomerId"] == "CUS000001"
    assert {account["Class"] for account in persona["Accounts"]} >= {"I", "II"}
    for account in persona["Accounts"]:
        assert re.fullmatch(r"\d{19}", account["AccountNumber"])
        assert AMOUNT.match(account["Balance"]["Amount"]) and account["Balance"]["Currency"] == "CNY"
    assert persona["Bureau"]["FraudBlacklisted"] is False

    chen = sandbox(stack, partner, "GET", "/sandbox/v1/personas/chen.jie").json()["Data"]["Persona"][0]
    assert chen["Bureau"]["FraudBlacklisted"] is True and chen["Bureau"]["BlacklistReasons"]
    wang = sandbox(stack, partner, "GET", "/sandbox/v1/personas/wang.fang").json()["Data"]["Persona"][0]
    assert wang["Bureau"]["OpenCreditAccounts"] >= 5 and len(wang["Bureau"]["OpenLoanLenders"]) >= 5
    liu = sandbox(stack, partner, "GET", "/sandbox/v1/personas/liu.yang").json()["Data"]["Persona"][0]
    assert liu["Bureau"]["OverdueCount24Months"] > 0


def test_unknown_persona_is_404_and_the_views_need_the_initial_access_token(stack, partner):
    assert sandbox(stack, partner, "GET", "/sandbox/v1/personas/nobody").status_code == 404
    assert stack.gateway.get("/sandbox/v1/personas/zhang.wei").status_code == 401
    assert stack.gateway.get("/sandbox/v1/personas/zhang.wei/consents").status_code == 401


def test_the_consent_dashboard_lists_every_kind_the_persona_decided(stack, partner):
    creditor = partner.accounts_of("li.na")[0]["Identification"]
    aisp_id, _ = aisp_consent(partner, "zhang.wei")
    _, pisp_id, _ = pisp_consent(partner, "zhang.wei", creditor)
    cbpii_id, _ = cbpii_consent(partner, "zhang.wei")
    lending_id, _ = lending_consent(partner, "zhang.wei")
    denied_id, _ = lending_consent(partner, "zhang.wei", decision="deny")

    rows = _consents(stack, partner, "zhang.wei")
    assert {rows[i]["Kind"] for i in (aisp_id, pisp_id, cbpii_id, lending_id)} == {
        "account-access", "domestic-payment", "funds-confirmation", "loan-application"}  # fmt: skip
    for consent_id in (aisp_id, pisp_id, cbpii_id, lending_id):
        row = rows[consent_id]
        assert row["Status"] == "AUTH" and row["ClientId"] == partner.partner.client_id
        assert row["ClientName"] == "测试商城 Test Mall"
        assert row["CreationDateTime"] and row["StatusUpdateDateTime"] and row["Summary"]
    assert rows[aisp_id]["Permissions"] == ["ReadAccountsDetail", "ReadBalances"]
    assert rows[denied_id]["Status"] == "RJCT"
    assert list(rows) == sorted(rows, key=lambda i: (rows[i]["CreationDateTime"], i), reverse=True)
    assert _consents(stack, partner, "li.na") == {}  # li.na decided none of them


def test_revoking_an_aisp_consent_stops_the_partners_token(stack, partner):
    consent_id, token = aisp_consent(partner, "zhang.wei")
    assert partner.call("GET", f"{AISP}/accounts", token).status_code == 200
    revoked = _revoke(stack, partner, "zhang.wei", consent_id)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["Data"]["Consent"][0]["Status"] == "CANC"
    assert _consents(stack, partner, "zhang.wei")[consent_id]["Status"] == "CANC"
    refused = partner.call("GET", f"{AISP}/accounts", token)
    assert refused.status_code == 403, refused.text
    assert refused.json()["Errors"][0]["ErrorCode"]
    read = partner.call("GET", f"{AISP}/account-access-consents/{consent_id}", partner.token_for("accounts"))
    assert read.json()["Data"]["Status"] == "CANC"
    assert len(_revoked_events(stack, partner.tenant_id, consent_id)) == 1


def test_revoking_a_payment_consent_stops_the_payment_and_emits_the_event(stack, partner):
    creditor = partner.accounts_of("li.na")[0]["Identification"]
    body, consent_id, token = pisp_consent(partner, "zhang.wei", creditor)
    revoked = _revoke(stack, partner, "zhang.wei", consent_id)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["Data"]["Consent"][0]["Status"] == "CANC"
    paid = partner.pay(body, consent_id, token)
    assert paid.status_code == 403, paid.text
    assert paid.json()["Errors"][0]["ErrorCode"]
    response = partner.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}")
    pisp_valid("/domestic-payment-consents/{ConsentId}", "get", response)  # the OBIE enum has no CANC
    read = response.json()["Data"]
    assert read["Status"] == "RJCT" and read["StatusReason"][0]["StatusReasonCode"] == "CANC"
    events = _revoked_events(stack, partner.tenant_id, consent_id)
    assert len(events) == 1 and events[0].client_id == partner.partner.client_id
    assert events[0].subject["ResourceType"] == "domestic-payment-consents"

    again = _revoke(stack, partner, "zhang.wei", consent_id)  # revoking twice changes nothing
    assert again.status_code == 200 and again.json()["Data"]["Consent"][0]["Status"] == "CANC"
    assert len(_revoked_events(stack, partner.tenant_id, consent_id)) == 1


def test_revoking_funds_and_lending_consents_stops_their_tokens(stack, partner):
    cbpii_id, cbpii_token = cbpii_consent(partner, "zhang.wei")
    lending_id, lending_token = lending_consent(partner, "zhang.wei")
    for consent_id in (cbpii_id, lending_id):
        assert _revoke(stack, partner, "zhang.wei", consent_id).status_code == 200
    asked = partner.call("POST", f"{CBPII}/funds-confirmations", cbpii_token, json={"Data": {
        "ConsentId": cbpii_id, "Reference": "r-1", "InstructedAmount": {"Amount": "1.00", "Currency": "CNY"}}})  # fmt: skip
    assert asked.status_code == 403, asked.text
    applied = apply(partner, lending_id, lending_token)
    assert applied.status_code == 403, applied.text
    assert applied.json()["Errors"][0]["ErrorCode"]
    rows = _consents(stack, partner, "zhang.wei")
    assert rows[cbpii_id]["Status"] == rows[lending_id]["Status"] == "CANC"
    assert _revoked_events(stack, partner.tenant_id, lending_id)[0].subject["ResourceType"] == (
        "loan-application-consents"
    )


def test_someone_elses_unknown_or_finished_consent_cannot_be_revoked(stack, partner, new_tenant):
    consent_id, token = aisp_consent(partner, "zhang.wei")
    assert _revoke(stack, partner, "li.na", consent_id).status_code == 404  # not li.na's
    assert _revoke(stack, partner, "zhang.wei", "aac-unknown").status_code == 404
    _, other_token = new_tenant("other")
    other = stack.gateway.post(f"/sandbox/v1/personas/zhang.wei/consents/{consent_id}/revoke",
                               headers={"Authorization": f"Bearer {other_token}"})  # fmt: skip
    assert other.status_code == 404  # another tenant's consent
    assert partner.call("GET", f"{AISP}/accounts", token).status_code == 200  # untouched

    denied_id, _ = lending_consent(partner, "zhang.wei", decision="deny")
    refused = _revoke(stack, partner, "zhang.wei", denied_id)
    assert refused.status_code == 409 and refused.json()["Errors"][0]["ErrorCode"]
    assert _consents(stack, partner, "zhang.wei")[denied_id]["Status"] == "RJCT"
