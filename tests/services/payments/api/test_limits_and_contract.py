"""Class Ⅱ/Ⅲ limits enforced before any money moves, and the internal consent contract the consent page uses."""

from __future__ import annotations

from tests.services.payments.conftest import CUSTOMERS, PISP, pisp_valid


def _zhao_min_account(pisp) -> dict:
    (account,) = pisp.accounts_of("zhao.min")
    assert account["AccountClass"] == "III"
    return account


def _fill_to(pisp, account_id: str, target_fen: int) -> None:
    missing = target_fen - pisp.balance_fen(account_id)
    if missing > 0:
        pisp.credit(account_id, f"{missing // 100}.{missing % 100:02d}")


def test_zhao_min_cannot_pay_more_than_the_class_iii_transaction_limit(pisp):
    account = _zhao_min_account(pisp)
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    before = pisp.balance_fen(account["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhao.min", creditor, "2000.01")
    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    data = paid.json()["Data"]
    assert data["Status"] == "RJCT" and data["StatusReason"][0]["StatusReasonCode"] == "AM14"
    assert data["StatusReason"][0]["StatusReasonDescription"].startswith("CLASS_III_TRANSACTION_LIMIT")
    assert pisp.balance_fen(account["AccountId"]) == before


def test_zhao_min_is_stopped_at_the_class_iii_daily_outflow_limit_and_free_again_the_next_day(pisp):
    account = _zhao_min_account(pisp)
    creditor = pisp.accounts_of("li.na")[0]
    _fill_to(pisp, account["AccountId"], 200_000)
    body, consent_id, token = pisp.authorised_consent("zhao.min", creditor["Identification"], "1500.00")
    assert pisp.pay(body, consent_id, token).json()["Data"]["Status"] == "ACCC"
    _fill_to(pisp, account["AccountId"], 200_000)
    creditor_before = pisp.balance_fen(creditor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhao.min", creditor["Identification"], "600.00")
    refused = pisp.pay(body, consent_id, token).json()["Data"]
    assert refused["Status"] == "RJCT"
    assert refused["StatusReason"][0]["StatusReasonDescription"].startswith("CLASS_III_DAILY_OUTFLOW_LIMIT")
    assert pisp.balance_fen(account["AccountId"]) == 200_000
    assert pisp.balance_fen(creditor["AccountId"]) == creditor_before
    pisp.advance_clock(1)
    body, consent_id, token = pisp.authorised_consent("zhao.min", creditor["Identification"], "600.00")
    assert pisp.pay(body, consent_id, token).json()["Data"]["Status"] == "ACCC"


def test_a_rejected_payment_gives_its_amount_back_to_the_daily_limit(pisp):
    account = _zhao_min_account(pisp)
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    _fill_to(pisp, account["AccountId"], 100_000)
    body, consent_id, token = pisp.authorised_consent("zhao.min", creditor, "1500.00")  # more than she has
    refused = pisp.pay(body, consent_id, token).json()["Data"]
    assert refused["Status"] == "RJCT" and refused["StatusReason"][0]["StatusReasonCode"] == "AM04"
    _fill_to(pisp, account["AccountId"], 200_000)
    body, consent_id, token = pisp.authorised_consent("zhao.min", creditor, "2000.00")
    assert pisp.pay(body, consent_id, token).json()["Data"]["Status"] == "ACCC"


def test_paying_a_class_iii_account_above_its_balance_cap_is_rejected_by_the_ledger(pisp):
    zhao = _zhao_min_account(pisp)
    _fill_to(pisp, zhao["AccountId"], 190_000)
    body, consent_id, token = pisp.authorised_consent("zhang.wei", zhao["Identification"], "200.00")
    data = pisp.pay(body, consent_id, token).json()["Data"]
    assert data["Status"] == "RJCT" and data["StatusReason"][0]["StatusReasonCode"] == "AG01"
    assert pisp.balance_fen(zhao["AccountId"]) == 190_000


def _internal(stack, pisp, consent_id: str, body: dict | None = None):
    path = f"/internal/v1/tenants/{pisp.tenant_id}/consents/{consent_id}"
    if body is None:
        return stack.services["payments"].get(path, headers=stack.internal_headers)
    return stack.services["payments"].post(path + "/authorisation", json=body, headers=stack.internal_headers)


def test_the_internal_contract_asks_for_one_account_unless_the_initiation_names_the_debtor(pisp, stack):
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    open_consent = pisp.create_consent(pisp.consent_body(creditor)).json()["Data"]["ConsentId"]
    data = _internal(stack, pisp, open_consent).json()["Data"]
    assert (
        data["Kind"] == "domestic-payment" and data["AccountSelection"] == "one" and data["Status"] == "AWAU"
    )
    assert data["Details"]["Initiation"]["CreditorAccount"]["Identification"] == creditor

    zhang_class_ii = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "II")
    named = pisp.consent_body(creditor, debtor=zhang_class_ii["Identification"])
    named_id = pisp.create_consent(named).json()["Data"]["ConsentId"]
    assert _internal(stack, pisp, named_id).json()["Data"]["AccountSelection"] == "none"
    # li.na cannot authorise a payment from zhang.wei's account; another client cannot decide at all.
    decision = {"ClientId": pisp.partner.client_id, "CustomerId": CUSTOMERS["li.na"], "Decision": "approve"}
    assert _internal(stack, pisp, named_id, decision).status_code == 400
    assert _internal(stack, pisp, named_id, dict(decision, ClientId="someone-else")).status_code == 403
    approved = _internal(stack, pisp, named_id, dict(decision, CustomerId=CUSTOMERS["zhang.wei"]))
    assert approved.status_code == 200, approved.text
    assert approved.json()["Data"]["Status"] == "AUTH"
    assert approved.json()["Data"]["AccountIds"] == [zhang_class_ii["AccountId"]]
    assert (
        _internal(stack, pisp, named_id, dict(decision, CustomerId=CUSTOMERS["zhang.wei"])).status_code == 409
    )

    many = dict(decision, CustomerId=CUSTOMERS["zhang.wei"],
                AccountIds=[a["AccountId"] for a in pisp.accounts_of("zhang.wei")])  # fmt: skip
    assert _internal(stack, pisp, open_consent, many).status_code == 400  # exactly one
    assert _internal(stack, pisp, "pdc_unknown").status_code == 404


def test_a_denied_consent_is_rejected_and_cannot_be_paid(pisp):
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    created = pisp.create_consent(pisp.consent_body(creditor)).json()["Data"]["ConsentId"]
    pisp.authorise(created, "zhang.wei", decision="deny")
    read = pisp.call("GET", f"{PISP}/domestic-payment-consents/{created}")
    pisp_valid("/domestic-payment-consents/{ConsentId}", "get", read)
    assert read.json()["Data"]["Status"] == "RJCT"
