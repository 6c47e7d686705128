"""Accounts' read-only cashflow route, as the decision engine reads it."""

from __future__ import annotations

from tests.services.loans.conftest import PERSONAS


def _cashflow(partner, customer_id: str, query: str = "months=12"):
    return partner.stack.services["accounts"].get(
        f"/internal/v1/tenants/{partner.tenant_id}/customers/{customer_id}/cashflow?{query}",
        headers=partner.stack.internal_headers,
    )


def test_salary_balances_and_accounts_of_a_salaried_customer(shared_partner):
    data = _cashflow(shared_partner, PERSONAS["zhang.wei"]).json()["Data"]
    assert data["IdNumber"] and data["BirthDate"] and len(data["Months"]) == 12
    assert {a["AccountClass"] for a in data["Accounts"]} == {"I", "II"}
    assert all(m["SalaryCredits"]["Amount"] == "18000.00" for m in data["Months"][-6:])
    month_ends_fen = [int(m["MonthEndBalance"]["Amount"].replace(".", "")) for m in data["Months"]]
    assert min(month_ends_fen) >= 8_000_000  # never below ¥80,000 (sandbox_data/README.md)
    assert data["AverageMonthEndBalance"]["Amount"] == f"{sum(month_ends_fen) // 12 / 100:.2f}"
    assert data["OwnedOrganisations"] == []  # only listed when asked


def test_owned_organisations_are_listed_when_asked(shared_partner):
    data = _cashflow(shared_partner, PERSONAS["sun.hui"], "months=6&organisations=true").json()["Data"]
    assert [org["CustomerId"] for org in data["OwnedOrganisations"]] == ["CUS000101"]
    assert data["OwnedOrganisations"][0]["Accounts"][0]["AccountClass"] == "CORPORATE"


def test_unknown_customer_and_unbounded_windows_are_refused(shared_partner):
    assert _cashflow(shared_partner, "CUS999999").status_code == 404
    assert _cashflow(shared_partner, PERSONAS["zhang.wei"], "months=25").status_code == 400
    no_token = shared_partner.stack.services["accounts"].get(
        f"/internal/v1/tenants/{shared_partner.tenant_id}/customers/CUS000001/cashflow"
    )
    assert no_token.status_code == 401
