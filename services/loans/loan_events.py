"""The loan's status changes as OBIE resource-update events, published through payments' event API (contract A).

Choice: a transactional outbox. The event row is written in the same unit of work as the status change it
reports, so a committed change always has its event; after the commit it is published to payments (its EventId
is the idempotency key, and payments keeps one event per EventId, so a retry never doubles it). A payments
outage never fails the loan operation: the row stays unpublished and is retried after every later loan
operation and every clock move of the tenant. The partner then gets a signed SET whose subject is
`/lending/v1/loans/{LoanId}` (pushed to its CallbackUrl, or by polling `POST /open-banking/v4.0/events`).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from openbank_kit.clock import wall_clock
from openbank_kit.db import Database
from openbank_kit.http_client import ServiceCallError, ServiceClient
from services.loans.models import Loan, LoanEvent

logger = structlog.get_logger("openbank.loans.events")
RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
RESOURCE_TYPE = "loans"
LENDING_API_VERSION = "1.0"
MAX_EVENTS_PER_FLUSH = 200  # bound per call; what is left is published on the next one
# What a loan event reports (docs/lending.md, Events).
DISBURSED = "DISBURSED"  # DISBURSING → ACTIVE: the money is in the customer's (or merchant's) account
INSTALMENT_PAID = "INSTALMENT_PAID"  # an instalment was auto-debited (with its penalty, if it was late)
OVERDUE = "OVERDUE"  # ACTIVE → OVERDUE: a due instalment could not be collected
OVERDUE_CLEARED = "OVERDUE_CLEARED"  # OVERDUE → ACTIVE: every late instalment was collected
PREPAID = "PREPAID"  # an early partial repayment: the schedule was recomputed
REPAID = "REPAID"  # → CLOSED: nothing is owed any more


def loan_link(loan_id: str) -> str:
    return f"/lending/v1/loans/{loan_id}"


def record(session: Session, loan: Loan, change: str, occurred_at: datetime) -> LoanEvent:
    """Add the event of one change to the caller's unit of work (which holds the loan's row lock)."""
    count = session.scalar(
        select(func.count())
        .select_from(LoanEvent)
        .where(LoanEvent.tenant_id == loan.tenant_id, LoanEvent.loan_id == loan.loan_id)
    )
    pending = [
        obj for obj in session.new if isinstance(obj, LoanEvent) and obj.loan_id == loan.loan_id
    ]  # not flushed yet
    sequence = int(count or 0) + len(pending) + 1
    event = LoanEvent(
        tenant_id=loan.tenant_id,
        event_id=f"{loan.loan_id}-{sequence:04d}-{change}",
        loan_id=loan.loan_id,
        client_id=loan.client_id,
        change=change,
        loan_status=loan.status,
        occurred_at=occurred_at,
    )
    session.add(event)
    return event


def publish_body(event: LoanEvent) -> dict:
    return {
        "EventId": event.event_id,
        "ClientId": event.client_id,
        "EventType": RESOURCE_UPDATE,
        "Subject": {
            "ResourceId": event.loan_id,
            "ResourceType": RESOURCE_TYPE,
            "ResourceLinks": [{"Version": LENDING_API_VERSION, "Link": loan_link(event.loan_id)}],
        },
        "OccurredAt": event.occurred_at.isoformat(),
    }


def publish_pending(db: Database, payments: ServiceClient, tenant_id: str) -> int:
    """Publish the tenant's unpublished loan events, oldest first; stops at the first failure (payments is
    down or refusing: the rest would fail alike). Returns how many were published. Never raises for payments.

    Each event is claimed under its row lock while it is sent (PostgreSQL: SKIP LOCKED, so a concurrent request
    moves on instead of sending the same event at the same moment; SQLite serialises writers anyway). The lock
    is held for at most one call to payments, bounded by the internal timeout."""
    with db.read_session() as session:
        pending = list(
            session.scalars(
                select(LoanEvent.event_id)
                .where(LoanEvent.tenant_id == tenant_id, col(LoanEvent.published_at).is_(None))
                .order_by(col(LoanEvent.occurred_at), col(LoanEvent.event_id))
                .limit(MAX_EVENTS_PER_FLUSH)
            )
        )
    published = 0
    for event_id in pending:
        with db.write_session() as session:
            event = session.scalars(
                select(LoanEvent)
                .where(
                    LoanEvent.tenant_id == tenant_id,
                    LoanEvent.event_id == event_id,
                    col(LoanEvent.published_at).is_(None),
                )
                .with_for_update(skip_locked=True)
            ).first()
            if event is None:  # published meanwhile, being published by another request, or reset away
                continue
            ok, reason = _publish(payments, tenant_id, event)
            event.attempts += 1
            if ok:
                event.published_at = wall_clock()
            session.add(event)
            session.commit()
        if not ok:
            logger.warning("loan_event_not_published", tenant_id=tenant_id, event_id=event_id, reason=reason)
            return published
        published += 1
    return published


def _publish(payments: ServiceClient, tenant_id: str, event: LoanEvent) -> tuple[bool, str]:
    try:
        response = payments.post(
            f"/internal/v1/tenants/{tenant_id}/events",
            json=publish_body(event),
            idempotency_key=event.event_id,
        )
    except ServiceCallError as exc:
        return False, exc.reason
    except Exception as exc:  # noqa: BLE001 -- whatever payments does, the loan operation must not fail
        return False, f"{type(exc).__name__}: {exc}"[:200]
    if response.status_code not in (200, 201):
        return False, f"payments answered {response.status_code}"
    return True, ""
