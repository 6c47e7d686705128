"""Writing events: always inside the caller's unit of work, so an event exists if and only if its change does."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from openbank_kit.clock import wall_clock
from openbank_kit.ids import new_id
from services.payments.events.models import EventDelivery, EventRecord, EventSubscription

RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
CONSENT_REVOKED = "urn:uk:org:openbanking:events:consent-authorization-revoked"
EVENT_TYPES = (RESOURCE_UPDATE, CONSENT_REVOKED)
PISP = "/open-banking/v4.0/pisp"


def subscription_wants(subscription: EventSubscription | None, event_type: str) -> bool:
    return subscription is None or not subscription.event_types or event_type in subscription.event_types


def new_event(
    *, tenant_id: str, client_id: str, event_id: str, event_type: str, subject: dict, occurred_at: datetime
) -> EventRecord:
    return EventRecord(
        tenant_id=tenant_id, jti=new_id("evt"), event_id=event_id, client_id=client_id, event_type=event_type,
        subject=subject, txn=event_id[:128], toe=occurred_at, created_at=wall_clock(),
    )  # fmt: skip


def pushed(subscription, event_type: str) -> bool:
    """Whether the subscription (a row or an EventSubscription) has a callback that takes this type of event."""
    return bool(
        subscription is not None
        and subscription.callback_url
        and subscription_wants(subscription, event_type)
    )


def new_delivery(subscription, tenant_id: str, client_id: str, event_seq: int) -> EventDelivery:
    """The push of an event (by its seq) to the subscription's callback, due now."""
    return EventDelivery(
        delivery_id=new_id("dlv"), tenant_id=tenant_id, event_seq=event_seq,
        subscription_id=subscription.subscription_id, client_id=client_id, callback_url=subscription.callback_url,
        fault=subscription.fault, status="PENDING", attempts=[], next_attempt_at=wall_clock(),
    )  # fmt: skip


def record_event(
    session: Session, *, tenant_id: str, client_id: str, event_id: str, event_type: str, subject: dict,
    occurred_at: datetime, known_new: bool = False, need_seq: bool = True,
) -> tuple[EventRecord, bool]:  # fmt: skip
    """(the event, created?): the same event_id again returns the first one and queues nothing.
    `known_new`: the caller's own state guarantees the event_id was never written (no lookup; the unique
    (tenant, event_id) constraint still stands behind it). `need_seq=False`: the caller does not read the event's
    seq, so unless a delivery is queued it is inserted with the rest of the unit of work (one flush fewer)."""
    if not known_new:
        existing = session.scalars(
            select(EventRecord).where(EventRecord.tenant_id == tenant_id, EventRecord.event_id == event_id)
        ).first()
        if existing is not None:
            return existing, False
    event = new_event(tenant_id=tenant_id, client_id=client_id, event_id=event_id, event_type=event_type,
                      subject=subject, occurred_at=occurred_at)  # fmt: skip
    session.add(event)
    subscription = session.scalars(
        select(EventSubscription).where(
            EventSubscription.tenant_id == tenant_id, EventSubscription.client_id == client_id
        )
    ).first()
    push = pushed(subscription, event_type)
    if push or need_seq:
        session.flush()  # assigns seq (else the event is inserted when the unit of work commits)
    if push:
        assert event.seq is not None
        session.add(new_delivery(subscription, tenant_id, client_id, event.seq))
    return event, True


def _payment_event_fields(payment, status: str) -> dict:
    return {
        "event_id": f"{payment.payment_id}-{status}", "event_type": RESOURCE_UPDATE,
        "subject": {"ResourceId": payment.payment_id, "ResourceType": "domestic-payments",
                    # relative: made absolute with the issuer when the SET is built
                    "ResourceLinks": [{"Version": "4.0", "Link": f"{PISP}/domestic-payments/{payment.payment_id}"}]},
    }  # fmt: skip


def payment_event(payment, now: datetime, status: str | None = None) -> EventRecord:
    """The resource-update event of a domestic payment's status (`status`: the one it is getting). A payment reaches
    each status at most once (PAYMENT_TRANSITIONS, decided under the payment row's lock): the EventId
    `<payment id>-<status>` is new."""
    fields = _payment_event_fields(payment, status or payment.status)
    return new_event(tenant_id=payment.tenant_id, client_id=payment.client_id, occurred_at=now, **fields)


def payment_status_changed(session: Session, payment, now: datetime) -> None:
    """A domestic payment got (or was created with) a status: one resource-update event per status reached."""
    record_event(session, tenant_id=payment.tenant_id, client_id=payment.client_id, occurred_at=now, known_new=True,
                 need_seq=False, **_payment_event_fields(payment, payment.status))  # fmt: skip
