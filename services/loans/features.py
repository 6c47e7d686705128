"""Gathering a decision's features: the ledger profile from accounts, the bureau file, tax records, our own loans."""

from __future__ import annotations

import re
from datetime import date, datetime
from statistics import median

from openbank_kit import sql
from openbank_kit.money import Money
from services.loans import repository
from services.loans.domain.decision import Features
from services.loans.domain.products import PRODUCTS, ProductType
from services.loans.domain.schedule import add_months

CREDIT_INQUIRY_REASONS = {"LOAN_APPROVAL", "CREDIT_CARD_APPROVAL"}
INCOME_MONTHS = 6
TAX_WINDOW_MONTHS = 27  # 24 monthly periods must fall in this window (a filing season of slack)


_PLAIN_AMOUNT = re.compile(r"^\d{1,13}\.\d\d$")


def _fen(amount: dict) -> int:
    """An OBIE Amount from the ledger in fen. The ledger writes two decimals: read those directly (this runs a few
    dozen times per decision), anything else through Money's full checks."""
    text = amount["Amount"]
    if amount["Currency"] == "CNY" and _PLAIN_AMOUNT.match(text):
        return int(text.replace(".", ""))
    return Money.from_obie(amount).fen


def months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return max(0, months - (1 if later.day < earlier.day else 0))


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def read_keys(product_type: ProductType, profile: dict) -> tuple[str, str | None, str | None]:
    """All that `reads` takes from the ledger profile: the customer's id number and, for an SME tax loan, their
    business's id number and customer id. Two profiles with the same keys need the same reads."""
    business = _business(product_type, profile)
    if business is None:
        return profile["IdNumber"], None, None
    return profile["IdNumber"], business["IdNumber"], business["CustomerId"]


def reads(
    tenant_id: str, customer_id: str, product_type: ProductType, profile: dict, now: datetime
) -> list[tuple[sql.Statement, dict]]:
    """The statements that fetch what the rules read beside the ledger profile: the credit file, and for an SME
    tax loan the business's tax profile and filings. Sent in one batch (`openbank_kit.sql.run`)."""
    person_id_number, business_id_number, business_customer_id = read_keys(product_type, profile)
    id_numbers = [person_id_number]
    batch = []
    if business_customer_id is not None:
        id_numbers.append(business_id_number)
        since = add_months(date(now.year, now.month, 1), -TAX_WINDOW_MONTHS)
        batch += repository.tax_reads(tenant_id, business_customer_id, f"{since:%Y-%m}")
    personal_products = [p.product_id for p in PRODUCTS if p.product_type is ProductType.PERSONAL_QUICK_LOAN]
    credit = repository.credit_file_read(
        tenant_id,
        customer_id,
        id_numbers=id_numbers,
        now=now,
        inquiry_reasons=CREDIT_INQUIRY_REASONS,
        product_ids=personal_products,
    )
    return [*batch, credit]


def _business(product_type: ProductType, profile: dict) -> dict | None:
    if product_type is not ProductType.SME_TAX_LOAN:
        return None
    return next(iter(profile.get("OwnedOrganisations") or []), None)


def gather(product_type: ProductType, profile: dict, now: datetime, fetched: list[sql.Rows]) -> Features:
    """Everything the rules read, as one frozen record (stored with the decision for replay), from the ledger
    profile and what `reads` fetched (in its order)."""
    today = now.date()
    months = profile["Months"]
    recent = months[-INCOME_MONTHS:]
    salary = [_fen(m["SalaryCredits"]) for m in recent if m["SalaryCreditCount"] > 0]
    outflows = [_fen(m["Outflows"]) for m in months]
    birth = date.fromisoformat(profile["BirthDate"]) if profile.get("BirthDate") else None

    business = _business(product_type, profile)
    business_fields: dict = {}
    if business is not None:
        tax, filings = repository.tax_from(*fetched[:2])
        last_year = filings[-12:]
        registered = tax.registered_on if tax else date.fromisoformat(business["OnboardedOn"])
        business_fields = {
            "business_customer_id": business["CustomerId"],
            "business_age_months": months_between(registered, today),
            "tax_credit_grade": tax.tax_credit_grade if tax else None,
            "tax_filings_24m": len({f.period for f in filings}),
            "annual_tax_fen": sum(f.vat_fen + f.income_tax_fen for f in last_year),
            "annual_revenue_fen": sum(f.revenue_fen for f in last_year),
        }
    credit = repository.credit_file_from(fetched[-1])
    return Features(
        age_years=_age(birth, today) if birth else None,
        blacklisted=credit.blacklisted,
        applications_1h=credit.applications_1h,
        has_class_i_account=any(a["AccountClass"] == "I" for a in profile["Accounts"]),
        salary_months_6m=len(salary),
        monthly_income_fen=int(median(salary)) if salary else 0,
        average_balance_fen=_fen(profile["AverageMonthEndBalance"]),
        monthly_outflow_fen=sum(outflows) // len(outflows) if outflows else 0,
        has_bureau_file=credit.credit_accounts > 0,
        credit_file_months=months_between(credit.first_credit_on, today) if credit.first_credit_on else 0,
        credit_accounts=credit.credit_accounts,
        active_lenders=credit.active_lenders,
        loans_opened_3m=credit.loans_opened_3m,
        credit_inquiries_3m=credit.credit_inquiries_3m,
        credit_inquiries_6m=credit.credit_inquiries_6m,
        overdue_count_24m=credit.overdue_count_24m,
        max_overdue_days_24m=credit.max_overdue_days_24m,
        current_overdue_fen=credit.current_overdue_fen,
        bureau_monthly_payment_fen=credit.bureau_monthly_payment_fen,
        bank_outstanding_principal_fen=credit.bank_outstanding_principal_fen,
        **business_fields,
    )
