"""Accounts use cases: post to the ledger (idempotently), read balances, check the ledger's invariant."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlmodel import Session

from openbank_kit import sql
from openbank_kit.async_db import AsyncDatabase, AsyncUnit
from openbank_kit.clock import ClockMoved, SeenOffsets, clock_now, tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import BadRequest, NotFound, ServiceUnavailable
from openbank_kit.idempotency import (
    IDEMPOTENCY_HEADER,
    AsyncIdempotencyStore,
    IdempotencyStore,
    StoredResponse,
)
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.accounts import repository
from services.accounts.domain.errors import BalanceRuleBroken, HoldStateConflict, UnknownAccount
from services.accounts.domain.ledger import (
    PostingLine,
    check_balanced,
    check_balances_after,
    check_hold,
    check_loan_poster,
)
from services.accounts.models import LedgerHold, LedgerTransaction, Posting
from services.accounts.repository import HOLD_PLACED
from services.accounts.schemas import CaptureHoldBody, LedgerTransactionBody, PlaceHoldBody

HOLD_CAPTURED = "CAPTURED"
HOLD_RELEASED = "RELEASED"

POST_TRANSACTION = "POST /internal/v1/ledger/transactions"


def post_transaction(
    db: Database, tenant_id: str, caller: str, idempotency_key: str | None, body: LedgerTransactionBody
) -> StoredResponse:
    """Post one balanced ledger transaction exactly once per idempotency key."""
    lines = _posting_lines(body)

    def create(session: Session, now: datetime) -> StoredResponse:
        transaction, postings = _book(session, tenant_id, now, lines, posted_by=caller, **_details(body))
        return _posted(transaction, postings)

    return IdempotencyStore(db).run(
        tenant_id=tenant_id,
        client_id=caller,
        operation=POST_TRANSACTION,
        key=idempotency_key,
        body=body.model_dump(),
        create=create,
    )


async def post_transaction_async(
    adb: AsyncDatabase,
    offsets: SeenOffsets,
    tenant_id: str,
    caller: str,
    idempotency_key: str | None,
    body: LedgerTransactionBody,
) -> StoredResponse:
    """`post_transaction` on the event loop (the internal route's path), with the same rules, rows and answers.

    Two round trips on PostgreSQL: the key's claim, the customer accounts locked, then every named account's class,
    booked and held amounts and the tenant's clock, in one pipeline; then the transaction, its postings and the
    stored answer as one statement, with the COMMIT. The time is guessed from the clock offset this process last saw
    for the tenant; the first batch reads it again, and a wrong guess rolls back and starts over."""
    lines = _posting_lines(body)
    reads = repository.posting_reads(tenant_id, [line.account_id for line in lines])
    offset_s, read_now = offsets.get(tenant_id), False
    for _attempt in range(3):
        create = partial(_book_async, tenant_id, caller, body, lines, reads, offset_s)
        try:
            return await _post_once(adb, tenant_id, caller, idempotency_key, body, create, offset_s, read_now)
        except ClockMoved as moved:
            offset_s, read_now = moved.offset_s, True
            offsets.learn(tenant_id, offset_s)
    raise ServiceUnavailable(message="the sandbox clock kept moving; retry")


async def _post_once(
    adb: AsyncDatabase, tenant_id: str, caller: str, key: str | None, body: LedgerTransactionBody, create,
    offset_s: int, read_now: bool,
) -> StoredResponse:  # fmt: skip
    """One try at the time of `offset_s`. A replay (or the key with another body) is judged before `create` reads
    the clock: unless the offset was read in this request, it is read again (the key may have expired meanwhile)."""
    try:
        stored = await AsyncIdempotencyStore(adb).run(
            tenant_id=tenant_id, client_id=caller, operation=POST_TRANSACTION, key=key, body=body.model_dump(),
            create=create, now=clock_now(offset_s),
        )  # fmt: skip
    except BadRequest as exc:
        if exc.path == IDEMPOTENCY_HEADER and not read_now:
            await _check_clock(adb, tenant_id, offset_s)
        raise
    if stored.replayed and not read_now:
        await _check_clock(adb, tenant_id, offset_s)
    return stored


async def _check_clock(adb: AsyncDatabase, tenant_id: str, offset_s: int) -> None:
    async with adb.unit(write=False) as unit:
        (found,) = await unit.run((repository.CLOCK_OFFSET, {"tenant_id": tenant_id}))
    actual_s = found.scalar() or 0
    if actual_s != offset_s:
        raise ClockMoved(actual_s)


async def _book_async(
    tenant_id: str, caller: str, body: LedgerTransactionBody, lines: list[PostingLine],
    reads: list[tuple[sql.Statement, dict]], offset_s: int, unit: AsyncUnit, now: datetime,
) -> StoredResponse:  # fmt: skip
    """`_book` in the key's unit: the locks and reads in its first batch, the rows deferred to its last."""
    _locked, found = await unit.run(*reads)
    rows = found.named()
    if (
        rows and (rows[0].clock_offset_s or 0) != offset_s
    ):  # none: every account is unknown, whatever the time
        raise ClockMoved(rows[0].clock_offset_s or 0)
    classes = {row.account_id: row.account_class for row in rows}
    _check_known([line.account_id for line in lines], classes, _posting_path)
    checked = [row for row in rows if row.account_class != "INTERNAL"]
    before = {row.account_id: int(row.booked_fen) for row in checked}
    held = {row.account_id: int(row.held_fen) for row in checked}
    transaction, postings = _transaction_rows(
        tenant_id, now, lines, classes, before, held, posted_by=caller, **_details(body)
    )
    unit.defer(sql.insert_statement(LedgerTransaction.__table__), transaction)
    for posting in postings:
        unit.defer(sql.insert_statement(Posting.__table__), posting)
    return _posted(transaction, postings)


def _posting_lines(body: LedgerTransactionBody) -> list[PostingLine]:
    """The body's legs as signed amounts in fen, balanced (checked before anything is read)."""
    lines = []
    for index, posting in enumerate(body.Postings):
        amount = Money.from_obie(posting.Amount.model_dump(), path=f"Postings[{index}].Amount")
        sign = 1 if posting.CreditDebitIndicator == "Credit" else -1
        lines.append(PostingLine(posting.AccountId, sign * amount.fen))
    return check_balanced(lines)


def _details(body: LedgerTransactionBody) -> dict:
    return {"category": body.Category, "description": body.Description,
            "counterparty_name": body.CounterpartyName, "reference": body.Reference}  # fmt: skip


def _posted(transaction: dict, postings: list[dict]) -> StoredResponse:
    return StoredResponse(201, _transaction_body(transaction, postings), transaction["transaction_id"])


def _posting_path(index: int) -> str:
    return f"Postings[{index}].AccountId"


def _check_known(account_ids: list[str], found, path_of) -> None:
    for index, account_id in enumerate(account_ids):
        if account_id not in found:
            raise UnknownAccount(message=f"unknown account {account_id}", path=path_of(index))


def _lock_accounts(session: Session, tenant_id: str, account_ids: list[str], path_of) -> dict:
    """Every named account, with the rule-bound (customer) ones locked for the rest of the unit of work.

    Hot accounts: the bank's internal accounts (clearing, e-commerce settlement, billers) may carry either sign,
    so nothing about them has to be checked before posting, and they are never locked. Balances are derived
    from insert-only postings (no balance row to update), so thousands of concurrent transfers through the
    clearing account contend on nothing but their own customer accounts.
    """
    # One lock order (by account id) for every writer: no deadlocks. On SQLite the write session already holds the
    # database's write lock (BEGIN IMMEDIATE), which serialises writers. One statement when every account named is
    # a customer's (a same-bank transfer); the rest (internal or unknown) are then looked up without a lock.
    accounts = repository.locked_customer_accounts(session, tenant_id, account_ids)
    rest = [account_id for account_id in account_ids if account_id not in accounts]
    if rest:
        accounts.update(repository.accounts_by_id(session, tenant_id, rest, for_update=False))
    _check_known(account_ids, accounts, path_of)
    return accounts


def _book(
    session: Session,
    tenant_id: str,
    now: datetime,
    lines: list[PostingLine],
    *,
    posted_by: str,
    category: str,
    description: str,
    counterparty_name: str | None = None,
    reference: str | None = None,
    releasing_hold_fen: dict[str, int] | None = None,
) -> tuple[dict, list[dict]]:
    """Check the balance rules under lock and add one balanced transaction (the caller commits)."""
    account_ids = [line.account_id for line in lines]
    accounts = _lock_accounts(session, tenant_id, account_ids, _posting_path)
    classes = {account_id: account.account_class for account_id, account in accounts.items()}
    checked = [account_id for account_id, account_class in classes.items() if account_class != "INTERNAL"]
    before, held = repository.booked_and_held_fen(session, tenant_id, checked)  # under the locks just taken
    for account_id, amount_fen in (releasing_hold_fen or {}).items():
        held[account_id] -= amount_fen  # the hold being captured stops counting as it turns into the posting
    transaction, postings = _transaction_rows(
        tenant_id, now, lines, classes, before, held, posted_by=posted_by, category=category,
        description=description, counterparty_name=counterparty_name, reference=reference,
    )  # fmt: skip
    repository.add_transaction(session, transaction, postings)
    return transaction, postings


def _transaction_rows(
    tenant_id: str,
    now: datetime,
    lines: list[PostingLine],
    classes: dict[str, str],
    before: dict[str, int],
    held: dict[str, int],
    *,
    posted_by: str,
    category: str,
    description: str,
    counterparty_name: str | None,
    reference: str | None,
) -> tuple[dict, list[dict]]:
    """The balance rules over what was read under the locks (`before`, `held`: the accounts that are not internal),
    then the rows of one balanced transaction: every column of `ledger_transaction` and of each `posting`."""
    check_loan_poster(classes, posted_by)
    check_balances_after([line for line in lines if line.account_id in before], before, classes, held)
    transaction_id = new_id("ltx")
    transaction = {
        "tenant_id": tenant_id,
        "transaction_id": transaction_id,
        "booked_at": now,
        "value_date": now.date(),
        "category": category,
        "description": description,
        "counterparty_name": counterparty_name,
        "counterparty_account_number": None,
        "merchant_category_code": None,
        "reference": reference,
    }
    postings = [
        {
            "tenant_id": tenant_id,
            "account_id": line.account_id,
            "posting_id": f"{transaction_id}-{number}",
            "transaction_id": transaction_id,
            "amount_fen": line.amount_fen,
        }
        for number, line in enumerate(lines, start=1)
    ]
    assert sum(p["amount_fen"] for p in postings) == 0  # checked in the domain; asserted again before writing
    return transaction, postings


# --- holds ------------------------------------------------------------------------------------------------

PLACE_HOLD = "POST /internal/v1/ledger/holds"
CAPTURE_HOLD = "POST /internal/v1/ledger/holds/{id}/capture"


def place_hold(
    db: Database, tenant_id: str, caller: str, idempotency_key: str | None, body: PlaceHoldBody
) -> StoredResponse:
    """Set money aside on a customer account (available balance drops, booked does not), once per key."""
    amount = Money.from_obie(body.Amount.model_dump(), path="Amount")

    def create(session: Session, now: datetime) -> StoredResponse:
        accounts = _lock_accounts(session, tenant_id, [body.AccountId], lambda _index: "AccountId")
        account = accounts[body.AccountId]
        booked = repository.balances_fen(session, tenant_id, [account.account_id])[account.account_id]
        held = repository.held_fen(session, tenant_id, [account.account_id])[account.account_id]
        check_hold(amount.fen, booked - held, account.account_class)
        hold = LedgerHold(
            tenant_id=tenant_id,
            hold_id=new_id("hold"),
            account_id=account.account_id,
            amount_fen=amount.fen,
            status=HOLD_PLACED,
            reference=body.Reference,
            description=body.Description,
            created_at=now,
            status_updated_at=now,
        )
        session.add(hold)
        return StoredResponse(201, _hold_body(hold), hold.hold_id)

    return IdempotencyStore(db).run(
        tenant_id=tenant_id, client_id=caller, operation=PLACE_HOLD, key=idempotency_key,
        body=body.model_dump(), create=create,
    )  # fmt: skip


def capture_hold(
    db: Database,
    tenant_id: str,
    caller: str,
    idempotency_key: str | None,
    hold_id: str,
    body: CaptureHoldBody,
) -> StoredResponse:
    """Post the held money (all, or less) to `CreditAccountId` and close the hold, in one unit of work."""
    amount = Money.from_obie(body.Amount.model_dump(), path="Amount") if body.Amount else None

    def create(session: Session, now: datetime) -> StoredResponse:
        hold = _placed_hold(session, tenant_id, hold_id)
        amount_fen = amount.fen if amount is not None else hold.amount_fen
        if not 0 < amount_fen <= hold.amount_fen:
            raise BalanceRuleBroken(message="a capture takes between 0.01 and the held amount", path="Amount")
        lines = check_balanced(
            [PostingLine(hold.account_id, -amount_fen), PostingLine(body.CreditAccountId, amount_fen)]
        )
        transaction, postings = _book(
            session, tenant_id, now, lines, posted_by=caller, category=body.Category,
            description=body.Description,
            counterparty_name=body.CounterpartyName, reference=hold.reference,
            releasing_hold_fen={hold.account_id: hold.amount_fen},
        )  # fmt: skip
        hold.status, hold.status_updated_at, hold.transaction_id = (
            HOLD_CAPTURED,
            now,
            transaction["transaction_id"],
        )
        session.add(hold)
        return StoredResponse(
            201, {**_hold_body(hold), "Transaction": _transaction_body(transaction, postings)}, hold.hold_id
        )

    return IdempotencyStore(db).run(
        tenant_id=tenant_id, client_id=caller, operation=CAPTURE_HOLD.replace("{id}", hold_id),
        key=idempotency_key, body=body.model_dump(), create=create,
    )  # fmt: skip


def release_hold(db: Database, tenant_id: str, hold_id: str) -> dict:
    """Give the held money back to the available balance. Releasing a released hold is a no-op."""
    with db.write_session() as session:
        hold = repository.hold(session, tenant_id, hold_id, for_update=True)
        if hold is None:
            raise NotFound(message=f"unknown hold {hold_id}")
        if hold.status == HOLD_RELEASED:
            return _hold_body(hold)
        if hold.status != HOLD_PLACED:
            raise HoldStateConflict(message=f"the hold is {hold.status}; it can no longer be released")
        # Lock the account as placing does, so a release and a debit of the same account are ordered.
        _lock_accounts(session, tenant_id, [hold.account_id], lambda _index: "AccountId")
        hold.status, hold.status_updated_at = HOLD_RELEASED, tenant_now(session, tenant_id)
        session.add(hold)
        session.commit()
        return _hold_body(hold)


def get_hold(db: Database, tenant_id: str, hold_id: str) -> dict:
    with db.read_session() as session:
        hold = repository.hold(session, tenant_id, hold_id, for_update=False)
        if hold is None:
            raise NotFound(message=f"unknown hold {hold_id}")
        return _hold_body(hold)


def _placed_hold(session: Session, tenant_id: str, hold_id: str) -> LedgerHold:
    hold = repository.hold(session, tenant_id, hold_id, for_update=True)
    if hold is None:
        raise NotFound(message=f"unknown hold {hold_id}")
    if hold.status != HOLD_PLACED:
        raise HoldStateConflict(message=f"the hold is {hold.status}, not PLACED")
    return hold


def _hold_body(hold: LedgerHold) -> dict:
    return {
        "HoldId": hold.hold_id,
        "AccountId": hold.account_id,
        "Amount": Money.from_fen(hold.amount_fen).to_obie(),
        "Status": hold.status,
        "Description": hold.description,
        "Reference": hold.reference,
        "CreatedAt": hold.created_at.isoformat(),
        "StatusUpdatedAt": hold.status_updated_at.isoformat(),
        "TransactionId": hold.transaction_id,
    }


def account_balance(db: Database, tenant_id: str, account_id: str) -> dict:
    with db.read_session() as session:
        if not repository.accounts_by_id(session, tenant_id, [account_id], for_update=False):
            raise NotFound(message=f"unknown account {account_id}")
        balance_fen = repository.balances_fen(session, tenant_id, [account_id])[account_id]
        held_fen = repository.held_fen(session, tenant_id, [account_id])[account_id]
        return {
            "AccountId": account_id,
            "Balance": Money.from_fen(balance_fen).to_obie(),
            "AvailableBalance": Money.from_fen(balance_fen - held_fen).to_obie(),
            "HeldAmount": Money.from_fen(held_fen).to_obie(),
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


def _transaction_body(transaction: dict, postings: list[dict]) -> dict:
    return {
        "TransactionId": transaction["transaction_id"],
        "BookedAt": transaction["booked_at"].isoformat(),
        "Category": transaction["category"],
        "Postings": [
            {
                "PostingId": posting["posting_id"],
                "AccountId": posting["account_id"],
                "CreditDebitIndicator": "Credit" if posting["amount_fen"] > 0 else "Debit",
                "Amount": Money.from_fen(abs(posting["amount_fen"])).to_obie(),
            }
            for posting in postings
        ],
    }
