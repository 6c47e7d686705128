"""Payments test harness: payments reaches accounts in-process; a fapi2 partner that runs the real journey
(client-credentials consent → PAR naming it → headless approval by the persona → code + DPoP → payment)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pytest

from loadtests.partner import ISSUER, Partner, pkce_pair
from openbank_kit.http_client import ServiceClient
from tests.gateway.test_authorization_code import authorization_url, exchange, headless, push, redirect_params
from tests.obie_schema import assert_obie_response

PISP = "/open-banking/v4.0/pisp"
CUSTOMERS = {"zhang.wei": "CUS000001", "li.na": "CUS000002", "zhao.min": "CUS000006", "sun.hui": "CUS000007"}
OTHER_BANK_NUMBER = "6219980000000004242"  # not this bank's BIN: reached through CNAPS


@pytest.fixture(scope="session", autouse=True)
def _payments_reach_accounts_in_process(stack):
    payments = stack.services["payments"].app
    original = payments.state.accounts_client
    payments.state.accounts_client = ServiceClient(
        "http://accounts",
        client=stack.services["accounts"],
        token_provider=lambda: stack.settings.internal_token,
        max_retries=0,
    )
    yield
    payments.state.accounts_client = original


def pisp_valid(path: str, method: str, response) -> None:
    """Every PISP response in these tests validates against the official OBIE v4.0 OpenAPI."""
    assert_obie_response("payment-initiation", path, method, response)


@dataclass
class Pisp:
    stack: object
    tenant_id: str
    initial_token: str
    partner: Partner
    _app_token: str | None = field(default=None)

    def app_token(self) -> str:
        if self._app_token is None:
            response = self.stack.gateway.post(
                "/oauth2/token",
                data=self.partner.client_credentials_form(scope="payments"),
                headers={"DPoP": self.partner.dpop("POST", f"{ISSUER}/oauth2/token")},
            )
            assert response.status_code == 200, response.text
            self._app_token = response.json()["access_token"]
        return self._app_token

    def call(self, method: str, path: str, token: str | None = None, *, json=None, key: str | None = None):
        token = token or self.app_token()
        headers = {"Authorization": f"DPoP {token}",
                   "DPoP": self.partner.dpop(method, ISSUER + path, access_token=token)}  # fmt: skip
        if key is not None:
            headers["x-idempotency-key"] = key
        return self.stack.gateway.request(method, path, json=json, headers=headers)

    # --- the accounts side, read through the ledger's internal API ------------------------------------------
    def accounts_of(self, username: str) -> list[dict]:
        response = self.stack.services["accounts"].get(
            f"/internal/v1/tenants/{self.tenant_id}/customers/{CUSTOMERS[username]}/accounts",
            headers=self.stack.internal_headers,
        )
        assert response.status_code == 200, response.text
        return response.json()["Data"]["Account"]

    def balance_fen(self, account_id: str) -> int:
        response = self.stack.services["accounts"].get(
            f"/internal/v1/tenants/{self.tenant_id}/accounts/{account_id}/balance",
            headers=self.stack.internal_headers,
        )
        assert response.status_code == 200, response.text
        return int(response.json()["Balance"]["Amount"].replace(".", ""))

    def credit(self, account_id: str, amount: str) -> None:
        """Money arrives from outside the payments service (a salary), straight through the ledger."""
        response = self.stack.services["accounts"].post(
            f"/internal/v1/tenants/{self.tenant_id}/ledger/transactions",
            json={"Category": "SALARY", "Description": "test credit", "Postings": [
                {"AccountId": account_id, "CreditDebitIndicator": "Credit", "Amount": {"Amount": amount, "Currency": "CNY"}},
                {"AccountId": "INT-OPENING-BALANCE", "CreditDebitIndicator": "Debit", "Amount": {"Amount": amount, "Currency": "CNY"}},
            ]},
            headers={**self.stack.internal_headers, "x-idempotency-key": "credit-" + secrets.token_hex(8)},
        )  # fmt: skip
        assert response.status_code == 201, response.text

    def move_out(self, account_id: str, fen: int) -> None:
        """Money leaves outside the payments service (a card purchase), straight through the ledger."""
        amount = {"Amount": f"{fen // 100}.{fen % 100:02d}", "Currency": "CNY"}
        response = self.stack.services["accounts"].post(
            f"/internal/v1/tenants/{self.tenant_id}/ledger/transactions",
            json={"Category": "CARD", "Description": "test debit", "Postings": [
                {"AccountId": account_id, "CreditDebitIndicator": "Debit", "Amount": amount},
                {"AccountId": "INT-SETTLEMENT-ECOM", "CreditDebitIndicator": "Credit", "Amount": amount},
            ]},
            headers={**self.stack.internal_headers, "x-idempotency-key": "debit-" + secrets.token_hex(8)},
        )  # fmt: skip
        assert response.status_code == 201, response.text

    def ledger_balanced(self) -> bool:
        response = self.stack.services["accounts"].get(
            f"/internal/v1/tenants/{self.tenant_id}/ledger/check", headers=self.stack.internal_headers
        )
        return response.json()["Balanced"]

    def advance_clock(self, days: int) -> None:
        response = self.stack.gateway.post(
            "/sandbox/v1/clock/advance",
            json={"Days": days},
            headers={"Authorization": f"Bearer {self.initial_token}"},
        )
        assert response.status_code == 200, response.text

    # --- the PISP journey ---------------------------------------------------------------------------------
    def consent_body(
        self, creditor: str, amount: str = "100.00", debtor: str | None = None, **initiation
    ) -> dict:
        body = {
            "Data": {
                "Initiation": {
                    "InstructionIdentification": "INSTR-" + secrets.token_hex(4),
                    "EndToEndIdentification": "E2E-" + secrets.token_hex(4),
                    "LocalInstrument": "CN.CNAPS.IBPS",
                    "InstructedAmount": {"Amount": amount, "Currency": "CNY"},
                    "CreditorAccount": {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": creditor,
                                        "Name": "李娜"},
                    "RemittanceInformation": {"Unstructured": ["房租 rent"]},
                    **initiation,
                }
            },
            "Risk": {"PaymentContextCode": "TransferToThirdParty"},
        }  # fmt: skip
        if debtor:
            body["Data"]["Initiation"]["DebtorAccount"] = {
                "SchemeName": "CN.CNAPS.AccountNumber",
                "Identification": debtor,
            }
        return body

    def create_consent(self, body: dict, key: str | None = None):
        return self.call(
            "POST", f"{PISP}/domestic-payment-consents", json=body, key=key or secrets.token_hex(8)
        )

    def token_for(self, scope: str) -> str:
        """A client-credentials token for another scope (e.g. fundsconfirmations)."""
        response = self.stack.gateway.post(
            "/oauth2/token",
            data=self.partner.client_credentials_form(scope=scope),
            headers={"DPoP": self.partner.dpop("POST", f"{ISSUER}/oauth2/token")},
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def authorise(self, consent_id: str, username: str, decision: str = "approve", account_ids=None,
                  scope: str = "payments") -> str:  # fmt: skip
        """The persona approves at the bank (headless); the partner's DPoP-bound customer access token."""
        verifier, challenge = pkce_pair()
        request_uri = push(self.stack, self.partner, challenge, scope=f"openid {scope}",
                           openbanking_intent_id=consent_id)  # fmt: skip
        extra = {"AccountIds": account_ids} if account_ids is not None else {}
        params = redirect_params(
            headless(self.stack, self.initial_token, authorization_url(self.partner.client_id, request_uri),
                     username=username, decision=decision, **extra)
        )  # fmt: skip
        if decision != "approve":
            assert params["error"] == "access_denied"
            return ""
        tokens = exchange(self.stack, self.partner, params["code"], verifier)
        assert tokens.status_code == 200, tokens.text
        return tokens.json()["access_token"]

    def pay(self, consent_body: dict, consent_id: str, token: str, key: str | None = None):
        body = {"Data": {"ConsentId": consent_id, "Initiation": consent_body["Data"]["Initiation"]},
                "Risk": consent_body["Risk"]}  # fmt: skip
        return self.call(
            "POST", f"{PISP}/domestic-payments", token, json=body, key=key or secrets.token_hex(8)
        )

    def authorised_consent(self, username: str, creditor: str, amount: str = "100.00", **kwargs):
        """(consent body, consent id, customer token): a consent the persona has approved."""
        body = self.consent_body(creditor, amount, **kwargs)
        created = self.create_consent(body)
        assert created.status_code == 201, created.text
        consent_id = created.json()["Data"]["ConsentId"]
        return body, consent_id, self.authorise(consent_id, username)


def make_pisp(stack, tenant_id: str, initial_token: str) -> Pisp:
    partner = Partner()
    registered = stack.gateway.post(
        "/oauth2/register",
        json=partner.fapi2_metadata(),
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert registered.status_code == 201, registered.text
    partner.client_id = registered.json()["client_id"]
    return Pisp(stack, tenant_id, initial_token, partner)


@pytest.fixture
def pisp(stack, new_tenant) -> Pisp:
    tenant_id, initial_token = new_tenant("pay")
    return make_pisp(stack, tenant_id, initial_token)
