"""The product catalogue and pricing: LPR + a spread by risk grade, within the legal ceiling.

Every figure a bank would set itself lives here, in one place (china_domain.md: "the sandbox keeps every such
figure in one place").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.loans.domain.schedule import RepaymentMethod

LPR_1Y = Decimal("0.0300")  # 贷款市场报价利率, 1-year, in force from May 2025
LPR_5Y = Decimal("0.0350")
APR_CEILING = Decimal("0.24")  # supervisors' guidance: no internet-loan offer above 24% APR
UNSECURED_PERSONAL_CAP_FEN = 20_000_000  # ¥200,000 per customer at this bank (CBIRC 2020 No.9)
BULLET_MAX_TERM_MONTHS = 12  # an individual's loan repaid in one bullet runs at most a year
OFFER_VALIDITY_DAYS = 7
PENALTY_RATE_UPLIFT = Decimal("0.50")  # 罚息: contract rate +50% on overdue principal (银发〔2003〕251号)


class ProductType(StrEnum):
    PERSONAL_QUICK_LOAN = "PERSONAL_QUICK_LOAN"
    SME_TAX_LOAN = "SME_TAX_LOAN"


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"  # not lendable


# Spread over the 1-year LPR by grade; the sum stays under APR_CEILING (checked in price()).
SPREADS = {
    Grade.A: Decimal("0.0250"),
    Grade.B: Decimal("0.0450"),
    Grade.C: Decimal("0.0750"),
    Grade.D: Decimal("0.1200"),
}


@dataclass(frozen=True)
class Product:
    product_id: str
    product_type: ProductType
    name: str
    min_amount_fen: int
    max_amount_fen: int
    terms_months: tuple[int, ...]
    repayment_methods: tuple[RepaymentMethod, ...]

    def rate_for(self, grade: Grade) -> Decimal:
        return price(grade)


ALL_METHODS = (
    RepaymentMethod.EQUAL_INSTALMENT,
    RepaymentMethod.EQUAL_PRINCIPAL,
    RepaymentMethod.INTEREST_ONLY,
)
PRODUCTS: tuple[Product, ...] = (
    Product(
        "quick-loan",
        ProductType.PERSONAL_QUICK_LOAN,
        "快贷 Quick Loan",
        100_000,
        20_000_000,
        (3, 6, 12, 24, 36),
        ALL_METHODS,
    ),
    Product(
        "sme-tax-loan",
        ProductType.SME_TAX_LOAN,
        "税金贷 SME Tax Loan",
        1_000_000,
        100_000_000,
        (6, 12, 18, 24),
        ALL_METHODS,
    ),
)
PRODUCTS_BY_ID = {product.product_id: product for product in PRODUCTS}


def price(grade: Grade) -> Decimal:
    """The annual contract rate for a grade: 1Y LPR + spread, never above the ceiling."""
    if grade not in SPREADS:
        raise ValueError(f"grade {grade} is not lendable")
    rate = LPR_1Y + SPREADS[grade]
    assert rate <= APR_CEILING
    return min(rate, APR_CEILING)


class TermsProblem(StrEnum):
    AMOUNT = "Data.Amount.Amount"
    TERM = "Data.TermMonths"
    METHOD = "Data.RepaymentMethod"


def check_terms(
    product: Product, amount_fen: int, term_months: int, method: RepaymentMethod
) -> tuple[TermsProblem, str] | None:
    """Why (path, message) the requested terms are outside the product, or None when they fit."""
    if not product.min_amount_fen <= amount_fen <= product.max_amount_fen:
        return (
            TermsProblem.AMOUNT,
            f"Amount must be between {product.min_amount_fen / 100:.2f} and "
            f"{product.max_amount_fen / 100:.2f} CNY for product {product.product_id}",
        )
    if term_months not in product.terms_months:
        terms = ", ".join(str(t) for t in product.terms_months)
        return TermsProblem.TERM, f"TermMonths must be one of {terms} for product {product.product_id}"
    if method not in product.repayment_methods:
        return (
            TermsProblem.METHOD,
            f"RepaymentMethod {method} is not offered for product {product.product_id}",
        )
    if (
        product.product_type is ProductType.PERSONAL_QUICK_LOAN
        and method is RepaymentMethod.INTEREST_ONLY
        and term_months > BULLET_MAX_TERM_MONTHS
    ):
        return (
            TermsProblem.TERM,
            f"an individual's loan repaid at maturity (INTEREST_ONLY) runs at most {BULLET_MAX_TERM_MONTHS} months",
        )
    return None
