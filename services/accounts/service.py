"""Accounts use cases: post to the ledger (idempotently), read balances, check the ledger's invariant."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import NotFound
from openbank_kit.idempotency import IdempotencyStore, StoredResponse
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.accounts import repository
from services.accounts.domain.errors import UnknownAccount
from services.accounts.domain.ledger import PostingLine, check_balanced, check_balances_after
from services.accounts.models import LedgerTransaction, Posting
from services.accounts.schemas import LedgerTransactionBody

POST_TRANSACTION = "POST /internal/v1/ledger/transactions"


def post_transaction(
    db: Database, tenant_id: str, caller: str, idempotency_key: str | None, body: LedgerTransactionBody
) -> StoredResponse:
    """Post one balanced ledger transaction exactly once per idempotency key."""
    lines = []
    for index, posting in enumerate(body.Postings):
        amount = Money.from_obie(posting.Amount.model_dump(), path=f"Postings[{index}].Amount")
        sign = 1 if posting.CreditDebitIndicator == "Credit" else -1
        lines.append(PostingLine(posting.AccountId, sign * amount.fen))
    lines = check_balanced(lines)

    def create(session: Session, now: datetime) -> StoredResponse:
        account_ids = [line.account_id for line in lines]
        accounts = repository.accounts_by_id(session, tenant_id, account_ids, for_update=True)
        for index, line in enumerate(lines):
            if line.account_id not in accounts:
                raise UnknownAccount(
                    message=f"unknown account {line.account_id}", path=f"Postings[{index}].AccountId"
                )
        before = repository.balances_fen(session, tenant_id, list(accounts))
        classes = {account_id: account.account_class for account_id, account in accounts.items()}
        check_balances_after(lines, before, classes)
        transaction_id = new_id("ltx")
        transaction = LedgerTransaction(
            tenant_id=tenant_id,
            transaction_id=transaction_id,
            booked_at=now,
            value_date=now.date(),
            category=body.Category,
            description=body.Description,
            counterparty_name=body.CounterpartyName,
            reference=body.Reference,
        )
        postings = [
            Posting(
                tenant_id=tenant_id,
                posting_id=f"{transaction_id}-{number}",
                transaction_id=transaction_id,
                account_id=line.account_id,
                amount_fen=line.amount_fen,
            )
            for number, line in enumerate(lines, start=1)
        ]
        assert (
            sum(p.amount_fen for p in postings) == 0
        )  # checked in the domain; asserted again before writing
        repository.add_transaction(session, transaction, postings)
        return StoredResponse(201, _transaction_body(transaction, postings), transaction_id)

    return IdempotencyStore(db).run(
        tenant_id=tenant_id,
        client_id=caller,
        operation=POST_TRANSACTION,
        key=idempotency_key,
        body=body.model_dump(),
        create=create,
    )


def account_balance(db: Database, tenant_id: str, account_id: str) -> dict:
    with db.read_session() as session:
        if not repository.accounts_by_id(session, tenant_id, [account_id], for_update=False):
            raise NotFound(message=f"unknown account {account_id}")
        balance_fen = repository.balances_fen(session, tenant_id, [account_id])[account_id]
        return {
            "AccountId": account_id,
            "Balance": Money.from_fen(balance_fen).to_obie(),
            "DateTime": tenant_now(session, tenant_id).isoformat(),
        }


def ledger_check(db: Database, tenant_id: str) -> dict:
    """The double-entry invariant over a tenant's whole ledger."""
    with db.read_session() as session:
        unbalanced = repository.unbalanced_transactions(session, tenant_id)
        return {
            "Balanced": not unbalanced,
            "Transactions": repository.count_transactions(session, tenant_id),
            "UnbalancedTransactionIds": [transaction_id for transaction_id, _ in unbalanced],
        }


def _transaction_body(transaction: LedgerTransaction, postings: list[Posting]) -> dict:
    return {
        "TransactionId": transaction.transaction_id,
        "BookedAt": transaction.booked_at.isoformat(),
        "Category": transaction.category,
        "Postings": [
            {
                "PostingId": posting.posting_id,
                "AccountId": posting.account_id,
                "CreditDebitIndicator": "Credit" if posting.amount_fen > 0 else "Debit",
                "Amount": Money.from_fen(abs(posting.amount_fen)).to_obie(),
            }
            for posting in postings
        ],
    }
