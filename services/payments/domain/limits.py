"""Chinese personal account class limits on outflows (个人银行账户分类管理), pure: no I/O. Amounts in fen.

Figures from PBOC 银发〔2018〕16号 (see research/china_domain.md); a bank sets its own here, in one place.
A PISP payment is a payment to a third party, so every one counts as an outflow to a non-bound account.
Class Ⅰ and business accounts have no class limit; every customer has the bank's open-API channel limit below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassLimits:
    per_transaction_fen: int
    daily_outflow_fen: int
    annual_outflow_fen: int


CLASS_LIMITS: dict[str, ClassLimits] = {
    "II": ClassLimits(
        per_transaction_fen=1_000_000, daily_outflow_fen=1_000_000, annual_outflow_fen=20_000_000
    ),
    "III": ClassLimits(per_transaction_fen=200_000, daily_outflow_fen=200_000, annual_outflow_fen=5_000_000),
}


@dataclass(frozen=True)
class LimitBreach:
    code: str  # e.g. CLASS_III_DAILY_OUTFLOW_LIMIT: names the limit
    description: str


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def check_outflow(
    account_class: str, amount_fen: int, used_today_fen: int, used_this_year_fen: int
) -> LimitBreach | None:
    """The first class limit this payment would break, or None. `used_*` are the outflows already counted."""
    assert amount_fen > 0 and used_today_fen >= 0 and used_this_year_fen >= used_today_fen
    limits = CLASS_LIMITS.get(account_class)
    if limits is None:
        return None
    name = f"CLASS_{account_class}"
    if amount_fen > limits.per_transaction_fen:
        return LimitBreach(
            f"{name}_TRANSACTION_LIMIT",
            f"a Class {account_class} account pays at most {_yuan(limits.per_transaction_fen)} CNY at a time",
        )
    if used_today_fen + amount_fen > limits.daily_outflow_fen:
        return LimitBreach(
            f"{name}_DAILY_OUTFLOW_LIMIT",
            f"a Class {account_class} account pays out at most {_yuan(limits.daily_outflow_fen)} CNY a day; "
            f"{_yuan(used_today_fen)} CNY already today",
        )
    if used_this_year_fen + amount_fen > limits.annual_outflow_fen:
        return LimitBreach(
            f"{name}_ANNUAL_OUTFLOW_LIMIT",
            f"a Class {account_class} account pays out at most {_yuan(limits.annual_outflow_fen)} CNY a year",
        )
    return None


# The bank's channel limit for payments a customer authorises in the open-API consent journey (password + SMS
# one-time code): ¥50,000 a day per customer across all their accounts, the common figure for SMS-OTP
# authentication (research/china_domain.md, "Mobile banking transfer limits": bank policy).
CUSTOMER_DAILY_OUTFLOW_FEN = 5_000_000


def check_customer_outflow(amount_fen: int, used_today_fen: int) -> LimitBreach | None:
    """The customer's daily channel limit, counted across accounts; None if the payment fits."""
    assert amount_fen > 0 and used_today_fen >= 0
    if used_today_fen + amount_fen > CUSTOMER_DAILY_OUTFLOW_FEN:
        return LimitBreach(
            "CUSTOMER_DAILY_TRANSFER_LIMIT",
            f"a customer pays out at most {_yuan(CUSTOMER_DAILY_OUTFLOW_FEN)} CNY a day through open-API payments "
            f"across all their accounts; {_yuan(used_today_fen)} CNY already today",
        )
    return None


# 单位 (corporate) accounts are outside the personal channel limit above: an SME pays suppliers and payroll far
# above ¥50,000. Their open-API channel limit, per account per day, is the bank's policy for U-key-level
# authentication of corporate online banking (research/china_domain.md: "token/U-key higher"): ¥5,000,000.
CORPORATE_ACCOUNT_CLASS = "BUSINESS"
CORPORATE_DAILY_OUTFLOW_FEN = 500_000_000


def counts_against_customer_limit(account_class: str) -> bool:
    """A personal account's payments count against the customer's ¥50,000; a corporate account's do not."""
    return account_class != CORPORATE_ACCOUNT_CLASS


def check_corporate_outflow(amount_fen: int, used_today_fen: int) -> LimitBreach | None:
    """The corporate account's daily channel limit; None if the payment fits."""
    assert amount_fen > 0 and used_today_fen >= 0
    if used_today_fen + amount_fen > CORPORATE_DAILY_OUTFLOW_FEN:
        return LimitBreach(
            "CORPORATE_DAILY_TRANSFER_LIMIT",
            f"a corporate account pays out at most {_yuan(CORPORATE_DAILY_OUTFLOW_FEN)} CNY a day through "
            f"open-API payments; {_yuan(used_today_fen)} CNY already today",
        )
    return None
