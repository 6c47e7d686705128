"""Large-value transaction records (大额交易报告): written in the unit of work that records a payment's posting.

When the debit of a payment is confirmed by the ledger (ACCC, or ACSP for money leaving for clearing), the day's
posted transfers of the same holder are summed; if this one makes the total reach the PBOC threshold
(domain/large_value.py), one LargeValueRecord is written for that holder and day. The personal customer's (or the
corporate account's) day counter row is locked first, so concurrent settlements of one holder are serialised and
the record is written exactly once; a unique (tenant, subject, day) constraint is the second guard.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.payments import repository
from services.payments.domain.large_value import ReportRule, reaches_threshold, rule_for
from services.payments.models import DomesticPayment, DomesticPaymentConsent, LargeValueRecord

POSTED_STATUSES = ("ACCC", "ACSP", "ACSC")
MAX_REPORTS_PER_PAGE = 500
MAX_PAYMENTS_PER_DAY_SCANNED = 10_000  # bound on the day's sum; far above what the channel limits allow


def _days_posted_payments(
    session: Session, payment: DomesticPayment, holder_kind: str, classes: tuple[str, ...]
) -> list[tuple[str, int]]:
    """(payment id, amount) of the holder's other transfers posted that day, oldest first."""
    query = (
        select(DomesticPayment.payment_id, DomesticPayment.amount_fen)
        .join(
            DomesticPaymentConsent,
            (DomesticPaymentConsent.tenant_id == DomesticPayment.tenant_id)
            & (DomesticPaymentConsent.consent_id == DomesticPayment.consent_id),
        )
        .where(
            DomesticPayment.tenant_id == payment.tenant_id,
            DomesticPayment.outflow_day == payment.outflow_day,
            DomesticPayment.status.in_(POSTED_STATUSES),
            DomesticPayment.payment_id != payment.payment_id,
            DomesticPaymentConsent.debtor_account_class.in_(classes),
        )
        .order_by(DomesticPayment.created_at, DomesticPayment.payment_id)
        .limit(MAX_PAYMENTS_PER_DAY_SCANNED)
    )
    if holder_kind == "PERSONAL":
        query = query.where(DomesticPayment.customer_id == payment.customer_id)
    else:
        query = query.where(DomesticPayment.debtor_account_id == payment.debtor_account_id)
    return [(row[0], int(row[1])) for row in session.execute(query)]


def holder(payment: DomesticPayment, consent: DomesticPaymentConsent) -> tuple[ReportRule, str] | None:
    """(the reporting rule, the subject: the personal customer or the corporate account) of the payment's debtor."""
    rule = rule_for(consent.debtor_account_class or "")
    if rule is None:
        return None
    return rule, payment.customer_id if rule.holder_kind == "PERSONAL" else payment.debtor_account_id


def lock_holder_day(
    session: Session, payment: DomesticPayment, consent: DomesticPaymentConsent
) -> int | None:
    """Lock the day counter that serialises one holder's settlements (the one the limits count on) and return what
    it holds; None when no rule applies. Taken before the payment's row, in every path that records an outcome
    (the async path's guarded UPDATE locks it first too): one lock order, no deadlock between duplicates."""
    found = holder(payment, consent)
    if found is None:
        return None
    rule, subject_id = found
    if rule.holder_kind == "PERSONAL":
        return repository.locked_customer_day_total(
            session, payment.tenant_id, subject_id, payment.outflow_day
        )
    return repository.locked_account_day_total(session, payment.tenant_id, subject_id, payment.outflow_day)


def record_if_reached(
    session: Session,
    payment: DomesticPayment,
    consent: DomesticPaymentConsent,
    now: datetime,
    counted_fen: int,
) -> LargeValueRecord | None:
    """Write the holder's record for the day if this posted payment makes the total reach the threshold;
    `counted_fen`: what `lock_holder_day` returned, its lock still held."""
    found = holder(payment, consent)
    assert found is not None
    rule, subject_id = found
    classes = ("I", "II", "III") if rule.holder_kind == "PERSONAL" else ("BUSINESS",)
    # Every posted payment of the day was counted on this row first (and only a payment that moved nothing gives
    # its amount back), so the row bounds the day's posted total: below the threshold, nothing can reach it. Under
    # this lock no other settlement of the holder runs, so the bound holds until this unit of work ends.
    if counted_fen < rule.threshold_fen:
        return None
    existing = session.scalars(
        select(LargeValueRecord).where(
            LargeValueRecord.tenant_id == payment.tenant_id,
            LargeValueRecord.subject_id == subject_id,
            LargeValueRecord.day == payment.outflow_day,
        )
    ).first()
    if existing is not None:
        return None  # once per holder and day: later transfers that day are already covered by the report
    earlier = _days_posted_payments(session, payment, rule.holder_kind, classes)
    earlier_fen = sum(amount for _, amount in earlier)
    if not reaches_threshold(rule, earlier_fen, payment.amount_fen):
        return None
    record = LargeValueRecord(
        tenant_id=payment.tenant_id,
        report_id=new_id("lvr"),
        subject_id=subject_id,
        holder_kind=rule.holder_kind,
        customer_id=payment.customer_id,
        account_id=payment.debtor_account_id,
        holder_name=(consent.debtor_name or "")[:350],
        day=payment.outflow_day,
        total_fen=earlier_fen + payment.amount_fen,
        threshold_fen=rule.threshold_fen,
        reason_code=rule.reason_code,
        payment_ids=[payment_id for payment_id, _ in earlier] + [payment.payment_id],
        created_at=now,
    )
    assert record.total_fen >= record.threshold_fen
    session.add(record)
    return record


def _wire(record: LargeValueRecord, now: datetime) -> dict:
    return {
        "ReportId": record.report_id,
        "HolderKind": record.holder_kind,
        "CustomerId": record.customer_id,
        "AccountId": record.account_id,
        "HolderName": record.holder_name,
        "Date": record.day.isoformat(),
        "TotalAmount": Money.from_fen(record.total_fen).to_obie(),
        "Threshold": Money.from_fen(record.threshold_fen).to_obie(),
        "ReasonCode": record.reason_code,
        "TransactionCount": len(record.payment_ids),
        "DomesticPaymentIds": list(record.payment_ids),
        "CreationDateTime": record.created_at.astimezone(now.tzinfo).isoformat(),
    }


def list_reports(db: Database, tenant_id: str, limit: int) -> dict:
    """The tenant's large-value records, newest first (the sandbox inspector)."""
    assert 1 <= limit <= MAX_REPORTS_PER_PAGE
    with db.read_session() as session:
        now = tenant_now(session, tenant_id)
        rows = session.scalars(
            select(LargeValueRecord)
            .where(LargeValueRecord.tenant_id == tenant_id)
            .order_by(LargeValueRecord.created_at.desc(), LargeValueRecord.report_id.desc())
            .limit(limit)
        ).all()
        return {"Data": {"LargeValueReport": [_wire(row, now) for row in rows]}, "Meta": {"Count": len(rows)}}
