"""Large-value transaction records (大额交易报告) through the gateway: 华兴商贸's corporate transfers reach ¥2,000,000."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from loadtests.partner import ISSUER
from tests.services.payments.conftest import OTHER_BANK_NUMBER

REPORTS = "/sandbox/v1/large-value-reports"


def _reports(pisp) -> list[dict]:
    response = pisp.stack.gateway.get(REPORTS, headers={"Authorization": f"Bearer {pisp.initial_token}"})
    assert response.status_code == 200, response.text
    return response.json()["Data"]["LargeValueReport"]


def _business_account(pisp) -> dict:
    return next(a for a in pisp.accounts_of("sun.hui") if a["AccountClass"] == "BUSINESS")


def _pay_from_business(pisp, creditor: str, amount: str) -> dict:
    business = _business_account(pisp)
    paid = pisp.pay(*pisp.authorised_consent("sun.hui", creditor, amount, debtor=business["Identification"]))
    assert paid.status_code == 201, paid.text
    return paid.json()["Data"]


def test_corporate_transfers_reaching_two_million_a_day_write_one_record(pisp):
    business = _business_account(pisp)
    pisp.credit(business["AccountId"], "2100000.00")
    zhang_wei = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    assert _reports(pisp) == []

    first = _pay_from_business(pisp, zhang_wei["Identification"], "1500000.00")
    assert first["Status"] == "ACCC"  # above the personal ¥50,000: a corporate account has its own limit
    assert _reports(pisp) == []  # ¥1,500,000 is below the threshold
    second = _pay_from_business(pisp, OTHER_BANK_NUMBER, "500000.00")  # leaves the bank: counted when debited
    assert second["Status"] == "ACSP"

    [report] = _reports(pisp)
    assert report["HolderKind"] == "CORPORATE" and report["ReasonCode"] == "0502"
    assert report["AccountId"] == business["AccountId"] and report["CustomerId"] == "CUS000007"
    assert report["TotalAmount"] == {"Amount": "2000000.00", "Currency": "CNY"}
    assert report["Threshold"] == {"Amount": "2000000.00", "Currency": "CNY"}
    assert report["DomesticPaymentIds"] == [first["DomesticPaymentId"], second["DomesticPaymentId"]]
    assert report["TransactionCount"] == 2 and report["HolderName"] == business["Name"]

    third = _pay_from_business(pisp, zhang_wei["Identification"], "10.00")
    assert third["Status"] == "ACCC"
    assert [r["ReportId"] for r in _reports(pisp)] == [report["ReportId"]]  # once per holder and day
    assert pisp.ledger_balanced()


def test_a_rejected_transfer_does_not_count_towards_the_threshold(pisp):
    business = _business_account(pisp)
    pisp.credit(business["AccountId"], "1990000.00")
    zhang_wei = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    _pay_from_business(pisp, zhang_wei["Identification"], "1000000.00")
    body, consent_id, token = pisp.authorised_consent(
        "sun.hui", zhang_wei["Identification"], "1000000.00", debtor=business["Identification"]
    )
    payment = {
        "Data": {"ConsentId": consent_id, "Initiation": body["Data"]["Initiation"]},
        "Risk": body["Risk"],
    }
    path = "/open-banking/v4.0/pisp/domestic-payments"
    response = pisp.stack.gateway.post(path, json=payment, headers={
        "Authorization": f"DPoP {token}", "DPoP": pisp.partner.dpop("POST", ISSUER + path, access_token=token),
        "x-idempotency-key": "lv-rejected-1", "x-openbank-fault": "payment-rejected"})  # fmt: skip
    assert response.json()["Data"]["Status"] == "RJCT", response.text  # created RJCT: nothing posted
    assert _reports(pisp) == []


def test_the_reports_are_the_tenants_own(pisp, stack, new_tenant):
    response = pisp.stack.gateway.get(REPORTS)
    assert response.status_code == 401
    _, other_token = new_tenant("lvr")
    business = _business_account(pisp)
    pisp.credit(business["AccountId"], "2000000.00")
    zhang_wei = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    _pay_from_business(pisp, zhang_wei["Identification"], "2000000.00")
    assert len(_reports(pisp)) == 1
    other = pisp.stack.gateway.get(REPORTS, headers={"Authorization": f"Bearer {other_token}"})
    assert other.status_code == 200 and other.json()["Data"]["LargeValueReport"] == []


def test_concurrent_settlements_reaching_the_threshold_write_exactly_one_record(pisp, backend):
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")
    business = _business_account(pisp)
    pisp.credit(business["AccountId"], "3000000.00")
    zhang_wei = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    consents = [pisp.authorised_consent("sun.hui", zhang_wei["Identification"], "600000.00",
                                        debtor=business["Identification"]) for _ in range(5)]  # fmt: skip
    with ThreadPoolExecutor(max_workers=5) as pool:
        paid = [r.json()["Data"] for r in pool.map(lambda c: pisp.pay(*c), consents)]
    assert [p["Status"] for p in paid] == ["ACCC"] * 5
    [report] = _reports(pisp)
    # The record names the transfers up to the one that reached ¥2,000,000: the fourth of the five, whichever order.
    assert report["TransactionCount"] == 4 and report["TotalAmount"]["Amount"] == "2400000.00"
    assert set(report["DomesticPaymentIds"]) < {p["DomesticPaymentId"] for p in paid}
    assert pisp.ledger_balanced()


def test_corporate_payments_have_their_own_limit_and_leave_the_owners_personal_limit_free(pisp):
    business = _business_account(pisp)
    personal = next(a for a in pisp.accounts_of("sun.hui") if a["AccountClass"] == "I")
    pisp.credit(business["AccountId"], "5000001.00")
    pisp.credit(personal["AccountId"], "50000.00")
    zhang_wei = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    over = _pay_from_business(pisp, zhang_wei["Identification"], "5000000.01")
    assert over["Status"] == "RJCT" and over["StatusReason"][0]["StatusReasonCode"] == "AM14"
    assert over["StatusReason"][0]["StatusReasonDescription"].startswith("CORPORATE_DAILY_TRANSFER_LIMIT")
    assert _pay_from_business(pisp, zhang_wei["Identification"], "1000000.00")["Status"] == "ACCC"
    own = pisp.pay(*pisp.authorised_consent("sun.hui", zhang_wei["Identification"], "50000.00",
                                            debtor=personal["Identification"]))  # fmt: skip
    assert own.json()["Data"]["Status"] == "ACCC", own.text  # her whole personal ¥50,000 is still free
