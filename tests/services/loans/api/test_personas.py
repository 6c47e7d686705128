"""Each persona gets DESIGN.md §4's outcome, for the reasons the data gives, through the public API."""

from __future__ import annotations

import pytest

CASES = [
    ("zhang.wei", {}, "APPROVED", []),
    ("li.na", {}, "REFERRED", ["THIN_FILE"]),
    ("li.na", {"amount": "5000.00"}, "APPROVED", []),
    ("wang.fang", {}, "DECLINED", ["MULTI_LENDING", "DEBT_TO_INCOME"]),
    ("chen.jie", {}, "DECLINED", ["FRAUD_BLACKLIST"]),
    ("liu.yang", {}, "DECLINED", ["CREDIT_HISTORY"]),
    ("sun.hui", {"product_id": "sme-tax-loan"}, "APPROVED", []),
    ("zhou.qiang", {"product_id": "sme-tax-loan"}, "DECLINED", ["INSUFFICIENT_TAX_HISTORY"]),
]


@pytest.mark.parametrize(("username", "terms", "outcome", "reasons"), CASES)
def test_persona_gets_the_documented_outcome(shared_partner, username, terms, outcome, reasons):
    _, _, response = shared_partner.journey(username, **terms)
    assert response.status_code == 201, response.text
    data = response.json()["Data"]
    decision = data["Decision"]
    detail = shared_partner.stack.gateway.get(
        f"/lending/v1/decisions/{decision['DecisionId']}", headers=shared_partner.client_headers
    ).json()["Data"]
    assert (decision["Outcome"], decision["ReasonCodes"]) == (outcome, reasons), detail
    assert decision["RulesVersion"]
    assert ("Offer" in data) == (outcome == "APPROVED")
    if outcome == "APPROVED":
        offer = data["Offer"]
        amount = terms.get("amount", "50000.00")
        assert offer["Amount"] == {"Amount": amount, "Currency": "CNY"}
        assert len(offer["Instalments"]) == 12
        principal = sum(int(i["Principal"]["Amount"].replace(".", "")) for i in offer["Instalments"])
        assert principal == int(amount.replace(".", ""))
