"""Bill payment (`/billpay/v1` + a domestic payment naming the bill) through the gateway, as a partner does it."""

from __future__ import annotations

import copy
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from services.payments.models import Bill
from tests.services.payments.conftest import CUSTOMERS, PISP, pisp_valid

BILLPAY = "/billpay/v1"


def _outstanding_bill(pisp, username: str = "zhang.wei") -> Bill:
    with pisp.stack.db("payments").read_session() as session:
        return session.scalars(
            select(Bill)
            .where(Bill.tenant_id == pisp.tenant_id, Bill.customer_id == CUSTOMERS[username],
                   Bill.status == "OUTSTANDING")
            .order_by(Bill.bill_id)
        ).first()  # fmt: skip


def _looked_up(pisp, bill: Bill) -> dict:
    """The bill as the partner finds it by the customer's reference."""
    response = pisp.call(
        "GET", f"{BILLPAY}/billers/{bill.biller_id}/bills?CustomerReference={bill.customer_reference}"
    )
    assert response.status_code == 200, response.text
    return next(b for b in response.json()["Data"]["Bill"] if b["BillId"] == bill.bill_id)


def _bill_consent_body(found: dict, amount: str | None = None) -> dict:
    initiation = {
        "InstructionIdentification": "INSTR-" + secrets.token_hex(4),
        "EndToEndIdentification": "E2E-" + secrets.token_hex(4),
        **copy.deepcopy(found["PaymentInitiation"]),
    }
    if amount is not None:
        initiation["InstructedAmount"] = {"Amount": amount, "Currency": "CNY"}
    return {
        "Data": {"Initiation": initiation},
        "Risk": {"PaymentContextCode": "BillingGoodsAndServicesInArrears"},
    }


def _authorised(pisp, body: dict, username: str = "zhang.wei") -> tuple[str, str]:
    created = pisp.create_consent(body)
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    return consent_id, pisp.authorise(consent_id, username)


def test_the_directory_lists_billers_by_category_with_their_settlement_accounts(pisp):
    every = pisp.call("GET", f"{BILLPAY}/billers")
    assert every.status_code == 200, every.text
    billers = every.json()["Data"]["Biller"]
    assert {b["Category"] for b in billers} == {"GAS", "WATER", "ELECTRICITY", "TELECOM", "TRANSIT"}
    for biller in billers:
        account = biller["SettlementAccount"]
        assert account["SchemeName"] == "CN.CNAPS.AccountNumber" and len(account["Identification"]) == 19
    gas = pisp.call("GET", f"{BILLPAY}/billers?Category=GAS").json()["Data"]["Biller"]
    assert gas and all(b["Category"] == "GAS" for b in gas)
    wrong = pisp.call("GET", f"{BILLPAY}/billers?Category=PETROL")
    assert wrong.status_code == 400 and wrong.json()["Errors"][0]["Path"] == "Category"
    unknown = pisp.call("GET", f"{BILLPAY}/billers/BLR-NOPE/bills?CustomerReference=1")
    assert unknown.status_code == 404


def test_a_customer_pays_an_outstanding_bill_once_and_it_turns_paid(pisp):
    bill = _outstanding_bill(pisp)
    found = _looked_up(pisp, bill)
    assert found["Status"] == "OUTSTANDING"
    assert found["AmountDue"]["Amount"] == f"{bill.amount_fen // 100}.{bill.amount_fen % 100:02d}"
    settlement = f"INT-BILLER-{bill.biller_id}"
    before = pisp.balance_fen(settlement)

    body = _bill_consent_body(found)
    consent_id, token = _authorised(pisp, body)
    # A second consent for the same bill is possible while it is outstanding, but only one payment can settle it.
    second_body = _bill_consent_body(found)
    second_id, second_token = _authorised(pisp, second_body)

    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    assert paid.json()["Data"]["Status"] == "ACCC", paid.text
    assert pisp.balance_fen(settlement) == before + bill.amount_fen
    assert _looked_up(pisp, bill)["Status"] == "PAID"

    again = pisp.pay(second_body, second_id, second_token)
    assert again.status_code == 400, again.text
    assert again.json()["Errors"][0]["ErrorCode"] == "U029"
    assert pisp.balance_fen(settlement) == before + bill.amount_fen  # nothing more moved
    after_paid = pisp.create_consent(_bill_consent_body(found))
    assert after_paid.status_code == 400 and after_paid.json()["Errors"][0]["ErrorCode"] == "U029"
    assert pisp.ledger_balanced()


def test_a_wrong_amount_an_unknown_bill_or_another_creditor_is_refused_at_consent(pisp):
    bill = _outstanding_bill(pisp)
    found = _looked_up(pisp, bill)
    wrong_amount = pisp.create_consent(_bill_consent_body(found, amount="0.01"))
    assert wrong_amount.status_code == 400
    assert wrong_amount.json()["Errors"][0]["Path"] == "Data.Initiation.InstructedAmount.Amount"
    unknown = _bill_consent_body(found)
    unknown["Data"]["Initiation"]["RemittanceInformation"]["Structured"][0]["CreditorReferenceInformation"][
        "Reference"
    ] = "BILL-NOT-THERE"
    refused = pisp.create_consent(unknown)
    assert refused.status_code == 400 and refused.json()["Errors"][0]["ErrorCode"] == "U011"
    elsewhere = _bill_consent_body(found)
    elsewhere["Data"]["Initiation"]["CreditorAccount"] = {
        "SchemeName": "CN.CNAPS.AccountNumber", "Identification": pisp.accounts_of("li.na")[0]["Identification"],
        "Name": "李娜",
    }  # fmt: skip
    refused = pisp.create_consent(elsewhere)
    assert refused.status_code == 400
    assert refused.json()["Errors"][0]["Path"] == "Data.Initiation.CreditorAccount.Identification"
    assert _looked_up(pisp, bill)["Status"] == "OUTSTANDING"


def test_a_bill_long_past_due_reads_closed_and_cannot_be_paid(pisp):
    bill = _outstanding_bill(pisp)
    found = _looked_up(pisp, bill)
    pisp.advance_clock(120)
    assert _looked_up(pisp, bill)["Status"] == "CLOSED"
    refused = pisp.create_consent(_bill_consent_body(found))
    assert refused.status_code == 400 and refused.json()["Errors"][0]["ErrorCode"] == "U014"


def test_concurrent_payments_of_one_bill_settle_it_once(pisp, backend):
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")
    bill = _outstanding_bill(pisp)
    found = _looked_up(pisp, bill)
    settlement = f"INT-BILLER-{bill.biller_id}"
    before = pisp.balance_fen(settlement)
    journeys = []
    for _ in range(6):
        body = _bill_consent_body(found)
        journeys.append((body, *_authorised(pisp, body)))
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda j: pisp.pay(j[0], j[1], j[2]), journeys))
    settled = [a for a in answers if a.status_code == 201 and a.json()["Data"]["Status"] == "ACCC"]
    assert len(settled) == 1, [a.text for a in answers]
    assert all(a.status_code == 400 for a in answers if a not in settled)
    assert pisp.balance_fen(settlement) == before + bill.amount_fen
    assert _looked_up(pisp, bill)["Status"] == "PAID"
    assert (
        pisp.call(
            "GET", f"{PISP}/domestic-payments/{settled[0].json()['Data']['DomesticPaymentId']}"
        ).status_code
        == 200
    )
