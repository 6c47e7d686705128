"""The in-memory shape of the world before it becomes table rows, plus small date helpers."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date


def add_months(day: date, months: int, day_of_month: int | None = None) -> date:
    """`day` moved by whole months; the day of month is clamped to the month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    wanted = day_of_month if day_of_month is not None else day.day
    return date(year, month + 1, min(wanted, calendar.monthrange(year, month + 1)[1]))


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def years_before(day: date, years: int, extra_days: int = 0) -> date:
    """A birth date `years` before `day` (29 Feb becomes 28 Feb), minus `extra_days`."""
    try:
        shifted = day.replace(year=day.year - years)
    except ValueError:
        shifted = day.replace(year=day.year - years, day=28)
    return date.fromordinal(shifted.toordinal() - extra_days)


@dataclass
class AccountSpec:
    account_id: str
    customer_id: str | None
    account_number: str
    account_class: str  # I | II | III | CORPORATE | INTERNAL
    nickname: str
    opened_on: date
    bound_account_id: str | None = None
    bound_external_account_number: str | None = None

    @property
    def account_type(self) -> str:
        return {"CORPORATE": "Business", "INTERNAL": "Internal"}.get(self.account_class, "Personal")

    @property
    def account_subtype(self) -> str:
        return "Savings" if self.account_class in ("II", "III") else "CurrentAccount"


@dataclass
class Loan:
    """One credit account in the bureau file, with what the ledger needs to show its repayments."""

    credit_account_id: str
    lender_name: str
    account_type: str  # CREDIT_CARD | CONSUMER_LOAN | ONLINE_MICRO_LOAN | MORTGAGE | CAR_LOAN | BUSINESS_LOAN
    opened_on: date
    credit_limit_fen: int
    outstanding_fen: int
    monthly_payment_fen: int
    status: str = "ACTIVE"  # ACTIVE | CLOSED | OVERDUE
    overdue_count_24m: int = 0
    max_overdue_days_24m: int = 0
    current_overdue_fen: int = 0
    repay_day: int = 15
    disbursed_fen: int = 0  # credited to the customer's account on opened_on when inside the history
    last_repayment_on: date | None = None  # no repayments after this (closed or gone overdue)


@dataclass
class Utility:
    biller_id: str
    reference: str
    base_fen: int  # typical monthly bill; seasonality is applied per period


@dataclass
class Person:
    customer_id: str
    full_name: str
    gender: str
    birth_date: date
    id_number: str
    mobile: str
    username: str
    is_persona: bool
    onboarded_on: date
    accounts: list[AccountSpec] = field(default_factory=list)
    primary_account_id: str = ""  # where income arrives and most spending leaves from
    opening_fen: dict[str, int] = field(default_factory=dict)  # account_id -> opening balance
    salary_fen: int = 0
    payday: int = 10
    employer_name: str | None = None
    employer_account_number: str | None = None  # set when the employer banks elsewhere (CNAPS)
    employer_account_id: str | None = None  # set when the employer is an SME at this bank
    salary_until: date | None = None  # last salary date (e.g. left the job)
    rent_fen: int = 0
    landlord_name: str | None = None
    landlord_account_number: str | None = None
    utilities: list[Utility] = field(default_factory=list)
    ecommerce_per_month: int = 0
    small_spender: bool = False  # only small everyday spends (a Class III wallet)
    spend_account_id: str | None = None  # e-commerce leaves from here (a Class II "spending" account)
    monthly_transfer_fen: int = 0  # primary -> spend account after payday
    sweep_to_bound_fen: int = 0  # monthly saving sent back to the bound Class I at another bank
    topup: tuple[str | None, int, int] | None = (
        None  # (from account_id or None = bound external, low, target)
    )
    cash_per_month: int = 0
    forward_disbursements_to: tuple[str, str] | None = (
        None  # (name, number elsewhere) new loans are passed on to
    )
    p2p_per_month: int = 0
    loans: list[Loan] = field(default_factory=list)
    inquiries: list[tuple[date, str, str]] = field(default_factory=list)  # (date, institution, reason)
    provident_fund_monthly_fen: int | None = None
    blacklist: tuple[str, date, str] | None = None  # (reason, listed_on, source)

    @property
    def display_name(self) -> str:
        return self.full_name


@dataclass
class Sme:
    customer_id: str
    full_name: str
    uscc: str
    region: str
    owner_customer_id: str | None
    established_on: date
    mobile: str
    account: AccountSpec
    industry: str
    taxpayer_type: str  # GENERAL | SMALL_SCALE
    tax_credit_grade: str
    revenue_fen: dict[str, int] = field(default_factory=dict)  # period -> revenue excluding VAT
    filed_periods: list[str] = field(default_factory=list)
    filing_day: int = 10  # filed on this day of the month after the period
    cost_ratio: float = 0.8  # purchases / revenue
    rent_fen: int = 0
    landlord_name: str = ""
    external_payroll_fen: int = 0  # staff paid at other banks, one batch a month
    payroll: list[tuple[str, int]] = field(default_factory=list)  # (person customer_id, salary) paid here
    payday: int = 10
    online_share: float = 0.0  # share of receipts settled by e-commerce platforms
    opening_fen: int = 0
    capital_from_account_id: str | None = None  # the owner's account that paid in the capital (if in history)
    capital_fen: int = 0
