"""AISP test helpers: a sandbox-basic app, its client-credentials token, consents decided the way the gateway's
consent page decides them, and customer tokens minted directly (the authorization-code journey is the gateway's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gateway.oauth.tokens import AccessTokenClaims
from tests.obie_schema import assert_obie_response

AISP = "/open-banking/v4.0/aisp"
ZHANG_WEI = "CUS000001"  # Class I ACC0000001 + Class II ACC0000002
LI_NA = "CUS000002"
SUN_HUI = "CUS000007"  # owns the SME CUS000101
ALL_READS = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsDetail",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
    "ReadParty",
    "ReadPartyPSU",
    "ReadProducts",
    "ReadStatementsDetail",
    "ReadBeneficiariesDetail",
    "ReadDirectDebits",
    "ReadStandingOrdersDetail",
    "ReadScheduledPaymentsDetail",
    "ReadPAN",
]


@dataclass
class SandboxApp:
    """One partner app of one tenant, calling through the gateway with Bearer tokens (sandbox-basic)."""

    stack: object
    tenant_id: str
    initial_token: str
    client_id: str
    client_secret: str
    tokens: dict = field(default_factory=dict)

    @property
    def client_token(self) -> str:
        if "client" not in self.tokens:
            form = {"grant_type": "client_credentials", "scope": "accounts", "client_id": self.client_id,
                    "client_secret": self.client_secret}  # fmt: skip
            response = self.stack.gateway.post("/oauth2/token", data=form)
            assert response.status_code == 200, response.text
            self.tokens["client"] = response.json()["access_token"]
        return self.tokens["client"]

    def customer_token(self, consent_id: str, customer_id: str) -> str:
        claims = AccessTokenClaims(tenant_id=self.tenant_id, client_id=self.client_id, subject=customer_id,
                                   scope="accounts", intent_id=consent_id)  # fmt: skip
        token, _ = self.stack.gateway.app.state.oauth.token_issuer.issue(claims)
        return token

    def call(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token or self.client_token}", **kwargs.pop("headers", {})}
        return self.stack.gateway.request(method, AISP + path, headers=headers, **kwargs)

    def create_consent(self, permissions=None, **data) -> dict:
        body = {"Data": {"Permissions": permissions or ALL_READS, **data}, "Risk": {}}
        response = self.call("POST", "/account-access-consents", json=body)
        assert response.status_code == 201, response.text
        assert_obie_response("account-info", "/account-access-consents", "post", response)
        return response.json()["Data"]

    def authorise(self, consent_id: str, customer_id: str, decision: str = "approve", account_ids=None,
                  client_id: str | None = None):  # fmt: skip
        body = {"ClientId": client_id or self.client_id, "CustomerId": customer_id, "Decision": decision,
                "AccountIds": account_ids}  # fmt: skip
        return self.stack.services["accounts"].post(
            f"/internal/v1/tenants/{self.tenant_id}/consents/{consent_id}/authorisation",
            json=body,
            headers=self.stack.internal_headers,
        )

    def authorised_token(
        self, customer_id: str = ZHANG_WEI, permissions=None, account_ids=None, **data
    ) -> str:
        consent = self.create_consent(permissions, **data)
        response = self.authorise(consent["ConsentId"], customer_id, account_ids=account_ids)
        assert response.status_code == 200, response.text
        return self.customer_token(consent["ConsentId"], customer_id)

    def read(self, path: str, token: str, template: str | None = None, status: int = 200, **kwargs):
        """GET an AISP path with a customer token; validates the body against the OBIE schema for `template`."""
        response = self.call("GET", path, token, **kwargs)
        assert response.status_code == status, response.text
        if template is not None:
            assert_obie_response("account-info", template, "get", response)
        return response

    def advance_clock(self, days: int) -> None:
        response = self.stack.gateway.post("/sandbox/v1/clock/advance", json={"Days": days},
                                           headers={"Authorization": f"Bearer {self.initial_token}"})  # fmt: skip
        assert response.status_code == 200, response.text


def make_app(stack, tenant: tuple[str, str]) -> SandboxApp:
    response = stack.gateway.post(
        "/sandbox/v1/apps",
        json={"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]},
        headers={"Authorization": f"Bearer {tenant[1]}"},
    )
    assert response.status_code == 201, response.text
    registration = response.json()
    return SandboxApp(stack, tenant[0], tenant[1], registration["client_id"], registration["client_secret"])


@pytest.fixture
def tenant(new_tenant) -> tuple[str, str]:
    return new_tenant("aisp")


@pytest.fixture
def app(stack, tenant) -> SandboxApp:
    return make_app(stack, tenant)


@pytest.fixture
def other_app(stack, tenant) -> SandboxApp:
    """A second app of the same tenant."""
    return make_app(stack, tenant)
