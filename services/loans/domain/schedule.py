"""Repayment schedules to the fen (china_domain.md, "Loans").

Rules: monthly rate r = annual rate / 12; every amount is rounded to the fen half-up once, where it is made;
interest of a month = remaining principal × r; the last instalment takes whatever principal remains, so the
principals sum exactly to the loan amount (the last instalment absorbs every rounding difference).
Amounts are integer fen inside; Decimal only for the rate arithmetic.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

MONTHS_PER_YEAR = 12
DAYS_PER_YEAR = 360  # Chinese bank practice for daily rates
MAX_TERM_MONTHS = 360


class RepaymentMethod(StrEnum):
    EQUAL_INSTALMENT = "EQUAL_INSTALMENT"  # 等额本息
    EQUAL_PRINCIPAL = "EQUAL_PRINCIPAL"  # 等额本金
    INTEREST_ONLY = "INTEREST_ONLY"  # 先息后本


@dataclass(frozen=True)
class Instalment:
    sequence: int
    due_date: date
    principal_fen: int
    interest_fen: int
    remaining_principal_fen: int  # after this instalment is paid

    @property
    def total_fen(self) -> int:
        return self.principal_fen + self.interest_fen


def round_fen(value: Decimal) -> int:
    """A Decimal number of fen rounded half-up to a whole fen."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return annual_rate / MONTHS_PER_YEAR


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def equal_instalment_payment_fen(principal_fen: int, annual_rate: Decimal, term_months: int) -> int:
    """等额本息 monthly payment P·r·(1+r)^n / ((1+r)^n − 1), rounded to the fen."""
    r = monthly_rate(annual_rate)
    if r == 0:
        return round_fen(Decimal(principal_fen) / term_months)
    growth = (1 + r) ** term_months
    return round_fen(Decimal(principal_fen) * r * growth / (growth - 1))


def build_schedule(
    principal_fen: int,
    annual_rate: Decimal,
    term_months: int,
    method: RepaymentMethod,
    start: date,
    *,
    first_sequence: int = 1,
) -> list[Instalment]:
    """Every instalment of a loan of `principal_fen` starting on `start` (first due one month later)."""
    if principal_fen <= 0:
        raise ValueError("principal must be positive")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValueError(f"term must be 1..{MAX_TERM_MONTHS} months")
    if annual_rate < 0:
        raise ValueError("rate cannot be negative")
    r = monthly_rate(annual_rate)
    payment_fen = equal_instalment_payment_fen(principal_fen, annual_rate, term_months)
    even_principal_fen = round_fen(Decimal(principal_fen) / term_months)
    remaining_fen = principal_fen
    instalments: list[Instalment] = []
    for month in range(1, term_months + 1):  # bounded by MAX_TERM_MONTHS
        interest_fen = round_fen(Decimal(remaining_fen) * r)
        last = month == term_months
        if last:
            principal_part_fen = remaining_fen
        elif method is RepaymentMethod.EQUAL_INSTALMENT:
            principal_part_fen = min(max(payment_fen - interest_fen, 0), remaining_fen)
        elif method is RepaymentMethod.EQUAL_PRINCIPAL:
            principal_part_fen = min(even_principal_fen, remaining_fen)
        else:
            principal_part_fen = 0
        remaining_fen -= principal_part_fen
        instalments.append(
            Instalment(
                sequence=first_sequence + month - 1,
                due_date=add_months(start, month),
                principal_fen=principal_part_fen,
                interest_fen=interest_fen,
                remaining_principal_fen=remaining_fen,
            )
        )
    assert remaining_fen == 0
    assert sum(i.principal_fen for i in instalments) == principal_fen  # asserted twice: the key invariant
    return instalments


def total_interest_fen(instalments: list[Instalment]) -> int:
    return sum(instalment.interest_fen for instalment in instalments)


def accrued_interest_fen(principal_fen: int, annual_rate: Decimal, days: int) -> int:
    """Simple interest for `days` days at the daily rate annual/360, rounded to the fen."""
    if days <= 0:
        return 0
    return round_fen(Decimal(principal_fen) * annual_rate * days / DAYS_PER_YEAR)


def format_rate_percent(annual_rate: Decimal) -> str:
    """The annualised rate as the wire shows it: "7.20" for 0.072."""
    return f"{(annual_rate * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def internal_rate_apr(principal_fen: int, instalments: list[Instalment]) -> Decimal:
    """The APR by the IRR method (PBOC 〔2021〕No.3): 12 × the monthly rate that discounts the payments to the
    principal. For interest charged on the remaining principal it equals the contract rate, up to fen rounding."""
    low, high = Decimal(0), Decimal("0.2")  # monthly; 240% a year is far above any legal price
    for _ in range(80):  # bisection: 80 halvings reach far below a fen's effect
        middle = (low + high) / 2
        value = sum(
            Decimal(i.total_fen) / (1 + middle) ** (n + 1) for n, i in enumerate(instalments)
        ) - Decimal(principal_fen)
        if value > 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2 * MONTHS_PER_YEAR


def reschedule_after_prepayment(
    remaining_principal_fen: int,
    annual_rate: Decimal,
    method: RepaymentMethod,
    due_dates: list[date],
    first_sequence: int,
    repaid_on: date,
) -> list[Instalment]:
    """The instalments left after an early partial repayment on `repaid_on`: the same due dates and method over
    the remaining principal; interest up to `repaid_on` has been paid, so the first instalment charges interest
    only from then (daily rate = annual / 360), the others a month each on the remaining principal."""
    if not due_dates or due_dates[0] <= repaid_on:
        raise ValueError("the remaining due dates must all follow the repayment date")
    schedule = build_schedule(
        remaining_principal_fen, annual_rate, len(due_dates), method, repaid_on, first_sequence=first_sequence
    )
    first_interest_fen = accrued_interest_fen(
        remaining_principal_fen, annual_rate, (due_dates[0] - repaid_on).days
    )
    rescheduled = [
        Instalment(
            sequence=instalment.sequence,
            due_date=due,
            principal_fen=instalment.principal_fen,
            interest_fen=first_interest_fen if index == 0 else instalment.interest_fen,
            remaining_principal_fen=instalment.remaining_principal_fen,
        )
        for index, (instalment, due) in enumerate(zip(schedule, due_dates, strict=True))
    ]
    assert sum(i.principal_fen for i in rescheduled) == remaining_principal_fen
    return rescheduled
