"""Accounts' queries: the only module that knows SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import and_, bindparam, case, func, insert, literal, or_, select, union_all
from sqlmodel import Session

from openbank_kit import sql
from openbank_kit.clock import TenantClock
from services.accounts.models import (
    Account,
    AccountAccessConsent,
    Customer,
    LedgerHold,
    LedgerTransaction,
    Posting,
)

HOLD_PLACED = "PLACED"


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


def locked_customer_accounts(
    session: Session, tenant_id: str, account_ids: Sequence[str]
) -> dict[str, Account]:
    """The named accounts that are not the bank's internal ones, locked (by account id, one lock order for every
    writer) until the unit of work ends; internal and unknown ids are left out (and nothing of theirs is locked)."""
    query = (
        select(Account)
        .where(
            Account.tenant_id == tenant_id,
            Account.account_id.in_(sorted(set(account_ids))),
            Account.account_class != "INTERNAL",
        )
        .order_by(Account.account_id)
        .with_for_update()
    )
    return {account.account_id: account for account in session.scalars(query)}


def booked_and_held_fen(
    session: Session, tenant_id: str, account_ids: Sequence[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """(booked balance, PLACED holds) per account, 0 when none, in one statement. Run it after the accounts' locks
    are taken: a statement sees what committed before it began, so only then does it see every earlier posting."""
    ids = list(account_ids)
    if not ids:
        return {}, {}
    booked = (
        select(Posting.account_id.label("account_id"), func.sum(Posting.amount_fen).label("booked_fen"),
               literal(0).label("held_fen"))
        .where(Posting.tenant_id == tenant_id, Posting.account_id.in_(ids))
        .group_by(Posting.account_id)
    )  # fmt: skip
    held = (
        select(LedgerHold.account_id.label("account_id"), literal(0).label("booked_fen"),
               func.sum(LedgerHold.amount_fen).label("held_fen"))
        .where(LedgerHold.tenant_id == tenant_id, LedgerHold.account_id.in_(ids), LedgerHold.status == HOLD_PLACED)
        .group_by(LedgerHold.account_id)
    )  # fmt: skip
    booked_fen = dict.fromkeys(ids, 0)
    held_fen = dict.fromkeys(ids, 0)
    for account_id, booked_part, held_part in session.execute(union_all(booked, held)):
        booked_fen[account_id] += int(booked_part)
        held_fen[account_id] += int(held_part)
    return booked_fen, held_fen


def add_transaction(session: Session, transaction: dict, postings: Sequence[dict]) -> None:
    """Insert-only rows (every column's value), written at once with Core inserts: nothing about them is updated
    later, so the ORM's unit of work (identity map, flush ordering) would only cost time on the posting path."""
    session.execute(insert(LedgerTransaction.__table__), transaction)
    session.execute(insert(Posting.__table__), list(postings))


# --- the async posting path's statements (service.post_transaction_async), compiled once per dialect ---------------
_ACCOUNTS = Account.__table__
_CLOCK = TenantClock.__table__
CLOCK_OFFSET = sql.Statement(select(_CLOCK.c.offset_s).where(_CLOCK.c.tenant_id == bindparam("tenant_id")))


def posting_reads(tenant_id: str, account_ids: Sequence[str]) -> list[tuple[sql.Statement, dict]]:
    """One batch's calls: the named customer accounts locked (as `locked_customer_accounts`), then each named account
    that exists as (account_id, account_class, booked_fen, held_fen, clock_offset_s): the amounts of the ones that are
    not internal (as `booked_and_held_fen`, read after the locks), the tenant's clock offset (NULL: never moved)."""
    ids = sorted(set(account_ids))
    names = {"tenant_id": tenant_id} | {f"a{n}": account_id for n, account_id in enumerate(ids)}
    lock, read = _posting_reads(len(ids))
    return [(lock, names), (read, names)]


@cache
def _posting_reads(accounts: int) -> tuple[sql.Statement, sql.Statement]:
    """The two statements for this many accounts, their ids bound one by one (an IN list would expand per call)."""
    named = (
        _ACCOUNTS.c.tenant_id == bindparam("tenant_id"),
        _ACCOUNTS.c.account_id.in_(
            [bindparam(f"a{n}", type_=_ACCOUNTS.c.account_id.type) for n in range(accounts)]
        ),
    )
    not_internal = _ACCOUNTS.c.account_class != "INTERNAL"
    lock = (
        select(_ACCOUNTS.c.account_id)
        .where(*named, not_internal)
        .order_by(_ACCOUNTS.c.account_id)
        .with_for_update()
    )
    postings, holds = Posting.__table__.c, LedgerHold.__table__.c
    booked = select(func.coalesce(func.sum(postings.amount_fen), 0)).where(
        postings.tenant_id == _ACCOUNTS.c.tenant_id, postings.account_id == _ACCOUNTS.c.account_id
    )
    held = select(func.coalesce(func.sum(holds.amount_fen), 0)).where(
        holds.tenant_id == _ACCOUNTS.c.tenant_id, holds.account_id == _ACCOUNTS.c.account_id,
        holds.status == HOLD_PLACED,
    )  # fmt: skip
    clock = select(_CLOCK.c.offset_s).where(_CLOCK.c.tenant_id == bindparam("tenant_id"))
    read = select(
        _ACCOUNTS.c.account_id,
        _ACCOUNTS.c.account_class,
        case((not_internal, booked.scalar_subquery())).label("booked_fen"),  # internal: never summed (hot)
        case((not_internal, held.scalar_subquery())).label("held_fen"),
        clock.scalar_subquery().label("clock_offset_s"),
    ).where(*named)
    return sql.Statement(lock), sql.Statement(read)


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


# --- holds ------------------------------------------------------------------------------------------------


def held_fen(session: Session, tenant_id: str, account_ids: Sequence[str]) -> dict[str, int]:
    """The sum of PLACED holds per account (0 when none)."""
    query = (
        select(LedgerHold.account_id, func.coalesce(func.sum(LedgerHold.amount_fen), 0))
        .where(
            LedgerHold.tenant_id == tenant_id,
            LedgerHold.account_id.in_(list(account_ids)),
            LedgerHold.status == HOLD_PLACED,
        )
        .group_by(LedgerHold.account_id)
    )
    found = {account_id: int(total) for account_id, total in session.execute(query)}
    return {account_id: found.get(account_id, 0) for account_id in account_ids}


def hold(session: Session, tenant_id: str, hold_id: str, *, for_update: bool) -> LedgerHold | None:
    query = select(LedgerHold).where(LedgerHold.tenant_id == tenant_id, LedgerHold.hold_id == hold_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


# --- customers and their accounts -------------------------------------------------------------------------


def customer(session: Session, tenant_id: str, customer_id: str) -> Customer | None:
    return session.get(Customer, (tenant_id, customer_id))


def customers_by_id(session: Session, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, Customer]:
    query = select(Customer).where(
        Customer.tenant_id == tenant_id, Customer.customer_id.in_(sorted(set(customer_ids)))
    )
    return {row.customer_id: row for row in session.scalars(query)}


def accounts_of_customer(session: Session, tenant_id: str, customer_id: str) -> list[Account]:
    """The customer's own accounts, then those of the organisations the customer owns (an SME's owner)."""
    owned = select(Customer.customer_id).where(
        Customer.tenant_id == tenant_id, Customer.owner_customer_id == customer_id
    )
    query = (
        select(Account)
        .where(
            Account.tenant_id == tenant_id,
            or_(Account.customer_id == customer_id, Account.customer_id.in_(owned)),
        )
        .order_by(Account.account_id)
    )
    return list(session.scalars(query))


# --- consents ---------------------------------------------------------------------------------------------


def consent(
    session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False
) -> AccountAccessConsent | None:
    query = select(AccountAccessConsent).where(
        AccountAccessConsent.tenant_id == tenant_id, AccountAccessConsent.consent_id == consent_id
    )
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


# --- transactions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionRow:
    account_id: str
    posting_id: str
    amount_fen: int
    balance_after_fen: int
    transaction: LedgerTransaction


@dataclass(frozen=True)
class TransactionQuery:
    tenant_id: str
    account_ids: tuple[str, ...]
    from_at: datetime | None
    to_at: datetime | None
    credits: bool
    debits: bool


def _postings_with_running_balance(query: TransactionQuery):
    """Each posting of the accounts with its transaction and the account's balance after it."""
    order = (LedgerTransaction.booked_at, LedgerTransaction.transaction_id, Posting.posting_id)
    return (
        select(
            Posting.account_id.label("account_id"),
            Posting.posting_id.label("posting_id"),
            Posting.amount_fen.label("amount_fen"),
            Posting.transaction_id.label("transaction_id"),
            LedgerTransaction.booked_at.label("booked_at"),
            func.sum(Posting.amount_fen)
            .over(partition_by=Posting.account_id, order_by=order)
            .label("balance_after_fen"),
        )
        .join(
            LedgerTransaction,
            and_(
                LedgerTransaction.tenant_id == Posting.tenant_id,
                LedgerTransaction.transaction_id == Posting.transaction_id,
            ),
        )
        .where(Posting.tenant_id == query.tenant_id, Posting.account_id.in_(list(query.account_ids)))
        .subquery()
    )


def _filtered(query: TransactionQuery, sub):
    conditions = []
    if query.from_at is not None:
        conditions.append(sub.c.booked_at >= query.from_at)
    if query.to_at is not None:
        conditions.append(sub.c.booked_at <= query.to_at)
    if query.credits and not query.debits:
        conditions.append(sub.c.amount_fen > 0)
    if query.debits and not query.credits:
        conditions.append(sub.c.amount_fen < 0)
    return conditions


def count_transactions_in(
    session: Session, query: TransactionQuery
) -> tuple[int, datetime | None, datetime | None]:
    """How many postings match, and the first and last booking time among them."""
    sub = _postings_with_running_balance(query)
    row = session.execute(
        select(func.count(), func.min(sub.c.booked_at), func.max(sub.c.booked_at)).where(
            *_filtered(query, sub)
        )
    ).one()
    return int(row[0]), _aware(row[1]), _aware(row[2])


def transactions_page(
    session: Session,
    query: TransactionQuery,
    *,
    after: tuple[datetime, str, str] | None,
    before: tuple[datetime, str, str] | None,
    limit: int,
) -> list[TransactionRow]:
    """One page, newest first, by keyset on (booked_at, transaction_id, posting_id).

    `after` gives the page following (older than) that key; `before` the page preceding (newer than) it.
    """
    assert 0 < limit <= 1000 and not (after and before)
    sub = _postings_with_running_balance(query)
    conditions = _filtered(query, sub)
    key = (sub.c.booked_at, sub.c.transaction_id, sub.c.posting_id)
    newest_first = (key[0].desc(), key[1].desc(), key[2].desc())
    oldest_first = (key[0].asc(), key[1].asc(), key[2].asc())
    order = newest_first
    if after is not None:
        conditions.append(_key_less_than(key, after))
    if before is not None:
        conditions.append(_key_less_than(key, before, greater=True))
        order = oldest_first
    rows = session.execute(select(sub).where(*conditions).order_by(*order).limit(limit)).all()
    if before is not None:
        rows.reverse()
    transactions = _transactions_by_id(session, query.tenant_id, [row.transaction_id for row in rows])
    return [
        TransactionRow(
            account_id=row.account_id,
            posting_id=row.posting_id,
            amount_fen=int(row.amount_fen),
            balance_after_fen=int(row.balance_after_fen),
            transaction=transactions[row.transaction_id],
        )
        for row in rows
    ]


def _key_less_than(key, value: tuple[datetime, str, str], *, greater: bool = False):
    # Spelled out rather than a row-value comparison so each value binds through its column's type
    # (UtcDateTime stores naive UTC on SQLite).
    booked_at, transaction_id, posting_id = key
    at, tx, posting = value
    if greater:
        return or_(
            booked_at > at,
            and_(booked_at == at, transaction_id > tx),
            and_(booked_at == at, transaction_id == tx, posting_id > posting),
        )
    return or_(
        booked_at < at,
        and_(booked_at == at, transaction_id < tx),
        and_(booked_at == at, transaction_id == tx, posting_id < posting),
    )


def _transactions_by_id(
    session: Session, tenant_id: str, transaction_ids: list[str]
) -> dict[str, LedgerTransaction]:
    if not transaction_ids:
        return {}
    query = select(LedgerTransaction).where(
        LedgerTransaction.tenant_id == tenant_id, LedgerTransaction.transaction_id.in_(transaction_ids)
    )
    return {row.transaction_id: row for row in session.scalars(query)}


def first_posting_at(session: Session, tenant_id: str, account_id: str) -> datetime | None:
    query = (
        select(func.min(LedgerTransaction.booked_at))
        .select_from(Posting)
        .join(
            LedgerTransaction,
            and_(
                LedgerTransaction.tenant_id == Posting.tenant_id,
                LedgerTransaction.transaction_id == Posting.transaction_id,
            ),
        )
        .where(Posting.tenant_id == tenant_id, Posting.account_id == account_id)
    )
    return _aware(session.scalar(query))


def balance_fen_at(session: Session, tenant_id: str, account_id: str, before: datetime) -> int:
    """The booked balance just before `before` (sum of postings booked earlier)."""
    query = (
        select(func.coalesce(func.sum(Posting.amount_fen), 0))
        .select_from(Posting)
        .join(
            LedgerTransaction,
            and_(
                LedgerTransaction.tenant_id == Posting.tenant_id,
                LedgerTransaction.transaction_id == Posting.transaction_id,
            ),
        )
        .where(
            Posting.tenant_id == tenant_id,
            Posting.account_id == account_id,
            LedgerTransaction.booked_at < before,
        )
    )
    return int(session.scalar(query) or 0)


def _aware(value: datetime | None) -> datetime | None:
    # Aggregates (min/max) come back without the column's result processing on SQLite.
    from openbank_kit.db import UtcDateTime

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return UtcDateTime().process_result_value(value, None)


# --- ledger verification (openbank ledger verify) ---------------------------------------------------------


def ledger_tenants(session: Session) -> list[str]:
    """Every tenant holding ledger rows (world templates, "~world-...", are not tenants)."""
    query = select(Account.tenant_id).distinct().where(~Account.tenant_id.startswith("~"))
    return sorted(session.scalars(query))


def transactions_with_too_few_postings(session: Session, tenant_id: str) -> list[tuple[str, int]]:
    postings = (
        select(Posting.transaction_id, func.count().label("legs"))
        .where(Posting.tenant_id == tenant_id)
        .group_by(Posting.transaction_id)
        .subquery()
    )
    query = (
        select(LedgerTransaction.transaction_id, func.coalesce(postings.c.legs, 0))
        .outerjoin(postings, postings.c.transaction_id == LedgerTransaction.transaction_id)
        .where(LedgerTransaction.tenant_id == tenant_id, func.coalesce(postings.c.legs, 0) < 2)
    )
    return [(transaction_id, int(legs)) for transaction_id, legs in session.execute(query)]


def orphan_postings(session: Session, tenant_id: str) -> list[str]:
    """Postings whose transaction or account does not exist."""
    query = (
        select(Posting.posting_id)
        .outerjoin(
            LedgerTransaction,
            and_(
                LedgerTransaction.tenant_id == Posting.tenant_id,
                LedgerTransaction.transaction_id == Posting.transaction_id,
            ),
        )
        .outerjoin(
            Account, and_(Account.tenant_id == Posting.tenant_id, Account.account_id == Posting.account_id)
        )
        .where(
            Posting.tenant_id == tenant_id,
            or_(LedgerTransaction.transaction_id.is_(None), Account.account_id.is_(None)),
        )
    )
    return list(session.scalars(query))


def all_accounts(session: Session, tenant_id: str) -> list[Account]:
    return list(session.scalars(select(Account).where(Account.tenant_id == tenant_id)))


def all_balances_fen(session: Session, tenant_id: str) -> dict[str, int]:
    query = (
        select(Posting.account_id, func.sum(Posting.amount_fen))
        .where(Posting.tenant_id == tenant_id)
        .group_by(Posting.account_id)
    )
    return {account_id: int(total) for account_id, total in session.execute(query)}


def stream_postings(session: Session, tenant_id: str, batch_rows: int = 10_000):
    """(account_id, amount_fen) of every posting, read in batches (a second, independent path to balances)."""
    query = (
        select(Posting.account_id, Posting.amount_fen)
        .where(Posting.tenant_id == tenant_id)
        .execution_options(yield_per=batch_rows)
    )
    yield from session.execute(query)


def all_held_fen(session: Session, tenant_id: str) -> dict[str, int]:
    query = (
        select(LedgerHold.account_id, func.sum(LedgerHold.amount_fen))
        .where(LedgerHold.tenant_id == tenant_id, LedgerHold.status == HOLD_PLACED)
        .group_by(LedgerHold.account_id)
    )
    return {account_id: int(total) for account_id, total in session.execute(query)}


def bad_holds(session: Session, tenant_id: str) -> list[str]:
    """Holds with a non-positive amount, or CAPTURED without an existing capture transaction."""
    query = (
        select(LedgerHold.hold_id)
        .outerjoin(
            LedgerTransaction,
            and_(
                LedgerTransaction.tenant_id == LedgerHold.tenant_id,
                LedgerTransaction.transaction_id == LedgerHold.transaction_id,
            ),
        )
        .where(
            LedgerHold.tenant_id == tenant_id,
            or_(
                LedgerHold.amount_fen <= 0,
                and_(LedgerHold.status == "CAPTURED", LedgerTransaction.transaction_id.is_(None)),
            ),
        )
    )
    return list(session.scalars(query))


def duplicate_idempotency_uses(session: Session, tenant_id: str, operation: str) -> list[str]:
    """Ledger transactions claimed by more than one idempotency record, or records naming no transaction."""
    from openbank_kit.idempotency import IdempotencyRecord

    shared = (
        select(IdempotencyRecord.resource_id)
        .where(IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.operation == operation)
        .group_by(IdempotencyRecord.resource_id)
        .having(func.count() > 1)
    )
    dangling = (
        select(IdempotencyRecord.key)
        .outerjoin(
            LedgerTransaction,
            and_(
                LedgerTransaction.tenant_id == IdempotencyRecord.tenant_id,
                LedgerTransaction.transaction_id == IdempotencyRecord.resource_id,
            ),
        )
        .where(
            IdempotencyRecord.tenant_id == tenant_id,
            IdempotencyRecord.operation == operation,
            IdempotencyRecord.status_code == 201,
            LedgerTransaction.transaction_id.is_(None),
        )
    )
    found = [f"transaction {rid} recorded under several keys" for rid in session.scalars(shared)]
    return found + [f"key {key} names no ledger transaction" for key in session.scalars(dangling)]


def consents_of_customer(
    session: Session, tenant_id: str, customer_id: str, limit: int
) -> list[AccountAccessConsent]:
    """The consents a customer decided (newest first): what the sandbox consent dashboard shows."""
    query = (
        select(AccountAccessConsent)
        .where(AccountAccessConsent.tenant_id == tenant_id, AccountAccessConsent.customer_id == customer_id)
        .order_by(AccountAccessConsent.created_at.desc(), AccountAccessConsent.consent_id)
        .limit(limit)
    )
    return list(session.scalars(query))
