"""The developer's journey in a real headless Chromium (issue #7): sign up in the portal → create a `fapi2` app with a
generated key → run the partner shop with THAT app → a shopper pays at checkout; then the customer revokes a consent
in the portal's customer's view and the shop shows the bank's refusal. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import shop_process
from tests.browser.pages import TIMEOUT_MS, BankConsentPages, Portal, Shop, shoot
from tests.e2e.conftest import free_ports

# One stack per module: under `pytest -n 2 --dist loadgroup` (make test) the module stays on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]


@dataclass(frozen=True)
class PortalApp:
    tenant_id: str
    client_id: str
    shop_url: str
    developer: BrowserContext  # the signed-in developer's browser profile (the portal session cookie)


@pytest.fixture(scope="module")
def portal_app(browser, running_stack, tmp_path_factory):
    """Sign up, create the fapi2 app for the shop's /callback, download its private key, start the shop with it."""
    (shop_port,) = free_ports(1)
    shop_url = f"http://127.0.0.1:{shop_port}"
    work = tmp_path_factory.mktemp("portal-shop")
    developer = browser.new_context(
        locale="en-US", viewport={"width": 1100, "height": 900}, accept_downloads=True
    )
    page = developer.new_page()
    portal = Portal(page, running_stack.gateway_url)
    team = f"pb-{secrets.token_hex(3)}"
    tenant_id = portal.sign_up(f"{team}@example.com", "correct horse battery", team, shot="20-portal-sign-up")
    shoot(page, "21-portal-dashboard")
    client_id = portal.create_fapi2_app("Meijia via portal", f"{shop_url}/callback", shot="22-portal-new-app")
    shoot(page, "23-portal-app-created-key-shown-once")
    key_file = portal.download_private_key("jwk", work)
    key = json.loads(key_file.read_text())
    assert (
        key["kty"] == "EC" and key["crv"] == "P-256" and "d" in key
    )  # the private half, as shown on the page
    assert json.loads(page.inner_text("#private-jwk")) == key
    page.close()
    env = {"SHOP_ISSUER": running_stack.gateway_url, "SHOP_CLIENT_ID": client_id,
           "SHOP_CLIENT_KEY_FILE": str(key_file), "SHOP_STATE_DIR": str(work / "state")}  # fmt: skip
    with shop_process(env, shop_port, work / "shop.log") as url:
        yield PortalApp(tenant_id, client_id, url, developer)
    developer.close()
    # The shop used the portal's app: it never registered one of its own.
    assert not (work / "state" / "registration.json").exists()


def test_a_shop_running_the_app_made_in_the_portal_settles_a_checkout(page, running_stack, portal_app):
    shop = Shop(page, portal_app.shop_url)
    shop.pay_at_checkout("ac-15")
    BankConsentPages(page, running_stack.gateway_url).sign_in_and_approve("zhang.wei", shot="24-portal-app")
    shop.wait_for_order_status("SETTLED")
    expect(page.locator("main")).to_contain_text("signed bank notification received")
    shoot(page, "25-portal-app-order-settled")
    # The bank saw this app's calls: the portal's audit log of the new tenant lists them.
    developer = portal_app.developer.new_page()
    Portal(developer, running_stack.gateway_url).open("/inspect/audit")
    expect(developer.locator("#audit-table")).to_contain_text(portal_app.client_id)
    developer.close()


def test_revoking_in_the_portals_customer_view_makes_the_shop_show_the_banks_403(
    page, running_stack, portal_app
):
    shop = Shop(page, portal_app.shop_url)
    shop.link_account()
    BankConsentPages(page, running_stack.gateway_url).sign_in_and_approve("zhang.wei")
    expect(page.locator("#accounts .account").first).to_be_visible(timeout=TIMEOUT_MS)
    consent_id = page.inner_text("#consent-id")

    developer = portal_app.developer.new_page()
    portal = Portal(developer, running_stack.gateway_url)
    portal.open()
    portal.log_in_as_persona("zhang.wei")
    row = portal.consent_row(consent_id)
    expect(row).to_contain_text("Meijia via portal")
    shoot(developer, "26-portal-persona-consents")
    portal.revoke(consent_id)
    expect(row.locator(".consent-status")).to_have_text("CANC")
    expect(row.locator("[data-test=revoke-consent]")).to_have_count(0)
    shoot(developer, "27-portal-persona-consent-revoked")
    developer.close()

    page.reload()  # the shop's next accounts call
    expect(page.locator("#bank-error")).to_contain_text("403")
    expect(page.locator("#bank-error")).to_contain_text("CANC")
    expect(page.locator("#accounts")).to_have_count(0)
    shoot(page, "28-portal-revoked-shop-accounts")


def test_screenshots_of_the_main_portal_pages(page, running_stack, portal_app):
    """Every main page renders for the signed-in developer, with this tenant's data; a screenshot of each."""
    shop = Shop(
        page, portal_app.shop_url
    )  # an instalment checkout: a credit decision and idempotency records
    shop.pay_in_instalments("fridge-sbs")
    BankConsentPages(page, running_stack.gateway_url).sign_in_and_approve(
        "zhang.wei", tick_credit_inquiry=True
    )
    shop.wait_for_order_status("OFFERED")

    developer = portal_app.developer.new_page()
    portal = Portal(developer, running_stack.gateway_url)
    portal.open()
    expect(developer.locator("#tenant-id")).to_have_text(portal_app.tenant_id)
    pages = [  # (nav link, what must be on the page, screenshot)
        ("nav-apps", f"[data-test=app-row][data-client-id='{portal_app.client_id}']", "30-portal-apps"),
        ("nav-personas", "[data-test=persona-row][data-username='zhang.wei']", "31-portal-personas"),
        (
            "nav-sandbox",
            f"[data-test=app-switches][data-client-id='{portal_app.client_id}']",
            "32-portal-sandbox",
        ),
        ("nav-audit", "#audit-table [data-test=audit-row]", "33-portal-inspect-calls"),
        ("nav-events", "[data-test=delivery] .delivery-status", "34-portal-inspect-deliveries"),
        ("nav-loan-decisions", "#loan-decisions [data-test=decision-row]", "35-portal-inspect-decisions"),
        (
            "nav-idempotency",
            "#idempotency-records [data-test=idempotency-row]",
            "36-portal-inspect-idempotency",
        ),
        ("nav-classroom", "#classroom-form", "38-portal-classroom"),
    ]
    for nav, must_show, shot in pages:
        developer.click(f"[data-test={nav}]")
        expect(developer.locator(must_show).first).to_be_visible(timeout=TIMEOUT_MS)
        shoot(developer, shot)

    developer.click("[data-test=nav-loan-decisions]")
    developer.locator("#loan-decisions [data-test=decision-row] a").first.click()
    expect(developer.locator("#decision-outcome")).to_contain_text("APPROVED")
    expect(developer.locator("main")).to_contain_text(
        "CreditFileAge"
    )  # the score points (an approval hits no rule)
    shoot(developer, "35b-portal-inspect-decision")

    developer.click("[data-test=nav-api-reference]")
    expect(developer.locator(".swagger-ui .opblock").first).to_be_visible(
        timeout=TIMEOUT_MS
    )  # Swagger UI rendered
    shoot(developer, "37-portal-api-reference")
    developer.close()
