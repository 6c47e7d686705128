"""Accounts' read-only cashflow route, as the decision engine reads it."""

from __future__ import annotations

from datetime import date

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


def test_closed_months_are_kept_and_equal_a_fresh_computation_after_the_clock_closes_a_month(
    stack, new_tenant
):
    from sqlalchemy import delete, func, select

    from services.accounts.models import CustomerMonthFigures

    tenant_id, initial_token = new_tenant("cfmon")
    accounts = stack.services["accounts"]
    path = f"/internal/v1/tenants/{tenant_id}/customers/CUS000001/cashflow?months=12"
    figures = CustomerMonthFigures.__table__

    def kept_months() -> int:
        with stack.db("accounts").read_session() as session:
            return session.scalar(
                select(func.count()).select_from(figures).where(figures.c.tenant_id == tenant_id)
            )

    first = accounts.get(path, headers=stack.internal_headers).json()["Data"]
    assert kept_months() == 12
    # A salary booked now lands in the open month: the closed months do not move.
    legs = [{"AccountId": "INT-CASH", "CreditDebitIndicator": "Debit", "Amount": {"Amount": "123.45", "Currency": "CNY"}},
            {"AccountId": "ACC0000001", "CreditDebitIndicator": "Credit", "Amount": {"Amount": "123.45", "Currency": "CNY"}}]  # fmt: skip
    posted = accounts.post(
        f"/internal/v1/tenants/{tenant_id}/ledger/transactions",
        json={"Category": "SALARY", "Description": "bonus", "Postings": legs},
        headers={**stack.internal_headers, "x-idempotency-key": "bonus-1", "x-openbank-service": "payments"},
    )
    assert posted.status_code == 201, posted.text
    assert accounts.get(path, headers=stack.internal_headers).json()["Data"]["Months"] == first["Months"]
    # Move the clock past the month's end: that month closes with the salary in it, and what is read back from the
    # kept figures is exactly what the postings give when computed afresh.
    today = date.fromisoformat(first["AsOf"][:10])
    next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    advanced = stack.gateway.post(
        "/sandbox/v1/clock/advance",
        json={"Days": (next_month - today).days + 1},
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert advanced.status_code == 200, advanced.text
    later = accounts.get(path, headers=stack.internal_headers).json()["Data"]
    assert later["Months"][:11] == first["Months"][1:]
    closed = later["Months"][-1]
    assert closed["Month"] == first["AsOf"][:7]
    assert closed["SalaryCreditCount"] >= 1 and closed["Inflows"]["Amount"] != "0.00"
    with stack.db("accounts").write_session() as session:
        session.execute(delete(figures).where(figures.c.tenant_id == tenant_id))
        session.commit()
    assert accounts.get(path, headers=stack.internal_headers).json()["Data"]["Months"] == later["Months"]
