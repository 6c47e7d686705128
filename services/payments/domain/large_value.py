"""Large-value transaction reports (大额交易报告), pure: no I/O. Amounts in fen.

PBOC Order 〔2016〕No. 3 (in force 2017-07-01; research/china_domain.md): a bank reports a customer's transfers
between its account and other accounts when, on one day, a single transfer or the day's total reaches
- ¥2,000,000 for a non-natural-person (corporate) account holder, and
- ¥500,000 for a natural person's domestic transfers (cross-border: USD 200,000, not offered here);
cash of ¥50,000 a day is reported too, but the sandbox has no cash channel. "以上" includes the figure itself,
so the test is `total >= threshold`. The reason codes are the report's transaction feature codes (大额交易特征代码).
"""

from __future__ import annotations

from dataclasses import dataclass

PERSONAL_ACCOUNT_CLASSES = frozenset({"I", "II", "III"})
CORPORATE_ACCOUNT_CLASS = "BUSINESS"  # the internal class of a 单位 account (accounts' CORPORATE)


@dataclass(frozen=True)
class ReportRule:
    holder_kind: str  # PERSONAL | CORPORATE
    threshold_fen: int
    reason_code: str
    description: str


PERSONAL_DOMESTIC_TRANSFER = ReportRule(
    "PERSONAL", 50_000_000, "0503", "自然人客户当日单笔或累计境内款项划转人民币50万元以上"
)
CORPORATE_TRANSFER = ReportRule(
    "CORPORATE", 200_000_000, "0502", "非自然人客户当日单笔或累计款项划转人民币200万元以上"
)


def rule_for(account_class: str) -> ReportRule | None:
    """The reporting rule for transfers out of an account of this class; None for internal accounts."""
    if account_class in PERSONAL_ACCOUNT_CLASSES:
        return PERSONAL_DOMESTIC_TRANSFER
    if account_class == CORPORATE_ACCOUNT_CLASS:
        return CORPORATE_TRANSFER
    return None


def reaches_threshold(rule: ReportRule, earlier_today_fen: int, amount_fen: int) -> bool:
    """True when this transfer makes the day's total (single or cumulative) reach the rule's threshold."""
    assert amount_fen > 0 and earlier_today_fen >= 0
    return earlier_today_fen + amount_fen >= rule.threshold_fen
