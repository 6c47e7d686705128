"""Accounts' queries: the only module that knows SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlmodel import Session

from services.accounts.models import Account, LedgerTransaction, Posting


def accounts_by_id(
    session: Session, tenant_id: str, account_ids: Sequence[str], *, for_update: bool
) -> dict[str, Account]:
    query = (
        select(Account)
        .where(Account.tenant_id == tenant_id, Account.account_id.in_(sorted(set(account_ids))))
        .order_by(Account.account_id)  # one lock order for every writer: no deadlocks
    )
    if for_update:
        query = query.with_for_update()
    return {account.account_id: account for account in session.scalars(query)}


def balances_fen(session: Session, tenant_id: str, account_ids: Sequence[str]) -> dict[str, int]:
    query = (
        select(Posting.account_id, func.coalesce(func.sum(Posting.amount_fen), 0))
        .where(Posting.tenant_id == tenant_id, Posting.account_id.in_(list(account_ids)))
        .group_by(Posting.account_id)
    )
    found = {account_id: int(total) for account_id, total in session.execute(query)}
    return {account_id: found.get(account_id, 0) for account_id in account_ids}


def add_transaction(session: Session, transaction: LedgerTransaction, postings: Sequence[Posting]) -> None:
    session.add(transaction)
    session.add_all(postings)


def unbalanced_transactions(session: Session, tenant_id: str) -> list[tuple[str, int]]:
    query = (
        select(Posting.transaction_id, func.sum(Posting.amount_fen))
        .where(Posting.tenant_id == tenant_id)
        .group_by(Posting.transaction_id)
        .having(func.sum(Posting.amount_fen) != 0)
    )
    return [(transaction_id, int(total)) for transaction_id, total in session.execute(query)]


def count_transactions(session: Session, tenant_id: str) -> int:
    query = (
        select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.tenant_id == tenant_id)
    )
    return int(session.scalar(query) or 0)
