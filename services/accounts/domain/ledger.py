"""Double-entry rules, pure: no I/O. Amounts are integer fen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.accounts.domain.errors import BalanceRuleBroken, UnbalancedTransaction

CLASS_III_MAX_BALANCE_FEN = 200_000  # PBOC 银发〔2018〕16号: a Class Ⅲ account holds at most ¥2,000
MAX_POSTINGS_PER_TRANSACTION = 50
# A loan receivable (贷款) is an asset of the bank: it carries a debit balance, which in this ledger (positive
# credits) is negative. It may fall to -principal and come back to zero, never above; only lending posts to it.
LOAN_CLASS = "LOAN"
LOAN_POSTER = "loans"  # the x-openbank-service of the lending service


@dataclass(frozen=True)
class PostingLine:
    account_id: str
    amount_fen: int  # positive credits the account, negative debits it


def check_balanced(lines: Iterable[PostingLine]) -> list[PostingLine]:
    """A ledger transaction has 2..50 non-zero legs that sum to exactly zero."""
    lines = list(lines)
    if not 2 <= len(lines) <= MAX_POSTINGS_PER_TRANSACTION:
        raise UnbalancedTransaction(
            message=f"a ledger transaction has 2 to {MAX_POSTINGS_PER_TRANSACTION} postings", path="Postings"
        )
    for index, line in enumerate(lines):
        if line.amount_fen == 0:
            raise UnbalancedTransaction(
                message="a posting amount cannot be zero", path=f"Postings[{index}].Amount"
            )
    total = sum(line.amount_fen for line in lines)
    if total != 0:
        raise UnbalancedTransaction(
            message=f"postings do not balance: they sum to {total} fen", path="Postings"
        )
    return lines


def check_balances_after(
    lines: Iterable[PostingLine],
    balances_before_fen: Mapping[str, int],
    account_classes: Mapping[str, str],
    held_fen: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """The booked balances after posting, refusing any customer account whose *available* balance (booked less
    placed holds) would go below zero, or whose booked balance would pass its class cap."""
    held_fen = held_fen or {}
    after = dict(balances_before_fen)
    for line in lines:
        after[line.account_id] = after.get(line.account_id, 0) + line.amount_fen
    for account_id, balance_fen in after.items():
        account_class = account_classes[account_id]
        if account_class == "INTERNAL":
            continue  # the bank's own accounts (clearing, settlement) carry either sign
        if account_class == LOAN_CLASS:
            if balance_fen > 0 and balance_fen > balances_before_fen.get(account_id, 0):
                raise BalanceRuleBroken(
                    message=f"loan account {account_id} would be repaid beyond what is owed", path="Postings"
                )
            continue  # a debit balance is what a loan account holds
        if balance_fen - held_fen.get(account_id, 0) < 0 and balance_fen < balances_before_fen.get(
            account_id, 0
        ):
            raise BalanceRuleBroken(message=f"insufficient funds in account {account_id}", path="Postings")
        if (
            account_class == "III"
            and balance_fen > CLASS_III_MAX_BALANCE_FEN
            and balance_fen > balances_before_fen.get(account_id, 0)
        ):
            raise BalanceRuleBroken(
                message=f"account {account_id} is Class III: its balance may not exceed 2000.00 CNY "
                "(CLASS_III_BALANCE_LIMIT)",
                path="Postings",
            )
    return after


def check_loan_poster(account_classes: Mapping[str, str], posted_by: str) -> None:
    """Loan accounts move only with lending's disbursements and repayments: a payment cannot debit one (that
    would draw new credit) nor credit one (repayment goes through the lending API, which splits interest)."""
    for account_id, account_class in account_classes.items():
        if account_class == LOAN_CLASS and posted_by != LOAN_POSTER:
            raise BalanceRuleBroken(
                message=f"account {account_id} is a loan account: only lending posts to it", path="Postings"
            )


def check_hold(amount_fen: int, available_fen: int, account_class: str) -> None:
    """A hold sets aside money the account has: positive, and no more than what is available."""
    if amount_fen <= 0:
        raise BalanceRuleBroken(message="a hold amount must be positive", path="Amount.Amount")
    if account_class in ("INTERNAL", LOAN_CLASS):
        raise BalanceRuleBroken(message="holds are placed on customer accounts only", path="AccountId")
    if amount_fen > available_fen:
        raise BalanceRuleBroken(message="insufficient funds for this hold", path="Amount.Amount")
