"""Pure rules, no database: double-entry checks (property-based), holds, consent permissions and statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbank_kit.errors import FieldInvalid
from services.accounts.domain import consent as rules
from services.accounts.domain.errors import BalanceRuleBroken, ConsentStateConflict, UnbalancedTransaction
from services.accounts.domain.ledger import (
    CLASS_III_MAX_BALANCE_FEN,
    PostingLine,
    check_balanced,
    check_balances_after,
    check_hold,
)

ACCOUNTS = ["A", "B", "C", "INT"]
CLASSES = {"A": "I", "B": "II", "C": "III", "INT": "INTERNAL"}
amounts = st.integers(min_value=1, max_value=10**12)


@given(st.lists(st.tuples(st.sampled_from(ACCOUNTS), amounts), min_size=1, max_size=24))
def test_any_set_of_transfers_balances_and_unbalanced_ones_are_refused(moves):
    lines = [PostingLine(account, -fen) for account, fen in moves] + [
        PostingLine("INT", sum(f for _, f in moves))
    ]
    if len(lines) <= 50:
        assert sum(line.amount_fen for line in check_balanced(lines)) == 0
    with pytest.raises(UnbalancedTransaction):
        check_balanced([*lines[:49], PostingLine("A", 1)] if len(lines) < 50 else lines)


@given(st.dictionaries(st.sampled_from(["A", "B"]), st.integers(0, 10**9), min_size=2),
       st.integers(1, 10**9), st.integers(0, 10**9))  # fmt: skip
def test_a_debit_is_refused_exactly_when_it_exceeds_the_available_balance(before, amount, held):
    lines = [PostingLine("A", -amount), PostingLine("B", amount)]
    classes = {"A": "I", "B": "I"}
    available = before["A"] - held
    if amount <= available:
        after = check_balances_after(lines, before, classes, {"A": held})
        assert after["A"] == before["A"] - amount and sum(after.values()) == sum(before.values())
    else:
        with pytest.raises(BalanceRuleBroken):
            check_balances_after(lines, before, classes, {"A": held})


def test_internal_accounts_carry_either_sign_and_class_iii_has_a_cap():
    assert (
        check_balances_after([PostingLine("INT", -5), PostingLine("A", 5)], {"INT": 0, "A": 0}, CLASSES)[
            "INT"
        ]
        == -5
    )
    at_cap = [
        PostingLine("INT", -CLASS_III_MAX_BALANCE_FEN - 1),
        PostingLine("C", CLASS_III_MAX_BALANCE_FEN + 1),
    ]
    with pytest.raises(BalanceRuleBroken, match="Class III"):
        check_balances_after(at_cap, {"INT": 0, "C": 0}, CLASSES)


def test_holds_take_only_what_is_available_on_customer_accounts():
    check_hold(100, 100, "I")
    for amount, available, account_class in [(101, 100, "I"), (0, 100, "I"), (1, 100, "INTERNAL")]:
        with pytest.raises(BalanceRuleBroken):
            check_hold(amount, available, account_class)


def test_permission_sets_follow_obie():
    assert rules.check_permissions(["ReadAccountsBasic", "ReadAccountsBasic"]) == ["ReadAccountsBasic"]
    assert rules.check_permissions(["ReadTransactionsDetail", "ReadTransactionsDebits", "ReadPAN"])
    for bad in (["ReadTransactionsDetail"], ["ReadTransactionsCredits"], ["ReadPAN"], ["Nope"], []):
        with pytest.raises(FieldInvalid):
            rules.check_permissions(bad)


def test_status_rules():
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert rules.effective_status("AUTH", now, now) == "EXPD"
    assert rules.effective_status("AUTH", now + timedelta(seconds=1), now) == "AUTH"
    assert rules.effective_status("RJCT", now - timedelta(days=1), now) == "RJCT"
    assert rules.effective_status("AWAU", None, now) == "AWAU"
    rules.check_transition("AWAU", "AUTH")
    for current, target in [("AUTH", "AWAU"), ("RJCT", "AUTH"), ("CANC", "AUTH"), ("EXPD", "CANC")]:
        with pytest.raises(ConsentStateConflict):
            rules.check_transition(current, target)
    with pytest.raises(FieldInvalid):
        rules.check_window(now, now - timedelta(seconds=1), None, None)
