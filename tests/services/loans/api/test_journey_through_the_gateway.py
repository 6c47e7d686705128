"""The lending journey exactly as a fapi2 partner runs it: client-credentials consent → PAR naming it → the persona
approves (credit inquiry included) → code + DPoP → the synchronous decision → accept → the loan; nothing minted."""

from __future__ import annotations

import pytest

from loadtests.partner import ISSUER, Partner, pkce_pair
from tests.gateway.test_authorization_code import authorization_url, exchange, headless, push, redirect_params


def dpop_call(stack, partner: Partner, method: str, path: str, token: str, body: dict, key: str):
    headers = {"Authorization": f"DPoP {token}", "DPoP": partner.dpop(method, ISSUER + path, access_token=token),
               "x-idempotency-key": key}  # fmt: skip
    return stack.gateway.request(method, path, json=body, headers=headers)


@pytest.fixture
def fapi2_partner(stack, new_tenant) -> tuple[Partner, str]:
    tenant_id, initial_token = new_tenant("lendj")
    partner = Partner()
    registered = stack.gateway.post(
        "/oauth2/register",
        json=partner.fapi2_metadata(),
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert registered.status_code == 201, registered.text
    partner.client_id = registered.json()["client_id"]
    return partner, initial_token


def apply_as(stack, partner: Partner, initial_token: str, username: str, amount: str = "50000.00"):
    token_url = f"{ISSUER}/oauth2/token"
    app_token = stack.gateway.post(
        "/oauth2/token",
        data=partner.client_credentials_form(scope="lending"),
        headers={"DPoP": partner.dpop("POST", token_url)},
    ).json()["access_token"]
    consent = dpop_call(stack, partner, "POST", "/lending/v1/loan-application-consents", app_token,
                        {"Data": {"ProductId": "quick-loan", "Amount": {"Amount": amount, "Currency": "CNY"},
                                  "TermMonths": 12, "RepaymentMethod": "EQUAL_INSTALMENT", "Purpose": "家电 appliances"},
                         "Risk": {}}, "c-1")  # fmt: skip
    assert consent.status_code == 201, consent.text
    consent_id = consent.json()["Data"]["ConsentId"]
    verifier, challenge = pkce_pair()
    request_uri = push(stack, partner, challenge, scope="openid lending", openbanking_intent_id=consent_id)
    params = redirect_params(
        headless(stack, initial_token, authorization_url(partner.client_id, request_uri), username=username)
    )
    tokens = exchange(stack, partner, params["code"], verifier).json()
    application = dpop_call(stack, partner, "POST", "/lending/v1/applications", tokens["access_token"],
                            {"Data": {"ConsentId": consent_id}, "Risk": {}}, "a-1")  # fmt: skip
    assert application.status_code == 201, application.text
    return tokens["access_token"], application.json()["Data"]


def test_zhang_wei_is_approved_and_the_loan_is_disbursed(stack, fapi2_partner):
    partner, initial_token = fapi2_partner
    token, data = apply_as(stack, partner, initial_token, "zhang.wei")
    assert data["Decision"]["Outcome"] == "APPROVED", data["Decision"]
    accepted = dpop_call(stack, partner, "POST", f"/lending/v1/applications/{data['ApplicationId']}/accept", token,
                         {"Data": {"OfferId": data["Offer"]["OfferId"]}, "Risk": {}}, "acc-1")  # fmt: skip
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["Data"]["Status"] == "ACTIVE"


def test_chen_jie_is_declined_for_fraud(stack, fapi2_partner):
    partner, initial_token = fapi2_partner
    _, data = apply_as(stack, partner, initial_token, "chen.jie")
    assert data["Decision"]["Outcome"] == "DECLINED" and "FRAUD_BLACKLIST" in data["Decision"]["ReasonCodes"]
    assert "Offer" not in data or not data["Offer"]
