"""SME tax records (the inputs of 税金贷) and the economics the ledger shares with them.

One model drives both: a month's revenue (excluding VAT) gives the receipts booked to the corporate account
(revenue + output VAT), the purchases, and the VAT + income tax filed for that period; the tax is paid from
the corporate account on the filing day. So filings and the ledger agree for every month in the history.
"""

from __future__ import annotations

import random
from datetime import date

from sandbox_data.model import Sme, add_months

VAT_RATE = {"GENERAL": 0.13, "SMALL_SCALE": 0.01}
SMALL_SCALE_VAT_FREE_FEN = 10_000_000  # small-scale taxpayers with monthly sales <= ¥100,000 pay no VAT
INCOME_TAX_RATE = 0.05  # effective rate for small low-profit enterprises (小型微利企业)
_SEASON = (0.85, 0.7, 0.95, 1.0, 1.0, 1.0, 0.95, 1.0, 1.05, 1.05, 1.15, 1.25)  # Spring Festival dip, Q4 peak


def monthly_revenue(seed: int, customer_id: str, base_fen: int, period: str) -> int:
    jitter = random.Random(f"{seed}:revenue:{customer_id}:{period}").uniform(0.9, 1.1)
    return int(base_fen * _SEASON[int(period[5:7]) - 1] * jitter) // 100 * 100


def output_vat(sme: Sme, revenue_fen: int) -> int:
    if sme.taxpayer_type == "SMALL_SCALE" and revenue_fen <= SMALL_SCALE_VAT_FREE_FEN:
        return 0
    return round(revenue_fen * VAT_RATE[sme.taxpayer_type])


def receipts_fen(sme: Sme, revenue_fen: int) -> int:
    """What customers pay in a month: revenue plus the VAT charged on it."""
    return revenue_fen + output_vat(sme, revenue_fen)


def purchases_fen(sme: Sme, revenue_fen: int) -> int:
    """What the SME pays suppliers in a month (input VAT included)."""
    cost = revenue_fen * sme.cost_ratio
    return round(cost * (1 + VAT_RATE["GENERAL"])) if sme.taxpayer_type == "GENERAL" else round(cost)


def vat_payable(sme: Sme, revenue_fen: int) -> int:
    if sme.taxpayer_type == "GENERAL":
        return max(0, round(revenue_fen * (1 - sme.cost_ratio) * VAT_RATE["GENERAL"]))
    return output_vat(sme, revenue_fen)


def monthly_overheads(sme: Sme) -> int:
    return sme.rent_fen + sme.external_payroll_fen + sum(salary for _, salary in sme.payroll)


def income_tax(sme: Sme, revenue_fen: int) -> int:
    profit = revenue_fen * (1 - sme.cost_ratio) - monthly_overheads(sme)
    return max(0, round(profit * INCOME_TAX_RATE))


def filed_on(sme: Sme, period: str) -> date:
    return add_months(date(int(period[:4]), int(period[5:7]), 1), 1, sme.filing_day)


def profile_rows(smes: list[Sme]) -> list[dict]:
    return [
        {
            "customer_id": sme.customer_id,
            "uscc": sme.uscc,
            "taxpayer_name": sme.full_name,
            "taxpayer_type": sme.taxpayer_type,
            "tax_credit_grade": sme.tax_credit_grade,
            "registered_on": sme.established_on,
            "industry": sme.industry,
        }
        for sme in smes
    ]


def filing_rows(smes: list[Sme]) -> list[dict]:
    rows = []
    for sme in smes:
        for period in sme.filed_periods:
            revenue = sme.revenue_fen[period]
            rows.append(
                {
                    "filing_id": filing_id(sme, period),
                    "customer_id": sme.customer_id,
                    "uscc": sme.uscc,
                    "period": period,
                    "revenue_fen": revenue,
                    "vat_fen": vat_payable(sme, revenue),
                    "income_tax_fen": income_tax(sme, revenue),
                    "filed_on": filed_on(sme, period),
                    "status": "FILED",
                }
            )
    return rows


def filing_id(sme: Sme, period: str) -> str:
    return f"TXF-{sme.customer_id}-{period.replace('-', '')}"
