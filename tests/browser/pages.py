"""Page helpers for the browser tests: one small class per site a person clicks through.

Each takes a Playwright `Page` and a base URL and says what a person does ("sign in as zhang.wei and approve"),
so a test reads as the journey. To add the developer portal's journeys (sign up → create app), add a `Portal`
class beside these and a fixture for it in conftest.py.
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
