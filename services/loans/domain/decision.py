"""The credit decision: features → hard rules → scorecard → grade → debt-to-income → caps → limit and price.

Pure and deterministic: `decide(request, features)` depends on nothing else, so a stored decision can be replayed
exactly (`openbank decision replay`). Every threshold is a named constant; changing any of them means a new
RULES_VERSION.

Reason codes (the fixed, documented list; DESIGN.md §6 names the first seven):
FRAUD_BLACKLIST, MULTI_LENDING, DEBT_TO_INCOME, CREDIT_HISTORY, THIN_FILE, INSUFFICIENT_TAX_HISTORY,
AMOUNT_ABOVE_LIMIT, VELOCITY, AGE_OUT_OF_RANGE, NO_VERIFIABLE_INCOME, LOW_SCORE, TAX_CREDIT_GRADE, NO_BUSINESS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.loans.domain.products import (
    PRODUCTS_BY_ID,
    UNSECURED_PERSONAL_CAP_FEN,
    Grade,
    ProductType,
    price,
)
from services.loans.domain.schedule import (
    RepaymentMethod,
    build_schedule,
    monthly_rate,
    total_interest_fen,
)

RULES_VERSION = "lending-rules-2026.12.1"


class Outcome(StrEnum):
    APPROVED = "APPROVED"
    REFERRED = "REFERRED"
    DECLINED = "DECLINED"


class Reason(StrEnum):
    FRAUD_BLACKLIST = "FRAUD_BLACKLIST"
    MULTI_LENDING = "MULTI_LENDING"
    DEBT_TO_INCOME = "DEBT_TO_INCOME"
    CREDIT_HISTORY = "CREDIT_HISTORY"
    THIN_FILE = "THIN_FILE"
    INSUFFICIENT_TAX_HISTORY = "INSUFFICIENT_TAX_HISTORY"
    AMOUNT_ABOVE_LIMIT = "AMOUNT_ABOVE_LIMIT"
    VELOCITY = "VELOCITY"
    AGE_OUT_OF_RANGE = "AGE_OUT_OF_RANGE"
    NO_VERIFIABLE_INCOME = "NO_VERIFIABLE_INCOME"
    LOW_SCORE = "LOW_SCORE"
    TAX_CREDIT_GRADE = "TAX_CREDIT_GRADE"
    NO_BUSINESS = "NO_BUSINESS"


class Effect(StrEnum):
    DECLINE = "DECLINE"
    REFER = "REFER"
    LIMIT = "LIMIT"  # lowers the limit (a counter-offer), does not refuse


# Hard rules
MIN_AGE_YEARS, MAX_AGE_YEARS = 18, 60
VELOCITY_MAX_APPLICATIONS_1H = 30
OVERDUE_MAX_COUNT_24M = 5  # more than this many overdue occurrences in 24 months declines
OVERDUE_MAX_DAYS_24M = 60  # any overdue longer than this (M3+ is 90) declines
MULTI_LENDING_MAX_LENDERS = 4  # active loans at more lenders than this declines (多头借贷)
MULTI_LENDING_MAX_INQUIRIES_3M = 5
MULTI_LENDING_MAX_NEW_LOANS_3M = 2
DTI_MAX = Decimal("0.50")  # existing + new monthly debt service over monthly income
MIN_SALARY_MONTHS_6M = 3
THIN_FILE_MIN_MONTHS = 12
THIN_FILE_MIN_ACCOUNTS = 2
THIN_FILE_MAX_AMOUNT_FEN = (
    1_000_000  # a thin file is lent at most ¥10,000 automatically; more goes to a person
)
# SME tax loan
TAX_MIN_FILINGS_24M = 24
TAX_MIN_BUSINESS_AGE_MONTHS = 24
TAX_GRADES_LENDABLE = {"A": Grade.A, "B": Grade.B}
TAX_LIMIT_MULTIPLE = {Grade.A: Decimal(2), Grade.B: Decimal(1)}
TAX_LIMIT_MAX_REVENUE_SHARE = Decimal("0.10")
# Limits
INCOME_LIMIT_MULTIPLE = {Grade.A: 20, Grade.B: 15, Grade.C: 10, Grade.D: 6}
PERSONAL_LIMIT_STEP_FEN = 10_000  # limits are whole ¥100
SME_LIMIT_STEP_FEN = 100_000  # whole ¥1,000
# Scorecard: base points, then one band table per characteristic; grade cut-offs below.
SCORE_BASE = 600
GRADE_CUTOFFS = ((820, Grade.A), (760, Grade.B), (700, Grade.C), (640, Grade.D))


@dataclass(frozen=True)
class DecisionRequest:
    product_id: str
    amount_fen: int
    term_months: int
    repayment_method: str
    decision_date: date


@dataclass(frozen=True)
class Features:
    """What the decision knows about the applicant, gathered before any rule runs. Stored with the decision."""

    age_years: int | None = None
    blacklisted: bool = False
    applications_1h: int = 0
    has_class_i_account: bool = False
    # Ledger (accounts): the last complete months
    salary_months_6m: int = 0
    monthly_income_fen: int = 0
    average_balance_fen: int = 0
    monthly_outflow_fen: int = 0
    # Credit bureau
    has_bureau_file: bool = False
    credit_file_months: int = 0
    credit_accounts: int = 0
    active_lenders: int = 0
    loans_opened_3m: int = 0
    credit_inquiries_3m: int = 0
    credit_inquiries_6m: int = 0
    overdue_count_24m: int = 0
    max_overdue_days_24m: int = 0
    current_overdue_fen: int = 0
    bureau_monthly_payment_fen: int = 0
    # This bank's own loans to the customer (the ¥200,000 unsecured cap counts them)
    bank_outstanding_principal_fen: int = 0
    # SME tax loan: the business the applicant owns
    business_customer_id: str | None = None
    business_age_months: int = 0
    tax_credit_grade: str | None = None
    tax_filings_24m: int = 0
    annual_tax_fen: int = 0
    annual_revenue_fen: int = 0

    def to_json(self) -> dict:
        # Flat scalars only: a shallow copy (dataclasses.asdict deep-copies every value, once per decision).
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> Features:
        return cls(**data)


@dataclass(frozen=True)
class RuleHit:
    rule_id: str
    reason: Reason
    effect: Effect
    detail: str


@dataclass
class DecisionResult:
    outcome: Outcome
    reason_codes: list[str]
    rule_hits: list[RuleHit]
    score: int | None = None
    score_points: dict[str, int] = field(default_factory=dict)
    grade: str | None = None
    limit_fen: int | None = None
    offer_amount_fen: int | None = None
    annual_rate: Decimal | None = None
    total_interest_fen: int | None = None
    rules_version: str = RULES_VERSION

    def to_json(self) -> dict:
        return {
            "Outcome": self.outcome.value,
            "ReasonCodes": list(self.reason_codes),
            "RuleHits": [
                {
                    "RuleId": h.rule_id,
                    "ReasonCode": h.reason.value,
                    "Effect": h.effect.value,
                    "Detail": h.detail,
                }
                for h in self.rule_hits
            ],
            "Score": self.score,
            "ScorePoints": dict(self.score_points),
            "Grade": self.grade,
            "LimitFen": self.limit_fen,
            "OfferAmountFen": self.offer_amount_fen,
            "AnnualRate": None if self.annual_rate is None else str(self.annual_rate),
            "TotalInterestFen": self.total_interest_fen,
            "RulesVersion": self.rules_version,
        }


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return None if denominator <= 0 else Decimal(numerator) / Decimal(denominator)


def _round_down(amount_fen: int, step_fen: int) -> int:
    return max(0, amount_fen // step_fen * step_fen)


def max_principal_for_payment_fen(
    payment_fen: int, annual_rate: Decimal, term_months: int, method: str
) -> int:
    """The largest principal whose highest regular monthly payment stays within `payment_fen`."""
    if payment_fen <= 0:
        return 0
    r = monthly_rate(annual_rate)
    if method == RepaymentMethod.EQUAL_INSTALMENT and r > 0:
        growth = (1 + r) ** term_months
        return int(Decimal(payment_fen) * (growth - 1) / (r * growth))
    # Equal principal: the first month is the largest (P/n + P·r). Interest-only is held to the same
    # amortising standard so that a bullet does not buy a bigger limit.
    return int(Decimal(payment_fen) / (Decimal(1) / term_months + r))


def scorecard(f: Features) -> tuple[int, dict[str, int]]:
    """Points per characteristic; the total decides the grade."""
    points: dict[str, int] = {}
    months = f.credit_file_months
    points["CreditFileAge"] = 60 if months >= 60 else 40 if months >= 24 else 20 if months >= 12 else 0
    overdue = f.overdue_count_24m
    points["OverdueHistory"] = 50 if overdue == 0 else 10 if overdue <= 2 else -40
    inquiries = f.credit_inquiries_6m
    points["RecentInquiries"] = 30 if inquiries <= 2 else 0 if inquiries <= 5 else -40
    salary = f.salary_months_6m
    points["IncomeRegularity"] = 50 if salary >= 6 else 20 if salary >= 4 else 0
    dti = _ratio(f.bureau_monthly_payment_fen, f.monthly_income_fen)
    points["ExistingDebtToIncome"] = (
        -30 if dti is None else 40 if dti < Decimal("0.30") else 10 if dti < DTI_MAX else -30
    )
    cover = _ratio(f.average_balance_fen, f.monthly_income_fen)
    points["BalanceCover"] = 0 if cover is None else 40 if cover >= 3 else 20 if cover >= 1 else 0
    points["PrimaryAccountHere"] = 20 if f.has_class_i_account else 0
    return SCORE_BASE + sum(points.values()), points


def grade_for(score: int) -> Grade:
    for cutoff, grade in GRADE_CUTOFFS:
        if score >= cutoff:
            return grade
    return Grade.E


def _credit_history_hit(f: Features) -> RuleHit | None:
    if (
        f.current_overdue_fen > 0
        or f.max_overdue_days_24m > OVERDUE_MAX_DAYS_24M
        or f.overdue_count_24m > OVERDUE_MAX_COUNT_24M
    ):
        return RuleHit(
            "R04",
            Reason.CREDIT_HISTORY,
            Effect.DECLINE,
            f"currently overdue {f.current_overdue_fen / 100:.2f} CNY; {f.overdue_count_24m} overdue occurrences "
            f"in 24 months (max {OVERDUE_MAX_COUNT_24M}), worst {f.max_overdue_days_24m} days "
            f"(max {OVERDUE_MAX_DAYS_24M})",
        )
    return None


def _common_hits(f: Features) -> list[RuleHit]:
    hits = []
    if f.blacklisted:
        hits.append(RuleHit("R01", Reason.FRAUD_BLACKLIST, Effect.DECLINE, "identity on the fraud blacklist"))
    if f.applications_1h >= VELOCITY_MAX_APPLICATIONS_1H:
        hits.append(
            RuleHit(
                "R02",
                Reason.VELOCITY,
                Effect.DECLINE,
                f"{f.applications_1h} applications in the last hour (max {VELOCITY_MAX_APPLICATIONS_1H - 1})",
            )
        )
    if f.age_years is not None and not MIN_AGE_YEARS <= f.age_years <= MAX_AGE_YEARS:
        hits.append(
            RuleHit(
                "R03",
                Reason.AGE_OUT_OF_RANGE,
                Effect.DECLINE,
                f"age {f.age_years} outside {MIN_AGE_YEARS}-{MAX_AGE_YEARS}",
            )
        )
    credit = _credit_history_hit(f)
    if credit:
        hits.append(credit)
    return hits


def _personal_hits(f: Features) -> list[RuleHit]:
    hits = _common_hits(f)
    if (
        f.active_lenders > MULTI_LENDING_MAX_LENDERS
        or f.credit_inquiries_3m > MULTI_LENDING_MAX_INQUIRIES_3M
        or f.loans_opened_3m > MULTI_LENDING_MAX_NEW_LOANS_3M
    ):
        hits.append(
            RuleHit(
                "R05",
                Reason.MULTI_LENDING,
                Effect.DECLINE,
                f"active loans at {f.active_lenders} lenders (max {MULTI_LENDING_MAX_LENDERS}), "
                f"{f.credit_inquiries_3m} credit inquiries in 3 months (max {MULTI_LENDING_MAX_INQUIRIES_3M}), "
                f"{f.loans_opened_3m} loans opened in 3 months (max {MULTI_LENDING_MAX_NEW_LOANS_3M})",
            )
        )
    if f.salary_months_6m < MIN_SALARY_MONTHS_6M or f.monthly_income_fen <= 0:
        hits.append(
            RuleHit(
                "R07",
                Reason.NO_VERIFIABLE_INCOME,
                Effect.DECLINE,
                f"regular income seen in {f.salary_months_6m} of the last 6 months (min {MIN_SALARY_MONTHS_6M})",
            )
        )
    else:
        dti = _ratio(f.bureau_monthly_payment_fen, f.monthly_income_fen)
        if dti is not None and dti > DTI_MAX:
            hits.append(
                RuleHit(
                    "R06",
                    Reason.DEBT_TO_INCOME,
                    Effect.DECLINE,
                    f"existing debt payments are {dti * 100:.0f}% of monthly income (max {DTI_MAX * 100:.0f}%)",
                )
            )
    return hits


def _is_thin(f: Features) -> bool:
    return f.credit_file_months < THIN_FILE_MIN_MONTHS or f.credit_accounts < THIN_FILE_MIN_ACCOUNTS


def decide(request: DecisionRequest, f: Features) -> DecisionResult:
    """The decision for one application; the same request and features always give the same result."""
    product = PRODUCTS_BY_ID[request.product_id]
    if product.product_type is ProductType.SME_TAX_LOAN:
        return _decide_sme(request, f)
    return _decide_personal(request, f)


def _declined(hits: list[RuleHit], **extra) -> DecisionResult:
    reasons = list(dict.fromkeys(h.reason.value for h in hits if h.effect is Effect.DECLINE))
    return DecisionResult(Outcome.DECLINED, reasons, hits, **extra)


def _offer(
    request: DecisionRequest,
    hits: list[RuleHit],
    limit_fen: int,
    min_amount_fen: int,
    rate: Decimal,
    score: int | None,
    points: dict[str, int],
    grade: Grade,
    binding: Reason,
) -> DecisionResult:
    extra = {"score": score, "score_points": points, "grade": grade.value, "limit_fen": limit_fen}
    if limit_fen < min_amount_fen:
        hits.append(
            RuleHit(
                "L01",
                binding,
                Effect.DECLINE,
                f"limit {limit_fen / 100:.2f} CNY is below the product minimum {min_amount_fen / 100:.2f} CNY",
            )
        )
        return _declined(hits, **extra)
    amount_fen = request.amount_fen
    reasons: list[str] = []
    if amount_fen > limit_fen:
        hits.append(
            RuleHit(
                "L02",
                Reason.AMOUNT_ABOVE_LIMIT,
                Effect.LIMIT,
                f"requested {amount_fen / 100:.2f} CNY is above the limit {limit_fen / 100:.2f} CNY: counter-offer",
            )
        )
        amount_fen = limit_fen
        reasons.append(Reason.AMOUNT_ABOVE_LIMIT.value)
    schedule = build_schedule(
        amount_fen,
        rate,
        request.term_months,
        RepaymentMethod(request.repayment_method),
        request.decision_date,
    )
    return DecisionResult(
        Outcome.APPROVED,
        reasons,
        hits,
        offer_amount_fen=amount_fen,
        annual_rate=rate,
        total_interest_fen=total_interest_fen(schedule),
        **extra,
    )


def _decide_personal(request: DecisionRequest, f: Features) -> DecisionResult:
    product = PRODUCTS_BY_ID[request.product_id]
    hits = _personal_hits(f)
    if any(h.effect is Effect.DECLINE for h in hits):
        return _declined(hits)
    thin = _is_thin(f)
    if thin and request.amount_fen > THIN_FILE_MAX_AMOUNT_FEN:
        hits.append(
            RuleHit(
                "R08",
                Reason.THIN_FILE,
                Effect.REFER,
                f"credit file {f.credit_file_months} months old with {f.credit_accounts} account(s): above "
                f"{THIN_FILE_MAX_AMOUNT_FEN / 100:.2f} CNY a person reviews the application",
            )
        )
        return DecisionResult(Outcome.REFERRED, [Reason.THIN_FILE.value], hits)
    score, points = scorecard(f)
    grade = grade_for(score)
    if grade is Grade.E:
        hits.append(
            RuleHit("S01", Reason.LOW_SCORE, Effect.DECLINE, f"score {score} below {GRADE_CUTOFFS[-1][0]}")
        )
        return _declined(hits, score=score, score_points=points, grade=grade.value)
    rate = price(grade)
    affordable_payment_fen = int(Decimal(f.monthly_income_fen) * DTI_MAX) - f.bureau_monthly_payment_fen
    limits = {
        Reason.DEBT_TO_INCOME: max_principal_for_payment_fen(
            affordable_payment_fen, rate, request.term_months, request.repayment_method
        ),
        Reason.AMOUNT_ABOVE_LIMIT: min(
            product.max_amount_fen,
            f.monthly_income_fen * INCOME_LIMIT_MULTIPLE[grade],
            UNSECURED_PERSONAL_CAP_FEN - f.bank_outstanding_principal_fen,
            THIN_FILE_MAX_AMOUNT_FEN if thin else product.max_amount_fen,
        ),
    }
    binding = min(limits, key=lambda reason: (limits[reason], reason.value))
    limit_fen = _round_down(limits[binding], PERSONAL_LIMIT_STEP_FEN)
    return _offer(request, hits, limit_fen, product.min_amount_fen, rate, score, points, grade, binding)


def _decide_sme(request: DecisionRequest, f: Features) -> DecisionResult:
    product = PRODUCTS_BY_ID[request.product_id]
    hits = _common_hits(f)
    if f.business_customer_id is None:
        hits.append(
            RuleHit("T01", Reason.NO_BUSINESS, Effect.DECLINE, "the applicant owns no business at this bank")
        )
        return _declined(hits)
    if f.tax_filings_24m < TAX_MIN_FILINGS_24M or f.business_age_months < TAX_MIN_BUSINESS_AGE_MONTHS:
        hits.append(
            RuleHit(
                "T02",
                Reason.INSUFFICIENT_TAX_HISTORY,
                Effect.DECLINE,
                f"{f.tax_filings_24m} monthly tax filings in 24 months (min {TAX_MIN_FILINGS_24M}); business "
                f"{f.business_age_months} months old (min {TAX_MIN_BUSINESS_AGE_MONTHS})",
            )
        )
    elif f.tax_credit_grade not in TAX_GRADES_LENDABLE:
        hits.append(
            RuleHit(
                "T03",
                Reason.TAX_CREDIT_GRADE,
                Effect.DECLINE,
                f"tax credit grade {f.tax_credit_grade} (A or B needed)",
            )
        )
    if any(h.effect is Effect.DECLINE for h in hits):
        return _declined(hits)
    grade = TAX_GRADES_LENDABLE[f.tax_credit_grade or ""]
    rate = price(grade)
    limit_fen = min(
        product.max_amount_fen,
        int(Decimal(f.annual_tax_fen) * TAX_LIMIT_MULTIPLE[grade]),
        int(Decimal(f.annual_revenue_fen) * TAX_LIMIT_MAX_REVENUE_SHARE),
    )
    limit_fen = _round_down(limit_fen, SME_LIMIT_STEP_FEN)
    return _offer(
        request, hits, limit_fen, product.min_amount_fen, rate, None, {}, grade, Reason.AMOUNT_ABOVE_LIMIT
    )
