"""Payments' queries: the only module that knows SQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from openbank_kit import sql
from openbank_kit.clock import TenantClock
from openbank_kit.db import insert_with_conflict_clause
from services.payments.domain.limits import CORPORATE_ACCOUNT_CLASS
from services.payments.events.models import EventRecord, EventSubscription
from services.payments.models import (
    AccountOutflowDay,
    CustomerOutflowDay,
    DomesticPayment,
    DomesticPaymentConsent,
    FundsConfirmationConsent,
)


def _locked(query, for_update: bool):
    return query.with_for_update() if for_update else query


def consent(
    session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False
) -> DomesticPaymentConsent | None:
    query = select(DomesticPaymentConsent).where(
        DomesticPaymentConsent.tenant_id == tenant_id, DomesticPaymentConsent.consent_id == consent_id
    )
    return session.scalars(_locked(query, for_update)).first()


def funds_consent(
    session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False
) -> FundsConfirmationConsent | None:
    query = select(FundsConfirmationConsent).where(
        FundsConfirmationConsent.tenant_id == tenant_id, FundsConfirmationConsent.consent_id == consent_id
    )
    return session.scalars(_locked(query, for_update)).first()


def payment(
    session: Session, tenant_id: str, payment_id: str, *, for_update: bool = False
) -> DomesticPayment | None:
    query = select(DomesticPayment).where(
        DomesticPayment.tenant_id == tenant_id, DomesticPayment.payment_id == payment_id
    )
    return session.scalars(_locked(query, for_update)).first()


def record_payment_outcome(
    session: Session, tenant_id: str, payment_id: str, status: str, ledger_transaction_id: str | None,
    reason_code: str | None, reason: str | None, now: datetime,
) -> bool:  # fmt: skip
    """A RCVD payment's outcome, in one conditional UPDATE (it locks the row until the unit of work ends); False
    when the payment is no longer RCVD (another request recorded it first), and nothing changes."""
    table = DomesticPayment.__table__
    update = (
        table.update()
        .where(table.c.tenant_id == tenant_id, table.c.payment_id == payment_id, table.c.status == "RCVD")
        .values(status=status, ledger_transaction_id=ledger_transaction_id, status_reason_code=reason_code,
                status_reason=reason, status_updated_at=now)
    )  # fmt: skip
    changed = session.execute(update).rowcount
    assert changed in (0, 1)
    return changed == 1


def payments_in_status(session: Session, tenant_id: str, statuses: list[str], limit: int) -> list[str]:
    query = (
        select(DomesticPayment.payment_id)
        .where(DomesticPayment.tenant_id == tenant_id, DomesticPayment.status.in_(statuses))
        .order_by(DomesticPayment.payment_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _counter_key(model, key: dict[str, str], day: date):
    table = model.__table__
    return table, [table.c[name] == value for name, value in key.items()] + [table.c.day == day]


def _add_to_day_counter(session: Session, model, day: date, amount_fen: int, key: dict[str, str], extra=()):
    """Add to a per-day counter row in one statement, creating it if missing (`INSERT … ON CONFLICT DO UPDATE …
    RETURNING`, PostgreSQL and SQLite ≥ 3.35): the row stays locked until the unit of work ends (PostgreSQL row
    lock; SQLite's write sessions hold the database's write lock), so the new total it returns already counts every
    concurrent payment that committed before, and none can commit past it until this one ends."""
    table = model.__table__
    insert = insert_with_conflict_clause(session, table).values(**key, day=day, outflow_fen=amount_fen)
    upsert = insert.on_conflict_do_update(
        index_elements=[*key, "day"], set_={"outflow_fen": table.c.outflow_fen + insert.excluded.outflow_fen}
    ).returning(table.c.outflow_fen, *extra)
    row = session.execute(upsert).one()
    assert row[0] >= 0
    return row


def add_account_outflow(
    session: Session, tenant_id: str, account_id: str, day: date, amount_fen: int
) -> tuple[int, int]:
    """Add `amount_fen` to the account's counter for `day` (locked until the unit of work ends); returns (the day's
    new total, the sum of the year's earlier days) in the same statement, for the daily and annual class limits."""
    earlier = AccountOutflowDay.__table__.alias("earlier_day")
    earlier_days_fen = (
        select(func.coalesce(func.sum(earlier.c.outflow_fen), 0))
        .where(
            earlier.c.tenant_id == tenant_id,
            earlier.c.account_id == account_id,
            earlier.c.day >= date(day.year, 1, 1),
            earlier.c.day < day,
        )
        .scalar_subquery()
    )
    key = {"tenant_id": tenant_id, "account_id": account_id}
    day_fen, year_fen = _add_to_day_counter(
        session, AccountOutflowDay, day, amount_fen, key, (earlier_days_fen,)
    )
    return int(day_fen), int(year_fen)


def add_customer_outflow(
    session: Session, tenant_id: str, customer_id: str, day: date, amount_fen: int
) -> int:
    """Add `amount_fen` to the customer's counter for `day` (all their accounts), locked until the unit of work
    ends; the day's new total."""
    key = {"tenant_id": tenant_id, "customer_id": customer_id}
    return int(_add_to_day_counter(session, CustomerOutflowDay, day, amount_fen, key)[0])


def _take_from_day_counter(session: Session, model, day: date, amount_fen: int, key: dict[str, str]) -> int:
    """Take back what was added to an existing counter row (one locking UPDATE … RETURNING); the new total."""
    table, where = _counter_key(model, key, day)
    update = table.update().where(*where).values(outflow_fen=table.c.outflow_fen - amount_fen)
    total = session.execute(
        update.returning(table.c.outflow_fen)
    ).scalar_one()  # counted before: the row exists
    assert total >= 0, "a counter gives back no more than was counted"
    return int(total)


def take_account_outflow(
    session: Session, tenant_id: str, account_id: str, day: date, amount_fen: int
) -> int:
    key = {"tenant_id": tenant_id, "account_id": account_id}
    return _take_from_day_counter(session, AccountOutflowDay, day, amount_fen, key)


def take_customer_outflow(
    session: Session, tenant_id: str, customer_id: str, day: date, amount_fen: int
) -> int:
    key = {"tenant_id": tenant_id, "customer_id": customer_id}
    return _take_from_day_counter(session, CustomerOutflowDay, day, amount_fen, key)


def _locked_day_total(session: Session, model, day: date, key: dict[str, str]) -> int:
    """A counter's total for `day`, its row locked until the unit of work ends (0, and nothing locked, if none)."""
    table, where = _counter_key(model, key, day)
    total = session.execute(select(table.c.outflow_fen).where(*where).with_for_update()).scalar_one_or_none()
    return int(total or 0)


def locked_account_day_total(session: Session, tenant_id: str, account_id: str, day: date) -> int:
    """What the account's counter holds for `day`, locked until the unit of work ends."""
    return _locked_day_total(
        session, AccountOutflowDay, day, {"tenant_id": tenant_id, "account_id": account_id}
    )


def locked_customer_day_total(session: Session, tenant_id: str, customer_id: str, day: date) -> int:
    """What the customer's counter holds for `day` (all their accounts), locked until the unit of work ends."""
    key = {"tenant_id": tenant_id, "customer_id": customer_id}
    return _locked_day_total(session, CustomerOutflowDay, day, key)


def consents_of_customer(
    session: Session, tenant_id: str, customer_id: str, limit: int
) -> list[DomesticPaymentConsent]:
    query = (
        select(DomesticPaymentConsent)
        .where(
            DomesticPaymentConsent.tenant_id == tenant_id, DomesticPaymentConsent.customer_id == customer_id
        )
        .order_by(DomesticPaymentConsent.created_at.desc(), DomesticPaymentConsent.consent_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def funds_consents_of_customer(
    session: Session, tenant_id: str, customer_id: str, limit: int
) -> list[FundsConfirmationConsent]:
    query = (
        select(FundsConfirmationConsent)
        .where(
            FundsConfirmationConsent.tenant_id == tenant_id,
            FundsConfirmationConsent.customer_id == customer_id,
        )
        .order_by(FundsConfirmationConsent.created_at.desc(), FundsConfirmationConsent.consent_id)
        .limit(limit)
    )
    return list(session.scalars(query))


# --- the async payment path's statements (services/payments/submission.py): built once, compiled per dialect -----
_CONSENTS = DomesticPaymentConsent.__table__
_PAYMENTS = DomesticPayment.__table__
_ACCOUNT_DAYS = AccountOutflowDay.__table__
_CUSTOMER_DAYS = CustomerOutflowDay.__table__
_SUBSCRIPTIONS = EventSubscription.__table__
_EVENTS = EventRecord.__table__

# The consent under its lock, with the tenant's clock offset (NULL: never moved) and the client's event subscription
# (NULLs: none) read in the same statement.
SUBSCRIPTION_COLUMNS = ("subscription_id", "callback_url", "event_types", "fault")
CONSENT_LOCKED_WITH_CLOCK = sql.Statement(
    select(
        select(TenantClock.__table__.c.offset_s)
        .where(TenantClock.__table__.c.tenant_id == bindparam("tenant_id"))
        .scalar_subquery()
        .label("clock_offset_s"),
        _CONSENTS,
        *(_SUBSCRIPTIONS.c[name].label(f"s_{name}") for name in SUBSCRIPTION_COLUMNS),
    )
    .outerjoin(
        _SUBSCRIPTIONS,
        (_SUBSCRIPTIONS.c.tenant_id == _CONSENTS.c.tenant_id)
        & (_SUBSCRIPTIONS.c.client_id == bindparam("client_id")),
    )
    .where(_CONSENTS.c.tenant_id == bindparam("tenant_id"), _CONSENTS.c.consent_id == bindparam("consent_id"))
    .with_for_update(of=_CONSENTS)
)
# Which AUTH consent of this client and customer the counters are added for (none: nothing is counted or locked).
_USABLE_CONSENT = (
    _CONSENTS.c.tenant_id == bindparam("tenant_id"),
    _CONSENTS.c.consent_id == bindparam("consent_id"),
    _CONSENTS.c.status == "AUTH",
    _CONSENTS.c.client_id == bindparam("client_id"),
    _CONSENTS.c.customer_id == bindparam("customer_id"),
    _CONSENTS.c.debtor_account_id.is_not(None),
)


def _counted_from_consent(statement, table, key: str, consent_column, *where):
    """`_add_to_day_counter`'s upsert fed from the consent row: the consent's amount added to the `key` counter."""
    insert = statement(table).from_select(
        ["tenant_id", key, "day", "outflow_fen"],
        select(_CONSENTS.c.tenant_id, consent_column, bindparam("day", type_=table.c.day.type), _CONSENTS.c.amount_fen)
        .where(*_USABLE_CONSENT, *where),
    )  # fmt: skip
    return insert.on_conflict_do_update(
        index_elements=["tenant_id", key, "day"],
        set_={"outflow_fen": table.c.outflow_fen + insert.excluded.outflow_fen},
    )


# The account's counter (its row lock taken), returning the day's new total.
ACCOUNT_OUTFLOW_ADDED = {
    dialect: sql.Statement(
        _counted_from_consent(
            statement, _ACCOUNT_DAYS, "account_id", _CONSENTS.c.debtor_account_id
        ).returning(_ACCOUNT_DAYS.c.outflow_fen)
    )
    for dialect, statement in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}
# The sum of the year's earlier days of the consent's debtor account (the annual class limit).
ACCOUNT_EARLIER_DAYS = sql.Statement(
    select(func.coalesce(func.sum(_ACCOUNT_DAYS.c.outflow_fen), 0))
    .join(
        _CONSENTS,
        (_CONSENTS.c.tenant_id == _ACCOUNT_DAYS.c.tenant_id)
        & (_CONSENTS.c.debtor_account_id == _ACCOUNT_DAYS.c.account_id),
    )
    .where(
        _CONSENTS.c.tenant_id == bindparam("tenant_id"),
        _CONSENTS.c.consent_id == bindparam("consent_id"),
        _ACCOUNT_DAYS.c.day >= bindparam("year_start", type_=_ACCOUNT_DAYS.c.day.type),
        _ACCOUNT_DAYS.c.day < bindparam("day", type_=_ACCOUNT_DAYS.c.day.type),
    )
)
# The customer's counter, for a personal account only (the limits' `counts_against_customer_limit`).
CUSTOMER_OUTFLOW_ADDED = {
    dialect: sql.Statement(
        _counted_from_consent(
            statement, _CUSTOMER_DAYS, "customer_id", _CONSENTS.c.customer_id,
            _CONSENTS.c.debtor_account_class != CORPORATE_ACCOUNT_CLASS,
        ).returning(_CUSTOMER_DAYS.c.outflow_fen)
    )
    for dialect, statement in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}  # fmt: skip


def _taken_back(table, key_column: str) -> sql.Statement:
    return sql.Statement(
        update(table)
        .where(
            table.c.tenant_id == bindparam("b_tenant"),
            table.c[key_column] == bindparam("b_key"),
            table.c.day == bindparam("b_day", type_=table.c.day.type),
        )
        .values(outflow_fen=table.c.outflow_fen - bindparam("b_amount", type_=table.c.outflow_fen.type))
    )


ACCOUNT_OUTFLOW_TAKEN_BACK = _taken_back(_ACCOUNT_DAYS, "account_id")
CUSTOMER_OUTFLOW_TAKEN_BACK = _taken_back(_CUSTOMER_DAYS, "customer_id")
CONSENT_CONSUMED = sql.Statement(
    update(_CONSENTS)
    .where(_CONSENTS.c.tenant_id == bindparam("b_tenant"), _CONSENTS.c.consent_id == bindparam("b_consent"))
    .values(status="COND", status_updated_at=bindparam("at", type_=_CONSENTS.c.status_updated_at.type))
)
# `record_payment_outcome` as a compiled statement: the same conditional UPDATE. The guarded ones also require the
# holder's day counter (locked until the unit ends, as `large_value.record_if_reached` locks it) to be below the
# large-value threshold: then no record can be due (that function's first test), else nothing changes.
_OUTCOME = (
    update(_PAYMENTS)
    .where(
        _PAYMENTS.c.tenant_id == bindparam("b_tenant"),
        _PAYMENTS.c.payment_id == bindparam("b_payment"),
        _PAYMENTS.c.status == "RCVD",
    )
    .values(
        status=bindparam("new_status", type_=_PAYMENTS.c.status.type),
        ledger_transaction_id=bindparam("b_transaction", type_=_PAYMENTS.c.ledger_transaction_id.type),
        status_updated_at=bindparam("at", type_=_PAYMENTS.c.status_updated_at.type),
    )
)


def _below_threshold(table, key_column: str):
    counted = (
        select(table.c.outflow_fen)
        .where(
            table.c.tenant_id == bindparam("b_tenant"),
            table.c[key_column] == bindparam("b_holder"),
            table.c.day == bindparam("b_day", type_=table.c.day.type),
        )
        .with_for_update()
        .scalar_subquery()
    )
    return func.coalesce(counted, 0) < bindparam("b_threshold", type_=table.c.outflow_fen.type)


_GUARDED_OUTCOMES = {
    None: _OUTCOME,
    "PERSONAL": _OUTCOME.where(_below_threshold(_CUSTOMER_DAYS, "customer_id")),
    "CORPORATE": _OUTCOME.where(_below_threshold(_ACCOUNT_DAYS, "account_id")),
}
PAYMENT_OUTCOME_RECORDED = {kind: sql.Statement(statement) for kind, statement in _GUARDED_OUTCOMES.items()}
# An event known to be new (its seq comes back, for a delivery).
EVENT_INSERTED = sql.Statement(
    insert(_EVENTS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _EVENTS.columns if c.name != "seq"})
    .returning(_EVENTS.c.seq)
)
# The event of a status the payment has now (in this transaction): nothing when it has not, or when a duplicate that
# recorded the same status first wrote it (ON CONFLICT DO NOTHING).
_EVENT_VALUES = select(*(bindparam(c.name, type_=c.type) for c in _EVENTS.columns if c.name != "seq")).where(
    select(_PAYMENTS.c.payment_id)
    .where(
        _PAYMENTS.c.tenant_id == bindparam("p_tenant"),
        _PAYMENTS.c.payment_id == bindparam("p_payment"),
        _PAYMENTS.c.status == bindparam("p_status"),
    )
    .exists()
)
PAYMENT_EVENT_INSERTED = {
    dialect: sql.Statement(
        statement(_EVENTS)
        .from_select([c.name for c in _EVENTS.columns if c.name != "seq"], _EVENT_VALUES)
        .on_conflict_do_nothing()
        .returning(_EVENTS.c.seq)
    )
    for dialect, statement in (("postgresql", postgresql_insert), ("sqlite", sqlite_insert))
}

# PostgreSQL: the outcome and its event in one statement (the event is inserted for the row the UPDATE returns, so
# only when the outcome was recorded); one seq row back when it was. SQLite has no UPDATE in a WITH: the two above.
_EVENT_COLUMNS = [c.name for c in _EVENTS.columns if c.name != "seq"]
PAYMENT_SETTLED_WITH_EVENT = {
    kind: sql.Statement(
        postgresql_insert(_EVENTS)
        .from_select(
            _EVENT_COLUMNS,
            select(*(bindparam(name, type_=_EVENTS.c[name].type) for name in _EVENT_COLUMNS)).select_from(
                statement.returning(_PAYMENTS.c.payment_id).cte("recorded")
            ),
        )
        .returning(_EVENTS.c.seq)
    )
    for kind, statement in _GUARDED_OUTCOMES.items()
}
