"""PISP use cases: domestic payment consents, the internal consent contract, domestic payments.

A payment is made in two steps so that nothing is lost or doubled under retries and crashes:
1. one unit of work records the payment `RCVD`, consumes the consent (`COND`) and counts the amount against the
   debtor account's class limits, together with the idempotency record; it commits before anything moves;
2. the transfer is posted to the ledger (accounts) with the key `pay-<payment id>`, then the payment becomes
   `ACCC` (creditor at this bank), `ACSP` (in clearing to another bank) or `RJCT` (the ledger refused: nothing
   moved, the limit usage is given back). A crash between the two leaves a `RCVD` payment that any later read,
   retry or clock move finishes with the same ledger key, so the money moves exactly once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import structlog
from sqlmodel import Session

from openbank_kit.caller import Caller
from openbank_kit.clock import tenant_now
from openbank_kit.db import Database
from openbank_kit.errors import Conflict, FieldInvalid, Forbidden, NotFound, ServiceUnavailable
from openbank_kit.http_client import ServiceClient
from openbank_kit.idempotency import IdempotencyStore, StoredResponse, validate_idempotency_key
from openbank_kit.ids import new_id
from openbank_kit.money import Money
from services.payments import billpay, faults, large_value, ledger, repository
from services.payments.domain.errors import ConsentNotUsable, PaymentMismatch, UnsupportedScheme
from services.payments.domain.states import CONSENT_TRANSITIONS, PAYMENT_TRANSITIONS, transition
from services.payments.events.outbox import payment_status_changed
from services.payments.models import DomesticPayment, DomesticPaymentConsent
from services.payments.outflow import count_outflow, give_back_outflow
from services.payments.schemas import CNAPS_SCHEME

logger = structlog.get_logger("openbank.payments")
PISP = "/open-banking/v4.0/pisp"
CREATE_CONSENT = "POST /open-banking/v4.0/pisp/domestic-payment-consents"
CREATE_PAYMENT = "POST /open-banking/v4.0/pisp/domestic-payments"
CONSENT_LIFETIME = timedelta(hours=24)  # unused consents (AWAU or AUTH) expire a day after creation
# Another bank's payment is in clearing (ACSP) until this much tenant-clock time has passed, or the clock moves.
CLEARING_DELAY = timedelta(seconds=5)
OUTBOUND_CLEARING_ACCOUNT_ID = "INT-CLEARING-CNAPS"
ACCOUNT_NUMBER = re.compile(r"^\d{19}$")
# This bank's numbers start with its BIN (sandbox_data/identifiers.py BANK_BIN); any other 19-digit number is an
# account at another bank, reached through CNAPS.
BANK_BIN = "621999"
MAX_PAYMENTS_PER_SWEEP = 1000  # bound per clock move or recovery pass
# ISO 20022 ExternalStatusReason1Code values used in StatusReason.
REASON_INSUFFICIENT_FUNDS = "AM04"
REASON_NOT_ALLOWED = "AG01"  # the ledger refused for another rule (e.g. the creditor's Class III balance cap)
REASON_EXPIRED = "EXPD"
REASON_REVOKED = "CANC"  # the customer revoked the consent (sandbox consent dashboard)


# --- wire helpers ------------------------------------------------------------------------------------------
def _envelope(data: dict, self_path: str, issuer: str) -> dict:
    return {"Data": data, "Links": {"Self": issuer + self_path}, "Meta": {}}


def _check_scope(caller: Caller) -> None:
    if "payments" not in caller.scope:
        raise Forbidden(message="the token does not carry the payments scope")


def _iso(moment: datetime, now: datetime) -> str:
    return moment.astimezone(now.tzinfo).isoformat()


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


# --- consents ----------------------------------------------------------------------------------------------
def consent_status(consent: DomesticPaymentConsent, now: datetime) -> str:
    """The status as of now: an AWAU or AUTH consent past its expiry reads as EXPD."""
    if consent.status in ("AWAU", "AUTH") and now >= consent.expires_at:
        return "EXPD"
    return consent.status


def _consent_body(consent: DomesticPaymentConsent, now: datetime, issuer: str) -> dict:
    status = consent_status(consent, now)
    data: dict = {
        "ConsentId": consent.consent_id,
        "CreationDateTime": _iso(consent.created_at, now),
        # The OBIE PISP consent has no EXPD or CANC: an expired or revoked consent is RJCT with the reason.
        "Status": "RJCT" if status in ("EXPD", "CANC") else status,
        "StatusUpdateDateTime": _iso(
            consent.expires_at if status == "EXPD" else consent.status_updated_at, now
        ),
        "CutOffDateTime": _iso(consent.expires_at, now),
        "Initiation": consent.initiation,
    }
    if status == "EXPD":
        data["StatusReason"] = [
            {
                "StatusReasonCode": REASON_EXPIRED,
                "StatusReasonDescription": "the consent expired (tenant clock) before it was used",
            }
        ]
    if status == "CANC":
        data["StatusReason"] = [
            {
                "StatusReasonCode": REASON_REVOKED,
                "StatusReasonDescription": "the customer revoked the consent at the bank before it was used",
            }
        ]
    if consent.debtor_account_id and consent.debtor_identification:
        data["Debtor"] = {
            "SchemeName": CNAPS_SCHEME,
            "Identification": consent.debtor_identification,
            "Name": consent.debtor_name or "",
        }
    body = _envelope(data, f"{PISP}/domestic-payment-consents/{consent.consent_id}", issuer)
    return {"Data": body["Data"], "Risk": consent.risk, "Links": body["Links"], "Meta": {}}


def check_account(account: dict, path: str) -> str:
    if account.get("SchemeName") != CNAPS_SCHEME:
        raise UnsupportedScheme(
            message=f"SchemeName must be {CNAPS_SCHEME}: this bank pays 19-digit CNAPS account numbers",
            path=f"{path}.SchemeName",
        )
    number = account.get("Identification", "")
    if not ACCOUNT_NUMBER.match(number):
        raise FieldInvalid(f"{path}.Identification", "a CN.CNAPS.AccountNumber is 19 digits")
    return number


def create_consent(
    db: Database, accounts: ServiceClient, caller: Caller, key: str | None, body: dict, issuer: str
) -> StoredResponse:
    """A domestic payment consent, AWAU, created with the partner's client-credentials token."""
    _check_scope(caller)
    if caller.is_customer:
        raise Forbidden(message="create a payment consent with a client-credentials token")
    validate_idempotency_key(key)
    body = _without_none(body)
    initiation = body["Data"]["Initiation"]
    path = "Data.Initiation"
    amount = Money.from_obie(initiation["InstructedAmount"], path=f"{path}.InstructedAmount")
    if amount.fen <= 0:
        raise FieldInvalid(f"{path}.InstructedAmount.Amount", "the amount must be at least 0.01")
    initiation["InstructedAmount"] = amount.to_obie()
    creditor_number = check_account(initiation["CreditorAccount"], f"{path}.CreditorAccount")
    debtor_number = None
    if "DebtorAccount" in initiation:
        debtor_number = check_account(initiation["DebtorAccount"], f"{path}.DebtorAccount")
        if debtor_number == creditor_number:
            raise FieldInvalid(f"{path}.CreditorAccount.Identification", "the creditor is the debtor account")
    # A bill payment credits the biller's settlement account (an internal account the number lookup refuses).
    creditor_account_id = billpay.check_bill_consent(
        db, accounts, caller.tenant_id, initiation, amount.fen, creditor_number
    )
    if creditor_account_id is None and creditor_number.startswith(BANK_BIN):
        creditor = ledger.account_by_number(accounts, caller.tenant_id, creditor_number)
        if creditor is None:
            raise FieldInvalid(
                f"{path}.CreditorAccount.Identification",
                "no account of this bank has that number",
                error_code="U021",
            )
        if creditor["Status"] != "Enabled":
            raise FieldInvalid(
                f"{path}.CreditorAccount.Identification", "the creditor account cannot receive"
            )
        creditor_account_id = creditor["AccountId"]

    def create(session: Session, now: datetime) -> StoredResponse:
        consent = DomesticPaymentConsent(
            tenant_id=caller.tenant_id,
            consent_id=new_id("pdc"),
            client_id=caller.client_id,
            status="AWAU",
            initiation=initiation,
            risk=body["Risk"],
            amount_fen=amount.fen,
            creditor_identification=creditor_number,
            creditor_account_id=creditor_account_id,
            creditor_name=initiation["CreditorAccount"]["Name"],
            debtor_identification=debtor_number,
            created_at=now,
            status_updated_at=now,
            expires_at=now + CONSENT_LIFETIME,
        )
        session.add(consent)
        return StoredResponse(201, _consent_body(consent, now, issuer), consent.consent_id)

    return IdempotencyStore(db).run(
        tenant_id=caller.tenant_id, client_id=caller.client_id, operation=CREATE_CONSENT, key=key,
        body=body, create=create,
    )  # fmt: skip


def _callers_consent(session: Session, caller: Caller, consent_id: str) -> DomesticPaymentConsent:
    _check_scope(caller)
    consent = repository.consent(session, caller.tenant_id, consent_id)
    if consent is None or consent.client_id != caller.client_id:
        raise Forbidden(message="the consent is not this client's")  # no existence oracle
    if caller.is_customer and caller.intent_id != consent_id:
        raise Forbidden(message="the token was issued for another consent")
    return consent


def get_consent(db: Database, caller: Caller, consent_id: str, issuer: str) -> dict:
    with db.read_session() as session:
        consent = _callers_consent(session, caller, consent_id)
        return _consent_body(consent, tenant_now(session, caller.tenant_id), issuer)


def consent_funds_confirmation(
    db: Database,
    accounts: ServiceClient,
    caller: Caller,
    consent_id: str,
    issuer: str,
    fault: str | None = None,
) -> dict:
    """Whether the debtor account can cover the payment now (the customer's token for this consent).
    `fault`: the x-openbank-fault header (insufficient-funds answers false)."""
    with db.read_session() as session:
        consent = _callers_consent(session, caller, consent_id)
        if not caller.is_customer:
            raise Forbidden(message="funds confirmation needs the customer's token for this consent")
        now = tenant_now(session, caller.tenant_id)
    if consent_status(consent, now) != "AUTH" or consent.debtor_account_id is None:
        raise ConsentNotUsable(message=f"the consent is {consent_status(consent, now)}, not AUTH")
    available = ledger.available_fen(accounts, caller.tenant_id, consent.debtor_account_id)
    funds_available = available >= consent.amount_fen and not faults.shortfall_forced(faults.requested(fault))
    data = {"FundsAvailableResult": {"FundsAvailableDateTime": now.isoformat(),
                                     "FundsAvailable": funds_available}}  # fmt: skip
    return _envelope(data, f"{PISP}/domestic-payment-consents/{consent_id}/funds-confirmation", issuer)


# --- the internal consent contract (docs/internal-api.md) --------------------------------------------------
def _internal_consent_body(consent: DomesticPaymentConsent, now: datetime) -> dict:
    return {
        "Data": {
            "ConsentId": consent.consent_id,
            "ClientId": consent.client_id,
            "Status": consent_status(consent, now),
            "Kind": "domestic-payment",
            "CustomerId": consent.customer_id,
            "AccountIds": [consent.debtor_account_id] if consent.debtor_account_id else [],
            "AccountSelection": "none" if consent.debtor_identification else "one",
            "ExpirationDateTime": _iso(consent.expires_at, now),
            "Details": {"Initiation": consent.initiation, "Risk": consent.risk},
        }
    }


def internal_get_consent(db: Database, tenant_id: str, consent_id: str) -> dict:
    """Payments owns two kinds of consent (PISP and CBPII); the gateway asks about either by id."""
    from services.payments import funds_confirmation_service

    with db.read_session() as session:
        now = tenant_now(session, tenant_id)
        consent = repository.consent(session, tenant_id, consent_id)
        if consent is not None:
            return _internal_consent_body(consent, now)
        funds_consent = repository.funds_consent(session, tenant_id, consent_id)
        if funds_consent is not None:
            return funds_confirmation_service.internal_consent_body(funds_consent, now)
    from services.payments import scheduling  # scheduled payments and standing orders

    scheduled = scheduling.internal_get_consent(db, tenant_id, consent_id)
    if scheduled is not None:
        return scheduled
    raise NotFound(message=f"no consent {consent_id}")


def _chosen_debtor(
    consent: DomesticPaymentConsent, eligible: list[dict], requested: list[str] | None
) -> dict:
    """The one account the payment is made from: the DebtorAccount the Initiation names, else the choice."""
    if consent.debtor_identification:
        named = [a for a in eligible if a["Identification"] == consent.debtor_identification]
        if not named:
            raise FieldInvalid(
                "AccountIds", "the consent's DebtorAccount is not an account this customer can use"
            )
        if requested is not None and requested != [named[0]["AccountId"]]:
            raise FieldInvalid("AccountIds", "the consent names its DebtorAccount; no other can be chosen")
        chosen = named[0]
    elif requested is None:
        if not eligible:
            raise FieldInvalid("AccountIds", "the customer has no account to pay from")
        chosen = eligible[0]
    else:
        if len(requested) != 1:
            raise FieldInvalid("AccountIds", "a payment consent takes exactly one account")
        matches = [a for a in eligible if a["AccountId"] == requested[0]]
        if not matches:
            raise FieldInvalid("AccountIds[0]", "the account is not the customer's or cannot make payments")
        chosen = matches[0]
    if chosen["Identification"] == consent.creditor_identification:
        raise FieldInvalid("AccountIds", "the debtor account is the creditor account")
    return chosen


def internal_authorise(
    db: Database, accounts: ServiceClient, tenant_id: str, consent_id: str, body: dict
) -> dict:
    """What the consent page calls once the customer approved or denied the payment (or funds confirmation)."""
    from services.payments import funds_confirmation_service

    with db.read_session() as session:
        consent = repository.consent(session, tenant_id, consent_id)
        funds_consent = repository.funds_consent(session, tenant_id, consent_id) if consent is None else None
    if funds_consent is not None:
        return funds_confirmation_service.internal_authorise(db, accounts, tenant_id, funds_consent, body)
    if consent is None:
        from services.payments import scheduling  # scheduled payments and standing orders

        scheduled = scheduling.internal_authorise(db, accounts, tenant_id, consent_id, body)
        if scheduled is not None:
            return scheduled
        raise NotFound(message=f"no consent {consent_id}")
    if consent.client_id != body["ClientId"]:
        raise Forbidden(message="the consent belongs to another client")
    chosen = None
    if body["Decision"] == "approve":
        eligible = ledger.customer_accounts(accounts, tenant_id, body["CustomerId"])
        if eligible is None:
            raise FieldInvalid("CustomerId", f"unknown customer {body['CustomerId']}")
        chosen = _chosen_debtor(consent, eligible, body.get("AccountIds"))
    with db.write_session() as session:
        consent = repository.consent(session, tenant_id, consent_id, for_update=True)
        assert consent is not None
        now = tenant_now(session, tenant_id)
        if consent_status(consent, now) != "AWAU":
            raise Conflict(message=f"the consent is {consent_status(consent, now)}, not AWAU")
        new_status = "AUTH" if chosen is not None else "RJCT"
        consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, new_status)
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


# --- domestic payments -------------------------------------------------------------------------------------
def payment_body(
    payment: DomesticPayment, consent: DomesticPaymentConsent, now: datetime, issuer: str
) -> dict:
    data: dict = {
        "DomesticPaymentId": payment.payment_id,
        "ConsentId": payment.consent_id,
        "CreationDateTime": _iso(payment.created_at, now),
        "Status": payment.status,
        "StatusUpdateDateTime": _iso(payment.status_updated_at, now),
    }
    if payment.status_reason_code:
        data["StatusReason"] = [
            {"StatusReasonCode": payment.status_reason_code,
             "StatusReasonDescription": payment.status_reason or payment.status_reason_code}
        ]  # fmt: skip
    if payment.status == "ACSP" and payment.fault != faults.SLOW_CLEARING:  # that one waits for the clock
        data["ExpectedSettlementDateTime"] = _iso(payment.status_updated_at + CLEARING_DELAY, now)
    data["Initiation"] = consent.initiation
    data["Debtor"] = {
        "SchemeName": CNAPS_SCHEME,
        "Identification": consent.debtor_identification or "",
        "Name": consent.debtor_name or "",
    }
    return _envelope(data, f"{PISP}/domestic-payments/{payment.payment_id}", issuer)


def refusal_reason(outcome: ledger.Refused) -> tuple[str, str]:
    """(StatusReasonCode, StatusReason) of a transfer the ledger refused: AM04 for a shortfall, AG01 otherwise."""
    insufficient = "insufficient funds" in outcome.message
    return (REASON_INSUFFICIENT_FUNDS if insufficient else REASON_NOT_ALLOWED), outcome.message[:500]


def _count_outflow(session: Session, consent: DomesticPaymentConsent, today: date) -> tuple[str, str] | None:
    """Count the amount against the debtor account's limits under the day rows' locks; the breach, if any."""
    assert consent.debtor_account_id is not None
    return count_outflow(session, consent.tenant_id, consent.debtor_account_id, consent.debtor_account_class or "",
                         consent.customer_id, consent.amount_fen, today)  # fmt: skip


def payment_request(caller: Caller, key: str | None, body: dict) -> tuple[dict, str]:
    """The checks made before any database work, and the body as it is compared with the consent's: (body, consent
    id)."""
    _check_scope(caller)
    if not caller.is_customer:
        raise Forbidden(message="a payment needs the customer's token for its consent")
    validate_idempotency_key(key)
    body = _without_none(body)
    consent_id = body["Data"]["ConsentId"]
    instructed = body["Data"]["Initiation"]["InstructedAmount"]
    body["Data"]["Initiation"]["InstructedAmount"] = Money.from_obie(
        instructed, path="Data.Initiation.InstructedAmount"
    ).to_obie()  # compared with the consent's as it was stored: "10" and "10.00" are the same amount
    if caller.intent_id != consent_id:
        raise Forbidden(message="the token was issued for another consent")
    return body, consent_id


def check_usable(consent: DomesticPaymentConsent | None, caller: Caller, body: dict, now: datetime) -> None:
    """The consent (read under its lock) can pay this request now, or the OBIE error."""
    if consent is None or consent.client_id != caller.client_id or consent.customer_id != caller.subject:
        raise Forbidden(message="the consent is not this client's")
    check_authorised_for(consent_status(consent, now), consent, body)


def check_authorised_for(status: str, consent, body: dict) -> None:
    """A consent (of the caller's, `status` as of now) that can pay this very request, or the OBIE error."""
    if status != "AUTH":
        raise ConsentNotUsable(message=f"the consent is {status}, not AUTH: it cannot be used")
    if body["Data"]["Initiation"] != consent.initiation:
        raise PaymentMismatch(message="the Initiation differs from the consent's", path="Data.Initiation")
    if body["Risk"] != consent.risk:
        raise PaymentMismatch(message="the Risk differs from the consent's", path="Risk")


def new_payment(
    caller: Caller, consent: DomesticPaymentConsent, refused: tuple[str, str] | None, payment_fault: str | None,
    now: datetime,
) -> DomesticPayment:  # fmt: skip
    """The payment order of a usable consent: RCVD, or RJCT with the reason it was `refused` before posting."""
    assert consent.debtor_account_id is not None and consent.customer_id is not None
    return DomesticPayment(
        tenant_id=caller.tenant_id,
        payment_id=new_id("dp"),
        consent_id=consent.consent_id,
        client_id=caller.client_id,
        customer_id=consent.customer_id,
        status="RJCT" if refused else "RCVD",
        status_reason_code=refused[0] if refused else None,
        status_reason=refused[1][:500] if refused else None,
        amount_fen=consent.amount_fen,
        debtor_account_id=consent.debtor_account_id,
        credit_account_id=(
            OUTBOUND_CLEARING_ACCOUNT_ID
            if payment_fault == faults.SLOW_CLEARING
            else consent.creditor_account_id or OUTBOUND_CLEARING_ACCOUNT_ID
        ),
        outflow_day=now.date(),
        created_at=now,
        status_updated_at=now,
        fault=None if refused else payment_fault,
    )


def create_payment(
    db: Database, accounts: ServiceClient, caller: Caller, key: str | None, body: dict, issuer: str,
    fault: str | None = None,
) -> StoredResponse:  # fmt: skip
    """Submit the payment order of an authorised consent (the customer's token for it), once per key.
    `fault`: the x-openbank-fault header, the sandbox faults asked for (services/payments/faults.py).
    The same as `submission.create_payment` (the route's fast path), for what that one hands over: faults, bills."""
    asked = faults.requested(fault)
    body, consent_id = payment_request(caller, key, body)
    made: dict = {}  # what the last call of create() made: settled from memory when the store used it

    def create(session: Session, now: datetime) -> StoredResponse:
        consent = repository.consent(session, caller.tenant_id, consent_id, for_update=True)
        check_usable(consent, caller, body, now)
        assert consent is not None
        refused = faults.rejected_on_request(asked) or _count_outflow(session, consent, now.date())
        if not refused:
            billpay.hold_bill(session, caller.tenant_id, consent.initiation)  # a bill is paid once
        payment_fault = faults.stored_fault(asked, same_bank=consent.creditor_account_id is not None)
        payment = new_payment(caller, consent, refused, payment_fault, now)
        consent.status = transition(CONSENT_TRANSITIONS, "consent", consent.status, "COND")
        consent.status_updated_at = now
        session.add(consent)
        session.add(payment)
        session.flush()  # the unique (tenant, consent) constraint refuses a second payment here
        payment_status_changed(session, payment, now)  # its event commits with it (DESIGN.md §6)
        made.update(payment=payment, consent=consent, now=now)
        return StoredResponse(201, payment_body(payment, consent, now, issuer), payment.payment_id)

    stored = IdempotencyStore(db).run(
        tenant_id=caller.tenant_id, client_id=caller.client_id, operation=CREATE_PAYMENT, key=key,
        body=body, create=create,
    )  # fmt: skip
    assert stored.resource_id is not None
    if stored.replayed:
        return replayed(db, accounts, caller.tenant_id, stored, issuer)
    # Step 2 for the payment just committed: settled from what step 1 holds in memory, at step 1's clock reading
    # (one clock read per request), with nothing read back unless another request recorded the outcome first.
    payment, consent, now = made["payment"], made["consent"], made["now"]
    assert payment.payment_id == stored.resource_id
    if payment.status == "RCVD":
        try:
            outcome = ledger_outcome(accounts, payment, consent)
        except ServiceUnavailable:
            return left_received(db, caller.tenant_id, stored, issuer)
        if not record_outcome(db, payment, consent, outcome, now):
            return current_answer(db, caller.tenant_id, stored, issuer)
    return StoredResponse(stored.status_code, payment_body(payment, consent, now, issuer), stored.resource_id)


def replayed(db: Database, accounts: ServiceClient, tenant_id: str, stored: StoredResponse, issuer: str):
    """Step 2 for a replay: a duplicate that finds the payment still RCVD finishes it with the same key."""
    assert stored.resource_id is not None
    _try_settle(db, accounts, tenant_id, stored.resource_id)
    return current_answer(db, tenant_id, stored, issuer)


def left_received(db: Database, tenant_id: str, stored: StoredResponse, issuer: str) -> StoredResponse:
    """The ledger did not answer: the payment stays RCVD (it exists, the 201 stands); the next read, retry or clock
    move posts it with the same key."""
    logger.warning("payment_left_received", tenant_id=tenant_id, payment_id=stored.resource_id)
    return current_answer(db, tenant_id, stored, issuer)


def current_answer(db: Database, tenant_id: str, stored: StoredResponse, issuer: str) -> StoredResponse:
    """The stored answer's status code, with the payment as it is now (another request recorded its outcome)."""
    assert stored.resource_id is not None
    body_now = _current_body(db, tenant_id, stored.resource_id, issuer)
    return StoredResponse(stored.status_code, body_now, stored.resource_id, stored.replayed)


def _current_body(db: Database, tenant_id: str, payment_id: str, issuer: str) -> dict:
    with db.read_session() as session:
        payment = repository.payment(session, tenant_id, payment_id)
        assert payment is not None
        consent = repository.consent(session, tenant_id, payment.consent_id)
        assert consent is not None
        return payment_body(payment, consent, tenant_now(session, tenant_id), issuer)


def posting(payment: DomesticPayment, consent: DomesticPaymentConsent) -> dict:
    """The ledger transaction of a payment: a function of the stored payment only, so every retry is identical."""
    amount = Money.from_fen(payment.amount_fen).to_obie()
    remittance = consent.initiation.get("RemittanceInformation", {}).get("Unstructured") or []
    same_bank = consent.creditor_account_id is not None
    return {
        "Category": "TRANSFER" if same_bank else "CNAPS_TRANSFER",
        "Description": ((remittance[0] if remittance else "") or f"转账 payment {payment.payment_id}")[:140],
        "Reference": consent.initiation["EndToEndIdentification"],
        "CounterpartyName": consent.creditor_name[:140],
        "Postings": [
            {"AccountId": payment.debtor_account_id, "CreditDebitIndicator": "Debit", "Amount": amount},
            {"AccountId": payment.credit_account_id, "CreditDebitIndicator": "Credit", "Amount": amount},
        ],
    }


def settle_payment(db: Database, accounts: ServiceClient, tenant_id: str, payment_id: str) -> None:
    """Post a RCVD payment to the ledger (key `pay-<id>`) and record the outcome; other statuses: nothing to do."""
    with db.read_session() as session:
        payment = repository.payment(session, tenant_id, payment_id)
        if payment is None or payment.status != "RCVD":
            return
        consent = repository.consent(session, tenant_id, payment.consent_id)
        assert consent is not None
    _settle(db, accounts, payment, consent, None)


def _settle(
    db: Database, accounts: ServiceClient, payment: DomesticPayment, consent: DomesticPaymentConsent,
    now: datetime | None,
) -> bool:  # fmt: skip
    """Post a RCVD payment (key `pay-<id>`) and record the outcome; see `record_outcome`."""
    return record_outcome(db, payment, consent, ledger_outcome(accounts, payment, consent), now)


def ledger_outcome(
    accounts: ServiceClient, payment: DomesticPayment, consent: DomesticPaymentConsent
) -> ledger.Posted | ledger.Refused:
    """Post a RCVD payment to the ledger once (key `pay-<id>`), or its simulated fault's outcome."""
    assert payment.status == "RCVD"
    return faults.simulated_outcome(payment.fault) or ledger.post(
        accounts, payment.tenant_id, ledger_key(payment), posting(payment, consent)
    )


def ledger_key(payment: DomesticPayment) -> str:
    return f"pay-{payment.payment_id}"


def settlement(
    payment: DomesticPayment, consent: DomesticPaymentConsent, outcome: ledger.Posted | ledger.Refused
) -> tuple[str, str | None, str | None, str | None]:
    """(status, ledger transaction id, reason code, reason) a RCVD payment gets for the ledger's answer."""
    if isinstance(outcome, ledger.Posted):
        # ACCC when the creditor here was credited; ACSP when the money went to the clearing account.
        target = "ACCC" if payment.credit_account_id == consent.creditor_account_id else "ACSP"
        transition(PAYMENT_TRANSITIONS, "payment", payment.status, target)
        return target, outcome.transaction_id, None, None
    transition(PAYMENT_TRANSITIONS, "payment", payment.status, "RJCT")
    return ("RJCT", None, *refusal_reason(outcome))


def record_outcome(
    db: Database, payment: DomesticPayment, consent: DomesticPaymentConsent,
    outcome: ledger.Posted | ledger.Refused, now: datetime | None,
) -> bool:  # fmt: skip
    """Record the ledger's answer for a RCVD payment in one unit of work; `now`: the request's clock reading (None:
    read it). True when this call recorded it (`payment` then holds the new state); False when another request (a
    duplicate, a read, a clock move) recorded the same outcome first."""
    tenant_id = payment.tenant_id
    target, transaction_id, reason_code, reason = settlement(payment, consent, outcome)
    with db.write_session() as session:
        now = now or tenant_now(session, tenant_id)
        # A posting's holder day row first, then the payment's: the order the async path takes them in. (A refusal
        # gives back to the counters after the payment's row, as before: its lock order meets step 1's.)
        counted_fen = large_value.lock_holder_day(session, payment, consent) if transaction_id else None
        # One conditional UPDATE: it takes the payment row's lock and decides who records the outcome.
        if not repository.record_payment_outcome(
            session, tenant_id, payment.payment_id, target, transaction_id, reason_code, reason, now
        ):
            return False  # a concurrent duplicate recorded the same outcome first
        payment.status, payment.status_updated_at = target, now
        payment.ledger_transaction_id = transaction_id
        payment.status_reason_code, payment.status_reason = reason_code, reason
        if transaction_id is not None and counted_fen is not None:  # atomic with the settlement
            large_value.record_if_reached(session, payment, consent, now, counted_fen)
        else:
            # Nothing moved: give the amount back to the account's class limits and the customer's daily limit.
            give_back_outflow(session, tenant_id, payment.debtor_account_id, consent.debtor_account_class or "",
                              payment.customer_id, payment.amount_fen, payment.outflow_day)  # fmt: skip
        billpay.payment_settled(session, tenant_id, consent.initiation, target)
        payment_status_changed(session, payment, now)
        session.commit()
    return True


def _try_settle(db: Database, accounts: ServiceClient, tenant_id: str, payment_id: str) -> None:
    """Settle now if the ledger answers; if not, the payment stays RCVD (it exists, the 201 stands) and the next
    read, retry or clock move posts it with the same key."""
    try:
        settle_payment(db, accounts, tenant_id, payment_id)
    except ServiceUnavailable:
        logger.warning("payment_left_received", tenant_id=tenant_id, payment_id=payment_id)


def _clear(db: Database, tenant_id: str, payment_id: str, *, force: bool) -> None:
    """The clearing simulator: an ACSP payment settles (ACSC) once CLEARING_DELAY has passed, or at a clock move.
    The debit already went to the outbound clearing account; the other bank's side is outside this ledger."""
    with db.write_session() as session:
        payment = repository.payment(session, tenant_id, payment_id, for_update=True)
        if payment is None or payment.status != "ACSP" or payment.fault == faults.SLOW_CLEARING:
            return  # a slow-clearing payment waits for the clock (faults.finish_slow_clearing)
        now = tenant_now(session, tenant_id)
        if not force and now < payment.status_updated_at + CLEARING_DELAY:
            return
        payment.status = transition(PAYMENT_TRANSITIONS, "payment", payment.status, "ACSC")
        payment.status_updated_at = now
        session.add(payment)
        payment_status_changed(session, payment, now)
        session.commit()


def _callers_payment(
    db: Database, accounts: ServiceClient, caller: Caller, payment_id: str
) -> DomesticPayment:
    _check_scope(caller)
    with db.read_session() as session:
        payment = repository.payment(session, caller.tenant_id, payment_id)
    if payment is None or payment.client_id != caller.client_id:
        raise Forbidden(message="the payment is not this client's")  # no existence oracle
    if caller.is_customer and caller.intent_id != payment.consent_id:
        raise Forbidden(message="the token was issued for another consent")
    _try_settle(db, accounts, caller.tenant_id, payment_id)  # finishes one a crash interrupted
    _clear(db, caller.tenant_id, payment_id, force=False)
    return payment


def get_payment(db: Database, accounts: ServiceClient, caller: Caller, payment_id: str, issuer: str) -> dict:
    _callers_payment(db, accounts, caller, payment_id)
    return _current_body(db, caller.tenant_id, payment_id, issuer)


def get_payment_details(
    db: Database, accounts: ServiceClient, caller: Caller, payment_id: str, issuer: str
) -> dict:
    _callers_payment(db, accounts, caller, payment_id)
    with db.read_session() as session:
        payment = repository.payment(session, caller.tenant_id, payment_id)
        assert payment is not None
        now = tenant_now(session, caller.tenant_id)
    status = "PDNG" if payment.status == "RCVD" else payment.status  # payment-details has no RCVD
    detail: dict = {"Status": status}
    if payment.status_reason_code:
        detail["StatusReason"] = payment.status_reason_code
        detail["StatusReasonDescription"] = (payment.status_reason or payment.status_reason_code)[:256]
    entry = {
        "PaymentTransactionId": payment.ledger_transaction_id or payment.payment_id,
        "Status": status,
        "StatusUpdateDateTime": _iso(payment.status_updated_at, now),
        "StatusDetail": detail,
    }
    return _envelope(
        {"PaymentStatus": [entry]}, f"{PISP}/domestic-payments/{payment_id}/payment-details", issuer
    )


def run_clock_moved(db: Database, accounts: ServiceClient, tenant_id: str) -> dict:
    """What a clock move makes happen: interrupted payments are posted, payments in clearing settle."""
    with db.read_session() as session:
        received = repository.payments_in_status(session, tenant_id, ["RCVD"], MAX_PAYMENTS_PER_SWEEP)
        clearing = repository.payments_in_status(session, tenant_id, ["ACSP"], MAX_PAYMENTS_PER_SWEEP)
    for payment_id in received:
        _try_settle(db, accounts, tenant_id, payment_id)  # a ledger outage must not fail the clock move
    with db.read_session() as session:
        clearing = repository.payments_in_status(session, tenant_id, ["ACSP"], MAX_PAYMENTS_PER_SWEEP)
    for payment_id in clearing:
        if not faults.finish_slow_clearing(db, accounts, tenant_id, payment_id):
            _clear(db, tenant_id, payment_id, force=True)
    return {"Posted": len(received), "Settled": len(clearing)}
