"""The gateway's HTML consent page shows a payment consent and records the customer's choice of account."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from loadtests.partner import pkce_pair
from tests.gateway.test_authorization_code import authorization_url, push
from tests.gateway.test_consent_pages import browser_sign_in
from tests.services.payments.conftest import PISP


def test_zhang_wei_sees_the_payment_and_picks_the_account_to_pay_from(pisp):
    creditor = pisp.accounts_of("li.na")[0]
    class_ii = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "II")
    consent_id = pisp.create_consent(pisp.consent_body(creditor["Identification"], "88.80")).json()["Data"][
        "ConsentId"
    ]
    _, challenge = pkce_pair()
    request_uri = push(
        pisp.stack, pisp.partner, challenge, scope="openid payments", openbanking_intent_id=consent_id
    )
    _, interaction, csrf = browser_sign_in(pisp.stack, authorization_url(pisp.partner.client_id, request_uri))
    page = pisp.stack.gateway.get(interaction)
    assert page.status_code == 200 and "¥88.80" in page.text and creditor["Identification"] in page.text
    assert "房租 rent" in page.text and "[&#39;" not in page.text  # the reference reads as text, not a list
    assert page.text.count('type="radio" name="account_id"') >= 2  # AccountSelection "one"
    decided = pisp.stack.gateway.post(
        interaction + "/decision",
        data={"csrf": csrf, "decision": "approve", "account_id": class_ii["AccountId"]},
        follow_redirects=False,
    )
    assert "code" in parse_qs(urlsplit(decided.headers["location"]).query), decided.headers["location"]
    read = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}").json()["Data"]
    assert read["Status"] == "AUTH" and read["Debtor"]["Identification"] == class_ii["Identification"]
