"""Every ledger invariant, checked from the database as it is (`openbank ledger verify`).

- each transaction has at least two postings and they sum to zero; no posting without its transaction and account;
- balances are the sum of postings: the SQL aggregate and an independent streamed sum agree;
- no customer account below zero (booked, and available = booked - placed holds), no Class Ⅲ account above its cap;
- no loan account with a credit balance (a loan receivable is repaid down to zero, never beyond);
- holds are positive, and a captured hold has its capture transaction;
- no ledger transaction posted twice for idempotency keys (one key per transaction, each naming a real transaction).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from openbank_kit.db import Database
from services.accounts import repository
from services.accounts.domain.ledger import CLASS_III_MAX_BALANCE_FEN, LOAN_CLASS
from services.accounts.service import POST_TRANSACTION

MAX_BREACHES_LISTED = 100  # per tenant; the count is always exact


@dataclass
class TenantReport:
    tenant_id: str
    transactions: int = 0
    accounts: int = 0
    breaches: list[str] = field(default_factory=list)
    breach_count: int = 0

    def breach(self, text: str) -> None:
        self.breach_count += 1
        if len(self.breaches) < MAX_BREACHES_LISTED:
            self.breaches.append(text)


def verify_tenant(db: Database, tenant_id: str) -> TenantReport:
    report = TenantReport(tenant_id)
    with db.read_session() as session:
        report.transactions = repository.count_transactions(session, tenant_id)
        for transaction_id, total in repository.unbalanced_transactions(session, tenant_id):
            report.breach(f"transaction {transaction_id} does not balance: its postings sum to {total} fen")
        for transaction_id, legs in repository.transactions_with_too_few_postings(session, tenant_id):
            report.breach(f"transaction {transaction_id} has {legs} posting(s); at least 2 are required")
        for posting_id in repository.orphan_postings(session, tenant_id):
            report.breach(f"posting {posting_id} names a missing transaction or account")
        aggregated = repository.all_balances_fen(session, tenant_id)
        streamed: dict[str, int] = defaultdict(int)
        for account_id, amount_fen in repository.stream_postings(session, tenant_id):
            streamed[account_id] += int(amount_fen)
        if dict(streamed) != aggregated:
            differing = sorted(set(streamed.items()) ^ set(aggregated.items()))[:5]
            report.breach(f"balances disagree between the aggregate and the sum of postings: {differing}")
        held = repository.all_held_fen(session, tenant_id)
        accounts = repository.all_accounts(session, tenant_id)
        report.accounts = len(accounts)
        for account in accounts:
            if account.account_class == "INTERNAL":
                continue  # the bank's own accounts may carry either sign
            booked_fen = aggregated.get(account.account_id, 0)
            if account.account_class == LOAN_CLASS:
                if booked_fen > 0:
                    report.breach(
                        f"loan account {account.account_id} has a credit balance of {booked_fen} fen"
                    )
                continue  # a loan receivable carries a debit (negative) balance
            available_fen = booked_fen - held.get(account.account_id, 0)
            if booked_fen < 0 or available_fen < 0:
                report.breach(
                    f"account {account.account_id} is below zero: booked {booked_fen} fen, "
                    f"available {available_fen} fen"
                )
            if account.account_class == "III" and booked_fen > CLASS_III_MAX_BALANCE_FEN:
                report.breach(f"Class III account {account.account_id} holds {booked_fen} fen, over its cap")
        for hold_id in repository.bad_holds(session, tenant_id):
            report.breach(f"hold {hold_id} is not positive or is captured without its transaction")
        for problem in repository.duplicate_idempotency_uses(session, tenant_id, POST_TRANSACTION):
            report.breach(f"idempotency: {problem}")
    return report


def verify_ledger(db: Database, tenant_id: str | None = None) -> list[TenantReport]:
    """One report per tenant (or for `tenant_id` only)."""
    if tenant_id is not None:
        return [verify_tenant(db, tenant_id)]
    with db.read_session() as session:
        tenants = repository.ledger_tenants(session)
    return [verify_tenant(db, tenant) for tenant in tenants]
