"""Lending test harness: loans reaches accounts in-process; a partner app with a client-credentials token; customer
tokens minted by the gateway's own issuer (the authorization-code journey is the gateway's to test)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.oauth.tokens import AccessTokenClaims
from openbank_kit.http_client import ServiceClient

PERSONAS = {
    "zhang.wei": "CUS000001",
    "li.na": "CUS000002",
    "wang.fang": "CUS000003",
    "chen.jie": "CUS000004",
    "liu.yang": "CUS000005",
    "zhao.min": "CUS000006",
    "sun.hui": "CUS000007",
    "zhou.qiang": "CUS000008",
}


@pytest.fixture(scope="session", autouse=True)
def _loans_reach_accounts_and_payments_in_process(stack):
    loans = stack.services["loans"].app
    original = loans.state.accounts_client
    loans.state.accounts_client = ServiceClient(
        "http://accounts",
        client=stack.services["accounts"],
        token_provider=lambda: stack.settings.internal_token,
        max_retries=0,
    )
    original_payments = loans.state.payments_client
    loans.state.payments_client = ServiceClient(
        "http://payments",
        client=stack.services["payments"],
        token_provider=lambda: stack.settings.internal_token,
        max_retries=0,
    )
    yield
    loans.state.accounts_client = original
    loans.state.payments_client = original_payments


@dataclass
class Partner:
    stack: object
    tenant_id: str
    client_id: str
    client_token: str
    initial_token: str = ""

    @property
    def client_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.client_token}"}

    def customer_headers(self, customer_id: str, consent_id: str, key: str | None = None) -> dict[str, str]:
        token, _ = self.stack.gateway.app.state.oauth.token_issuer.issue(
            AccessTokenClaims(
                tenant_id=self.tenant_id,
                client_id=self.client_id,
                subject=customer_id,
                scope="lending",
                intent_id=consent_id,
            )
        )
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["x-idempotency-key"] = key
        return headers

    def create_consent(
        self, product_id="quick-loan", amount="50000.00", term=12, method="EQUAL_INSTALMENT", **extra
    ):
        data = {"ProductId": product_id, "Amount": {"Amount": amount, "Currency": "CNY"}, "TermMonths": term,
                "RepaymentMethod": method, "Purpose": "家庭装修 home renovation", **extra}  # fmt: skip
        return self.stack.gateway.post(
            "/lending/v1/loan-application-consents",
            json={"Data": data, "Risk": {}},
            headers=self.client_headers,
        )

    def authorise(self, consent_id: str, customer_id: str, decision="approve", account_ids=None):
        body = {"ClientId": self.client_id, "CustomerId": customer_id, "Decision": decision}
        if account_ids is not None:
            body["AccountIds"] = account_ids
        return self.stack.services["loans"].post(
            f"/internal/v1/tenants/{self.tenant_id}/consents/{consent_id}/authorisation",
            json=body,
            headers=self.stack.internal_headers,
        )

    def apply(self, customer_id: str, consent_id: str, key: str = "app-1"):
        return self.stack.gateway.post(
            "/lending/v1/applications",
            json={"Data": {"ConsentId": consent_id}, "Risk": {}},
            headers=self.customer_headers(customer_id, consent_id, key),
        )

    def advance_clock(self, days: int) -> None:
        response = self.stack.gateway.post(
            "/sandbox/v1/clock/advance",
            json={"Days": days},
            headers={"Authorization": f"Bearer {self.initial_token}"},
        )
        assert response.status_code == 200, response.text

    def balance_fen(self, account_id: str) -> int:
        response = self.stack.services["accounts"].get(
            f"/internal/v1/tenants/{self.tenant_id}/accounts/{account_id}/balance",
            headers=self.stack.internal_headers,
        )
        assert response.status_code == 200, response.text
        return int(response.json()["Balance"]["Amount"].replace(".", ""))

    def ledger_balanced(self) -> bool:
        response = self.stack.services["accounts"].get(
            f"/internal/v1/tenants/{self.tenant_id}/ledger/check", headers=self.stack.internal_headers
        )
        return response.json()["Balanced"]

    def journey(self, username: str, **terms):
        """Consent → authorisation → application; returns (customer_id, consent_id, application response)."""
        customer_id = PERSONAS.get(username, username)
        consent = self.create_consent(**terms)
        assert consent.status_code == 201, consent.text
        consent_id = consent.json()["Data"]["ConsentId"]
        authorised = self.authorise(consent_id, customer_id)
        assert authorised.status_code == 200, authorised.text
        return customer_id, consent_id, self.apply(customer_id, consent_id, key=f"k-{consent_id[-20:]}")


def make_partner(stack, tenant_id: str, initial_token: str) -> Partner:
    registration = stack.gateway.post(
        "/sandbox/v1/apps",
        json={"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]},
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert registration.status_code == 201, registration.text
    app = registration.json()
    form = {"grant_type": "client_credentials", "scope": "lending", "client_id": app["client_id"],
            "client_secret": app["client_secret"]}  # fmt: skip
    token = stack.gateway.post("/oauth2/token", data=form)
    assert token.status_code == 200, token.text
    return Partner(stack, tenant_id, app["client_id"], token.json()["access_token"], initial_token)


@pytest.fixture
def partner(stack, new_tenant) -> Partner:
    tenant_id, initial_token = new_tenant("lend")
    return make_partner(stack, tenant_id, initial_token)


@pytest.fixture(scope="module")
def shared_partner(stack):
    """One tenant for a module's read-mostly tests (tenant creation costs about a second)."""
    import secrets

    name = f"lendm-{secrets.token_hex(3)}"
    response = stack.gateway.post("/sandbox/v1/tenants", json={"Name": name})
    assert response.status_code == 201, response.text
    yield make_partner(stack, name, response.json()["InitialAccessToken"])
    stack.gateway.app.state.tenant_service.delete(name)
