"""Page helpers for the browser tests: one small class per site a person clicks through.

Each takes a Playwright `Page` and a base URL and says what a person does ("sign in as zhang.wei and approve"),
so a test reads as the journey: the shop, the bank's consent pages, and the developer portal (`Portal`).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"  # ignored by git (var/)
PASSWORD, OTP = "sandbox", "123456"
TIMEOUT_MS = 20_000


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot under var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class BankConsentPages:
    """The gateway's consent pages (/oauth2/authorize/...): sign in as a persona, then approve or deny."""

    def __init__(self, page: Page, gateway_url: str):
        self.page, self.gateway_url = page, gateway_url

    def sign_in(self, username: str, shot: str | None = None) -> None:
        expect(self.page).to_have_url(
            re.compile(re.escape(f"{self.gateway_url}/oauth2/authorize/")), timeout=TIMEOUT_MS
        )
        if shot:
            shoot(self.page, f"{shot}-bank-sign-in")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.fill("#otp", OTP)
        self.page.click("#sign-in")
        expect(self.page.locator("#approve")).to_be_visible(timeout=TIMEOUT_MS)

    def approve(self, shot: str | None = None, tick_credit_inquiry: bool = False) -> None:
        if tick_credit_inquiry:  # 征信查询授权: a loan consent asks for it explicitly
            self.page.check("#credit-inquiry")
        if shot:
            shoot(self.page, f"{shot}-bank-consent")
        self.page.click("#approve")

    def sign_in_and_approve(
        self, username: str, shot: str | None = None, tick_credit_inquiry: bool = False
    ) -> None:
        self.sign_in(username, shot)
        self.approve(shot, tick_credit_inquiry)


class Shop:
    """The partner demo shop (examples/partner_shop)."""

    def __init__(self, page: Page, shop_url: str):
        self.page, self.url = page, shop_url

    def open(self) -> None:
        self.page.goto(self.url + "/")
        expect(self.page.locator("#product-ac-15")).to_be_visible()

    def pay_at_checkout(self, sku: str) -> None:
        self.open()
        self.page.click(f"#pay-{sku}")

    def pay_in_instalments(self, sku: str) -> None:
        self.open()
        self.page.click(f"#instalments-{sku}")

    def link_account(self) -> None:
        self.page.goto(self.url + "/accounts")
        self.page.click("#link-account")

    def order_status(self):
        return self.page.locator("#order-status")

    def wait_for_order_status(self, status: str) -> None:
        """The order page refreshes itself until the order is final (meta refresh): wait for `status`."""
        expect(self.order_status()).to_have_attribute("data-status", status, timeout=TIMEOUT_MS)


class Portal:
    """The developer portal on the gateway (/portal, docs/portal.md "Stable hooks for browser tests"), in English."""

    def __init__(self, page: Page, gateway_url: str):
        self.page, self.url = page, gateway_url + "/portal"

    def open(self, path: str = "") -> None:
        self.page.goto(self.url + path)

    def sign_up(self, email: str, password: str, team: str, shot: str | None = None) -> str:
        """A new developer and tenant; the tenant id off the dashboard it lands on."""
        self.page.goto(f"{self.url}/lang/en?next=/portal/sign-up")
        expect(self.page.locator("#signup-form")).to_be_visible()
        self.page.fill("#signup-form [name=email]", email)
        self.page.fill("#signup-form [name=password]", password)
        self.page.fill("#signup-form [name=team]", team)
        if shot:
            shoot(self.page, shot)
        self.page.click("[data-test=sign-up]")
        expect(self.page.locator("#tenant-id")).to_be_visible(timeout=TIMEOUT_MS)
        return self.page.inner_text("#tenant-id")

    def create_fapi2_app(self, name: str, redirect_uri: str, shot: str | None = None) -> str:
        """A fapi2 app with "generate a key pair for me"; lands on the page that shows the private key once."""
        self.page.click("[data-test=nav-apps]")
        self.open("/apps/new")
        self.page.fill("#create-app-form [name=name]", name)
        self.page.fill("#create-app-form [name=redirect_uris]", redirect_uri)
        self.page.check("#profile-fapi2")
        self.page.check("#key-generate")
        if shot:
            shoot(self.page, shot)
        self.page.click("[data-test=create-app]")
        expect(self.page.locator("#client-id")).to_be_visible(timeout=TIMEOUT_MS)
        return self.page.inner_text("#client-id")

    def download_private_key(self, which: str, directory: Path) -> Path:
        """Click the credentials page's download link (`jwk` or `pem`); where the downloaded file was saved."""
        with self.page.expect_download() as download:
            self.page.click(f"[data-test=download-{which}]")
        path = directory / download.value.suggested_filename
        download.value.save_as(path)
        return path

    def log_in_as_persona(self, username: str) -> None:
        self.page.click("[data-test=nav-personas]")
        self.page.select_option("#persona-sign-in-form [name=username]", username)
        self.page.fill("#persona-sign-in-form [name=password]", PASSWORD)
        self.page.fill("#persona-sign-in-form [name=otp]", OTP)
        self.page.click("[data-test=persona-sign-in]")
        expect(self.page.locator("#persona-username")).to_have_text(username, timeout=TIMEOUT_MS)

    def consent_row(self, consent_id: str):
        return self.page.locator(f"[data-test=consent-row][data-consent-id='{consent_id}']")

    def revoke(self, consent_id: str) -> None:
        """In the customer's view: the consent's Revoke button."""
        self.consent_row(consent_id).locator("[data-test=revoke-consent]").click()
        expect(self.consent_row(consent_id).locator(".consent-status")).not_to_have_text(
            re.compile("^(AUTH|Authorised)$"), timeout=TIMEOUT_MS
        )
