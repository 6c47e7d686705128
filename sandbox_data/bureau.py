"""Credit-bureau files (征信报告): credit accounts, inquiries, the fraud blacklist.

Each loan carries the day of month it is repaid and until when, so the ledger shows the same repayments the
bureau file implies (transactions.py books them to the lender through CNAPS clearing).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sandbox_data import names
from sandbox_data.model import Loan, Person, add_months

# Background credit profiles and their weights (the personas are written out by hand in personas.py).
PROFILE_WEIGHTS = (
    ("clean", 50),
    ("thin", 17),
    ("none", 10),
    ("mild_overdue", 10),
    ("serious", 5),
    ("multi", 8),
)


def instalment(principal_fen: int, annual_rate: float, term_months: int) -> int:
    """Equal-instalment (等额本息) monthly payment, to the fen."""
    r = annual_rate / 12
    return round(principal_fen * r * (1 + r) ** term_months / ((1 + r) ** term_months - 1))


def remaining_principal(principal_fen: int, annual_rate: float, term_months: int, paid: int) -> int:
    """Principal still owed after `paid` equal instalments."""
    r = annual_rate / 12
    payment = instalment(principal_fen, annual_rate, term_months)
    balance = principal_fen * (1 + r) ** paid - payment * ((1 + r) ** paid - 1) / r
    return max(0, round(balance))


def months_between(start: date, end: date) -> int:
    """Whole monthly due dates passed between `start` (exclusive) and `end` (exclusive)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day <= start.day else 0)


def term_loan(
    loan_id: str, lender: str, kind: str, opened_on: date, as_of: date, principal_fen: int, rate: float, term: int,
    repay_day: int, disburse: bool,
) -> Loan:  # fmt: skip
    paid = max(0, months_between(opened_on, as_of))
    loan = Loan(
        credit_account_id=loan_id,
        lender_name=lender,
        account_type=kind,
        opened_on=opened_on,
        credit_limit_fen=principal_fen,
        outstanding_fen=remaining_principal(principal_fen, rate, term, min(paid, term)),
        monthly_payment_fen=instalment(principal_fen, rate, term),
        repay_day=repay_day,
        disbursed_fen=principal_fen if disburse else 0,
    )
    if paid >= term:  # repaid in full before the report date
        loan.status = "CLOSED"
        loan.last_repayment_on = add_months(opened_on, term, repay_day)
    return loan


def credit_card(
    loan_id: str, issuer: str, opened_on: date, limit_fen: int, statement_fen: int, repay_day: int
) -> Loan:
    """A card repaid in full each month: the statement balance is both what is owed and what is paid."""
    return Loan(
        loan_id,
        issuer,
        "CREDIT_CARD",
        opened_on,
        limit_fen,
        statement_fen,
        statement_fen,
        repay_day=repay_day,
    )


def background_credit(rng: random.Random, person: Person, as_of: date) -> str:
    """Fill a background person's loans and inquiries from a randomly drawn profile; returns the profile."""
    profile = rng.choices([p for p, _ in PROFILE_WEIGHTS], [w for _, w in PROFILE_WEIGHTS])[0]
    cid, salary = person.customer_id, max(person.salary_fen, 300_000)
    counter = iter(range(1, 100))

    def next_id() -> str:
        return f"BCA-{cid}-{next(counter):02d}"

    def days_ago(low: int, high: int) -> date:
        return as_of - timedelta(days=rng.randint(low, high))

    def card(opened: date) -> Loan:
        limit = rng.choice((10_000, 20_000, 30_000, 50_000, 80_000)) * 100
        statement = min(limit // 2, int(salary * rng.uniform(0.04, 0.15)) // 100 * 100)
        return credit_card(
            next_id(), rng.choice(names.CARD_ISSUERS), opened, limit, statement, rng.randint(3, 25)
        )

    loans: list[Loan] = []
    inquiries: list[tuple[date, str, str]] = []
    if profile in ("clean", "mild_overdue", "serious"):
        loans.append(card(days_ago(400, 3_600)))
        roll = rng.random()
        if roll < 0.2 and salary >= 1_200_000:
            opened = days_ago(400, 2_500)
            principal = int(salary * rng.uniform(70, 110)) // 10_000 * 10_000
            loans.append(term_loan(next_id(), rng.choice(names.MORTGAGE_LENDERS), "MORTGAGE", opened, as_of,
                                   principal, 0.039, 300, rng.randint(5, 25), disburse=False))  # fmt: skip
        elif roll < 0.45:
            opened = days_ago(200, 1_000)
            principal = rng.randrange(60_000, 200_000, 10_000) * 100
            loans.append(term_loan(next_id(), rng.choice(names.CAR_LENDERS), "CAR_LOAN", opened, as_of,
                                   principal, 0.055, 60, rng.randint(5, 25), disburse=False))  # fmt: skip
        elif roll < 0.6:
            opened = days_ago(60, 600)
            principal = rng.randrange(10_000, 50_000, 1_000) * 100
            loans.append(term_loan(next_id(), rng.choice(names.CONSUMER_LENDERS), "CONSUMER_LOAN", opened, as_of,
                                   principal, 0.108, 36, rng.randint(5, 25), disburse=True))  # fmt: skip
        for _ in range(rng.randint(0, 2)):
            inquiries.append(
                (days_ago(1, 700), rng.choice(names.INQUIRY_INSTITUTIONS), "CREDIT_CARD_APPROVAL")
            )
        if rng.random() < 0.5:
            inquiries.append((days_ago(1, 180), rng.choice(names.CARD_ISSUERS), "POST_LOAN_MANAGEMENT"))
    if profile == "mild_overdue":
        loans[0].overdue_count_24m = rng.randint(1, 2)
        loans[0].max_overdue_days_24m = rng.randint(3, 29)
    if profile == "serious":
        months_overdue = rng.randint(3, 5)
        loans[0].status = "OVERDUE"
        loans[0].overdue_count_24m = rng.randint(3, 7)
        loans[0].max_overdue_days_24m = months_overdue * 30 + rng.randint(0, 20)
        loans[0].current_overdue_fen = loans[0].monthly_payment_fen * months_overdue
        loans[0].outstanding_fen = loans[0].current_overdue_fen
        loans[0].last_repayment_on = add_months(as_of, -months_overdue - 1)
    if profile == "thin":
        if rng.random() < 0.7:
            loans.append(card(days_ago(60, 330)))
            inquiries.append((loans[-1].opened_on, loans[-1].lender_name, "CREDIT_CARD_APPROVAL"))
        else:
            opened = days_ago(60, 330)
            loans.append(term_loan(next_id(), rng.choice(names.MICRO_LENDERS), "ONLINE_MICRO_LOAN", opened, as_of,
                                   rng.randrange(2_000, 8_000, 500) * 100, 0.18, 12, rng.randint(5, 25),
                                   disburse=True))  # fmt: skip
            inquiries.append((opened, loans[-1].lender_name, "LOAN_APPROVAL"))
    if profile == "multi":
        loans.append(card(days_ago(700, 3_000)))
        lenders = rng.sample(names.MICRO_LENDERS, rng.randint(4, 6))
        for lender in lenders:
            opened = days_ago(20, 400)
            loans.append(term_loan(next_id(), lender, "ONLINE_MICRO_LOAN", opened, as_of,
                                   rng.randrange(3_000, 10_000, 500) * 100, 0.22, 12, rng.randint(5, 25),
                                   disburse=True))  # fmt: skip
            inquiries.append((opened, lender, "LOAN_APPROVAL"))
        for _ in range(rng.randint(3, 6)):
            inquiries.append((days_ago(1, 88), rng.choice(names.MICRO_LENDERS), "LOAN_APPROVAL"))
    person.loans = loans
    person.inquiries = inquiries
    if person.salary_fen and rng.random() < 0.65:
        person.provident_fund_monthly_fen = int(person.salary_fen * rng.uniform(0.10, 0.24)) // 100 * 100
    return profile


def subject_rows(people: list[Person], as_of: date) -> list[dict]:
    rows = []
    for person in people:
        first = min((loan.opened_on for loan in person.loans), default=None)
        rows.append(
            {
                "customer_id": person.customer_id,
                "id_number": person.id_number,
                "full_name": person.full_name,
                "report_date": as_of,
                "provident_fund_monthly_fen": person.provident_fund_monthly_fen,
                "first_credit_on": first,
            }
        )
    return rows


def credit_account_rows(people: list[Person]) -> list[dict]:
    rows = []
    for person in people:
        for loan in person.loans:
            rows.append(
                {
                    "credit_account_id": loan.credit_account_id,
                    "customer_id": person.customer_id,
                    "lender_name": loan.lender_name,
                    "account_type": loan.account_type,
                    "opened_on": loan.opened_on,
                    "credit_limit_fen": loan.credit_limit_fen,
                    "outstanding_fen": loan.outstanding_fen if loan.status != "CLOSED" else 0,
                    "monthly_payment_fen": loan.monthly_payment_fen if loan.status != "CLOSED" else 0,
                    "status": loan.status,
                    "overdue_count_24m": loan.overdue_count_24m,
                    "max_overdue_days_24m": loan.max_overdue_days_24m,
                    "current_overdue_fen": loan.current_overdue_fen,
                }
            )
    return rows


def inquiry_rows(people: list[Person]) -> list[dict]:
    rows = []
    for person in people:
        for index, (day, institution, reason) in enumerate(sorted(person.inquiries), start=1):
            rows.append(
                {
                    "inquiry_id": f"INQ-{person.customer_id}-{index:02d}",
                    "customer_id": person.customer_id,
                    "inquired_on": day,
                    "institution_name": institution,
                    "reason": reason,
                }
            )
    return rows
