"""The account class limits, pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.payments.domain.limits import CLASS_LIMITS, check_outflow


def test_class_iii_limits_name_the_limit_they_break():
    assert check_outflow("III", 200_001, 0, 0).code == "CLASS_III_TRANSACTION_LIMIT"
    assert check_outflow("III", 150_000, 60_000, 60_000).code == "CLASS_III_DAILY_OUTFLOW_LIMIT"
    assert check_outflow("III", 100_000, 0, 4_950_000).code == "CLASS_III_ANNUAL_OUTFLOW_LIMIT"
    assert check_outflow("III", 200_000, 0, 0) is None  # exactly the limit is allowed


def test_class_ii_daily_limit_and_class_i_has_none():
    assert check_outflow("II", 600_000, 500_000, 500_000).code == "CLASS_II_DAILY_OUTFLOW_LIMIT"
    assert check_outflow("I", 10**12, 10**12, 10**12) is None
    assert check_outflow("BUSINESS", 10**12, 0, 0) is None


@given(
    account_class=st.sampled_from(["II", "III"]),
    amounts=st.lists(st.integers(min_value=1, max_value=500_000), min_size=1, max_size=40),
)
def test_accepting_whatever_the_check_allows_never_passes_the_daily_limit(account_class, amounts):
    used = 0
    for amount in amounts:
        if check_outflow(account_class, amount, used, used) is None:
            used += amount
    assert used <= CLASS_LIMITS[account_class].daily_outflow_fen
