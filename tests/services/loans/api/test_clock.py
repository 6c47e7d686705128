"""The sandbox clock drives instalments: auto-debit on the due date, overdue when the account cannot pay, penalty
interest (罚息, contract rate +50% per day on the overdue instalment) when it is collected later."""

from __future__ import annotations

from decimal import Decimal

from tests.services.loans.api.test_loans import _accept, _approved, _fen


def _move(partner, account_id: str, amount_fen: int, *, out: bool, key: str) -> None:
    amount = {"Amount": f"{Decimal(amount_fen) / 100:.2f}", "Currency": "CNY"}
    legs = [{"AccountId": account_id, "CreditDebitIndicator": "Debit" if out else "Credit", "Amount": amount},
            {"AccountId": "INT-CASH", "CreditDebitIndicator": "Credit" if out else "Debit", "Amount": amount}]  # fmt: skip
    response = partner.stack.services["accounts"].post(
        f"/internal/v1/tenants/{partner.tenant_id}/ledger/transactions",
        json={"Category": "TRANSFER", "Description": "test", "Postings": legs},
        headers={**partner.stack.internal_headers, "x-idempotency-key": key},
    )
    assert response.status_code == 201, response.text


def test_instalments_are_debited_when_due_go_overdue_without_funds_and_carry_penalty(partner):
    customer_id, consent_id, data, account_id = _approved(partner)
    loan_id = _accept(partner, customer_id, consent_id, data).json()["Data"]["LoanId"]
    headers = partner.customer_headers(customer_id, consent_id)
    schedule = partner.stack.gateway.get(f"/lending/v1/loans/{loan_id}/schedule", headers=headers).json()[
        "Data"
    ]
    first, second = schedule["Instalment"][0], schedule["Instalment"][1]
    before_fen = partner.balance_fen(account_id)
    # Month 1: paid on the due date.
    partner.advance_clock(32)
    assert before_fen - partner.balance_fen(account_id) == _fen(first["Total"])
    loan = partner.stack.gateway.get(f"/lending/v1/loans/{loan_id}", headers=headers).json()["Data"]
    assert loan["Status"] == "ACTIVE"
    assert _fen(loan["OutstandingPrincipal"]) == _fen(data["Offer"]["Amount"]) - _fen(first["Principal"])
    # Month 2: the account is emptied first, so the instalment goes overdue and nothing is taken.
    _move(
        partner, account_id, partner.balance_fen(account_id) - 10_000, out=True, key=f"drain-{loan_id[-20:]}"
    )
    partner.advance_clock(31)
    loan = partner.stack.gateway.get(f"/lending/v1/loans/{loan_id}", headers=headers).json()["Data"]
    assert loan["Status"] == "OVERDUE" and partner.balance_fen(account_id) == 10_000
    rows = partner.stack.gateway.get(f"/lending/v1/loans/{loan_id}/schedule", headers=headers).json()["Data"]
    assert rows["Instalment"][1]["Status"] == "OVERDUE"
    # Funds arrive; ten days later the clock collects the instalment with ten days of penalty interest.
    _move(partner, account_id, 2_000_000, out=False, key=f"topup-{loan_id[-20:]}")
    from datetime import date

    due = date.fromisoformat(second["DueDate"])
    partner.advance_clock(10)
    now = partner.stack.gateway.get(
        "/sandbox/v1/clock", headers={"Authorization": f"Bearer {partner.initial_token}"}
    ).json()["Now"]
    days = (date.fromisoformat(now[:10]) - due).days
    rate = Decimal(data["Offer"]["AnnualPercentageRate"]) / 100 * Decimal("1.5")
    penalty_fen = int(
        (Decimal(_fen(second["Total"])) * rate * days / 360).quantize(Decimal(1), "ROUND_HALF_UP")
    )
    assert penalty_fen > 0
    assert 2_010_000 - partner.balance_fen(account_id) == _fen(second["Total"]) + penalty_fen
    loan = partner.stack.gateway.get(f"/lending/v1/loans/{loan_id}", headers=headers).json()["Data"]
    assert loan["Status"] == "ACTIVE"
    assert partner.ledger_balanced()
