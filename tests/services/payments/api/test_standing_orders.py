"""Domestic standing orders through the partner journey, each instalment executed by the sandbox clock; every PISP
response validated against the official OBIE v4.0 OpenAPI."""

from __future__ import annotations

import pytest

from services.payments.scheduling import schedule_of
from tests.services.payments.api.scheduling_support import (
    account,
    authorised,
    clock_now,
    create_consent,
    event_txns,
    later,
    move_clock_without_running_anything,
    revoke_at_the_bank,
    run_clock_moved_again,
    standing_body,
    submit,
    valid,
)
from tests.services.payments.conftest import PISP

CONSENTS = "domestic-standing-order-consents"
ORDERS = "domestic-standing-orders"
MANDATE = "Data.Initiation.MandateRelatedInformation"


def _get(pisp, order_id: str) -> dict:
    got = pisp.call("GET", f"{PISP}/{ORDERS}/{order_id}")
    valid(f"/{ORDERS}/{{DomesticStandingOrderId}}", "get", got)
    assert got.status_code == 200, got.text
    return got.json()["Data"]


def _details(pisp, order_id: str) -> list[dict]:
    got = pisp.call("GET", f"{PISP}/{ORDERS}/{order_id}/payment-details")
    valid(f"/{ORDERS}/{{DomesticStandingOrderId}}/payment-details", "get", got)
    assert got.status_code == 200, got.text
    return got.json()["Data"]["PaymentStatus"]


def _order(pisp, body: dict, username: str = "zhang.wei") -> tuple[str, str]:
    consent_id, token = authorised(pisp, CONSENTS, body, username=username)
    created = submit(pisp, ORDERS, body, consent_id, token)
    valid(f"/{ORDERS}", "post", created)
    assert created.status_code == 201, created.text
    assert created.json()["Data"]["Status"] == "INCO"
    return created.json()["Data"]["DomesticStandingOrderId"], consent_id


def test_a_standing_order_pays_each_due_instalment_once_with_first_recurring_and_final_amounts(pisp):
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    before = pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])
    now = clock_now(pisp)
    body = standing_body(creditor["Identification"], later(now, days=1), "EvryDay", "10.00", recurring="20.00",
                         final="30.00", number="4", debtor=debtor["Identification"])  # fmt: skip
    consent_id, token = authorised(pisp, CONSENTS, body)
    read = pisp.call("GET", f"{PISP}/{CONSENTS}/{consent_id}")
    valid(f"/{CONSENTS}/{{ConsentId}}", "get", read)
    assert read.json()["Data"]["Status"] == "AUTH"
    created = submit(pisp, ORDERS, body, consent_id, token)
    valid(f"/{ORDERS}", "post", created)
    order_id = created.json()["Data"]["DomesticStandingOrderId"]
    assert created.json()["Data"]["Status"] == "INCO"
    assert _details(pisp, order_id) == []  # nothing paid before the first date

    pisp.advance_clock(2)  # instalments 1 (day 1) and 2 (day 2) are due
    assert [d["Status"] for d in _details(pisp, order_id)] == ["ACSC", "ACSC"]
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 3000
    run_clock_moved_again(pisp)  # a repeated clock move pays nothing twice
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 3000

    pisp.advance_clock(10)  # instalments 3 and 4, then the order has ended
    details = _details(pisp, order_id)
    assert [d["Status"] for d in details] == ["ACSC"] * 4
    assert len({d["PaymentTransactionId"] for d in details}) == 4
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 8000  # 10 + 20 + 20 + 30
    assert pisp.balance_fen(creditor["AccountId"]) == before[1] + 8000
    assert _get(pisp, order_id)["Status"] == "INCO"
    pisp.advance_clock(5)
    assert len(_details(pisp, order_id)) == 4
    assert pisp.ledger_balanced()
    txns = [t for t in event_txns(pisp) if t.startswith(order_id)]
    assert txns == [f"{order_id}-INCO"] + [f"{order_id}-{n}-ACSC" for n in (1, 2, 3, 4)]


def test_insufficient_funds_rejects_one_instalment_and_the_order_continues(pisp):
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    now = clock_now(pisp)
    body = standing_body(creditor["Identification"], later(now, hours=12), "EvryDay", "100.00", number="3",
                         debtor=debtor["Identification"])  # fmt: skip
    order_id, _ = _order(pisp, body)
    pisp.advance_clock(1)
    assert [d["Status"] for d in _details(pisp, order_id)] == ["ACSC"]
    pisp.move_out(debtor["AccountId"], pisp.balance_fen(debtor["AccountId"]) - 5_000)  # ¥50 left
    pisp.advance_clock(1)
    second = _details(pisp, order_id)[1]
    assert second["Status"] == "RJCT" and second["StatusDetail"]["StatusReason"] == "AM04"
    assert pisp.balance_fen(debtor["AccountId"]) == 5_000  # nothing moved
    pisp.credit(debtor["AccountId"], "1000.00")
    pisp.advance_clock(1)
    assert [d["Status"] for d in _details(pisp, order_id)] == ["ACSC", "RJCT", "ACSC"]
    assert pisp.balance_fen(debtor["AccountId"]) == 5_000 + 100_000 - 10_000
    assert f"{order_id}-2-RJCT" in event_txns(pisp)
    assert pisp.ledger_balanced()


def test_a_monthly_order_on_day_31_pays_at_the_end_of_shorter_months(pisp):
    creditor = account(pisp, "li.na")
    debtor = account(pisp, "zhang.wei", "I")
    before = pisp.balance_fen(debtor["AccountId"])
    now = clock_now(pisp)
    body = standing_body(creditor["Identification"], later(now, days=1), "IntrvlMnthDay:01:31", "5.00",
                         debtor=debtor["Identification"])  # fmt: skip
    order_id, _ = _order(pisp, body)
    pisp.advance_clock(100)
    details = _details(pisp, order_id)
    # the first on day 1, then the 31st (or the last day) of each month passed, as the schedule maths says
    schedule = schedule_of(body["Data"]["Initiation"])
    due = [at for _, at, _ in schedule.occurrences(limit=10) if at <= clock_now(pisp)]
    assert len(due) >= 4 and all(at.day >= 28 for at in due[1:])
    assert len(details) == len(due) and all(d["Status"] == "ACSC" for d in details)
    assert pisp.balance_fen(debtor["AccountId"]) == before - 500 * len(due)


def test_a_final_date_ends_the_order(pisp):
    creditor = account(pisp, "li.na")
    debtor = account(pisp, "zhang.wei", "I")
    before = pisp.balance_fen(debtor["AccountId"])
    now = clock_now(pisp)
    body = standing_body(creditor["Identification"], later(now, days=1), "IntrvlDay:07", "8.00", final="1.00",
                         final_at=later(now, days=15), debtor=debtor["Identification"])  # fmt: skip
    order_id, _ = _order(pisp, body)
    pisp.advance_clock(60)
    assert len(_details(pisp, order_id)) == 3  # days 1, 8 and 15
    assert pisp.balance_fen(debtor["AccountId"]) == before - 800 - 800 - 100


def test_revocation_at_the_bank_stops_future_instalments_and_keeps_the_paid_ones(pisp):
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    before = pisp.balance_fen(debtor["AccountId"])
    body = standing_body(creditor["Identification"], later(clock_now(pisp), hours=6), "EvryDay", "7.00",
                         debtor=debtor["Identification"])  # fmt: skip
    order_id, consent_id = _order(pisp, body)
    pisp.advance_clock(1)
    assert len(_details(pisp, order_id)) == 1
    revoked = revoke_at_the_bank(pisp, consent_id)
    assert revoked.status_code == 200, revoked.text
    again = revoke_at_the_bank(pisp, consent_id)  # again: the same answer
    assert (
        again.status_code == 200 and again.json()["Data"]["Consent"][0]["Kind"] == "domestic-standing-order"
    )
    pisp.advance_clock(5)
    got = _get(pisp, order_id)
    assert got["Status"] == "CANC" and got["StatusReason"][0]["StatusReasonCode"] == "CANC"
    assert [d["Status"] for d in _details(pisp, order_id)] == ["ACSC"]
    assert pisp.balance_fen(debtor["AccountId"]) == before - 700
    assert f"{order_id}-CANC" in event_txns(pisp)


def test_the_consent_page_shows_the_standing_order(pisp):
    """The consent page (consent UI) knows the kind: amounts and frequency are shown to the customer."""
    from loadtests.partner import pkce_pair
    from tests.gateway.test_authorization_code import authorization_url, push
    from tests.gateway.test_consent_pages import browser_sign_in

    creditor = account(pisp, "li.na")
    body = standing_body(
        creditor["Identification"], later(clock_now(pisp), days=1), "IntrvlWkDay:01:05", "9.99"
    )
    created = create_consent(pisp, CONSENTS, body)
    consent_id = created.json()["Data"]["ConsentId"]
    internal = pisp.stack.services["payments"].get(f"/internal/v1/tenants/{pisp.tenant_id}/consents/{consent_id}",
                                                   headers=pisp.stack.internal_headers)  # fmt: skip
    assert internal.json()["Data"]["Kind"] == "domestic-standing-order"
    assert internal.json()["Data"]["AccountSelection"] == "one"
    _, challenge = pkce_pair()
    request_uri = push(
        pisp.stack, pisp.partner, challenge, scope="openid payments", openbanking_intent_id=consent_id
    )
    _, interaction, _ = browser_sign_in(pisp.stack, authorization_url(pisp.partner.client_id, request_uri))
    page = pisp.stack.gateway.get(interaction)
    assert page.status_code == 200 and "¥9.99" in page.text and creditor["Identification"] in page.text
    assert 'id="frequency">IntrvlWkDay:01:05<' in page.text
    assert body["Data"]["Initiation"]["MandateRelatedInformation"]["FirstPaymentDateTime"] in page.text


@pytest.mark.parametrize(
    ("change", "path", "code"),
    [
        ({"Frequency": {"Type": "NotKnown"}}, f"{MANDATE}.Frequency.Type", "U025"),
        ({"Frequency": {"Type": "MNTH"}}, f"{MANDATE}.Frequency.Type", "U025"),
        ({"Frequency": {"Type": "IntrvlMnthDay:07:01"}}, f"{MANDATE}.Frequency.Type", "U025"),
        ({"Frequency": {"Type": "EvryDay", "CountPerPeriod": 2}}, f"{MANDATE}.Frequency", "U025"),
        ({"FirstPaymentDateTime": "past"}, f"{MANDATE}.FirstPaymentDateTime", "U003"),
        ({"FirstPaymentDateTime": "beyond"}, f"{MANDATE}.FirstPaymentDateTime", "U003"),
        ({"FirstPaymentDateTime": None}, f"{MANDATE}.FirstPaymentDateTime", "U004"),
        ({"FinalPaymentDateTime": "before"}, f"{MANDATE}.FinalPaymentDateTime", "U003"),
        ({"RecurringPaymentDateTime": "before"}, f"{MANDATE}.RecurringPaymentDateTime", "U003"),
    ],
)  # fmt: skip
def test_bad_schedules_are_refused_with_the_path(pisp, change, path, code):
    now = clock_now(pisp)
    body = standing_body(account(pisp, "li.na")["Identification"], later(now, days=2), "EvryDay", "10.00")
    mandate = body["Data"]["Initiation"]["MandateRelatedInformation"]
    for name, value in change.items():
        if value is None:
            del mandate[name]
        elif value == "past":
            mandate[name] = later(now, hours=-1)
        elif value == "beyond":
            mandate[name] = later(now, days=500)
        elif value == "before":
            mandate[name] = later(now, days=1)
        else:
            mandate[name] = value
    refused = create_consent(pisp, CONSENTS, body)
    valid(f"/{CONSENTS}", "post", refused)
    assert refused.status_code == 400, refused.text
    error = refused.json()["Errors"][0]
    assert (error["Path"], error["ErrorCode"]) == (path, code)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"NumberOfPayments": "0"}, "Data.Initiation.NumberOfPayments"),
        ({"NumberOfPayments": "three"}, "Data.Initiation.NumberOfPayments"),
        ({"FinalPaymentAmount": {"Amount": "5.00", "Currency": "CNY"}}, "Data.Initiation.FinalPaymentAmount"),
        ({"RecurringPaymentAmount": {"Amount": "-5.00", "Currency": "CNY"}}, "Data.Initiation.RecurringPaymentAmount.Amount"),
        ({"RecurringPaymentAmount": {"Amount": "0", "Currency": "CNY"}}, "Data.Initiation.RecurringPaymentAmount.Amount"),
        ({"FirstPaymentAmount": {"Amount": "5.001", "Currency": "CNY"}}, "Data.Initiation.FirstPaymentAmount.Amount"),
        ({"FirstPaymentAmount": {"Amount": "5.00", "Currency": "EUR"}}, "Data.Initiation.FirstPaymentAmount.Currency"),
    ],
)  # fmt: skip
def test_bad_amounts_and_ends_are_refused_with_the_path(pisp, change, path):
    body = standing_body(
        account(pisp, "li.na")["Identification"], later(clock_now(pisp), days=2), "EvryDay", "10.00"
    )
    body["Data"]["Initiation"].update(change)
    refused = create_consent(pisp, CONSENTS, body)
    valid(f"/{CONSENTS}", "post", refused)
    assert refused.status_code == 400, refused.text
    assert refused.json()["Errors"][0]["Path"].startswith(path)


def test_number_of_payments_and_a_final_date_together_are_refused(pisp):
    now = clock_now(pisp)
    body = standing_body(account(pisp, "li.na")["Identification"], later(now, days=2), "EvryDay", "10.00",
                         number="3", final_at=later(now, days=9))  # fmt: skip
    refused = create_consent(pisp, CONSENTS, body)
    valid(f"/{CONSENTS}", "post", refused)
    assert (
        refused.status_code == 400
        and refused.json()["Errors"][0]["Path"] == "Data.Initiation.NumberOfPayments"
    )


def test_an_order_must_repeat_its_consent_and_uses_it_once(pisp):
    debtor = account(pisp, "zhang.wei", "I")
    before = pisp.balance_fen(debtor["AccountId"])
    body = standing_body(account(pisp, "li.na")["Identification"], later(clock_now(pisp), days=1), "EvryDay",
                         "10.00", number="2", debtor=debtor["Identification"])  # fmt: skip
    consent_id, token = authorised(pisp, CONSENTS, body)
    changed = {
        "Data": {"Initiation": dict(body["Data"]["Initiation"], NumberOfPayments="20")},
        "Risk": body["Risk"],
    }
    mismatch = submit(pisp, ORDERS, changed, consent_id, token)
    valid(f"/{ORDERS}", "post", mismatch)
    assert mismatch.status_code == 400 and mismatch.json()["Errors"][0]["ErrorCode"] == "U008"
    risk = {
        "Data": {"Initiation": body["Data"]["Initiation"]},
        "Risk": {"PaymentContextCode": "TransferToSelf"},
    }
    assert submit(pisp, ORDERS, risk, consent_id, token).json()["Errors"][0]["Path"] == "Risk"
    first = submit(pisp, ORDERS, body, consent_id, token, key="so-1")
    assert first.status_code == 201
    same = submit(pisp, ORDERS, body, consent_id, token, key="so-1")
    assert same.json()["Data"]["DomesticStandingOrderId"] == first.json()["Data"]["DomesticStandingOrderId"]
    other_body = submit(pisp, ORDERS, changed, consent_id, token, key="so-1")
    assert other_body.status_code == 400  # same key, another body
    reused = submit(pisp, ORDERS, body, consent_id, token, key="so-2")
    valid(f"/{ORDERS}", "post", reused)
    assert reused.status_code == 403
    pisp.advance_clock(5)
    assert pisp.balance_fen(debtor["AccountId"]) == before - 2000


def test_concurrent_clock_moves_pay_every_instalment_exactly_once(pisp, backend):
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")
    from concurrent.futures import ThreadPoolExecutor

    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    before = pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])
    now = clock_now(pisp)
    orders = []
    for amount in ("1.00", "2.00", "3.00"):
        body = standing_body(creditor["Identification"], later(now, hours=1), "EvryDay", amount, number="6",
                             debtor=debtor["Identification"])  # fmt: skip
        orders.append(_order(pisp, body)[0])
    move_clock_without_running_anything(pisp, 10)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: run_clock_moved_again(pisp), range(6)))
    for order_id in orders:
        assert [d["Status"] for d in _details(pisp, order_id)] == ["ACSC"] * 6
    assert pisp.balance_fen(debtor["AccountId"]) == before[0] - 6 * 600
    assert pisp.balance_fen(creditor["AccountId"]) == before[1] + 6 * 600
    assert pisp.ledger_balanced()


def test_a_reset_removes_the_tenants_orders(pisp):
    debtor, creditor = account(pisp, "zhang.wei", "I"), account(pisp, "li.na")
    body = standing_body(creditor["Identification"], later(clock_now(pisp), hours=1), "EvryDay", "1.00",
                         debtor=debtor["Identification"])  # fmt: skip
    order_id, _ = _order(pisp, body)
    reset = pisp.stack.gateway.post(
        "/sandbox/v1/reset", headers={"Authorization": f"Bearer {pisp.initial_token}"}
    )
    assert reset.status_code in (200, 202, 204), reset.text
    pisp._app_token = None  # tokens issued before the reset stop working
    before = pisp.balance_fen(debtor["AccountId"])
    pisp.advance_clock(3)
    assert pisp.balance_fen(debtor["AccountId"]) == before  # nothing left to execute
    assert pisp.call("GET", f"{PISP}/{ORDERS}/{order_id}").status_code == 403
