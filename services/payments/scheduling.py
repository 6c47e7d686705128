"""PISP scheduled payments and standing orders (OBIE v4.0), executed by the tenant's sandbox clock.

Consents follow the domestic payment consent (client-credentials token, AWAU → AUTH | RJCT → COND, expiry by the
tenant clock); an order is created once per consent with the customer's token. Nothing moves at creation: when the
clock moves (`run_due`), every due occurrence executes in due-date order as a real payment through the same path as a
domestic payment, in two steps so that nothing is lost or doubled:
1. one unit of work locks the order, counts the amount against the account class and customer limits (the day of
   the due date), records the execution `PDNG` (or `RJCT` over a limit) under the unique (order, occurrence), and moves
   the order on to its next occurrence;
2. the transfer is posted with the ledger key `<order id>-<occurrence>` (the execution id), then the execution is
   `ACSC` or `RJCT` (the ledger refused: nothing moved, the limit usage is given back).
A retry, a crash between the steps or a repeated clock move finds the execution `PDNG` and posts it with the same
key: the ledger replays its first posting, so money moves once. Every status change writes a resource-update event
in the same transaction (events/outbox.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlmodel import Session

from openbank_kit.caller import Caller
from openbank_kit.clock import BANK_TIMEZONE, tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, ErrorCode, FieldInvalid, Forbidden, NotFound, ServiceUnavailable
from openbank_kit.http_client import ServiceClient
from openbank_kit.idempotency import IdempotencyStore, StoredResponse, validate_idempotency_key
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.payments import ledger
from services.payments.domain.schedules import Schedule, UnsupportedFrequency, parse_frequency
from services.payments.domain.states import transition
from services.payments.events.outbox import CONSENT_REVOKED, RESOURCE_UPDATE, record_event
from services.payments.outflow import count_outflow, give_back_outflow
from services.payments.scheduling_models import (
    KIND_SCHEDULED,
    KIND_STANDING_ORDER,
    ScheduledConsent,
    ScheduledExecution,
    ScheduledOrder,
)
from services.payments.schemas import CNAPS_SCHEME
from services.payments.service import (
    BANK_BIN,
    OUTBOUND_CLEARING_ACCOUNT_ID,
    REASON_EXPIRED,
    _chosen_debtor,
    _without_none,
    check_account,
    check_authorised_for,
    refusal_reason,
)

logger = structlog.get_logger("openbank.payments.scheduling")
PISP = "/open-banking/v4.0/pisp"
CONSENT_LIFETIME = timedelta(hours=24)  # as a domestic consent; never past the first payment's due time
SCHEDULE_HORIZON = timedelta(days=366)  # the first payment is due within a year (and a day) of the request
MAX_NUMBER_OF_PAYMENTS = 9999  # keeps "<order id>-<occurrence>" within the ledger's 40-character keys
MAX_EXECUTIONS_PER_MOVE = 5000  # bound per clock move (ten years of a daily order fit in one 3660-day move)
MAX_DETAILS = 100  # payment-details lists the latest executions
REASON_REVOKED = "CANC"  # StatusReasonCode on a consent the customer revoked before it was used


class _Kind:
    """What differs between the two kinds of order: names on the wire."""

    def __init__(
        self, kind: str, consents: str, orders: str, id_field: str, consent_prefix: str, prefix: str
    ):
        self.kind, self.consents, self.orders, self.id_field = kind, consents, orders, id_field
        self.consent_prefix, self.prefix = consent_prefix, prefix
        self.create_consent_op = f"POST {PISP}/{consents}"
        self.create_order_op = f"POST {PISP}/{orders}"


SCHEDULED = _Kind(KIND_SCHEDULED, "domestic-scheduled-payment-consents", "domestic-scheduled-payments",
                  "DomesticScheduledPaymentId", "dspc", "dsp")  # fmt: skip
STANDING = _Kind(KIND_STANDING_ORDER, "domestic-standing-order-consents", "domestic-standing-orders",
                 "DomesticStandingOrderId", "dsoc", "dso")  # fmt: skip
KINDS = {KIND_SCHEDULED: SCHEDULED, KIND_STANDING_ORDER: STANDING}

CONSENT_TRANSITIONS = {
    "AWAU": {"AUTH", "RJCT", "EXPD", "CANC"},
    "AUTH": {"COND", "EXPD", "CANC"},
    "RJCT": set(),
    "COND": set(),
    "EXPD": set(),
    "CANC": set(),
}
# ACTIVE: more occurrences to pay; ENDED: the schedule is done; CANC: revoked by the customer at the bank.
ORDER_TRANSITIONS = {"ACTIVE": {"ENDED", "CANC"}, "ENDED": set(), "CANC": set()}
EXECUTION_TRANSITIONS = {"PDNG": {"ACSC", "RJCT"}, "ACSC": set(), "RJCT": set()}


# --- wire helpers ------------------------------------------------------------------------------------------
def _iso(moment: datetime, now: datetime) -> str:
    return moment.astimezone(now.tzinfo).isoformat()


def _check_scope(caller: Caller) -> None:
    if "payments" not in caller.scope:
        raise Forbidden(message="the token does not carry the payments scope")


def parse_moment(value: str, path: str) -> datetime:
    """An ISO 8601 date-time with an offset, in the bank's time zone."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise FieldInvalid(
            path, "must be an ISO 8601 date-time", error_code=ErrorCode.FIELD_INVALID_DATE
        ) from None
    if moment.tzinfo is None:
        raise FieldInvalid(path, "must carry a time zone offset", error_code=ErrorCode.FIELD_INVALID_DATE)
    return moment.astimezone(BANK_TIMEZONE)


def _check_future(moment: datetime, path: str, now: datetime) -> None:
    if moment <= now:
        raise FieldInvalid(path, f"must be in the future (the bank's clock reads {now.isoformat()})",
                           error_code=ErrorCode.FIELD_INVALID_DATE)  # fmt: skip
    if moment > now + SCHEDULE_HORIZON:
        raise FieldInvalid(path, f"must be within {SCHEDULE_HORIZON.days} days of now ({now.isoformat()})",
                           error_code=ErrorCode.FIELD_INVALID_DATE)  # fmt: skip


def _amount(initiation: dict, name: str, path: str) -> int:
    """Normalise `initiation[name]` to 2 dp in place; its value in fen (> 0)."""
    amount = Money.from_obie(initiation[name], path=f"{path}.{name}")
    if amount.fen <= 0:
        raise FieldInvalid(f"{path}.{name}.Amount", "the amount must be at least 0.01")
    initiation[name] = amount.to_obie()
    return amount.fen


def _normalise_amounts(kind: str, initiation: dict, path: str) -> None:
    """Amounts as stored ("10" is "10.00"), so that an order's Initiation compares equal to its consent's."""
    names = ("InstructedAmount",) if kind == KIND_SCHEDULED else (
        "FirstPaymentAmount", "RecurringPaymentAmount", "FinalPaymentAmount")  # fmt: skip
    for name in names:
        if name in initiation:
            _amount(initiation, name, path)


def schedule_of(initiation: dict, path: str = "Data.Initiation") -> Schedule:
    """The standing order's schedule, checked: a clear 400 with the path for anything this bank does not run."""
    mandate = initiation["MandateRelatedInformation"]
    mpath = f"{path}.MandateRelatedInformation"
    try:
        frequency = parse_frequency(mandate["Frequency"]["Type"])
    except UnsupportedFrequency as exc:
        raise FieldInvalid(
            f"{mpath}.Frequency.Type", str(exc), error_code=ErrorCode.UNSUPPORTED_FREQUENCY
        ) from None
    if mandate["Frequency"].get("CountPerPeriod") is not None or mandate["Frequency"].get("PointInTime"):
        raise FieldInvalid(f"{mpath}.Frequency", "CountPerPeriod and PointInTime are not used with these patterns",
                           error_code=ErrorCode.UNSUPPORTED_FREQUENCY)  # fmt: skip
    first_at = parse_moment(mandate["FirstPaymentDateTime"], f"{mpath}.FirstPaymentDateTime")
    recurring_at = final_at = None
    if mandate.get("RecurringPaymentDateTime"):
        recurring_at = parse_moment(mandate["RecurringPaymentDateTime"], f"{mpath}.RecurringPaymentDateTime")
        if recurring_at <= first_at:
            raise FieldInvalid(f"{mpath}.RecurringPaymentDateTime", "must be after FirstPaymentDateTime",
                               error_code=ErrorCode.FIELD_INVALID_DATE)  # fmt: skip
    if mandate.get("FinalPaymentDateTime"):
        final_at = parse_moment(mandate["FinalPaymentDateTime"], f"{mpath}.FinalPaymentDateTime")
        if final_at < first_at:
            raise FieldInvalid(f"{mpath}.FinalPaymentDateTime", "must not be before FirstPaymentDateTime",
                               error_code=ErrorCode.FIELD_INVALID_DATE)  # fmt: skip
    number = None
    if initiation.get("NumberOfPayments") is not None:
        text = initiation["NumberOfPayments"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_NUMBER_OF_PAYMENTS:
            raise FieldInvalid(
                f"{path}.NumberOfPayments", f"must be a whole number from 1 to {MAX_NUMBER_OF_PAYMENTS}"
            )
        number = int(text)
        if final_at is not None:
            raise FieldInvalid(
                f"{path}.NumberOfPayments", "give NumberOfPayments or FinalPaymentDateTime, not both"
            )
    first_fen = Money.from_obie(initiation["FirstPaymentAmount"], path=f"{path}.FirstPaymentAmount").fen
    amounts = {}
    for name in ("RecurringPaymentAmount", "FinalPaymentAmount"):
        if name in initiation:
            money = Money.from_obie(initiation[name], path=f"{path}.{name}")
            if money.currency != initiation["FirstPaymentAmount"]["Currency"]:
                raise FieldInvalid(
                    f"{path}.{name}.Currency", "every amount of a standing order has one currency"
                )
            amounts[name] = money.fen
    if "FinalPaymentAmount" in amounts and number is None and final_at is None:
        raise FieldInvalid(f"{path}.FinalPaymentAmount",
                           "a FinalPaymentAmount needs NumberOfPayments or FinalPaymentDateTime")  # fmt: skip
    recurring_fen = amounts.get("RecurringPaymentAmount", first_fen)
    return Schedule(frequency=frequency, first_at=first_at, first_fen=first_fen, recurring_fen=recurring_fen,
                    final_fen=amounts.get("FinalPaymentAmount", recurring_fen), recurring_first_at=recurring_at,
                    number_of_payments=number, final_at=final_at)  # fmt: skip


def _resolve_creditor(
    accounts: ServiceClient, tenant_id: str, initiation: dict, path: str
) -> tuple[str, str | None]:
    """(the creditor's number, its account id here or None for another bank's account)."""
    creditor_number = check_account(initiation["CreditorAccount"], f"{path}.CreditorAccount")
    if "DebtorAccount" in initiation:
        debtor_number = check_account(initiation["DebtorAccount"], f"{path}.DebtorAccount")
        if debtor_number == creditor_number:
            raise FieldInvalid(f"{path}.CreditorAccount.Identification", "the creditor is the debtor account")
    if not creditor_number.startswith(BANK_BIN):
        return creditor_number, None
    creditor = ledger.account_by_number(accounts, tenant_id, creditor_number)
    if creditor is None:
        raise FieldInvalid(f"{path}.CreditorAccount.Identification", "no account of this bank has that number",
                           error_code=ErrorCode.UNSUPPORTED_ACCOUNT_IDENTIFIER)  # fmt: skip
    if creditor["Status"] != "Enabled":
        raise FieldInvalid(f"{path}.CreditorAccount.Identification", "the creditor account cannot receive")
    return creditor_number, creditor["AccountId"]


# --- consents ----------------------------------------------------------------------------------------------
def consent_status(consent: ScheduledConsent, now: datetime) -> str:
    """The status as of now: an AWAU or AUTH consent past its expiry reads as EXPD."""
    if consent.status in ("AWAU", "AUTH") and now >= consent.expires_at:
        return "EXPD"
    return consent.status


def _consent_body(consent: ScheduledConsent, now: datetime, issuer: str) -> dict:
    kind = KINDS[consent.kind]
    status = consent_status(consent, now)
    data: dict = {
        "ConsentId": consent.consent_id,
        "CreationDateTime": _iso(consent.created_at, now),
        # The OBIE consent enums have no EXPD or CANC: they read RJCT with the reason.
        "Status": "RJCT" if status in ("EXPD", "CANC") else status,
        "StatusUpdateDateTime": _iso(
            consent.expires_at if status == "EXPD" else consent.status_updated_at, now
        ),
        "Permission": "Create",
        "CutOffDateTime": _iso(consent.expires_at, now),
    }
    if status == "EXPD":
        data["StatusReason"] = [{"StatusReasonCode": REASON_EXPIRED,
                                 "StatusReasonDescription": "the consent expired (tenant clock) before it was used"}]  # fmt: skip
    if status == "CANC":
        data["StatusReason"] = [{"StatusReasonCode": REASON_REVOKED,
                                 "StatusReasonDescription": "the customer revoked the consent at the bank"}]  # fmt: skip
    if consent.kind == KIND_SCHEDULED:
        data["ExpectedExecutionDateTime"] = _iso(consent.first_due_at, now)
    data["Initiation"] = consent.initiation
    if consent.debtor_account_id and consent.debtor_identification:
        data["Debtor"] = {"SchemeName": CNAPS_SCHEME, "Identification": consent.debtor_identification,
                          "Name": consent.debtor_name or ""}  # fmt: skip
    return {"Data": data, "Risk": consent.risk,
            "Links": {"Self": f"{issuer}{PISP}/{kind.consents}/{consent.consent_id}"}, "Meta": {}}  # fmt: skip


def create_consent(
    db: Database,
    accounts: ServiceClient,
    caller: Caller,
    kind_name: str,
    key: str | None,
    body: dict,
    issuer: str,
) -> StoredResponse:
    """A scheduled payment or standing order consent, AWAU, created with the partner's client-credentials token."""
    kind = KINDS[kind_name]
    _check_scope(caller)
    if caller.is_customer:
        raise Forbidden(message="create a payment consent with a client-credentials token")
    validate_idempotency_key(key)
    body = _without_none(body)
    initiation = body["Data"]["Initiation"]
    path = "Data.Initiation"
    _normalise_amounts(kind_name, initiation, path)
    creditor_number, creditor_account_id = _resolve_creditor(accounts, caller.tenant_id, initiation, path)

    def create(session: Session, now: datetime) -> StoredResponse:
        if kind_name == KIND_SCHEDULED:
            first_path = f"{path}.RequestedExecutionDateTime"
            first_due_at = parse_moment(initiation["RequestedExecutionDateTime"], first_path)
        else:
            first_path = f"{path}.MandateRelatedInformation.FirstPaymentDateTime"
            first_due_at = schedule_of(initiation, path).first_at
        _check_future(first_due_at, first_path, now)
        consent = ScheduledConsent(
            tenant_id=caller.tenant_id, consent_id=new_id(kind.consent_prefix), kind=kind_name,
            client_id=caller.client_id, status="AWAU", initiation=initiation, risk=body["Risk"],
            creditor_identification=creditor_number, creditor_account_id=creditor_account_id,
            creditor_name=initiation["CreditorAccount"]["Name"],
            debtor_identification=initiation.get("DebtorAccount", {}).get("Identification"),
            first_due_at=first_due_at, created_at=now, status_updated_at=now,
            expires_at=min(now + CONSENT_LIFETIME, first_due_at),
        )  # fmt: skip
        session.add(consent)
        return StoredResponse(201, _consent_body(consent, now, issuer), consent.consent_id)

    return IdempotencyStore(db).run(tenant_id=caller.tenant_id, client_id=caller.client_id,
                                    operation=kind.create_consent_op, key=key, body=body, create=create)  # fmt: skip


def _consent_row(session: Session, tenant_id: str, consent_id: str, *, for_update: bool = False):
    query = select(ScheduledConsent).where(
        ScheduledConsent.tenant_id == tenant_id, ScheduledConsent.consent_id == consent_id
    )
    return session.scalars(query.with_for_update() if for_update else query).first()


def _callers_consent(session: Session, caller: Caller, kind_name: str, consent_id: str) -> ScheduledConsent:
    _check_scope(caller)
    consent = _consent_row(session, caller.tenant_id, consent_id)
    if consent is None or consent.client_id != caller.client_id or consent.kind != kind_name:
        raise Forbidden(message="the consent is not this client's")  # no existence oracle
    if caller.is_customer and caller.intent_id != consent_id:
        raise Forbidden(message="the token was issued for another consent")
    return consent


def get_consent(db: Database, caller: Caller, kind_name: str, consent_id: str, issuer: str) -> dict:
    with db.read_session() as session:
        consent = _callers_consent(session, caller, kind_name, consent_id)
        return _consent_body(consent, tenant_now(session, caller.tenant_id), issuer)


# --- the internal consent contract (docs/internal-api.md) --------------------------------------------------
def _internal_consent_body(consent: ScheduledConsent, now: datetime) -> dict:
    return {"Data": {
        "ConsentId": consent.consent_id, "ClientId": consent.client_id, "Status": consent_status(consent, now),
        "Kind": consent.kind, "CustomerId": consent.customer_id,
        "AccountIds": [consent.debtor_account_id] if consent.debtor_account_id else [],
        "AccountSelection": "none" if consent.debtor_identification else "one",
        "ExpirationDateTime": _iso(consent.expires_at, now),
        "Details": {"Initiation": consent.initiation, "Risk": consent.risk},
    }}  # fmt: skip


def internal_get_consent(db: Database, tenant_id: str, consent_id: str) -> dict | None:
    """The internal view of a scheduled payment or standing order consent; None when it is not one."""
    with db.read_session() as session:
        consent = _consent_row(session, tenant_id, consent_id)
        if consent is None:
            return None
        return _internal_consent_body(consent, tenant_now(session, tenant_id))


def internal_authorise(
    db: Database, accounts: ServiceClient, tenant_id: str, consent_id: str, body: dict
) -> dict | None:
    """The customer's decision on a scheduled payment or standing order consent; None when it is not one."""
    with db.read_session() as session:
        consent = _consent_row(session, tenant_id, consent_id)
    if consent is None:
        return None
    if consent.client_id != body["ClientId"]:
        raise Forbidden(message="the consent belongs to another client")
    chosen = None
    if body["Decision"] == "approve":
        eligible = ledger.customer_accounts(accounts, tenant_id, body["CustomerId"])
        if eligible is None:
            raise FieldInvalid("CustomerId", f"unknown customer {body['CustomerId']}")
        chosen = _chosen_debtor(consent, eligible, body.get("AccountIds"))
    with db.write_session() as session:
        consent = _consent_row(session, tenant_id, consent_id, for_update=True)
        assert consent is not None
        now = tenant_now(session, tenant_id)
        if consent_status(consent, now) != "AWAU":
            raise Conflict(message=f"the consent is {consent_status(consent, now)}, not AWAU")
        consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status,
                                    "AUTH" if chosen is not None else "RJCT")  # fmt: skip
        consent.customer_id = body["CustomerId"]
        consent.status_updated_at = now
        if chosen is not None:
            consent.debtor_account_id = chosen["AccountId"]
            consent.debtor_account_class = chosen["AccountClass"]
            consent.debtor_identification = chosen["Identification"]
            consent.debtor_name = chosen.get("Name") or None
        session.add(consent)
        session.commit()
        return _internal_consent_body(consent, now)


def _dashboard_row(session: Session, consent: ScheduledConsent, now: datetime) -> dict:
    """The consent as the customer's consent dashboard lists it (customer_consents.py, docs/internal-api.md)."""
    initiation = consent.initiation
    if consent.kind == KIND_SCHEDULED:
        amount = initiation["InstructedAmount"]
        summary = (f"pay {amount['Amount']} {amount['Currency']} to {consent.creditor_name} "
                   f"on {_iso(consent.first_due_at, now)}")  # fmt: skip
    else:
        amount = initiation["FirstPaymentAmount"]
        frequency = initiation["MandateRelatedInformation"]["Frequency"]["Type"]
        summary = (f"standing order {frequency} to {consent.creditor_name} from {_iso(consent.first_due_at, now)}, "
                   f"first {amount['Amount']} {amount['Currency']}")  # fmt: skip
    order = _order_of_consent(session, consent)
    if order is not None and order.status == "CANC":
        summary += " (cancelled at the bank)"
    return {"ConsentId": consent.consent_id, "Kind": consent.kind, "ClientId": consent.client_id,
            "Status": consent_status(consent, now), "CreationDateTime": _iso(consent.created_at, now),
            "StatusUpdateDateTime": _iso(consent.status_updated_at, now),
            "ExpirationDateTime": _iso(consent.expires_at, now),
            "AccountIds": [consent.debtor_account_id] if consent.debtor_account_id else [],
            "Permissions": [], "Summary": summary[:500]}  # fmt: skip


def _order_of_consent(session: Session, consent: ScheduledConsent, *, for_update: bool = False):
    query = select(ScheduledOrder).where(
        ScheduledOrder.tenant_id == consent.tenant_id, ScheduledOrder.consent_id == consent.consent_id
    )
    return session.scalars(query.with_for_update() if for_update else query).first()


def customer_consents(db: Database, tenant_id: str, customer_id: str, limit: int) -> list[dict]:
    """The scheduled payment and standing order consents the customer decided, newest first (dashboard rows)."""
    with db.read_session() as session:
        now = tenant_now(session, tenant_id)
        query = (select(ScheduledConsent)
                 .where(ScheduledConsent.tenant_id == tenant_id, ScheduledConsent.customer_id == customer_id)
                 .order_by(ScheduledConsent.created_at.desc(), ScheduledConsent.consent_id).limit(limit))  # fmt: skip
        return [_dashboard_row(session, consent, now) for consent in session.scalars(query)]


def revoke(db: Database, tenant_id: str, consent_id: str, customer_id: str) -> dict | None:
    """The customer revokes at the bank (the consent dashboard's contract); None when it is not such a consent.

    An AWAU or AUTH consent becomes CANC (event consent-authorization-revoked). A used (COND) one stays COND but its
    order is cancelled (CANC, resource-update event) and makes no further payment; payments already made stay.
    Again: the same answer. Another customer's: 404; an ended order, or a rejected or expired consent: 409."""
    with db.write_session() as session:
        consent = _consent_row(session, tenant_id, consent_id, for_update=True)
        if consent is None:
            return None
        if consent.customer_id != customer_id:
            raise NotFound(message=f"the customer has no consent {consent_id}")
        now = tenant_now(session, tenant_id)
        status = consent_status(consent, now)
        kind = KINDS[consent.kind]
        if status in ("AWAU", "AUTH"):
            consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, "CANC")
            consent.status_updated_at = now
            session.add(consent)
            record_event(session, tenant_id=tenant_id, client_id=consent.client_id,
                         event_id=f"{consent_id}-REVOKED", event_type=CONSENT_REVOKED,
                         subject=_subject(consent.consent_id, kind.consents), occurred_at=now)  # fmt: skip
        elif status == "COND":
            order = _order_of_consent(session, consent, for_update=True)
            assert order is not None
            if order.status == "ENDED":
                raise Conflict(message="the order has made all its payments: there is nothing to cancel")
            if order.status == "ACTIVE":
                order.status = transition(ORDER_TRANSITIONS, "order", order.status, "CANC")
                order.status_reason = "the customer cancelled it at the bank"
                order.next_due_at = None
                order.status_updated_at = now
                session.add(order)
                _order_event(session, order, "CANC", now)
        elif status != "CANC":
            raise Conflict(
                message=f"the consent is {status}; only AWAU, AUTH or a running order can be revoked"
            )
        session.flush()
        row = _dashboard_row(session, consent, now)
        session.commit()
        return {"Data": row}


# --- orders ------------------------------------------------------------------------------------------------
def _subject(resource_id: str, resource_type: str) -> dict:
    # relative: made absolute with the issuer when the SET is built
    return {"ResourceId": resource_id, "ResourceType": resource_type,
            "ResourceLinks": [{"Version": "4.0", "Link": f"{PISP}/{resource_type}/{resource_id}"}]}  # fmt: skip


def _order_event(
    session: Session, order: ScheduledOrder, status: str, now: datetime, suffix: str = ""
) -> None:
    """One resource-update event per status an order (or one of its payments, `suffix` "-<n>") reaches."""
    record_event(session, tenant_id=order.tenant_id, client_id=order.client_id,
                 event_id=f"{order.order_id}{suffix}-{status}", event_type=RESOURCE_UPDATE,
                 subject=_subject(order.order_id, KINDS[order.kind].orders), occurred_at=now)  # fmt: skip


def _executions(session: Session, tenant_id: str, order_id: str, limit: int) -> list[ScheduledExecution]:
    query = (select(ScheduledExecution)
             .where(ScheduledExecution.tenant_id == tenant_id, ScheduledExecution.order_id == order_id)
             .order_by(ScheduledExecution.occurrence.desc()).limit(limit))  # fmt: skip
    return list(reversed(list(session.scalars(query))))


def wire_status(order: ScheduledOrder, last: ScheduledExecution | None) -> str:
    """A scheduled payment reads as its one payment (PDNG until it is made); a standing order is INCO (set up at
    the bank) until cancelled; its payments show in payment-details."""
    if order.status == "CANC":
        return "CANC"
    if order.kind == KIND_STANDING_ORDER:
        return "INCO"
    return last.status if last is not None else "PDNG"


def _order_body(
    session: Session, order: ScheduledOrder, consent: ScheduledConsent, now: datetime, issuer: str
) -> dict:
    kind = KINDS[order.kind]
    executions = _executions(session, order.tenant_id, order.order_id, 1)
    last = executions[-1] if executions else None
    status = wire_status(order, last)
    updated = order.status_updated_at
    if order.kind == KIND_SCHEDULED and last is not None and order.status != "CANC":
        updated = last.status_updated_at
    data: dict = {kind.id_field: order.order_id, "ConsentId": order.consent_id,
                  "CreationDateTime": _iso(order.created_at, now), "Status": status,
                  "StatusUpdateDateTime": _iso(updated, now)}  # fmt: skip
    if status == "CANC":
        data["StatusReason"] = [{"StatusReasonCode": "CANC",
                                 "StatusReasonDescription": order.status_reason or "cancelled"}]  # fmt: skip
    elif order.kind == KIND_SCHEDULED and last is not None and last.status_reason_code:
        data["StatusReason"] = [{"StatusReasonCode": last.status_reason_code,
                                 "StatusReasonDescription": last.status_reason or last.status_reason_code}]  # fmt: skip
    if order.kind == KIND_SCHEDULED:
        data["ExpectedExecutionDateTime"] = _iso(consent.first_due_at, now)
    data["Initiation"] = consent.initiation
    data["Debtor"] = {"SchemeName": CNAPS_SCHEME, "Identification": consent.debtor_identification or "",
                      "Name": consent.debtor_name or ""}  # fmt: skip
    return {"Data": data, "Links": {"Self": f"{issuer}{PISP}/{kind.orders}/{order.order_id}"}, "Meta": {}}


def _order_row(session: Session, tenant_id: str, order_id: str, *, for_update: bool = False):
    query = select(ScheduledOrder).where(
        ScheduledOrder.tenant_id == tenant_id, ScheduledOrder.order_id == order_id
    )
    return session.scalars(query.with_for_update() if for_update else query).first()


def create_order(
    db: Database, caller: Caller, kind_name: str, key: str | None, body: dict, issuer: str
) -> StoredResponse:
    """Submit the scheduled payment or standing order of an authorised consent (the customer's token), once per
    key. Nothing moves now: the sandbox clock executes it when it falls due."""
    kind = KINDS[kind_name]
    _check_scope(caller)
    if not caller.is_customer:
        raise Forbidden(message="an order needs the customer's token for its consent")
    validate_idempotency_key(key)
    body = _without_none(body)
    consent_id = body["Data"]["ConsentId"]
    _normalise_amounts(kind_name, body["Data"]["Initiation"], "Data.Initiation")
    if caller.intent_id != consent_id:
        raise Forbidden(message="the token was issued for another consent")

    def create(session: Session, now: datetime) -> StoredResponse:
        consent = _consent_row(session, caller.tenant_id, consent_id, for_update=True)
        if (consent is None or consent.client_id != caller.client_id or consent.customer_id != caller.subject
                or consent.kind != kind_name):  # fmt: skip
            raise Forbidden(message="the consent is not this client's or not of this kind")
        check_authorised_for(consent_status(consent, now), consent, body)
        assert consent.debtor_account_id is not None and consent.customer_id is not None
        assert consent.first_due_at > now  # the consent expires at the first due time at the latest
        order = ScheduledOrder(
            tenant_id=caller.tenant_id, order_id=new_id(kind.prefix), kind=kind_name, consent_id=consent_id,
            client_id=caller.client_id, customer_id=consent.customer_id, status="ACTIVE",
            debtor_account_id=consent.debtor_account_id,
            credit_account_id=consent.creditor_account_id or OUTBOUND_CLEARING_ACCOUNT_ID,
            next_occurrence=1, next_due_at=consent.first_due_at, created_at=now, status_updated_at=now,
        )  # fmt: skip
        consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, "COND")
        consent.status_updated_at = now
        session.add(consent)
        session.add(order)
        session.flush()  # the unique (tenant, consent) constraint refuses a second order here
        _order_event(session, order, wire_status(order, None), now)
        return StoredResponse(201, _order_body(session, order, consent, now, issuer), order.order_id)

    return IdempotencyStore(db).run(tenant_id=caller.tenant_id, client_id=caller.client_id,
                                    operation=kind.create_order_op, key=key, body=body, create=create)  # fmt: skip


def _callers_order(session: Session, caller: Caller, kind_name: str, order_id: str) -> ScheduledOrder:
    _check_scope(caller)
    order = _order_row(session, caller.tenant_id, order_id)
    if order is None or order.client_id != caller.client_id or order.kind != kind_name:
        raise Forbidden(message="the order is not this client's")  # no existence oracle
    if caller.is_customer and caller.intent_id != order.consent_id:
        raise Forbidden(message="the token was issued for another consent")
    return order


def get_order(
    db: Database, accounts: ServiceClient, caller: Caller, kind_name: str, order_id: str, issuer: str
) -> dict:
    with db.read_session() as session:
        _callers_order(session, caller, kind_name, order_id)
    _finish_pending(db, accounts, caller.tenant_id, order_id)  # one a ledger outage or crash interrupted
    with db.read_session() as session:
        order = _order_row(session, caller.tenant_id, order_id)
        consent = _consent_row(session, caller.tenant_id, order.consent_id)
        return _order_body(session, order, consent, tenant_now(session, caller.tenant_id), issuer)


def get_order_details(
    db: Database, accounts: ServiceClient, caller: Caller, kind_name: str, order_id: str, issuer: str
) -> dict:
    """One PaymentStatus per payment the order made (the latest MAX_DETAILS); a scheduled payment not yet due
    shows one PDNG entry, a cancelled one that never paid none."""
    with db.read_session() as session:
        _callers_order(session, caller, kind_name, order_id)
    _finish_pending(db, accounts, caller.tenant_id, order_id)
    with db.read_session() as session:
        order = _order_row(session, caller.tenant_id, order_id)
        now = tenant_now(session, caller.tenant_id)
        entries = []
        for execution in _executions(session, caller.tenant_id, order_id, MAX_DETAILS):
            detail: dict = {"Status": execution.status}
            if execution.status_reason_code:
                detail["StatusReason"] = execution.status_reason_code
                detail["StatusReasonDescription"] = (execution.status_reason or execution.status_reason_code)[
                    :256
                ]
            entries.append({"PaymentTransactionId": execution.ledger_transaction_id or execution.execution_id,
                            "Status": execution.status, "StatusUpdateDateTime": _iso(execution.status_updated_at, now),
                            "StatusDetail": detail})  # fmt: skip
        if not entries and order.kind == KIND_SCHEDULED and order.status == "ACTIVE":
            entries.append({"PaymentTransactionId": order.order_id, "Status": "PDNG",
                            "StatusUpdateDateTime": _iso(order.status_updated_at, now),
                            "StatusDetail": {"Status": "PDNG"}})  # fmt: skip
    kind = KINDS[kind_name]
    return {"Data": {"PaymentStatus": entries},
            "Links": {"Self": f"{issuer}{PISP}/{kind.orders}/{order_id}/payment-details"}, "Meta": {}}  # fmt: skip


# --- execution by the sandbox clock ------------------------------------------------------------------------
def _start_execution(db: Database, tenant_id: str, order_id: str) -> str | None:
    """Step 1 for the order's next due occurrence: the execution id if it is to be posted, else None."""
    with db.write_session() as session:
        order = _order_row(session, tenant_id, order_id, for_update=True)
        now = tenant_now(session, tenant_id)
        if order is None or order.status != "ACTIVE" or order.next_due_at is None or order.next_due_at > now:
            return None  # a concurrent clock move took it first, or it was cancelled
        consent = _consent_row(session, tenant_id, order.consent_id)
        assert consent is not None
        occurrence, due_at = order.next_occurrence, order.next_due_at.astimezone(BANK_TIMEZONE)
        if order.kind == KIND_SCHEDULED:
            amount_fen = Money.from_obie(consent.initiation["InstructedAmount"]).fen
            following = None
        else:
            schedule = schedule_of(consent.initiation)
            amount_fen = schedule.amount_fen(occurrence, due_at)
            following = schedule.following(occurrence, due_at)
        day = due_at.date()
        refused = count_outflow(session, tenant_id, consent.debtor_account_id, consent.debtor_account_class or "",
                                consent.customer_id, amount_fen, day)  # fmt: skip
        execution = ScheduledExecution(
            tenant_id=tenant_id, execution_id=f"{order_id}-{occurrence}", order_id=order_id, occurrence=occurrence,
            due_at=due_at, amount_fen=amount_fen, status="RJCT" if refused else "PDNG",
            status_reason_code=refused[0] if refused else None,
            status_reason=refused[1][:500] if refused else None,
            outflow_day=day, created_at=now, status_updated_at=now,
        )  # fmt: skip
        session.add(execution)
        order.next_occurrence = occurrence + 1
        order.next_due_at = following
        if following is None:
            order.status = transition(ORDER_TRANSITIONS, "order", order.status, "ENDED")
            order.status_updated_at = now
        session.add(order)
        session.flush()  # the unique (order, occurrence) constraint stands behind the order row's lock
        if refused:
            _execution_event(session, order, execution, now)
        session.commit()
        return None if refused else execution.execution_id


def _execution_event(
    session: Session, order: ScheduledOrder, execution: ScheduledExecution, now: datetime
) -> None:
    if order.kind == KIND_SCHEDULED:
        _order_event(session, order, execution.status, now)
    else:
        _order_event(session, order, execution.status, now, suffix=f"-{execution.occurrence}")


def _posting(order: ScheduledOrder, consent: ScheduledConsent, execution: ScheduledExecution) -> dict:
    """The ledger transaction of one execution: a function of stored rows only, so every retry is identical."""
    amount = Money.from_fen(execution.amount_fen).to_obie()
    remittance = consent.initiation.get("RemittanceInformation", {}).get("Unstructured") or []
    label = "定期转账 standing order" if order.kind == KIND_STANDING_ORDER else "预约转账 scheduled payment"
    reference = (consent.initiation.get("EndToEndIdentification")
                 or consent.initiation.get("MandateRelatedInformation", {}).get("MandateIdentification")
                 or execution.execution_id)  # fmt: skip
    return {
        "Category": "TRANSFER" if consent.creditor_account_id else "CNAPS_TRANSFER",
        "Description": ((remittance[0] if remittance else "") or f"{label} {execution.execution_id}")[:140],
        "Reference": reference[:35],
        "CounterpartyName": consent.creditor_name[:140],
        "Postings": [
            {"AccountId": order.debtor_account_id, "CreditDebitIndicator": "Debit", "Amount": amount},
            {"AccountId": order.credit_account_id, "CreditDebitIndicator": "Credit", "Amount": amount},
        ],
    }


def _post_execution(db: Database, accounts: ServiceClient, tenant_id: str, execution_id: str) -> None:
    """Step 2: post a PDNG execution (ledger key = its id) and record ACSC or RJCT. ServiceUnavailable when the
    ledger does not answer: the execution stays PDNG for the next clock move or read."""
    with db.read_session() as session:
        execution = session.get(ScheduledExecution, (tenant_id, execution_id))
        if execution is None or execution.status != "PDNG":
            return
        order = _order_row(session, tenant_id, execution.order_id)
        consent = _consent_row(session, tenant_id, order.consent_id)
    outcome = ledger.post(accounts, tenant_id, execution_id, _posting(order, consent, execution))
    with db.write_session() as session:
        execution = session.scalars(select(ScheduledExecution).where(
            ScheduledExecution.tenant_id == tenant_id, ScheduledExecution.execution_id == execution_id
        ).with_for_update()).first()  # fmt: skip
        assert execution is not None
        if execution.status != "PDNG":
            return  # a concurrent clock move recorded the same outcome first
        now = tenant_now(session, tenant_id)
        if isinstance(outcome, ledger.Posted):
            target = "ACSC"  # same bank: credited; another bank: the clock moved past its clearing cycle
            execution.ledger_transaction_id = outcome.transaction_id
        else:
            target = "RJCT"
            execution.status_reason_code, execution.status_reason = refusal_reason(outcome)
            # Nothing moved: give the amount back to the limits it was counted against.
            give_back_outflow(session, tenant_id, order.debtor_account_id, consent.debtor_account_class or "",
                              order.customer_id, execution.amount_fen, execution.outflow_day)  # fmt: skip
        execution.status = transition(EXECUTION_TRANSITIONS, "execution", execution.status, target)
        execution.status_updated_at = now
        session.add(execution)
        _execution_event(session, order, execution, now)
        session.commit()


def _pending_executions(session: Session, tenant_id: str, order_id: str | None, limit: int) -> list[str]:
    query = select(ScheduledExecution.execution_id).where(
        ScheduledExecution.tenant_id == tenant_id, ScheduledExecution.status == "PDNG"
    )
    if order_id is not None:
        query = query.where(ScheduledExecution.order_id == order_id)
    return list(
        session.scalars(
            query.order_by(ScheduledExecution.due_at, ScheduledExecution.execution_id).limit(limit)
        )
    )


def _finish_pending(db: Database, accounts: ServiceClient, tenant_id: str, order_id: str | None) -> int:
    with db.read_session() as session:
        pending = _pending_executions(session, tenant_id, order_id, MAX_EXECUTIONS_PER_MOVE)
    try:
        for execution_id in pending:
            _post_execution(db, accounts, tenant_id, execution_id)
    except ServiceUnavailable:
        logger.warning("scheduled_execution_left_pending", tenant_id=tenant_id)
    return len(pending)


def _earliest_due(session: Session, tenant_id: str, now: datetime) -> str | None:
    query = (select(ScheduledOrder.order_id)
             .where(ScheduledOrder.tenant_id == tenant_id, ScheduledOrder.status == "ACTIVE",
                    ScheduledOrder.next_due_at <= now)
             .order_by(ScheduledOrder.next_due_at, ScheduledOrder.order_id).limit(1))  # fmt: skip
    return session.scalars(query).first()


def run_due(db: Database, accounts: ServiceClient, tenant_id: str) -> dict:
    """What a clock move makes happen here: interrupted executions are posted, then every due occurrence of every
    order executes, earliest due first (so one account's balance is spent in date order). A ledger outage stops
    the run (the rest waits for the next move); it never fails the clock move."""
    finished = _finish_pending(db, accounts, tenant_id, None)
    executed = 0
    for _ in range(MAX_EXECUTIONS_PER_MOVE):
        with db.read_session() as session:
            order_id = _earliest_due(session, tenant_id, tenant_now(session, tenant_id))
        if order_id is None:
            break
        execution_id = _start_execution(db, tenant_id, order_id)
        executed += 1
        if execution_id is None:
            continue
        try:
            _post_execution(db, accounts, tenant_id, execution_id)
        except ServiceUnavailable:
            logger.warning("scheduled_execution_left_pending", tenant_id=tenant_id, execution_id=execution_id)
            break
    return {"Finished": finished, "Executed": executed}
