"""Loan receivable accounts in the ledger: opened once per LoanId, only lending posts to them, a debit balance that
is never repaid beyond zero, invisible to payments and to the decision's cash-flow features, checked by verify."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from services.accounts.domain.errors import BalanceRuleBroken
from services.accounts.domain.ledger import (
    LOAN_CLASS,
    PostingLine,
    check_balances_after,
    check_hold,
    check_loan_poster,
)
from services.accounts.ledger_verify import verify_tenant
from services.accounts.loan_accounts import loan_account_number

CLASSES = {"LN": LOAN_CLASS, "A": "I", "INT": "INTERNAL"}
BORROWER = "ACC0000001"  # zhang.wei's Class I account


# --- pure rules ----------------------------------------------------------------------------------------------
@given(st.integers(1, 10**10), st.integers(0, 10**10))
def test_a_loan_account_may_be_repaid_down_to_zero_and_never_beyond(principal_fen, repaid_fen):
    before = {"LN": -principal_fen, "A": 10**11}
    lines = [PostingLine("A", -repaid_fen or -1), PostingLine("LN", repaid_fen or 1)]
    if (repaid_fen or 1) <= principal_fen:
        assert check_balances_after(lines, before, CLASSES)["LN"] == -principal_fen + (repaid_fen or 1)
    else:
        with pytest.raises(BalanceRuleBroken, match="beyond what is owed"):
            check_balances_after(lines, before, CLASSES)


def test_a_loan_account_carries_a_debit_balance_a_customer_account_cannot():
    disbursed = check_balances_after(
        [PostingLine("LN", -500), PostingLine("A", 500)], {"LN": 0, "A": 0}, CLASSES
    )
    assert disbursed == {"LN": -500, "A": 500}
    with pytest.raises(BalanceRuleBroken):
        check_balances_after([PostingLine("A", -500), PostingLine("INT", 500)], {"A": 0}, CLASSES)


def test_only_lending_posts_to_loan_accounts_and_holds_are_refused():
    check_loan_poster(CLASSES, "loans")
    for poster in ("payments", "internal", "accounts"):
        with pytest.raises(BalanceRuleBroken, match="only lending"):
            check_loan_poster(CLASSES, poster)
    check_loan_poster({"A": "I", "INT": "INTERNAL"}, "payments")  # no loan account: anyone
    with pytest.raises(BalanceRuleBroken):
        check_hold(100, 10**9, LOAN_CLASS)


def test_loan_account_numbers_are_19_luhn_digits_in_the_loan_band_and_stable():
    number = loan_account_number("t-1", "loan_01ABC")
    assert len(number) == 19 and number.isdigit() and luhn.is_valid(number)
    assert number.startswith("6219998") and number == loan_account_number("t-1", "loan_01ABC")
    assert number != loan_account_number("t-1", "loan_01ABD")


# --- through the internal API --------------------------------------------------------------------------------
def _open(stack, tenant_id, loan_id, borrower=BORROWER):
    return stack.services["accounts"].post(
        f"/internal/v1/tenants/{tenant_id}/loan-accounts",
        json={"LoanId": loan_id, "BorrowerAccountId": borrower},
        headers=stack.internal_headers,
    )


def _post(stack, tenant_id, key, debit, credit, amount, poster="loans"):
    value = {"Amount": amount, "Currency": "CNY"}
    legs = [{"AccountId": debit, "CreditDebitIndicator": "Debit", "Amount": value},
            {"AccountId": credit, "CreditDebitIndicator": "Credit", "Amount": value}]  # fmt: skip
    return stack.services["accounts"].post(
        f"/internal/v1/tenants/{tenant_id}/ledger/transactions",
        json={"Category": "LOAN_DISBURSEMENT", "Description": "test", "Postings": legs},
        headers={**stack.internal_headers, "x-idempotency-key": key, "x-openbank-service": poster},
    )


def _balance_fen(stack, tenant_id, account_id) -> int:
    response = stack.services["accounts"].get(
        f"/internal/v1/tenants/{tenant_id}/accounts/{account_id}/balance", headers=stack.internal_headers
    )
    assert response.status_code == 200, response.text
    return int(response.json()["Balance"]["Amount"].replace(".", ""))


def test_opening_a_loan_account_is_idempotent_by_loan_id_and_checks_the_borrower(stack, new_tenant):
    tenant_id, _ = new_tenant("lnacc")
    first = _open(stack, tenant_id, "loan_TEST0001")
    assert first.status_code == 201, first.text
    data = first.json()["Data"]
    assert data["AccountId"] == "loan_TEST0001" and data["CustomerId"] == "CUS000001"
    assert data["AccountClass"] == "LOAN" and data["AccountSubType"] == "Loan" and data["Status"] == "Enabled"
    again = _open(stack, tenant_id, "loan_TEST0001")
    assert again.status_code == 200 and again.json() == first.json()
    assert _open(stack, tenant_id, "loan_TEST0001", borrower="ACC0000002").status_code == 409
    for bad in ("INT-CASH", "ACC9999999", "loan_TEST0001"):  # internal, unknown, itself a loan account
        refused = _open(stack, tenant_id, "loan_TEST0002", borrower=bad)
        assert refused.status_code == 400 and refused.json()["Errors"][0]["Path"] == "BorrowerAccountId"
    assert _open(stack, tenant_id, "ACC0000001").status_code == 409  # an existing deposit account id


def test_the_ledger_keeps_a_loan_account_between_minus_principal_and_zero(stack, new_tenant):
    tenant_id, _ = new_tenant("lnbal")
    assert _open(stack, tenant_id, "loan_TEST0003").status_code == 201
    assert _post(stack, tenant_id, "d-1", "loan_TEST0003", BORROWER, "1000.00").status_code == 201
    assert _balance_fen(stack, tenant_id, "loan_TEST0003") == -100_000
    overpaid = _post(stack, tenant_id, "r-1", BORROWER, "loan_TEST0003", "1000.01")
    assert overpaid.status_code == 400 and "beyond what is owed" in overpaid.text
    by_payments = _post(stack, tenant_id, "p-1", "loan_TEST0003", BORROWER, "10.00", poster="payments")
    assert by_payments.status_code == 400 and "only lending" in by_payments.text
    assert _balance_fen(stack, tenant_id, "loan_TEST0003") == -100_000  # nothing moved
    assert _post(stack, tenant_id, "r-2", BORROWER, "loan_TEST0003", "1000.00").status_code == 201
    assert _balance_fen(stack, tenant_id, "loan_TEST0003") == 0
    report = verify_tenant(stack.db("accounts"), tenant_id)
    assert report.breach_count == 0, report.breaches


def test_loan_accounts_stay_out_of_the_cash_flow_features_and_go_with_a_reset(stack, new_tenant):
    tenant_id, initial_token = new_tenant("lnflow")
    path = f"/internal/v1/tenants/{tenant_id}/customers/CUS000001/cashflow?months=12"
    before = stack.services["accounts"].get(path, headers=stack.internal_headers).json()
    assert _open(stack, tenant_id, "loan_TEST0004").status_code == 201
    assert _post(stack, tenant_id, "d-1", "loan_TEST0004", "ACC0000002", "10.00").status_code == 201
    after = stack.services["accounts"].get(path, headers=stack.internal_headers).json()
    assert "loan_TEST0004" not in [a["AccountId"] for a in after["Data"]["Accounts"]]
    assert [a["AccountId"] for a in after["Data"]["Accounts"]] == [
        a["AccountId"] for a in before["Data"]["Accounts"]
    ]
    reset = stack.gateway.post("/sandbox/v1/reset", headers={"Authorization": f"Bearer {initial_token}"})
    assert reset.status_code == 200, reset.text
    gone = stack.services["accounts"].get(
        f"/internal/v1/tenants/{tenant_id}/accounts/loan_TEST0004/balance", headers=stack.internal_headers
    )
    assert gone.status_code == 404  # a reset restores the world, which has no loans
