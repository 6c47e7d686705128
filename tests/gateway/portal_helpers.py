"""What the portal tests share: a developer signed up through the sign-up form, with the CSRF token of the page."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@dataclass
class Developer:
    browser: TestClient
    email: str
    team: str

    def csrf(self, path: str = "/portal") -> str:
        page = self.browser.get(path)
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def post(self, path: str, data: dict | None = None, files=None, csrf_from: str = "/portal", **kwargs):
        return self.browser.post(path, data={"csrf": self.csrf(csrf_from), **(data or {})}, files=files,
                                 follow_redirects=False, **kwargs)  # fmt: skip

    @property
    def tenant_id(self) -> str:
        return self.team

    @property
    def initial_access_token(self) -> str:
        page = self.browser.get("/portal").text
        return re.search(r'id="initial-access-token">([^<]+)<', page).group(1)


def browser_for(stack) -> TestClient:
    """A browser of its own (own cookie jar) on the same in-process gateway."""
    return TestClient(stack.gateway.app, base_url="http://testserver")


def sign_up(stack, prefix: str = "dev") -> Developer:
    browser = browser_for(stack)
    team = f"{prefix}-{secrets.token_hex(3)}"
    email = f"{team}@example.com"
    page = browser.get("/portal/sign-up")
    assert page.status_code == 200 and 'id="signup-form"' in page.text
    response = browser.post("/portal/sign-up", data={"csrf": csrf_of(page.text), "email": email,
                                                     "password": PASSWORD, "team": team},
                            follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal"
    return Developer(browser, email, team)


@pytest.fixture
def developers(stack):
    """Sign up developers through the portal; their tenants are deleted after the test."""
    made: list[Developer] = []

    def make(prefix: str = "dev") -> Developer:
        made.append(sign_up(stack, prefix))
        return made[-1]

    yield make
    for developer in made:
        stack.gateway.app.state.tenant_service.delete(developer.tenant_id)
