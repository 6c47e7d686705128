"""Sandbox faults on demand (`x-openbank-fault`), through the gateway as a partner would ask for them."""

from __future__ import annotations

import secrets

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.proxy import faults
from loadtests.partner import ISSUER
from services.payments.models import AccountOutflowDay, CustomerOutflowDay, DomesticPayment
from tests.obie_schema import assert_obie_response, schema_by_name, validate_body
from tests.services.payments.conftest import PISP, pisp_valid

CBPII = "/open-banking/v4.0/cbpii"
EVENTS = "/open-banking/v4.0/events"


def _call(pisp, method: str, path: str, token: str | None = None, *, json=None, key=None, headers=None):
    token = token or pisp.app_token()
    sent = {"Authorization": f"DPoP {token}", "DPoP": pisp.partner.dpop(method, ISSUER + path, access_token=token),
            **({"x-idempotency-key": key} if key else {}), **(headers or {})}  # fmt: skip
    return pisp.stack.gateway.request(method, path, json=json, headers=sent)


def _pay(pisp, body: dict, consent_id: str, token: str, key: str | None = None, **headers):
    payment = {
        "Data": {"ConsentId": consent_id, "Initiation": body["Data"]["Initiation"]},
        "Risk": body["Risk"],
    }
    return _call(pisp, "POST", f"{PISP}/domestic-payments", token, json=payment,
                 key=key or secrets.token_hex(8), headers=headers)  # fmt: skip


def _fault(name: str, **extra: str) -> dict[str, str]:
    return {"x-openbank-fault": name, **extra}


def _class_i(pisp, username: str = "zhang.wei") -> dict:
    return next(a for a in pisp.accounts_of(username) if a["AccountClass"] == "I")


def _statuses_in_events(pisp, payment_id: str) -> list[str]:
    token = pisp.app_token()
    polled = pisp.stack.gateway.post(EVENTS, json={"returnImmediately": True, "maxEvents": 50}, headers={
        "Authorization": f"DPoP {token}", "DPoP": pisp.partner.dpop("POST", ISSUER + EVENTS, access_token=token)})  # fmt: skip
    assert polled.status_code == 200, polled.text
    txns = [
        jwt.decode(s, _keys(pisp), algorithms=["ES256"]).claims["txn"] for s in polled.json()["sets"].values()
    ]
    return [txn.removeprefix(f"{payment_id}-") for txn in txns if txn.startswith(payment_id)]


def _keys(pisp) -> KeySet:
    return KeySet.import_key_set(pisp.stack.gateway.get("/oauth2/jwks").json())


def test_payment_rejected_fault_ends_rjct_with_ms03_and_moves_no_money(pisp):
    debtor, creditor = _class_i(pisp), pisp.accounts_of("li.na")[0]
    before = pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "88.00",
                                                      debtor=debtor["Identification"])  # fmt: skip
    paid = _pay(pisp, body, consent_id, token, **_fault("payment-rejected"))
    pisp_valid("/domestic-payments", "post", paid)
    assert paid.status_code == 201, paid.text
    data = paid.json()["Data"]
    assert data["Status"] == "RJCT"
    assert data["StatusReason"][0]["StatusReasonCode"] == "MS03"
    assert "payment-rejected" in data["StatusReason"][0]["StatusReasonDescription"]
    assert (pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])) == before
    assert (
        pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}").json()["Data"]["Status"] == "COND"
    )
    details = pisp.call("GET", f"{PISP}/domestic-payments/{data['DomesticPaymentId']}/payment-details")
    assert details.json()["Data"]["PaymentStatus"][0]["StatusDetail"]["StatusReason"] == "MS03"
    assert _statuses_in_events(pisp, data["DomesticPaymentId"]) == ["RJCT"]  # as a limit refusal emits


def test_insufficient_funds_fault_is_a_real_shortfall_for_payment_and_funds_checks(pisp):
    debtor, creditor = _class_i(pisp), pisp.accounts_of("li.na")[0]
    pisp.credit(debtor["AccountId"], "50000.00")
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "50000.00",
                                                      debtor=debtor["Identification"])  # fmt: skip
    funds_path = f"{PISP}/domestic-payment-consents/{consent_id}/funds-confirmation"
    assert (
        _call(pisp, "GET", funds_path, token).json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is True
    )
    faulted = _call(pisp, "GET", funds_path, token, headers=_fault("insufficient-funds"))
    pisp_valid("/domestic-payment-consents/{ConsentId}/funds-confirmation", "get", faulted)
    assert faulted.json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is False

    paid = _pay(pisp, body, consent_id, token, **_fault("insufficient-funds"))
    pisp_valid("/domestic-payments", "post", paid)
    data = paid.json()["Data"]
    assert data["Status"] == "RJCT" and data["StatusReason"][0]["StatusReasonCode"] == "AM04"
    assert pisp.balance_fen(debtor["AccountId"]) == before
    assert _statuses_in_events(pisp, data["DomesticPaymentId"]) == ["RCVD", "RJCT"]  # the ledger-refusal path
    # Like a real shortfall, the amount was given back to the ¥50,000 daily limit: the whole limit is still free.
    again = pisp.pay(*pisp.authorised_consent("zhang.wei", creditor["Identification"], "50000.00",
                                              debtor=debtor["Identification"]))  # fmt: skip
    assert again.json()["Data"]["Status"] == "ACCC", again.text
    assert pisp.ledger_balanced()


def test_insufficient_funds_fault_on_cbpii_funds_confirmation_answers_false(pisp):
    account = _class_i(pisp)
    app = pisp.token_for("fundsconfirmations")
    consent = {"Data": {"DebtorAccount": {"SchemeName": "CN.CNAPS.AccountNumber",
                                          "Identification": account["Identification"]}}}  # fmt: skip
    consent_id = _call(pisp, "POST", f"{CBPII}/funds-confirmation-consents", app, json=consent).json()[
        "Data"
    ]["ConsentId"]
    token = pisp.authorise(consent_id, "zhang.wei", scope="fundsconfirmations")
    ask = {"Data": {"ConsentId": consent_id, "Reference": "order-1",
                    "InstructedAmount": {"Amount": "1.00", "Currency": "CNY"}}}  # fmt: skip
    plain = _call(pisp, "POST", f"{CBPII}/funds-confirmations", token, json=ask)
    faulted = _call(
        pisp, "POST", f"{CBPII}/funds-confirmations", token, json=ask, headers=_fault("insufficient-funds")
    )
    assert_obie_response("confirmation-funds", "/funds-confirmations", "post", faulted)
    assert plain.json()["Data"]["FundsAvailable"] is True
    assert faulted.json()["Data"]["FundsAvailable"] is False


def test_bank_timeout_answers_504_creates_nothing_and_the_retry_with_the_same_key_succeeds_once(pisp):
    debtor, creditor = _class_i(pisp), pisp.accounts_of("li.na")[0]
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "12.34",
                                                      debtor=debtor["Identification"])  # fmt: skip
    key = secrets.token_hex(8)
    timed_out = _pay(pisp, body, consent_id, token, key,
                     **_fault("bank-timeout", **{"x-openbank-fault-delay-ms": "0"}))  # fmt: skip
    assert timed_out.status_code == 504, timed_out.text
    assert timed_out.json()["Errors"][0]["ErrorCode"] == "U000"
    error_schema = schema_by_name("payment-initiation", "OBErrorResponse1")
    assert validate_body("payment-initiation", error_schema, timed_out.json()) == []
    assert (
        pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}").json()["Data"]["Status"] == "AUTH"
    )
    assert pisp.balance_fen(debtor["AccountId"]) == before

    retried = _pay(pisp, body, consent_id, token, key)
    assert retried.status_code == 201 and retried.json()["Data"]["Status"] == "ACCC", retried.text
    replayed = _pay(pisp, body, consent_id, token, key)
    assert replayed.json()["Data"]["DomesticPaymentId"] == retried.json()["Data"]["DomesticPaymentId"]
    assert pisp.balance_fen(debtor["AccountId"]) == before - 1234  # once


def test_slow_clearing_keeps_a_same_bank_payment_in_acsp_until_the_clock_moves(pisp):
    debtor, creditor = _class_i(pisp), pisp.accounts_of("li.na")[0]
    before = pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "66.60",
                                                      debtor=debtor["Identification"])  # fmt: skip
    paid = _pay(pisp, body, consent_id, token, **_fault("slow-clearing"))
    pisp_valid("/domestic-payments", "post", paid)
    payment_id = paid.json()["Data"]["DomesticPaymentId"]
    assert paid.json()["Data"]["Status"] == "ACSP"
    # Debited into clearing, not yet credited; reading it does not settle it.
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 6660
    assert pisp.balance_fen(creditor["AccountId"]) == before[1]
    assert pisp.call("GET", f"{PISP}/domestic-payments/{payment_id}").json()["Data"]["Status"] == "ACSP"

    pisp.advance_clock(1)
    got = pisp.call("GET", f"{PISP}/domestic-payments/{payment_id}")
    pisp_valid("/domestic-payments/{DomesticPaymentId}", "get", got)
    assert got.json()["Data"]["Status"] == "ACSC", got.text
    assert pisp.balance_fen(creditor["AccountId"]) == before[1] + 6660
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 6660
    assert pisp.ledger_balanced()
    assert _statuses_in_events(pisp, payment_id) == ["RCVD", "ACSP", "ACSC"]
    pisp.advance_clock(1)  # a later clock move posts nothing again
    assert pisp.balance_fen(creditor["AccountId"]) == before[1] + 6660


def test_slow_clearing_credit_the_creditor_refuses_is_returned_to_the_debtor(pisp):
    debtor = _class_i(pisp)
    zhao_min = pisp.accounts_of("zhao.min")[0]  # Class Ⅲ: its ¥2,000 balance cap refuses the credit
    pisp.credit(debtor["AccountId"], "3000.00")
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", zhao_min["Identification"], "3000.00",
                                                      debtor=debtor["Identification"])  # fmt: skip
    paid = _pay(pisp, body, consent_id, token, **_fault("slow-clearing"))
    assert paid.json()["Data"]["Status"] == "ACSP", paid.text
    pisp.advance_clock(1)
    got = pisp.call("GET", f"{PISP}/domestic-payments/{paid.json()['Data']['DomesticPaymentId']}").json()[
        "Data"
    ]
    assert got["Status"] == "RJCT" and got["StatusReason"][0]["StatusReasonCode"] == "AG01"
    assert pisp.balance_fen(debtor["AccountId"]) == before  # returned from the clearing account
    assert pisp.ledger_balanced()
    with pisp.stack.db("payments").read_session() as session:  # the returned amount no longer counts
        payment = session.get(DomesticPayment, (pisp.tenant_id, got["DomesticPaymentId"]))
        day = payment.outflow_day
        assert session.get(AccountOutflowDay, (pisp.tenant_id, debtor["AccountId"], day)).outflow_fen == 0
        assert session.get(CustomerOutflowDay, (pisp.tenant_id, payment.customer_id, day)).outflow_fen == 0


def test_throttling_answers_429_with_retry_after_and_forwards_nothing(pisp):
    key = secrets.token_hex(8)
    body = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"], "10.00")
    throttled = _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=body, key=key,
                      headers=_fault("throttling"))  # fmt: skip
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    error_schema = schema_by_name("payment-initiation", "OBErrorResponse1")  # 429 has no body in the spec
    assert validate_body("payment-initiation", error_schema, throttled.json()) == []
    # Nothing reached payments: the same key with another body is a first request, not a 400 reuse.
    other = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"], "11.00")
    created = _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=other, key=key)
    assert created.status_code == 201, created.text


def test_slow_response_waits_the_documented_delay_then_forwards(pisp, monkeypatch):
    waited: list[int] = []

    async def recording_pause(wait_ms: int) -> None:
        waited.append(wait_ms)

    monkeypatch.setattr(faults, "pause", recording_pause)
    body = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"], "10.00")
    default = _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=body, key=secrets.token_hex(8),
                    headers=_fault("slow-response"))  # fmt: skip
    assert default.status_code == 201, default.text
    chosen = _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=body, key=secrets.token_hex(8),
                   headers=_fault("slow-response", **{"x-openbank-fault-delay-ms": "350"}))  # fmt: skip
    assert chosen.status_code == 201
    assert waited == [2000, 350]


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({"x-openbank-fault": "meteor-strike"}, "x-openbank-fault"),
        (
            {"x-openbank-fault": "slow-response", "x-openbank-fault-delay-ms": "10001"},
            "x-openbank-fault-delay-ms",
        ),
        (
            {"x-openbank-fault": "bank-timeout", "x-openbank-fault-delay-ms": "soon"},
            "x-openbank-fault-delay-ms",
        ),
    ],
)
def test_an_unknown_fault_or_bad_delay_is_a_400_naming_the_header_and_changes_nothing(pisp, headers, path):
    key = secrets.token_hex(8)
    body = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"], "10.00")
    refused = _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=body, key=key, headers=headers)
    assert refused.status_code == 400
    assert_obie_response("payment-initiation", "/domestic-payment-consents", "post", refused)
    error = refused.json()["Errors"][0]
    assert error["Path"] == path and error["ErrorCode"] == "U006"
    other = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"], "12.00")
    assert _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=other, key=key).status_code == 201


def test_an_apps_fault_toggles_drive_the_same_faults_and_a_header_wins_over_them(pisp):
    toggles = f"/sandbox/v1/apps/{pisp.partner.client_id}/faults"
    auth = {"Authorization": f"Bearer {pisp.initial_token}"}
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    debtor = _class_i(pisp)["Identification"]
    put = pisp.stack.gateway.put(toggles, json={"Faults": ["throttling", "payment-rejected"]}, headers=auth)
    assert put.status_code == 200, put.text
    body = pisp.consent_body(creditor, "10.00")
    throttled = _call(pisp, "POST", f"{PISP}/domestic-payment-consents", json=body, key=secrets.token_hex(8))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"

    assert (
        pisp.stack.gateway.put(toggles, json={"Faults": ["payment-rejected"]}, headers=auth).status_code
        == 200
    )
    rejected = pisp.pay(*pisp.authorised_consent("zhang.wei", creditor, "10.00", debtor=debtor))
    assert rejected.json()["Data"]["StatusReason"][0]["StatusReasonCode"] == "MS03", rejected.text
    # A fault named on the request replaces the toggles: slow-clearing only, so this payment is not rejected.
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor, "10.00", debtor=debtor)
    assert _pay(pisp, body, consent_id, token, **_fault("slow-clearing")).json()["Data"]["Status"] == "ACSP"
