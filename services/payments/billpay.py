"""Bill payment (`/billpay/v1`): the biller directory, bill lookup, and the bill rules a domestic payment follows.

A bill is paid by an ordinary domestic payment consent whose `CreditorAccount` is the biller's settlement account
and whose `RemittanceInformation.Structured[0].CreditorReferenceInformation.Reference` is the `BillId`.
Bill states: OUTSTANDING → PAYING (a payment order holds it; taken under the bill's row lock in the unit of work
that records the payment, so two payments of one bill cannot both proceed) → PAID when that payment settles, or
back to OUTSTANDING when it is rejected. PAYING reads OUTSTANDING on the wire. An OUTSTANDING bill more than
`CLOSE_AFTER` past its due date (tenant clock) reads CLOSED: the biller has moved it out of online collection.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlmodel import Session, select

from openbank_kit.caller import Caller
from openbank_kit.clock import tenant_today
from openbank_kit.db import Database
from openbank_kit.errors import ErrorCode, FieldInvalid, Forbidden, NotFound
from openbank_kit.http_client import ServiceClient
from openbank_kit.money import Money
from services.payments import ledger
from services.payments.models import Bill, Biller
from services.payments.schemas import CNAPS_SCHEME

BILLPAY = "/billpay/v1"
CATEGORIES = ("GAS", "WATER", "ELECTRICITY", "TELECOM", "TRANSIT")
CLOSE_AFTER = timedelta(days=60)
REFERENCE_PATH = "Data.Initiation.RemittanceInformation.Structured[0].CreditorReferenceInformation.Reference"

# Settlement account numbers never change within a tenant's world: one ledger question per (tenant, account).
_numbers: dict[tuple[str, str], dict] = {}
_numbers_lock = threading.Lock()


def _check_scope(caller: Caller) -> None:
    if "payments" not in caller.scope:
        raise Forbidden(message="the token's scope does not include payments")


def settlement_account(accounts: ServiceClient, tenant_id: str, biller: Biller) -> dict:
    key = (tenant_id, biller.settlement_account_id)
    with _numbers_lock:
        cached = _numbers.get(key)
    if cached is None:
        found = ledger.account_identification(accounts, tenant_id, biller.settlement_account_id)
        if found is None:
            raise NotFound(message=f"biller {biller.biller_id} has no settlement account")
        cached = {"SchemeName": CNAPS_SCHEME, "Identification": found["Identification"], "Name": biller.name}
        with _numbers_lock:
            _numbers[key] = cached
    return dict(cached)


def wire_status(bill: Bill, today: date) -> str:
    if bill.status == "PAID":
        return "PAID"
    return "CLOSED" if today > bill.due_date + CLOSE_AFTER else "OUTSTANDING"


def _biller_body(biller: Biller, account: dict) -> dict:
    return {
        "BillerId": biller.biller_id, "Name": biller.name, "Category": biller.category,
        "ReferenceLabel": biller.reference_label, "ReferencePattern": biller.reference_pattern,
        "SettlementAccount": account,
    }  # fmt: skip


def _bill_body(bill: Bill, account: dict, today: date) -> dict:
    amount = Money.from_fen(bill.amount_fen).to_obie()
    return {
        "BillId": bill.bill_id, "BillerId": bill.biller_id, "CustomerReference": bill.customer_reference,
        "Period": bill.period, "AmountDue": amount, "DueDate": bill.due_date.isoformat(),
        "Status": wire_status(bill, today),
        # What a partner copies into OBWriteDomesticConsent4.Data.Initiation (plus its own end-to-end id).
        "PaymentInitiation": {
            "InstructedAmount": amount,
            "CreditorAccount": account,
            "RemittanceInformation": {
                "Structured": [{"CreditorReferenceInformation": {"Reference": bill.bill_id}}],
                "Unstructured": [f"{bill.period} {bill.customer_reference}"],
            },
        },
    }  # fmt: skip


def list_billers(
    db: Database, accounts: ServiceClient, caller: Caller, category: str | None, issuer: str
) -> dict:
    _check_scope(caller)
    if category is not None and category not in CATEGORIES:
        raise FieldInvalid("Category", f"Category is one of {', '.join(CATEGORIES)}")
    with db.read_session() as session:
        query = select(Biller).where(Biller.tenant_id == caller.tenant_id).order_by(Biller.biller_id)
        if category is not None:
            query = query.where(Biller.category == category)
        billers = list(session.scalars(query))
    data = [_biller_body(b, settlement_account(accounts, caller.tenant_id, b)) for b in billers]
    self_path = f"{BILLPAY}/billers" + (f"?Category={category}" if category else "")
    return {"Data": {"Biller": data}, "Links": {"Self": issuer + self_path}, "Meta": {"TotalPages": 1}}


def list_bills(
    db: Database, accounts: ServiceClient, caller: Caller, biller_id: str, reference: str, issuer: str
) -> dict:
    _check_scope(caller)
    if not reference or len(reference) > 35:
        raise FieldInvalid("CustomerReference", "CustomerReference is 1 to 35 characters")
    with db.read_session() as session:
        biller = session.get(Biller, (caller.tenant_id, biller_id))
        if biller is None:
            raise NotFound(message="no biller has that id")
        bills = list(
            session.scalars(
                select(Bill)
                .where(
                    Bill.tenant_id == caller.tenant_id,
                    Bill.biller_id == biller_id,
                    Bill.customer_reference == reference,
                )
                .order_by(Bill.period.desc())
            )  # fmt: skip
        )
        today = tenant_today(session, caller.tenant_id)
    account = settlement_account(accounts, caller.tenant_id, biller)
    return {
        "Data": {"Bill": [_bill_body(b, account, today) for b in bills]},
        "Links": {"Self": f"{issuer}{BILLPAY}/billers/{biller_id}/bills?CustomerReference={reference}"},
        "Meta": {"TotalPages": 1},
    }


def bill_reference(initiation: dict) -> str | None:
    """The BillId a payment's Initiation names, if any."""
    for item in (initiation.get("RemittanceInformation") or {}).get("Structured") or []:
        reference = (item.get("CreditorReferenceInformation") or {}).get("Reference")
        if reference:
            return reference
    return None


def _payable_bill(session: Session, tenant_id: str, bill_id: str, *, for_update: bool) -> Bill:
    query = select(Bill).where(Bill.tenant_id == tenant_id, Bill.bill_id == bill_id)
    if for_update:
        query = query.with_for_update()
    bill = session.scalars(query).first()
    if bill is None:
        raise FieldInvalid(REFERENCE_PATH, "no bill has that BillId", error_code=ErrorCode.RESOURCE_NOT_FOUND)
    status = wire_status(bill, tenant_today(session, tenant_id))
    if bill.status == "PAID":
        raise FieldInvalid(REFERENCE_PATH, "the bill is already paid",
                           error_code=ErrorCode.RULES_RESOURCE_ALREADY_EXISTS)  # fmt: skip
    if bill.status == "PAYING":
        raise FieldInvalid(REFERENCE_PATH, "another payment of this bill is in progress",
                           error_code=ErrorCode.RULES_DUPLICATE_REFERENCE)  # fmt: skip
    if status == "CLOSED":
        raise FieldInvalid(REFERENCE_PATH, "the bill is closed: it can no longer be paid online",
                           error_code=ErrorCode.RULES_FAILS_CONTROL_PARAMETERS)  # fmt: skip
    return bill


def check_bill_consent(
    db: Database,
    accounts: ServiceClient,
    tenant_id: str,
    initiation: dict,
    amount_fen: int,
    creditor_number: str,
) -> str | None:
    """For a consent naming a bill: check it can be paid so, and return the settlement account id to credit."""
    bill_id = bill_reference(initiation)
    if bill_id is None:
        return None
    with db.read_session() as session:
        bill = _payable_bill(session, tenant_id, bill_id, for_update=False)
        biller = session.get(Biller, (tenant_id, bill.biller_id))
        assert biller is not None
    if settlement_account(accounts, tenant_id, biller)["Identification"] != creditor_number:
        raise FieldInvalid("Data.Initiation.CreditorAccount.Identification",
                           f"a bill of {biller.name} is paid to its settlement account")  # fmt: skip
    if amount_fen != bill.amount_fen:
        raise FieldInvalid("Data.Initiation.InstructedAmount.Amount",
                           f"the bill's amount due is {Money.from_fen(bill.amount_fen).to_obie()['Amount']}",
                           error_code=ErrorCode.RULES_FAILS_CONTROL_PARAMETERS)  # fmt: skip
    return biller.settlement_account_id


def hold_bill(session: Session, tenant_id: str, initiation: dict) -> None:
    """In the unit of work that records a payment: the bill it pays becomes PAYING (or the payment is refused)."""
    bill_id = bill_reference(initiation)
    if bill_id is None:
        return
    bill = _payable_bill(session, tenant_id, bill_id, for_update=True)
    bill.status = "PAYING"
    session.add(bill)


def payment_settled(session: Session, tenant_id: str, initiation: dict, status: str) -> None:
    """A bill payment reached a final status: PAID when settled, OUTSTANDING again when rejected."""
    bill_id = bill_reference(initiation)
    if bill_id is None:
        return
    bill = session.scalars(
        select(Bill).where(Bill.tenant_id == tenant_id, Bill.bill_id == bill_id).with_for_update()
    ).first()
    if bill is None or bill.status != "PAYING":
        return
    bill.status = {"ACCC": "PAID", "ACSC": "PAID", "RJCT": "OUTSTANDING"}.get(status, bill.status)
    session.add(bill)
