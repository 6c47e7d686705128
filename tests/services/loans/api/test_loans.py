"""Offer → loan → disbursement through the ledger exactly once; schedules; early repayments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from tests.services.loans.conftest import PERSONAS

ZHANG = PERSONAS["zhang.wei"]


def _fen(amount: dict) -> int:
    return int(Decimal(amount["Amount"]) * 100)


def _approved(partner, username="zhang.wei", **terms):
    customer_id, consent_id, response = partner.journey(username, **terms)
    assert response.status_code == 201, response.text
    data = response.json()["Data"]
    assert data["Decision"]["Outcome"] == "APPROVED", data
    account_id = (
        partner.stack.services["loans"]
        .get(
            f"/internal/v1/tenants/{partner.tenant_id}/consents/{consent_id}",
            headers=partner.stack.internal_headers,
        )
        .json()["Data"]["AccountIds"][0]
    )
    return customer_id, consent_id, data, account_id


def _accept(partner, customer_id, consent_id, data, key="accept-1", offer_id=None):
    return partner.stack.gateway.post(
        f"/lending/v1/applications/{data['ApplicationId']}/accept",
        json={"Data": {"OfferId": offer_id or data["Offer"]["OfferId"]}, "Risk": {}},
        headers=partner.customer_headers(customer_id, consent_id, key),
    )


def test_accepting_an_offer_disburses_once_into_the_customers_account(partner):
    customer_id, consent_id, data, account_id = _approved(partner)
    before_fen = partner.balance_fen(account_id)
    accepted = _accept(partner, customer_id, consent_id, data)
    assert accepted.status_code == 201, accepted.text
    loan = accepted.json()["Data"]
    assert loan["Status"] == "ACTIVE" and loan["Principal"] == data["Offer"]["Amount"]
    assert partner.balance_fen(account_id) - before_fen == _fen(data["Offer"]["Amount"])
    again = _accept(partner, customer_id, consent_id, data, key="accept-2")
    assert again.status_code == 201 and again.json()["Data"]["LoanId"] == loan["LoanId"]
    assert partner.balance_fen(account_id) - before_fen == _fen(data["Offer"]["Amount"])  # once
    assert partner.ledger_balanced()
    headers = partner.customer_headers(customer_id, consent_id)
    shown = partner.stack.gateway.get(f"/lending/v1/loans/{loan['LoanId']}", headers=headers).json()["Data"]
    assert shown["Status"] == "ACTIVE" and shown["DisbursementTransactionId"]
    schedule = partner.stack.gateway.get(f"/lending/v1/loans/{loan['LoanId']}/schedule", headers=headers)
    instalments = schedule.json()["Data"]["Instalment"]
    assert len(instalments) == 12
    assert sum(_fen(i["Principal"]) for i in instalments) == _fen(loan["Principal"])
    assert [i["Total"] for i in instalments[:-1]] == [data["Offer"]["Instalments"][0]["Total"]] * 11


def test_someone_elses_wrong_or_expired_offer_is_refused_and_moves_nothing(partner):
    customer_id, consent_id, data, account_id = _approved(partner)
    before_fen = partner.balance_fen(account_id)
    li_consent = partner.create_consent().json()["Data"]["ConsentId"]
    stranger = _accept(partner, PERSONAS["li.na"], li_consent, data)
    assert stranger.status_code == 403
    wrong = _accept(partner, customer_id, consent_id, data, offer_id="off_nope")
    assert wrong.status_code == 409 and wrong.json()["Errors"][0]["Path"] == "Data.OfferId"
    partner.advance_clock(8)
    expired = _accept(partner, customer_id, consent_id, data)
    assert expired.status_code == 409 and "expired" in expired.json()["Errors"][0]["Message"]
    assert partner.balance_fen(account_id) == before_fen


def test_declined_application_has_no_offer_to_accept(partner):
    customer_id, consent_id, response = partner.journey("liu.yang")
    data = response.json()["Data"]
    assert "Offer" not in data
    refused = _accept(partner, customer_id, consent_id, data, offer_id="off_anything")
    assert refused.status_code == 409


def test_early_partial_then_full_repayment_recomputes_and_closes(partner):
    customer_id, consent_id, data, account_id = _approved(partner)
    loan_id = _accept(partner, customer_id, consent_id, data).json()["Data"]["LoanId"]
    headers = partner.customer_headers(customer_id, consent_id, "rep-1")
    path = f"/lending/v1/loans/{loan_id}/repayments"
    before_fen = partner.balance_fen(account_id)
    too_much = partner.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": "60000.00", "Currency": "CNY"}}}, headers=headers
    )
    assert too_much.status_code == 400 and too_much.json()["Errors"][0]["Path"] == "Data.Amount.Amount"
    assert partner.balance_fen(account_id) == before_fen
    partial = partner.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": "20000.00", "Currency": "CNY"}}}, headers=headers
    )
    assert partial.status_code == 201, partial.text
    assert partial.json()["Data"]["OutstandingPrincipal"]["Amount"] == "30000.00"  # same day: no interest yet
    replay = partner.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": "20000.00", "Currency": "CNY"}}}, headers=headers
    )
    assert replay.json() == partial.json()  # the same key never takes the money twice
    assert before_fen - partner.balance_fen(account_id) == 2_000_000
    schedule = partner.stack.gateway.get(f"/lending/v1/loans/{loan_id}/schedule", headers=headers).json()[
        "Data"
    ]
    assert sum(_fen(i["Principal"]) for i in schedule["Instalment"]) == 3_000_000
    assert len(schedule["Instalment"]) == 12
    partner.advance_clock(10)
    wrong_full = partner.stack.gateway.post(
        path,
        json={"Data": {"Amount": {"Amount": "30000.00", "Currency": "CNY"}, "Type": "FULL"}},
        headers=partner.customer_headers(customer_id, consent_id, "rep-2"),
    )
    assert wrong_full.status_code == 400  # ten days of interest are owed too
    interest_fen = round(3_000_000 * Decimal(data["Offer"]["AnnualPercentageRate"]) / 100 * 10 / 360)
    payoff = f"{Decimal(3_000_000 + interest_fen) / 100:.2f}"
    full = partner.stack.gateway.post(
        path,
        json={"Data": {"Amount": {"Amount": payoff, "Currency": "CNY"}, "Type": "FULL"}},
        headers=partner.customer_headers(customer_id, consent_id, "rep-3"),
    )
    assert full.status_code == 201, full.text
    assert (
        full.json()["Data"]["LoanStatus"] == "CLOSED"
        and _fen(full.json()["Data"]["Interest"]) == interest_fen
    )
    closed = partner.stack.gateway.post(
        path,
        json={"Data": {"Amount": {"Amount": "1.00", "Currency": "CNY"}}},
        headers=partner.customer_headers(customer_id, consent_id, "rep-4"),
    )
    assert closed.status_code == 400
    assert partner.ledger_balanced()


def test_the_unsecured_cap_is_checked_again_at_acceptance(partner):
    offers = [_approved(partner, amount="60000.00") for _ in range(4)]
    statuses = [
        _accept(partner, c, k, d, key=f"cap-{n}").status_code for n, (c, k, d, _) in enumerate(offers)
    ]
    # zhang.wei's limit is about ¥60,600: each offer is fine alone, but 4 × ¥60,000 > ¥200,000
    assert statuses == [201, 201, 201, 409]


@pytest.mark.parametrize("threads", [100])
def test_concurrent_accepts_of_one_offer_make_one_loan_and_one_disbursement(partner, backend, threads):
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")
    customer_id, consent_id, data, account_id = _approved(partner)
    before_fen = partner.balance_fen(account_id)
    with ThreadPoolExecutor(max_workers=32) as pool:
        responses = list(
            pool.map(
                lambda n: _accept(partner, customer_id, consent_id, data, key=f"race-{n}"), range(threads)
            )
        )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201][
        :3
    ]
    assert len({r.json()["Data"]["LoanId"] for r in responses}) == 1
    assert partner.balance_fen(account_id) - before_fen == _fen(data["Offer"]["Amount"])
    assert partner.ledger_balanced()


def _account_number(partner, customer_id: str) -> tuple[str, str]:
    from sqlalchemy import select

    from services.accounts.models import Account

    with partner.stack.db("accounts").read_session() as session:
        account = session.scalars(
            select(Account).where(Account.tenant_id == partner.tenant_id, Account.customer_id == customer_id)
        ).first()
        return account.account_id, account.account_number


def test_an_entrusted_payment_is_disbursed_to_the_merchant(partner):
    merchant_id, merchant_number = _account_number(partner, "CUS000101")  # 华兴商贸's corporate account
    payee = {
        "SchemeName": "CN.CNAPS.AccountNumber",
        "Identification": merchant_number,
        "Name": "深圳市华兴商贸有限公司",
    }
    customer_id, consent_id, data, account_id = _approved(partner, amount="8000.00", Payee=payee)
    merchant_before, customer_before = partner.balance_fen(merchant_id), partner.balance_fen(account_id)
    loan = _accept(partner, customer_id, consent_id, data).json()["Data"]
    assert loan["DisbursementAccountId"] == merchant_id and loan["RepaymentAccountId"] == account_id
    assert partner.balance_fen(merchant_id) - merchant_before == 800_000
    assert partner.balance_fen(account_id) == customer_before


def test_a_payee_that_is_not_a_merchant_account_here_is_refused(partner):
    _, personal_number = _account_number(partner, PERSONAS["li.na"])
    for number in (personal_number, "6219980000000000000"):
        payee = {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": number}
        response = partner.create_consent(Payee=payee)
        assert response.status_code == 400, response.text
        assert response.json()["Errors"][0]["Path"] == "Data.Payee.Identification"


class _LosesLedgerAnswers:
    """The ledger posts, but the answer is lost on the way back (a crash or timeout after the commit)."""

    def __init__(self, real):
        self.real = real

    def get(self, *args, **kwargs):
        return self.real.get(*args, **kwargs)

    def post(self, path, **kwargs):
        response = self.real.post(path, **kwargs)
        if "/ledger/transactions" in path:
            from openbank_kit.http_client import ServiceCallError

            raise ServiceCallError("http://accounts", "connection reset after the request was sent")
        assert "/loan-accounts" in path, f"unexpected call {path}"  # opening the loan account is answered
        return response

    def close(self):
        pass


def test_a_lost_ledger_answer_leaves_the_loan_disbursing_and_a_retry_never_posts_twice(partner):
    customer_id, consent_id, data, account_id = _approved(partner)
    before_fen = partner.balance_fen(account_id)
    loans = partner.stack.services["loans"].app
    real = loans.state.accounts_client
    loans.state.accounts_client = _LosesLedgerAnswers(real)
    try:
        lost = _accept(partner, customer_id, consent_id, data)
    finally:
        loans.state.accounts_client = real
    assert lost.status_code == 503
    assert partner.balance_fen(account_id) - before_fen == _fen(
        data["Offer"]["Amount"]
    )  # the posting happened
    retried = _accept(partner, customer_id, consent_id, data, key="accept-retry")
    assert retried.status_code == 201 and retried.json()["Data"]["Status"] == "ACTIVE"
    assert partner.balance_fen(account_id) - before_fen == _fen(data["Offer"]["Amount"])  # and only once
    assert partner.ledger_balanced()


def test_an_sme_tax_loan_is_paid_into_the_business_account(partner):
    customer_id, consent_id, data, account_id = _approved(partner, "sun.hui", product_id="sme-tax-loan")
    business_account_id, _ = _account_number(partner, "CUS000101")
    assert account_id == business_account_id  # the consent chose the company's account
    before_fen = partner.balance_fen(business_account_id)
    loan = _accept(partner, customer_id, consent_id, data).json()["Data"]
    assert loan["ProductId"] == "sme-tax-loan" and loan["Status"] == "ACTIVE"
    assert partner.balance_fen(business_account_id) - before_fen == 5_000_000


def test_a_customer_with_only_a_class_iii_account_cannot_authorise_a_loan(partner):
    consent_id = partner.create_consent(amount="1000.00").json()["Data"]["ConsentId"]
    response = partner.authorise(consent_id, PERSONAS["zhao.min"])
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "AccountIds"
