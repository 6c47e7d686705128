"""Domestic payments through the real partner journey; every PISP response validated against the OBIE OpenAPI."""

from __future__ import annotations

from datetime import datetime

from loadtests.partner import pkce_pair
from tests.gateway.test_authorization_code import authorization_url, exchange, headless, push, redirect_params
from tests.services.payments.conftest import OTHER_BANK_NUMBER, PISP, pisp_valid

AISP = "/open-banking/v4.0/aisp"


def _aisp_balance(pisp, username: str, account_id: str) -> str:
    """The booked balance the partner reads through the AISP API, with the persona's own account consent."""
    app = pisp.token_for("accounts")
    created = pisp.call("POST", f"{AISP}/account-access-consents", app,
                        json={"Data": {"Permissions": ["ReadAccountsBasic", "ReadBalances"]}, "Risk": {}})  # fmt: skip
    assert created.status_code == 201, created.text
    verifier, challenge = pkce_pair()
    request_uri = push(pisp.stack, pisp.partner, challenge, scope="openid accounts",
                       openbanking_intent_id=created.json()["Data"]["ConsentId"])  # fmt: skip
    params = redirect_params(headless(pisp.stack, pisp.initial_token,
                                      authorization_url(pisp.partner.client_id, request_uri), username=username))  # fmt: skip
    token = exchange(pisp.stack, pisp.partner, params["code"], verifier).json()["access_token"]
    balances = pisp.call("GET", f"{AISP}/accounts/{account_id}/balances", token)
    assert balances.status_code == 200, balances.text
    booked = next(b for b in balances.json()["Data"]["Balance"] if b["Type"] == "ITBD")
    return booked["Amount"]["Amount"]


def _class(pisp, username: str, account_class: str) -> dict:
    return next(a for a in pisp.accounts_of(username) if a["AccountClass"] == account_class)


def test_zhang_wei_pays_li_na_at_this_bank_and_both_balances_move_at_once(pisp):
    debtor = _class(pisp, "zhang.wei", "I")
    creditor = pisp.accounts_of("li.na")[0]
    debtor_before, creditor_before = (
        pisp.balance_fen(debtor["AccountId"]),
        pisp.balance_fen(creditor["AccountId"]),
    )
    body = pisp.consent_body(creditor["Identification"], "123.45")
    created = pisp.create_consent(body)
    pisp_valid("/domestic-payment-consents", "post", created)
    consent_id = created.json()["Data"]["ConsentId"]
    assert created.json()["Data"]["Status"] == "AWAU"

    token = pisp.authorise(consent_id, "zhang.wei", account_ids=[debtor["AccountId"]])
    read = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}")
    pisp_valid("/domestic-payment-consents/{ConsentId}", "get", read)
    assert read.json()["Data"]["Status"] == "AUTH"
    funds = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}/funds-confirmation", token)
    pisp_valid("/domestic-payment-consents/{ConsentId}/funds-confirmation", "get", funds)
    assert funds.json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is True

    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    data = paid.json()["Data"]
    assert data["Status"] == "ACCC" and data["ConsentId"] == consent_id
    assert pisp.balance_fen(debtor["AccountId"]) == debtor_before - 12345
    assert pisp.balance_fen(creditor["AccountId"]) == creditor_before + 12345
    assert pisp.ledger_balanced()
    for username, account_id, expected_fen in (("zhang.wei", debtor["AccountId"], debtor_before - 12345),
                                               ("li.na", creditor["AccountId"], creditor_before + 12345)):  # fmt: skip
        assert _aisp_balance(pisp, username, account_id) == f"{expected_fen // 100}.{expected_fen % 100:02d}"

    payment_id = data["DomesticPaymentId"]
    got = pisp.call("GET", f"{PISP}/domestic-payments/{payment_id}")  # the partner's own token
    pisp_valid("/domestic-payments/{DomesticPaymentId}", "get", got)
    assert got.json()["Data"]["Status"] == "ACCC"
    details = pisp.call("GET", f"{PISP}/domestic-payments/{payment_id}/payment-details")
    pisp_valid("/domestic-payments/{DomesticPaymentId}/payment-details", "get", details)
    assert details.json()["Data"]["PaymentStatus"][0]["Status"] == "ACCC"
    consumed = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}")
    assert consumed.json()["Data"]["Status"] == "COND"


def test_a_payment_to_another_bank_is_in_clearing_until_the_clock_moves(pisp):
    debtor = _class(pisp, "zhang.wei", "I")
    before = pisp.balance_fen(debtor["AccountId"])
    body, consent_id, token = pisp.authorised_consent("zhang.wei", OTHER_BANK_NUMBER, "50.00")
    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    assert paid.json()["Data"]["Status"] == "ACSP"
    assert "ExpectedSettlementDateTime" in paid.json()["Data"]
    assert pisp.balance_fen(debtor["AccountId"]) == before - 5000  # debited to the outbound clearing account
    pisp.advance_clock(1)
    got = pisp.call("GET", f"{PISP}/domestic-payments/{paid.json()['Data']['DomesticPaymentId']}")
    pisp_valid("/domestic-payments/{DomesticPaymentId}", "get", got)
    assert got.json()["Data"]["Status"] == "ACSC"
    assert pisp.balance_fen(debtor["AccountId"]) == before - 5000
    assert pisp.ledger_balanced()


def test_insufficient_funds_is_rejected_with_a_reason_and_nothing_moves(pisp):
    debtor = _class(pisp, "zhang.wei", "I")
    creditor = pisp.accounts_of("li.na")[0]
    pisp.move_out(
        debtor["AccountId"], pisp.balance_fen(debtor["AccountId"]) - 10_000
    )  # leave ¥100 (within limits)
    before = pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])
    too_much = f"{before[0] // 100 + 1}.00"
    body = pisp.consent_body(creditor["Identification"], too_much, debtor=debtor["Identification"])
    consent_id = pisp.create_consent(body).json()["Data"]["ConsentId"]
    token = pisp.authorise(consent_id, "zhang.wei")
    funds = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}/funds-confirmation", token)
    assert funds.json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is False
    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    data = paid.json()["Data"]
    assert data["Status"] == "RJCT" and data["StatusReason"][0]["StatusReasonCode"] == "AM04"
    assert (pisp.balance_fen(debtor["AccountId"]), pisp.balance_fen(creditor["AccountId"])) == before


def test_the_same_idempotency_key_returns_the_first_payment_and_money_moves_once(pisp):
    debtor = _class(pisp, "zhang.wei", "I")
    creditor = pisp.accounts_of("li.na")[0]
    body, consent_id, token = pisp.authorised_consent(
        "zhang.wei", creditor["Identification"], "10.00", debtor=debtor["Identification"]
    )
    before = pisp.balance_fen(debtor["AccountId"])
    first = pisp.pay(body, consent_id, token, key="pay-once")
    again = pisp.pay(body, consent_id, token, key="pay-once")
    assert first.status_code == again.status_code == 201
    assert again.json()["Data"]["DomesticPaymentId"] == first.json()["Data"]["DomesticPaymentId"]
    assert pisp.balance_fen(debtor["AccountId"]) == before - 1000
    other_key = pisp.pay(body, consent_id, token, key="pay-twice")
    assert other_key.status_code == 403  # the consent is consumed
    pisp_valid("/domestic-payments", "post", other_key)
    changed = dict(body, Risk={"PaymentContextCode": "TransferToSelf"})
    assert pisp.pay(changed, consent_id, token, key="pay-once").status_code == 400  # same key, other body
    assert pisp.balance_fen(debtor["AccountId"]) == before - 1000


def test_initiation_or_risk_differing_from_the_consent_is_refused_and_the_consent_stays_usable(pisp):
    creditor = pisp.accounts_of("li.na")[0]
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor["Identification"], "10.00")
    tampered = {"Data": {"Initiation": dict(body["Data"]["Initiation"],
                                            InstructedAmount={"Amount": "1000.00", "Currency": "CNY"})},
                "Risk": body["Risk"]}  # fmt: skip
    refused = pisp.pay(tampered, consent_id, token)
    assert refused.status_code == 400 and refused.json()["Errors"][0]["Path"] == "Data.Initiation"
    pisp_valid("/domestic-payments", "post", refused)
    risk = pisp.pay({"Data": body["Data"], "Risk": {}}, consent_id, token)
    assert risk.status_code == 400 and risk.json()["Errors"][0]["Path"] == "Risk"
    assert pisp.pay(body, consent_id, token).status_code == 201


def test_bad_consent_requests_get_obie_errors(pisp):
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    missing_key = pisp.call("POST", f"{PISP}/domestic-payment-consents", json=pisp.consent_body(creditor))
    assert missing_key.status_code == 400
    pisp_valid("/domestic-payment-consents", "post", missing_key)
    cases = {
        "Data.Initiation.InstructedAmount.Amount": pisp.consent_body(creditor, "0.00"),
        "Data.Initiation.InstructedAmount.Currency": pisp.consent_body(
            creditor, InstructedAmount={"Amount": "1.00", "Currency": "USD"}
        ),
        "Data.Initiation.CreditorAccount.Identification": pisp.consent_body("6219990000000000000"),
        "Data.Initiation.CreditorAccount.SchemeName": pisp.consent_body(
            creditor, CreditorAccount={"SchemeName": "UK.OBIE.IBAN", "Identification": "GB00", "Name": "x"}
        ),
    }
    for path, body in cases.items():
        response = pisp.create_consent(body)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["Errors"][0]["Path"] == path, response.text
    too_precise = pisp.create_consent(pisp.consent_body(creditor, "1.001"))
    assert too_precise.status_code == 400
    same = pisp.consent_body(creditor, debtor=creditor)
    assert pisp.create_consent(same).status_code == 400  # creditor equal to debtor


def test_consent_idempotency_returns_the_first_consent(pisp):
    body = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"])
    first, again = pisp.create_consent(body, key="c-1"), pisp.create_consent(body, key="c-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["Data"]["ConsentId"] == again.json()["Data"]["ConsentId"]
    other = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"], "2.00")
    assert pisp.create_consent(other, key="c-1").status_code == 400


def test_an_unused_consent_expires_by_the_tenant_clock(pisp, stack):
    body = pisp.consent_body(pisp.accounts_of("li.na")[0]["Identification"])
    consent_id = pisp.create_consent(body).json()["Data"]["ConsentId"]
    pisp.advance_clock(2)
    read = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}")
    pisp_valid("/domestic-payment-consents/{ConsentId}", "get", read)
    assert read.json()["Data"]["Status"] == "RJCT"
    assert read.json()["Data"]["StatusReason"][0]["StatusReasonCode"] == "EXPD"
    internal = stack.services["payments"].get(
        f"/internal/v1/tenants/{pisp.tenant_id}/consents/{consent_id}", headers=stack.internal_headers
    )
    assert internal.json()["Data"]["Status"] == "EXPD"


def test_another_clients_consent_and_payment_answer_403(pisp, stack):
    from tests.services.payments.conftest import make_pisp

    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor, "1.00")
    payment_id = pisp.pay(body, consent_id, token).json()["Data"]["DomesticPaymentId"]
    stranger = make_pisp(stack, pisp.tenant_id, pisp.initial_token)
    for path in (f"/domestic-payment-consents/{consent_id}", f"/domestic-payments/{payment_id}",
                 f"/domestic-payments/{payment_id}/payment-details", "/domestic-payments/dp_unknown"):  # fmt: skip
        response = stranger.call("GET", PISP + path)
        assert response.status_code == 403, (path, response.text)
    # A client-credentials token cannot make a payment, nor confirm funds.
    assert pisp.pay(body, consent_id, pisp.app_token()).status_code == 403


def test_a_payment_after_a_clock_move_is_made_at_the_moved_time(pisp):
    """The route's async path guesses the tenant's clock from the last payment; after a move the guess is wrong and
    the payment starts over at the new time (its date, its day counters), never at the old one."""
    creditor = pisp.accounts_of("li.na")[0]["Identification"]
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor, "1.00")
    first = pisp.pay(body, consent_id, token)
    assert first.status_code == 201 and first.json()["Data"]["Status"] == "ACCC"
    pisp.advance_clock(3)
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor, "1.00")
    consent = pisp.call("GET", f"{PISP}/domestic-payment-consents/{consent_id}").json()["Data"]
    paid = pisp.pay(body, consent_id, token)
    pisp_valid("/domestic-payments", "post", paid)
    data = paid.json()["Data"]
    assert data["Status"] == "ACCC"
    created = datetime.fromisoformat(data["CreationDateTime"])
    assert created >= datetime.fromisoformat(consent["CreationDateTime"])  # read at the moved clock
    assert (created - datetime.fromisoformat(first.json()["Data"]["CreationDateTime"])).days >= 3
