"""Shared by the sandbox inspector tests: the services reach each other in-process, and one partner app that
runs the real journeys (AISP, PISP, CBPII, lending) for a persona."""

from __future__ import annotations

import secrets

import pytest

from openbank_kit.http_client import ServiceClient
from tests.services.payments.conftest import PISP, Pisp, make_pisp

AISP = "/open-banking/v4.0/aisp"
CBPII = "/open-banking/v4.0/cbpii"
LENDING = "/lending/v1"


@pytest.fixture(scope="module", autouse=True)
def services_reach_each_other_in_process(stack):
    def client(name: str) -> ServiceClient:
        return ServiceClient(f"http://{name}", client=stack.services[name],
                             token_provider=lambda: stack.settings.internal_token, max_retries=0)  # fmt: skip

    wiring = [("payments", "accounts_client", "accounts"), ("loans", "accounts_client", "accounts"),
              ("accounts", "payments_client", "payments")]  # fmt: skip
    originals = []
    for app_name, attribute, target in wiring:
        state = stack.services[app_name].app.state
        originals.append((state, attribute, getattr(state, attribute)))
        setattr(state, attribute, client(target))
    yield
    for state, attribute, original in originals:
        setattr(state, attribute, original)


def new_partner(stack, new_tenant) -> Pisp:
    """A fresh tenant with one registered fapi2 app (each test module's `partner` fixture)."""
    tenant_id, initial_token = new_tenant("insp")
    return make_pisp(stack, tenant_id, initial_token)


def sandbox(stack, partner: Pisp, method: str, path: str, **kwargs):
    return stack.gateway.request(
        method, path, headers={"Authorization": f"Bearer {partner.initial_token}"}, **kwargs
    )


def aisp_consent(partner: Pisp, username: str) -> tuple[str, str]:
    token = partner.token_for("accounts")
    created = partner.call("POST", f"{AISP}/account-access-consents", token,
                           json={"Data": {"Permissions": ["ReadAccountsDetail", "ReadBalances"]}, "Risk": {}})  # fmt: skip
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    return consent_id, partner.authorise(consent_id, username, scope="accounts")


def pisp_consent(partner: Pisp, username: str, creditor: str) -> tuple[dict, str, str]:
    return partner.authorised_consent(username, creditor, "10.00")


def cbpii_consent(partner: Pisp, username: str) -> tuple[str, str]:
    account = next(a for a in partner.accounts_of(username) if a["AccountClass"] == "I")
    body = {"Data": {"DebtorAccount": {"SchemeName": "CN.CNAPS.AccountNumber",
                                       "Identification": account["Identification"]}}}  # fmt: skip
    created = partner.call("POST", f"{CBPII}/funds-confirmation-consents", partner.token_for("fundsconfirmations"),
                           json=body)  # fmt: skip
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    return consent_id, partner.authorise(consent_id, username, scope="fundsconfirmations")


def lending_consent(partner: Pisp, username: str, amount: str = "50000.00", decision: str = "approve"):
    body = {"Data": {"ProductId": "quick-loan", "Amount": {"Amount": amount, "Currency": "CNY"}, "TermMonths": 12,
                     "RepaymentMethod": "EQUAL_INSTALMENT", "Purpose": "家电 appliances"}, "Risk": {}}  # fmt: skip
    created = partner.call(
        "POST", f"{LENDING}/loan-application-consents", partner.token_for("lending"), json=body
    )
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    return consent_id, partner.authorise(consent_id, username, decision=decision, scope="lending")


def apply(partner: Pisp, consent_id: str, token: str):
    return partner.call("POST", f"{LENDING}/applications", token,
                        json={"Data": {"ConsentId": consent_id}, "Risk": {}}, key=secrets.token_hex(8))  # fmt: skip


__all__ = ["PISP"]
