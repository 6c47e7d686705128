"""Schedules to the fen, against the research file's worked figures and an independent calculation."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.loans.domain.schedule import (
    RepaymentMethod,
    build_schedule,
    format_rate_percent,
    internal_rate_apr,
    total_interest_fen,
)

START = date(2026, 1, 31)
RATE = Decimal("0.072")


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def test_equal_instalment_matches_the_worked_figures():
    schedule = build_schedule(10_000_000, RATE, 12, RepaymentMethod.EQUAL_INSTALMENT, START)
    first, last = schedule[0], schedule[-1]
    assert (_yuan(first.total_fen), _yuan(first.interest_fen), _yuan(first.principal_fen)) == (
        "8661.90", "600.00", "8061.90")  # fmt: skip
    assert (_yuan(last.interest_fen), _yuan(last.principal_fen), _yuan(last.total_fen)) == (
        "51.66", "8610.19", "8661.85")  # fmt: skip
    assert _yuan(total_interest_fen(schedule)) == "3942.75"
    assert all(i.total_fen == 866_190 for i in schedule[:-1])


def test_equal_principal_matches_the_worked_figures():
    schedule = build_schedule(10_000_000, RATE, 12, RepaymentMethod.EQUAL_PRINCIPAL, START)
    assert _yuan(schedule[0].total_fen) == "8933.33"
    assert (_yuan(schedule[-1].principal_fen), _yuan(schedule[-1].interest_fen)) == ("8333.37", "50.00")
    assert _yuan(schedule[-1].total_fen) == "8383.37"
    assert _yuan(total_interest_fen(schedule)) == "3900.00"


def test_interest_only_matches_the_worked_figures():
    schedule = build_schedule(10_000_000, RATE, 12, RepaymentMethod.INTEREST_ONLY, START)
    assert {i.total_fen for i in schedule[:-1]} == {60_000}
    assert _yuan(schedule[-1].total_fen) == "100600.00"
    assert _yuan(total_interest_fen(schedule)) == "7200.00"


def test_due_dates_are_monthly_and_clamped_to_month_end():
    schedule = build_schedule(100_000, RATE, 3, RepaymentMethod.EQUAL_PRINCIPAL, START)
    assert [i.due_date for i in schedule] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def _independent(principal_fen: int, rate: Decimal, n: int, method: RepaymentMethod) -> list[tuple[int, int]]:
    """(principal, interest) per month, written again from the formulas in the research file."""
    cent = Decimal(1)
    r = rate / 12
    balance = Decimal(principal_fen)
    if r:
        payment = (Decimal(principal_fen) * r * (1 + r) ** n / ((1 + r) ** n - 1)).quantize(
            cent, ROUND_HALF_UP
        )
    else:
        payment = (Decimal(principal_fen) / n).quantize(cent, ROUND_HALF_UP)
    rows = []
    for k in range(1, n + 1):
        interest = (balance * r).quantize(cent, ROUND_HALF_UP)
        if k == n:
            principal = balance
        elif method is RepaymentMethod.EQUAL_INSTALMENT:
            principal = payment - interest
        elif method is RepaymentMethod.EQUAL_PRINCIPAL:
            principal = (Decimal(principal_fen) / n).quantize(cent, ROUND_HALF_UP)
        else:
            principal = Decimal(0)
        balance -= principal
        rows.append((int(principal), int(interest)))
    return rows


@settings(max_examples=300, deadline=None)
@given(
    principal_fen=st.integers(min_value=100_000, max_value=100_000_000),
    rate_bp=st.integers(min_value=0, max_value=2400),
    term=st.sampled_from([3, 6, 12, 18, 24, 36]),
    method=st.sampled_from(list(RepaymentMethod)),
)
def test_schedules_match_an_independent_calculation_to_the_fen(principal_fen, rate_bp, term, method):
    rate = Decimal(rate_bp) / 10_000
    schedule = build_schedule(principal_fen, rate, term, method, START)
    assert [(i.principal_fen, i.interest_fen) for i in schedule] == _independent(
        principal_fen, rate, term, method
    )
    assert sum(i.principal_fen for i in schedule) == principal_fen
    assert schedule[-1].remaining_principal_fen == 0
    assert all(i.principal_fen >= 0 and i.interest_fen >= 0 for i in schedule)


@settings(max_examples=50, deadline=None)
@given(
    principal_fen=st.integers(min_value=500_000, max_value=20_000_000),
    rate_bp=st.integers(min_value=300, max_value=2400),
    term=st.sampled_from([6, 12, 24, 36]),
    method=st.sampled_from(list(RepaymentMethod)),
)
def test_apr_by_irr_equals_the_contract_rate(principal_fen, rate_bp, term, method):
    rate = Decimal(rate_bp) / 10_000
    schedule = build_schedule(principal_fen, rate, term, method, START)
    assert abs(internal_rate_apr(principal_fen, schedule) - rate) < Decimal("0.0005")


def test_rate_is_shown_as_a_percent_string():
    assert format_rate_percent(Decimal("0.072")) == "7.20"
    assert format_rate_percent(Decimal("0.055")) == "5.50"


@settings(max_examples=200, deadline=None)
@given(
    principal_fen=st.integers(min_value=100_000, max_value=20_000_000),
    rate_bp=st.integers(min_value=300, max_value=2400),
    term=st.sampled_from([3, 6, 12, 24, 36]),
    method=st.sampled_from(list(RepaymentMethod)),
    paid_months=st.integers(min_value=0, max_value=35),
    days_into_month=st.integers(min_value=0, max_value=27),
    prepaid_share=st.integers(min_value=1, max_value=99),
)
def test_a_partial_prepayment_reschedules_exactly_the_remaining_principal(
    principal_fen, rate_bp, term, method, paid_months, days_into_month, prepaid_share
):
    from datetime import timedelta

    from services.loans.domain.schedule import accrued_interest_fen, reschedule_after_prepayment

    rate = Decimal(rate_bp) / 10_000
    schedule = build_schedule(principal_fen, rate, term, method, START)
    paid = min(paid_months, term - 1)
    previous_due = START if paid == 0 else schedule[paid - 1].due_date
    repaid_on = previous_due + timedelta(days=days_into_month)
    outstanding_fen = schedule[paid - 1].remaining_principal_fen if paid else principal_fen
    remaining_fen = max(1, outstanding_fen * (100 - prepaid_share) // 100)
    left = [i for i in schedule if i.due_date > repaid_on]
    rescheduled = reschedule_after_prepayment(remaining_fen, rate, method, [i.due_date for i in left],
                                              left[0].sequence, repaid_on)  # fmt: skip
    assert [i.due_date for i in rescheduled] == [i.due_date for i in left]
    assert [i.sequence for i in rescheduled] == [i.sequence for i in left]
    assert (
        sum(i.principal_fen for i in rescheduled) == remaining_fen
        and rescheduled[-1].remaining_principal_fen == 0
    )
    assert rescheduled[0].interest_fen == accrued_interest_fen(
        remaining_fen, rate, (left[0].due_date - repaid_on).days
    )
    assert all(i.principal_fen >= 0 and i.interest_fen >= 0 for i in rescheduled)
