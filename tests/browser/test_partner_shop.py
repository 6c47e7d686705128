"""The partner demo shop in a real headless Chromium against `openbank up --with-demo`: a shopper clicks through
the shop and the bank's own consent pages, as in production. Screenshots of every main page go to var/screenshots/.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.pages import TIMEOUT_MS, BankConsentPages, Shop, shoot

# One stack per module: under `pytest -n 2 --dist loadgroup` (make test) the module stays on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-shop")]
ZHANG_WEI = "CUS000001"


@pytest.fixture
def shop(page, running_stack) -> Shop:
    return Shop(page, running_stack.shop_url)


@pytest.fixture
def bank(page, running_stack) -> BankConsentPages:
    return BankConsentPages(page, running_stack.gateway_url)


def persona_revokes_consent_at_the_bank(running_stack, consent_id: str, username: str) -> None:
    """The customer withdraws the app's access at the bank.

    Through the sandbox's persona view (`POST /sandbox/v1/personas/{Username}/consents/{ConsentId}/revoke`, what
    the portal's "customer's view" calls): the demo tenant of `openbank up --with-demo` has no portal developer
    account to sign in with. The same step clicked in the portal is in test_portal_journey.py (its own tenant).
    """
    revoked = running_stack.sandbox("POST", f"/sandbox/v1/personas/{username}/consents/{consent_id}/revoke")
    assert revoked.status_code == 200 and "CANC" in revoked.text, revoked.text


def test_checkout_payment_is_settled_when_the_banks_signed_event_arrives(page, shop, bank, running_stack):
    shop.open()
    shoot(page, "01-shop-products")
    shop.pay_at_checkout("ac-15")
    bank.sign_in_and_approve("zhang.wei", shot="02-checkout")
    shop.wait_for_order_status("SETTLED")
    expect(page.locator("main")).to_contain_text("signed bank notification received")
    expect(page.locator("main")).to_contain_text("ACCC")
    shoot(page, "03-checkout-order-settled")
    payment_id = page.inner_text("#payment-id")
    # The bank's side: its webhook delivery of this payment's event to the shop was answered 2xx.
    deliveries = running_stack.sandbox("GET", "/sandbox/v1/event-deliveries?limit=50").json()["Data"][
        "Delivery"
    ]
    delivered = [d for d in deliveries if d["ResourceId"] == payment_id and d["Status"] == "DELIVERED"]
    assert delivered and all(d["CallbackUrl"] == f"{running_stack.shop_url}/webhooks" for d in delivered)


def test_instalment_checkout_for_zhang_wei_is_approved_accepted_and_pays_the_merchant(page, shop, bank):
    shop.pay_in_instalments("fridge-sbs")
    bank.sign_in_and_approve("zhang.wei", shot="04-instalments", tick_credit_inquiry=True)
    shop.wait_for_order_status("OFFERED")
    expect(page.locator("#offer-term")).to_contain_text("12 ×")
    expect(page.locator("#offer-apr")).to_have_text(re.compile(r"^\d+\.\d{2}%$"))
    expect(page.locator("#offer-interest")).to_have_text(re.compile(r"^¥\d+\.\d{2}$"))
    shoot(page, "05-instalments-offer")
    page.click("#accept-offer")
    shop.wait_for_order_status("PAID_BY_LOAN")
    expect(page.locator("#loan-id")).to_have_text(re.compile(r"\S+"))
    expect(page.locator("#order-message")).to_contain_text("paid the merchant")
    shoot(page, "06-instalments-paid")


def test_instalment_checkout_for_chen_jie_is_declined_with_the_fraud_reason_in_words(page, shop, bank):
    shop.pay_in_instalments("wash-10")
    bank.sign_in_and_approve("chen.jie", tick_credit_inquiry=True)
    shop.wait_for_order_status("DECLINED")
    reasons = page.locator("#decline-reasons .reason")
    expect(reasons).to_have_count(1)
    expect(reasons.first).to_contain_text("FRAUD_BLACKLIST")
    expect(page.locator("#accept-offer")).to_have_count(0)
    shoot(page, "07-instalments-declined")


def test_a_linked_account_shows_balances_until_the_customer_revokes_the_consent(
    page, shop, bank, running_stack
):
    shop.link_account()
    bank.sign_in_and_approve("zhang.wei", shot="08-link-account")
    expect(page.locator("#accounts .account").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#accounts .balance").first).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    shoot(page, "09-linked-accounts")
    consent_id = page.inner_text("#consent-id")

    persona_revokes_consent_at_the_bank(running_stack, consent_id, "zhang.wei")

    page.reload()  # the shop's next accounts call
    expect(page.locator("#bank-error")).to_contain_text("403")
    expect(page.locator("#bank-error")).to_contain_text("CANC")
    expect(page.locator("#accounts")).to_have_count(0)
    # The bank also pushes a signed consent-authorization-revoked event; the page says so once it has arrived.
    for _ in range(40):  # a bound on the wait: the bank's dispatcher pushes within a few seconds
        if page.locator("#revoked-notice").count():
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(page.locator("#revoked-notice")).to_be_visible()
    shoot(page, "10-linked-accounts-revoked")


def test_declining_at_the_bank_cancels_the_order(page, shop, bank):
    shop.pay_at_checkout("robot-vac")
    bank.sign_in("zhang.wei")
    page.click("#deny")
    shop.wait_for_order_status("CANCELLED")
    expect(page.locator("#order-error")).to_contain_text("access_denied")


def _zhang_weis_outstanding_bill() -> dict:
    """A bill zhang.wei owes: persona references are fixed by sandbox_data (they depend only on the username)."""
    from datetime import date

    from sandbox_data import WorldConfig, generate_world

    world = generate_world(WorldConfig(as_of_date=date.today(), retail_customers=20, smes=3))
    return next(b for b in world.tables["payments.bill"]
                if b["customer_id"] == ZHANG_WEI and b["status"] == "OUTSTANDING")  # fmt: skip


def test_a_utility_bill_is_looked_up_and_paid_from_the_shop(page, shop, bank):
    bill = _zhang_weis_outstanding_bill()  # its biller and reference; the period is read from the page
    page.goto(shop.url + "/bills")
    page.select_option("#biller", bill["biller_id"])
    page.fill("#reference", bill["customer_reference"])
    page.click("#look-up")
    pay_buttons = page.locator("#bills button[id^='pay-bill-']")
    expect(pay_buttons).to_have_count(1)  # the latest period is outstanding, earlier ones are paid
    bill_id = pay_buttons.first.get_attribute("id").removeprefix("pay-bill-")
    shoot(page, "11-bill-lookup")
    pay_buttons.first.click()
    bank.sign_in_and_approve("zhang.wei", shot="12-bill")
    shop.wait_for_order_status("SETTLED")
    expect(page.locator("main")).to_contain_text(bill_id)
    shoot(page, "13-bill-paid")
    # Paid once: the biller now shows it PAID, with no pay button.
    page.goto(f"{shop.url}/bills?biller_id={bill['biller_id']}&reference={bill['customer_reference']}")
    expect(page.locator("#bills .bill").first).to_be_visible()
    expect(pay_buttons).to_have_count(0)


def test_a_payment_the_account_cannot_cover_shows_the_banks_reason(page, shop, bank):
    shop.pay_at_checkout("robot-vac")  # ¥1,599 from zhao.min's Class Ⅲ account, which holds at most ¥600
    bank.sign_in_and_approve("zhao.min")
    shop.wait_for_order_status("FAILED")
    expect(page.locator("#order-error")).to_contain_text("Insufficient funds")
    expect(page.locator("#order-error")).to_contain_text("AM04")
    shoot(page, "14-checkout-insufficient-funds")


def test_the_shop_refuses_an_event_not_signed_by_the_bank(running_stack):
    """Anyone can POST to a webhook: only a SET the bank's JWKS verifies may change an order."""
    import time

    from joserfc import jwt
    from joserfc.jwk import ECKey

    forger = ECKey.generate_key("P-256", parameters={"kid": "evt-forged"}, private=True)
    claims = {"iss": running_stack.gateway_url, "iat": int(time.time()), "jti": "forged-1", "aud": "anyone",
              "events": {"urn:uk:org:openbanking:events:resource-update": {
                  "subject": {"http://openbanking.org.uk/rid": "dp_forged"}}}}  # fmt: skip
    forged = jwt.encode({"alg": "ES256", "kid": "evt-forged", "typ": "secevent+jwt"}, claims, forger)
    with httpx.Client(base_url=running_stack.shop_url, trust_env=False) as http:
        for body in (forged, "not-a-jwt"):
            answered = http.post("/webhooks/event-notifications", content=body,
                                 headers={"content-type": "application/jwt"})  # fmt: skip
            assert answered.status_code == 400


def test_with_a_linked_account_bill_pay_offers_the_bills_paid_before(page, shop, bank):
    shop.link_account()
    bank.sign_in_and_approve("li.na")
    expect(page.locator("#accounts .account").first).to_be_visible(timeout=TIMEOUT_MS)
    page.goto(shop.url + "/bills")
    known = page.locator("#known-bills .known-bill")
    expect(known.first).to_be_visible()
    shoot(page, "15-bills-known-from-linked-account")
    known.first.click()
    expect(page.locator("#bills .bill").first).to_be_visible()
    expect(page.locator("#bills button[id^='pay-bill-']")).to_have_count(
        1
    )  # the latest period is outstanding


def test_the_partner_client_renews_a_refused_access_token_with_its_refresh_token(running_stack):
    """What the shop's accounts page does on a 401: refresh once (fapi2 client, DPoP-bound), then read again."""
    from urllib.parse import parse_qs, urlsplit

    from examples.fapi2_client import Fapi2Client

    issuer, redirect_uri = running_stack.gateway_url, "https://refresh.example/cb"
    client, _ = Fapi2Client.register(
        issuer, running_stack.initial_access_token, "refresh test", [redirect_uri]
    )
    app_token = client.client_credentials("accounts")["access_token"]
    consent = client.call("POST", f"{issuer}/open-banking/v4.0/aisp/account-access-consents", app_token,
                          {"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}})  # fmt: skip
    pending = client.push_authorization("openid accounts", consent.json()["Data"]["ConsentId"], redirect_uri)
    approved = running_stack.sandbox("POST", "/sandbox/v1/authorize", json={
        "AuthorizationUrl": pending.url, "Username": "zhang.wei", "Password": "sandbox", "Otp": "123456",
        "Decision": "approve"})  # fmt: skip
    params = {k: v[0] for k, v in parse_qs(urlsplit(approved.json()["RedirectTo"]).query).items()}
    tokens = client.exchange_code(pending, params["code"])
    accounts_url = f"{issuer}/open-banking/v4.0/aisp/accounts"

    revoked = client.oauth.post(client.meta["revocation_endpoint"], auth=client.oauth.client_auth(client.assertion),
                                data={"token": tokens["access_token"], "token_type_hint": "access_token"})  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    assert client.call("GET", accounts_url, tokens["access_token"]).status_code == 401

    renewed = client.refresh(tokens["refresh_token"])
    assert renewed["token_type"] == "DPoP" and renewed["access_token"] != tokens["access_token"]
    assert client.call("GET", accounts_url, renewed["access_token"]).status_code == 200
    client.close()


def test_a_restarted_shop_loads_its_saved_registration_and_keeps_one_event_subscription(
    running_stack, tmp_path
):
    from fastapi.testclient import TestClient

    from examples.partner_shop.app import MERCHANT_ACCOUNT, create_app
    from examples.partner_shop.bank import ShopConfig

    config = ShopConfig(issuer=running_stack.gateway_url, initial_access_token=running_stack.initial_access_token,
                        base_url="http://127.0.0.1:9", state_dir=tmp_path / "shop", merchant_account=MERCHANT_ACCOUNT,
                        merchant_name="restart test")  # fmt: skip
    client_ids = []
    for _ in range(2):  # start, stop, start again
        app = create_app(config)
        with TestClient(app) as shop_client:
            assert shop_client.get("/healthz").status_code == 200
            bank = app.state.bank
            client_ids.append(bank.client.client_id)
            listed = bank.call("GET", "/open-banking/v4.0/event-subscriptions", bank.app_token("payments"))
    assert client_ids[0] == client_ids[1]  # registered once
    assert (config.state_dir / "registration.json").stat().st_mode & 0o077 == 0  # the private key is private
    (subscription,) = listed["Data"]["EventSubscription"]
    assert subscription["CallbackUrl"] == "http://127.0.0.1:9/webhooks"
