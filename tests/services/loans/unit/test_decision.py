"""The decision engine on its own: deterministic, explainable, limits and caps."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.loans.domain.decision import (
    DecisionRequest,
    Features,
    Outcome,
    decide,
    max_principal_for_payment_fen,
)
from services.loans.domain.products import (
    APR_CEILING,
    LPR_1Y,
    PRODUCTS_BY_ID,
    SPREADS,
    Grade,
    check_terms,
    price,
)
from services.loans.domain.schedule import RepaymentMethod, build_schedule

TODAY = date(2026, 12, 2)
CLEAN = Features(
    age_years=38, has_class_i_account=True, salary_months_6m=6, monthly_income_fen=1_800_000,
    average_balance_fen=14_000_000, has_bureau_file=True, credit_file_months=78, credit_accounts=2,
    active_lenders=1, bureau_monthly_payment_fen=380_000,
)  # fmt: skip


def _request(
    amount_fen=5_000_000, term=12, method="EQUAL_INSTALMENT", product="quick-loan"
) -> DecisionRequest:
    return DecisionRequest(product, amount_fen, term, method, TODAY)


def test_a_clean_file_is_approved_at_grade_a_price():
    result = decide(_request(), CLEAN)
    assert (result.outcome, result.reason_codes, result.grade) == (Outcome.APPROVED, [], "A")
    assert result.annual_rate == LPR_1Y + SPREADS[Grade.A]
    assert result.offer_amount_fen == 5_000_000


def test_more_than_the_affordable_amount_gets_a_counter_offer():
    result = decide(_request(amount_fen=20_000_000), CLEAN)
    assert result.outcome is Outcome.APPROVED and result.reason_codes == ["AMOUNT_ABOVE_LIMIT"]
    assert result.offer_amount_fen == result.limit_fen < 20_000_000
    # The counter-offer keeps total debt service within 50% of income.
    schedule = build_schedule(
        result.offer_amount_fen, result.annual_rate, 12, RepaymentMethod.EQUAL_INSTALMENT, TODAY
    )
    assert schedule[0].total_fen + CLEAN.bureau_monthly_payment_fen <= CLEAN.monthly_income_fen // 2


def test_the_unsecured_cap_counts_this_banks_existing_loans():
    rich = dataclasses.replace(
        CLEAN, monthly_income_fen=10_000_000, bank_outstanding_principal_fen=19_000_000
    )
    result = decide(_request(amount_fen=5_000_000), rich)
    assert result.reason_codes == ["AMOUNT_ABOVE_LIMIT"] and result.offer_amount_fen == 1_000_000
    full = dataclasses.replace(rich, bank_outstanding_principal_fen=19_950_000)
    declined = decide(_request(amount_fen=5_000_000), full)
    assert (declined.outcome, declined.reason_codes) == (Outcome.DECLINED, ["AMOUNT_ABOVE_LIMIT"])


def test_velocity_and_age_and_income_rules_decline_with_their_codes():
    assert decide(_request(), dataclasses.replace(CLEAN, applications_1h=30)).reason_codes == ["VELOCITY"]
    assert decide(_request(), dataclasses.replace(CLEAN, age_years=17)).reason_codes == ["AGE_OUT_OF_RANGE"]
    no_income = dataclasses.replace(CLEAN, salary_months_6m=1)
    assert decide(_request(), no_income).reason_codes == ["NO_VERIFIABLE_INCOME"]


def test_a_weak_score_is_declined_as_low_score():
    weak = dataclasses.replace(
        CLEAN, credit_file_months=14, overdue_count_24m=4, max_overdue_days_24m=20, credit_inquiries_6m=6,
        salary_months_6m=3, average_balance_fen=0, has_class_i_account=False, bureau_monthly_payment_fen=850_000,
    )  # fmt: skip
    result = decide(_request(amount_fen=500_000), weak)
    assert (result.outcome, result.reason_codes, result.grade) == (Outcome.DECLINED, ["LOW_SCORE"], "E")
    assert result.score == 600 + sum(result.score_points.values())


def test_sme_rules_need_24_filings_and_a_good_tax_grade():
    business = dataclasses.replace(
        CLEAN, business_customer_id="CUS000101", business_age_months=30, tax_credit_grade="B",
        tax_filings_24m=24, annual_tax_fen=10_000_000, annual_revenue_fen=500_000_000,
    )  # fmt: skip
    approved = decide(_request(product="sme-tax-loan"), business)
    assert (approved.outcome, approved.grade, approved.limit_fen) == (Outcome.APPROVED, "B", 10_000_000)
    graded = decide(_request(product="sme-tax-loan"), dataclasses.replace(business, tax_credit_grade="C"))
    assert graded.reason_codes == ["TAX_CREDIT_GRADE"]
    assert decide(_request(product="sme-tax-loan"), CLEAN).reason_codes == ["NO_BUSINESS"]


def test_prices_stay_within_the_ceiling_and_rise_with_risk():
    rates = [price(grade) for grade in (Grade.A, Grade.B, Grade.C, Grade.D)]
    assert rates == sorted(rates) and all(LPR_1Y < rate <= APR_CEILING for rate in rates)


def test_terms_outside_the_product_are_refused_with_the_field():
    product = PRODUCTS_BY_ID["quick-loan"]
    assert check_terms(product, 99_999, 12, RepaymentMethod.EQUAL_INSTALMENT)[0].value == "Data.Amount.Amount"
    assert check_terms(product, 5_000_000, 7, RepaymentMethod.EQUAL_INSTALMENT)[0].value == "Data.TermMonths"
    assert check_terms(product, 5_000_000, 24, RepaymentMethod.INTEREST_ONLY)[0].value == "Data.TermMonths"
    assert check_terms(product, 5_000_000, 12, RepaymentMethod.INTEREST_ONLY) is None


@settings(max_examples=100, deadline=None)
@given(
    income=st.integers(0, 5_000_000), debt=st.integers(0, 3_000_000), inquiries=st.integers(0, 12),
    overdue=st.integers(0, 10), file_months=st.integers(0, 200), amount=st.integers(100_000, 20_000_000),
    bank=st.integers(0, 20_000_000),
)  # fmt: skip
def test_decisions_are_deterministic_and_survive_a_json_round_trip(
    income, debt, inquiries, overdue, file_months, amount, bank
):
    features = dataclasses.replace(
        CLEAN, monthly_income_fen=income, bureau_monthly_payment_fen=debt, credit_inquiries_6m=inquiries,
        overdue_count_24m=overdue, credit_file_months=file_months, bank_outstanding_principal_fen=bank,
    )  # fmt: skip
    first = decide(_request(amount_fen=amount), features)
    again = decide(_request(amount_fen=amount), Features.from_json(features.to_json()))
    assert first.to_json() == again.to_json()
    if first.outcome is Outcome.APPROVED:
        assert first.offer_amount_fen <= amount
        assert first.offer_amount_fen + bank <= 20_000_000
        assert first.annual_rate <= APR_CEILING


def test_max_principal_inverts_the_payment_formula():
    rate = Decimal("0.075")
    principal = max_principal_for_payment_fen(500_000, rate, 12, "EQUAL_INSTALMENT")
    schedule = build_schedule(principal, rate, 12, RepaymentMethod.EQUAL_INSTALMENT, TODAY)
    assert 499_900 <= schedule[0].total_fen <= 500_000
