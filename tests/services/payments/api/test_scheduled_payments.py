"""Domestic scheduled payments through the partner journey, executed by the sandbox clock; every PISP response
validated against the official OBIE v4.0 OpenAPI."""

from __future__ import annotations

import pytest

from tests.services.payments.api.scheduling_support import (
    account,
    authorised,
    clock_now,
    create_consent,
    dashboard,
    event_txns,
    later,
    move_clock_without_running_anything,
    revoke_at_the_bank,
    run_clock_moved_again,
    scheduled_body,
    submit,
    valid,
)
from tests.services.payments.conftest import OTHER_BANK_NUMBER, PISP

CONSENTS = "domestic-scheduled-payment-consents"
ORDERS = "domestic-scheduled-payments"


def _get(pisp, payment_id: str, token: str | None = None):
    got = pisp.call("GET", f"{PISP}/{ORDERS}/{payment_id}", token)
    valid(f"/{ORDERS}/{{DomesticScheduledPaymentId}}", "get", got)
    assert got.status_code == 200, got.text
    return got.json()["Data"]


def _details(pisp, payment_id: str) -> list[dict]:
    got = pisp.call("GET", f"{PISP}/{ORDERS}/{payment_id}/payment-details")
    valid(f"/{ORDERS}/{{DomesticScheduledPaymentId}}/payment-details", "get", got)
    assert got.status_code == 200, got.text
    return got.json()["Data"]["PaymentStatus"]


def test_a_scheduled_payment_waits_for_its_date_then_pays_once_through_the_ledger(pisp):
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    before = pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])
    now = clock_now(pisp)
    body = scheduled_body(
        creditor["Identification"], "321.50", later(now, days=2), debtor=debtor["Identification"]
    )
    consent_id, token = authorised(pisp, CONSENTS, body)
    read = pisp.call("GET", f"{PISP}/{CONSENTS}/{consent_id}")
    valid(f"/{CONSENTS}/{{ConsentId}}", "get", read)
    assert read.json()["Data"]["Status"] == "AUTH" and read.json()["Data"]["Permission"] == "Create"
    assert read.json()["Data"]["Debtor"]["Identification"] == debtor["Identification"]

    created = submit(pisp, ORDERS, body, consent_id, token, key="sched-1")
    valid(f"/{ORDERS}", "post", created)
    assert created.status_code == 201, created.text
    data = created.json()["Data"]
    payment_id = data["DomesticScheduledPaymentId"]
    assert data["Status"] == "PDNG" and data["ConsentId"] == consent_id
    assert data["Initiation"]["InstructedAmount"] == {"Amount": "321.50", "Currency": "CNY"}
    assert pisp.balance_fen(debtor["AccountId"]) == before[0]  # nothing moves before its date
    consumed = pisp.call("GET", f"{PISP}/{CONSENTS}/{consent_id}")
    assert consumed.json()["Data"]["Status"] == "COND"
    assert _details(pisp, payment_id)[0]["Status"] == "PDNG"
    again = submit(
        pisp, ORDERS, body, consent_id, token, key="sched-1"
    )  # same key (within 24 h): the same order
    assert again.status_code == 201, again.text
    assert again.json()["Data"]["DomesticScheduledPaymentId"] == payment_id

    pisp.advance_clock(1)
    assert _get(pisp, payment_id)["Status"] == "PDNG"
    assert pisp.balance_fen(debtor["AccountId"]) == before[0]

    pisp.advance_clock(1)
    got = _get(pisp, payment_id, token)  # the customer's token for the consent reads it too
    assert got["Status"] == "ACSC"
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 32150
    assert pisp.balance_fen(creditor["AccountId"]) == before[1] + 32150
    details = _details(pisp, payment_id)
    assert [d["Status"] for d in details] == ["ACSC"] and details[0]["PaymentTransactionId"] != payment_id

    run_clock_moved_again(pisp)
    pisp.advance_clock(3)
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 32150  # never twice
    assert pisp.ledger_balanced()
    assert [t for t in event_txns(pisp) if t.startswith(payment_id)] == [
        f"{payment_id}-PDNG",
        f"{payment_id}-ACSC",
    ]
    assert revoke_at_the_bank(pisp, consent_id).status_code == 409  # paid: nothing left to cancel


def test_payments_due_in_one_clock_move_execute_in_due_date_order(pisp):
    """The earlier payment spends the money first: with funds for one, the later one is refused."""
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    pisp.move_out(debtor["AccountId"], pisp.balance_fen(debtor["AccountId"]) - 15_000)  # ¥150 left
    now = clock_now(pisp)
    ids = {}
    for name, days in (("late", 3), ("early", 1)):  # created in the other order
        body = scheduled_body(creditor["Identification"], "100.00", later(now, days=days),
                              debtor=debtor["Identification"])  # fmt: skip
        consent_id, token = authorised(pisp, CONSENTS, body)
        ids[name] = submit(pisp, ORDERS, body, consent_id, token).json()["Data"]["DomesticScheduledPaymentId"]
    pisp.advance_clock(5)
    early, late = _get(pisp, ids["early"]), _get(pisp, ids["late"])
    assert early["Status"] == "ACSC"
    assert late["Status"] == "RJCT" and late["StatusReason"][0]["StatusReasonCode"] == "AM04"
    assert pisp.balance_fen(debtor["AccountId"]) == 5_000
    detail = _details(pisp, ids["late"])[0]
    assert detail["Status"] == "RJCT" and detail["StatusDetail"]["StatusReason"] == "AM04"
    assert f"{ids['late']}-RJCT" in event_txns(pisp)
    assert pisp.ledger_balanced()


def test_a_scheduled_payment_over_the_class_iii_limit_is_rejected_when_it_falls_due(pisp):
    debtor = account(pisp, "zhao.min", "III")
    creditor = account(pisp, "li.na")
    pisp.credit(debtor["AccountId"], "1000.00")
    before = pisp.balance_fen(debtor["AccountId"])
    now = clock_now(pisp)
    body = scheduled_body(creditor["Identification"], "2500.00", later(now, days=1))  # Class III: ¥2,000
    consent_id, token = authorised(pisp, CONSENTS, body, username="zhao.min")
    payment_id = submit(pisp, ORDERS, body, consent_id, token).json()["Data"]["DomesticScheduledPaymentId"]
    pisp.advance_clock(2)
    got = _get(pisp, payment_id)
    assert got["Status"] == "RJCT" and got["StatusReason"][0]["StatusReasonCode"] == "AM14"
    assert pisp.balance_fen(debtor["AccountId"]) == before


def test_a_payment_to_another_bank_is_debited_to_clearing_when_due(pisp):
    debtor = account(pisp, "zhang.wei", "I")
    before = pisp.balance_fen(debtor["AccountId"])
    body = scheduled_body(OTHER_BANK_NUMBER, "66.60", later(clock_now(pisp), hours=20))
    consent_id, token = authorised(pisp, CONSENTS, body, account_ids=[debtor["AccountId"]])
    payment_id = submit(pisp, ORDERS, body, consent_id, token).json()["Data"]["DomesticScheduledPaymentId"]
    pisp.advance_clock(1)
    assert _get(pisp, payment_id)["Status"] == "ACSC"
    assert pisp.balance_fen(debtor["AccountId"]) == before - 6660
    assert pisp.ledger_balanced()


def test_a_crash_after_the_ledger_posted_is_finished_without_posting_twice(pisp):
    """Step 1 recorded the execution and the ledger posted, but the outcome was never recorded: the next clock
    move posts again with the same key, the ledger replays, and the money moved once."""
    from services.payments import ledger, scheduling

    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    before = pisp.balance_fen(debtor["AccountId"])
    body = scheduled_body(creditor["Identification"], "12.34", later(clock_now(pisp), days=1),
                          debtor=debtor["Identification"])  # fmt: skip
    consent_id, token = authorised(pisp, CONSENTS, body)
    payment_id = submit(pisp, ORDERS, body, consent_id, token).json()["Data"]["DomesticScheduledPaymentId"]
    move_clock_without_running_anything(pisp, 2)
    app = pisp.stack.services["payments"].app
    execution_id = scheduling._start_execution(app.state.db, pisp.tenant_id, payment_id)
    assert execution_id == f"{payment_id}-1"
    with app.state.db.read_session() as session:
        execution = session.get(scheduling.ScheduledExecution, (pisp.tenant_id, execution_id))
        order = scheduling._order_row(session, pisp.tenant_id, payment_id)
        consent = scheduling._consent_row(session, pisp.tenant_id, consent_id)
    posted = ledger.post(app.state.accounts_client, pisp.tenant_id, execution_id,
                         scheduling._posting(order, consent, execution))  # fmt: skip
    assert isinstance(posted, ledger.Posted)
    assert _get(pisp, payment_id)["Status"] == "ACSC"  # the read finishes it
    pisp.advance_clock(1)
    run_clock_moved_again(pisp)
    assert pisp.balance_fen(debtor["AccountId"]) == before - 1234
    assert _details(pisp, payment_id)[0]["PaymentTransactionId"] == posted.transaction_id


def test_revocation_at_the_bank_cancels_a_pending_scheduled_payment(pisp):
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    before = pisp.balance_fen(debtor["AccountId"])
    body = scheduled_body(creditor["Identification"], "10.00", later(clock_now(pisp), days=2),
                          debtor=debtor["Identification"])  # fmt: skip
    consent_id, token = authorised(pisp, CONSENTS, body)
    payment_id = submit(pisp, ORDERS, body, consent_id, token).json()["Data"]["DomesticScheduledPaymentId"]
    row = dashboard(pisp)[consent_id]
    assert row["Kind"] == "domestic-scheduled-payment" and row["Status"] == "COND"
    revoked = revoke_at_the_bank(pisp, consent_id)
    assert revoked.status_code == 200, revoked.text
    assert "cancelled at the bank" in revoked.json()["Data"]["Consent"][0]["Summary"]
    assert revoke_at_the_bank(pisp, consent_id, "li.na").status_code == 404  # another customer's
    pisp.advance_clock(3)
    got = _get(pisp, payment_id)
    assert got["Status"] == "CANC" and got["StatusReason"][0]["StatusReasonCode"] == "CANC"
    assert _details(pisp, payment_id) == []
    assert pisp.balance_fen(debtor["AccountId"]) == before
    assert f"{payment_id}-CANC" in event_txns(pisp)


def test_an_authorised_consent_revoked_before_use_reads_rjct_and_cannot_be_used(pisp):
    creditor = account(pisp, "li.na")
    body = scheduled_body(creditor["Identification"], "10.00", later(clock_now(pisp), days=2))
    consent_id, token = authorised(pisp, CONSENTS, body)
    revoked = revoke_at_the_bank(pisp, consent_id)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["Data"]["Consent"][0]["Status"] == "CANC"
    read = pisp.call("GET", f"{PISP}/{CONSENTS}/{consent_id}")
    valid(f"/{CONSENTS}/{{ConsentId}}", "get", read)
    assert read.json()["Data"]["Status"] == "RJCT"
    refused = submit(pisp, ORDERS, body, consent_id, token)
    valid(f"/{ORDERS}", "post", refused)
    assert refused.status_code == 403
    assert f"{consent_id}-REVOKED" in event_txns(pisp)


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"RequestedExecutionDateTime": "past"}, "Data.Initiation.RequestedExecutionDateTime", "U003"),
        ({"RequestedExecutionDateTime": "beyond"}, "Data.Initiation.RequestedExecutionDateTime", "U003"),
        ({"RequestedExecutionDateTime": "2027-01-05T10:00:00"}, "Data.Initiation.RequestedExecutionDateTime", "U003"),
        ({"RequestedExecutionDateTime": "next tuesday"}, "Data.Initiation.RequestedExecutionDateTime", "U003"),
        ({"InstructedAmount": {"Amount": "0.00", "Currency": "CNY"}}, "Data.Initiation.InstructedAmount.Amount", "U002"),
        ({"InstructedAmount": {"Amount": "1.001", "Currency": "CNY"}}, "Data.Initiation.InstructedAmount.Amount", None),
        ({"InstructedAmount": {"Amount": "10.00", "Currency": "USD"}}, "Data.Initiation.InstructedAmount.Currency", "U023"),
        ({"CreditorAccount": {"SchemeName": "UK.OBIE.IBAN", "Identification": "GB29", "Name": "x"}},
         "Data.Initiation.CreditorAccount.SchemeName", "U027"),
        ({"CreditorAccount": {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": "6219990000000000000",
                              "Name": "x"}}, "Data.Initiation.CreditorAccount.Identification", "U021"),
    ],
)  # fmt: skip
def test_bad_scheduled_consents_are_refused_with_the_path_and_create_nothing(pisp, change, path, code):
    now = clock_now(pisp)
    creditor = account(pisp, "li.na")
    body = scheduled_body(creditor["Identification"], "10.00", later(now, days=2))
    value = change.get("RequestedExecutionDateTime")
    if value == "past":
        change = {"RequestedExecutionDateTime": later(now, minutes=-1)}
    elif value == "beyond":
        change = {"RequestedExecutionDateTime": later(now, days=400)}
    body["Data"]["Initiation"].update(change)
    refused = create_consent(pisp, CONSENTS, body)
    valid(f"/{CONSENTS}", "post", refused)
    assert refused.status_code == 400, refused.text
    error = refused.json()["Errors"][0]
    assert error["Path"] == path
    if code:
        assert error["ErrorCode"] == code


def test_missing_permission_is_refused(pisp):
    body = scheduled_body(account(pisp, "li.na")["Identification"], "10.00", later(clock_now(pisp), days=2))
    del body["Data"]["Permission"]
    refused = create_consent(pisp, CONSENTS, body)
    valid(f"/{CONSENTS}", "post", refused)
    assert refused.status_code == 400 and refused.json()["Errors"][0]["Path"] == "Data.Permission"


def test_an_order_differing_from_its_consent_or_reusing_it_is_refused(pisp):
    creditor = account(pisp, "li.na")
    debtor = account(pisp, "zhang.wei", "I")
    before = pisp.balance_fen(debtor["AccountId"])
    body = scheduled_body(creditor["Identification"], "10.00", later(clock_now(pisp), days=2),
                          debtor=debtor["Identification"])  # fmt: skip
    consent_id, token = authorised(pisp, CONSENTS, body)
    tampered = {"Data": dict(body["Data"], Initiation=dict(body["Data"]["Initiation"],
                InstructedAmount={"Amount": "999.00", "Currency": "CNY"}))}  # fmt: skip
    tampered["Risk"] = body["Risk"]
    mismatch = submit(pisp, ORDERS, tampered, consent_id, token)
    valid(f"/{ORDERS}", "post", mismatch)
    assert mismatch.status_code == 400 and mismatch.json()["Errors"][0]["ErrorCode"] == "U008"
    assert mismatch.json()["Errors"][0]["Path"] == "Data.Initiation"
    no_key = pisp.call("POST", f"{PISP}/{ORDERS}", token, json={"Data": {"ConsentId": consent_id,
                       "Initiation": body["Data"]["Initiation"]}, "Risk": body["Risk"]})  # fmt: skip
    assert no_key.status_code == 400
    same_amount = dict(body["Data"]["Initiation"], InstructedAmount={"Amount": "10", "Currency": "CNY"})
    first = submit(
        pisp, ORDERS, {"Data": {"Initiation": same_amount}, "Risk": body["Risk"]}, consent_id, token
    )
    assert first.status_code == 201, first.text  # "10" is "10.00"
    reused = submit(pisp, ORDERS, body, consent_id, token)
    valid(f"/{ORDERS}", "post", reused)
    assert reused.status_code == 403
    partner_token = submit(pisp, ORDERS, body, consent_id, pisp.app_token())
    assert partner_token.status_code == 403  # an order needs the customer's token
    other_kind = submit(pisp, "domestic-standing-orders", body, consent_id, token)
    assert other_kind.status_code == 400  # not a standing order body
    pisp.advance_clock(3)
    assert pisp.balance_fen(debtor["AccountId"]) == before - 1000  # the one order paid, once


def test_another_clients_or_unknown_ids_answer_403(pisp, stack, new_tenant):
    from tests.services.payments.conftest import make_pisp

    body = scheduled_body(account(pisp, "li.na")["Identification"], "10.00", later(clock_now(pisp), days=2))
    consent_id, token = authorised(pisp, CONSENTS, body)
    payment_id = submit(pisp, ORDERS, body, consent_id, token).json()["Data"]["DomesticScheduledPaymentId"]
    other = make_pisp(stack, pisp.tenant_id, pisp.initial_token)  # another partner app in the same tenant
    for path in (f"/{CONSENTS}/{consent_id}", f"/{ORDERS}/{payment_id}", f"/{ORDERS}/{payment_id}/payment-details",
                 f"/{ORDERS}/dsp_00000000000000000000000000"):  # fmt: skip
        response = other.call("GET", PISP + path)
        assert response.status_code == 403, path
    as_domestic = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}")
    assert as_domestic.status_code == 403  # a scheduled consent is not a domestic one


def test_an_unused_consent_expires_at_its_execution_time(pisp):
    creditor = account(pisp, "li.na")
    body = scheduled_body(creditor["Identification"], "10.00", later(clock_now(pisp), hours=2))
    consent_id, token = authorised(pisp, CONSENTS, body)
    pisp.advance_clock(1)
    read = pisp.call("GET", f"{PISP}/{CONSENTS}/{consent_id}")
    valid(f"/{CONSENTS}/{{ConsentId}}", "get", read)
    assert read.json()["Data"]["Status"] == "RJCT"
    assert read.json()["Data"]["StatusReason"][0]["StatusReasonCode"] == "EXPD"
    assert submit(pisp, ORDERS, body, consent_id, token).status_code == 403
