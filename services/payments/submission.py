"""`POST /domestic-payments` on the event loop (openbank_kit/async_db.py): the route's path for a plain payment.

The same two steps as `service.create_payment` (its docstring), with the same rules and rows, in three round trips
to the database on PostgreSQL:
1. the key's claim, the consent under its lock (with the tenant's clock), the amount added to the debtor's day
   counters (upserts fed from the consent row, so they need not wait for it), the year's earlier days and the
   client's event subscription, in one pipeline; then the payment, the consent's new status, its event, any
   counter given back, the stored answer and the COMMIT, as one statement;
2. the ledger posting at accounts; then the outcome (a conditional UPDATE that also holds the holder's day row and
   requires it below the large-value threshold), its event and the COMMIT.
Anything rarer goes to the synchronous code, in a worker thread, before anything is written: a sandbox fault asked
for, a bill payment; or after the posting: a refusal (counters to give back), a holder at the large-value threshold
(a record may be due), a duplicate that recorded first. A wrong guess of the clock rolls back and starts over.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from types import SimpleNamespace

import anyio

from openbank_kit import sql
from openbank_kit.async_db import AsyncDatabase, AsyncUnit
from openbank_kit.caller import Caller
from openbank_kit.clock import ClockMoved, SeenOffsets, clock_now
from openbank_kit.db import Database
from openbank_kit.errors import ServiceUnavailable
from openbank_kit.http_client import ServiceClient
from openbank_kit.idempotency import AsyncIdempotencyStore, StoredResponse
from services.payments import billpay, faults, large_value, ledger, repository, service
from services.payments.domain.limits import counts_against_customer_limit
from services.payments.domain.states import CONSENT_TRANSITIONS, transition
from services.payments.events.models import EventDelivery
from services.payments.events.outbox import RESOURCE_UPDATE, new_delivery, payment_event, pushed
from services.payments.models import DomesticPayment, DomesticPaymentConsent
from services.payments.outflow import outflow_breach


class _NotHere(Exception):
    """A payment the synchronous code makes (a bill): found in the first batch, nothing written."""


async def create_payment(
    adb: AsyncDatabase, db: Database, accounts: ServiceClient, caller: Caller, key: str | None, body: dict,
    issuer: str, fault: str | None, offsets: SeenOffsets,
) -> StoredResponse:  # fmt: skip
    """`service.create_payment`, answered the same."""
    if fault is not None:  # the sandbox's faults: the synchronous code knows them
        return await anyio.to_thread.run_sync(
            service.create_payment, db, accounts, caller, key, body, issuer, fault
        )
    body, consent_id = service.payment_request(caller, key, body)
    made: dict = {}
    for _attempt in range(3):
        offset_s = offsets.get(caller.tenant_id)
        try:
            stored = await AsyncIdempotencyStore(adb).run(
                tenant_id=caller.tenant_id, client_id=caller.client_id, operation=service.CREATE_PAYMENT,
                key=key, body=body, now=clock_now(offset_s),
                create=partial(_submit, caller, consent_id, body, offset_s, issuer, made),
            )  # fmt: skip
            break
        except ClockMoved as moved:
            offsets.learn(caller.tenant_id, moved.offset_s)
        except _NotHere:
            return await anyio.to_thread.run_sync(
                service.create_payment, db, accounts, caller, key, body, issuer
            )
    else:
        raise ServiceUnavailable(message="the sandbox clock kept moving; retry")
    tenant_id = caller.tenant_id
    if stored.replayed:
        return await anyio.to_thread.run_sync(service.replayed, db, accounts, tenant_id, stored, issuer)
    payment, consent, now = made["payment"], made["consent"], made["now"]
    if payment.status == "RCVD":
        try:
            recorded = await _settle(
                adb, db, accounts, payment, consent, now, made["subscription"], made["counted"]
            )
        except ServiceUnavailable:
            return await anyio.to_thread.run_sync(service.left_received, db, tenant_id, stored, issuer)
        if not recorded:
            return await anyio.to_thread.run_sync(service.current_answer, db, tenant_id, stored, issuer)
    return StoredResponse(
        stored.status_code, service.payment_body(payment, consent, now, issuer), stored.resource_id
    )


async def _submit(
    caller: Caller, consent_id: str, body: dict, offset_s: int, issuer: str, made: dict, unit: AsyncUnit,
    now: datetime,
) -> StoredResponse:  # fmt: skip
    """Step 1 in the key's unit of work: the payment RCVD (or RJCT for a limit), the consent COND, one event."""
    dialect = unit.dialect.name
    today = now.date()
    names = {"tenant_id": caller.tenant_id, "consent_id": consent_id, "client_id": caller.client_id,
             "customer_id": caller.subject, "day": today, "year_start": date(today.year, 1, 1)}  # fmt: skip
    locked, account_day, earlier_days, customer_day = await unit.run(
        (repository.CONSENT_LOCKED_WITH_CLOCK, names),
        (repository.ACCOUNT_OUTFLOW_ADDED[dialect], names),  # nothing for a consent that cannot pay: no row
        (repository.ACCOUNT_EARLIER_DAYS, names),
        (repository.CUSTOMER_OUTFLOW_ADDED[dialect], names),
    )
    consent = subscription = None
    for row in locked.named():
        fields = row._asdict()
        if (fields.pop("clock_offset_s") or 0) != offset_s:
            raise ClockMoved(row.clock_offset_s or 0)  # every time limit was judged at the wrong time
        subscribed = {name: fields.pop(f"s_{name}") for name in repository.SUBSCRIPTION_COLUMNS}
        if subscribed["subscription_id"] is not None:
            subscription = SimpleNamespace(**subscribed)
        consent = DomesticPaymentConsent(**fields)
    service.check_usable(consent, caller, body, now)  # an error rolls back the counters added above
    assert consent is not None and consent.debtor_account_class is not None
    if billpay.bill_reference(consent.initiation) is not None:
        raise _NotHere
    personal = counts_against_customer_limit(consent.debtor_account_class)
    day_fen, customer_day_fen = account_day.scalar(), customer_day.scalar() if personal else None
    refused = outflow_breach(consent.debtor_account_class, consent.amount_fen, day_fen, earlier_days.scalar(),
                             customer_day_fen)  # fmt: skip
    payment = service.new_payment(caller, consent, refused, None, now)
    consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, "COND")
    consent.status_updated_at = now
    unit.defer(sql.insert_statement(DomesticPayment.__table__), payment.model_dump())
    unit.defer(repository.CONSENT_CONSUMED,
               {"b_tenant": caller.tenant_id, "b_consent": consent_id, "at": now})  # fmt: skip
    if refused:  # a limit refused it before posting: the counters as they were
        taken = {"b_tenant": caller.tenant_id, "b_day": today, "b_amount": consent.amount_fen}
        unit.defer(repository.ACCOUNT_OUTFLOW_TAKEN_BACK, taken | {"b_key": consent.debtor_account_id})
        if personal:
            unit.defer(repository.CUSTOMER_OUTFLOW_TAKEN_BACK, taken | {"b_key": consent.customer_id})
    # Not `_event_call`'s conditional insert: on PostgreSQL the deferred writes are one statement, whose parts do
    # not see the payment inserted beside them. This status is new with the payment.
    event = (repository.EVENT_INSERTED, payment_event(payment, now).model_dump(exclude={"seq"}))
    if _pushed(subscription):
        (inserted,) = await unit.run(event)  # its seq, for the delivery
        _defer_delivery(unit, subscription, payment, inserted)
    else:
        unit.defer(*event)
    made.update(payment=payment, consent=consent, now=now, subscription=subscription,
                counted=customer_day_fen if personal else day_fen)  # fmt: skip
    return StoredResponse(201, service.payment_body(payment, consent, now, issuer), payment.payment_id)


def _event_call(unit: AsyncUnit, payment: DomesticPayment, status: str, now: datetime) -> tuple:
    """The insert of the payment's event of `status`: written only if the payment has that status by then."""
    event = payment_event(payment, now, status)
    values = event.model_dump(exclude={"seq"}) | {
        "p_tenant": payment.tenant_id, "p_payment": payment.payment_id, "p_status": status
    }  # fmt: skip
    return repository.PAYMENT_EVENT_INSERTED[unit.dialect.name], values


def _pushed(subscription) -> bool:
    return pushed(subscription, RESOURCE_UPDATE)


def _defer_delivery(unit: AsyncUnit, subscription, payment: DomesticPayment, inserted: sql.Rows) -> None:
    seq = inserted.scalar()
    assert seq is not None, "the event of a status just reached is new"
    delivery = new_delivery(subscription, payment.tenant_id, payment.client_id, seq)
    unit.defer(sql.insert_statement(EventDelivery.__table__), delivery.model_dump())


async def _settle(
    adb: AsyncDatabase, db: Database, accounts: ServiceClient, payment: DomesticPayment,
    consent: DomesticPaymentConsent, now: datetime, subscription, counted_fen: int,
) -> bool:  # fmt: skip
    """Step 2: post, then record the outcome (`service.record_outcome`'s rules). False: a duplicate recorded it
    first (read the answer back); ServiceUnavailable: the ledger did not answer, the payment stays RCVD."""
    assert faults.simulated_outcome(payment.fault) is None
    outcome = await ledger.post_async(
        accounts, payment.tenant_id, service.ledger_key(payment), service.posting(payment, consent)
    )
    target, transaction_id, _code, _reason = service.settlement(payment, consent, outcome)
    holder = large_value.holder(payment, consent)
    if transaction_id is not None and (holder is None or counted_fen < holder[0].threshold_fen):
        values = {"b_tenant": payment.tenant_id, "b_payment": payment.payment_id, "new_status": target,
                  "b_transaction": transaction_id, "at": now}  # fmt: skip
        if holder is not None:
            rule, subject_id = holder
            values |= {
                "b_holder": subject_id,
                "b_day": payment.outflow_day,
                "b_threshold": rule.threshold_fen,
            }
        push, kind = _pushed(subscription), holder and holder[0].holder_kind
        async with adb.unit() as unit:
            event, event_values = _event_call(unit, payment, target, now)
            if adb.is_postgresql:  # one statement: the event is inserted for the row the UPDATE recorded
                (inserted,) = await unit.run((repository.PAYMENT_SETTLED_WITH_EVENT[kind], values | event_values),
                                             commit=not push)  # fmt: skip
                recorded = inserted.first() is not None
            else:
                outcome_recorded, inserted = await unit.run(
                    (repository.PAYMENT_OUTCOME_RECORDED[kind], values), (event, event_values),
                    commit=not push,  # when nothing was recorded, the event's insert wrote nothing either
                )  # fmt: skip
                recorded = outcome_recorded.rowcount == 1
            if recorded:
                if push:
                    _defer_delivery(unit, subscription, payment, inserted)
                    await unit.run(commit=True)
                payment.status, payment.status_updated_at, payment.ledger_transaction_id = (
                    target,
                    now,
                    transaction_id,
                )
                return True
    # The synchronous code: a refusal gives back to the counters; a holder at the large-value threshold may be
    # due a record; a duplicate may have recorded the outcome first (then nothing changes and False comes back).
    return await anyio.to_thread.run_sync(service.record_outcome, db, payment, consent, outcome, now)
