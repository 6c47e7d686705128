"""The loan book: each loan is a LOAN receivable account in the ledger, visible in AISP; disbursement, instalments,
penalty and payoff post to the right accounts to the fen; every status change reaches the partner as an event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from loadtests.partner import ISSUER
from openbank_kit.http_client import ServiceClient
from services.accounts.ledger_verify import verify_tenant
from tests.obie_schema import assert_obie_response
from tests.services.accounts.conftest import SandboxApp
from tests.services.loans.api.test_clock import _move
from tests.services.loans.api.test_loans import _accept, _account_number, _approved, _fen
from tests.services.loans.conftest import PERSONAS, Partner

INTEREST_INCOME = "INT-LOAN-INTEREST-INCOME"
PENALTY_INCOME = "INT-PENALTY-INTEREST-INCOME"
CLEARING = "INT-CLEARING-CNAPS"
OLD_INTEREST = "INT-INTEREST-EXPENSE"
RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
AISP_READS = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits",
              "ReadTransactionsDebits", "ReadProducts"]  # fmt: skip


class BookPartner(Partner):
    """A lending partner that also reads AISP and polls events with the same client."""

    client_secret: str = ""

    @property
    def aisp(self) -> SandboxApp:
        return SandboxApp(self.stack, self.tenant_id, self.initial_token, self.client_id, self.client_secret)

    def balances_fen(self, *account_ids: str) -> dict[str, int]:
        return {account_id: self.balance_fen(account_id) for account_id in account_ids}

    def clock_today(self) -> date:
        now = self.stack.gateway.get(
            "/sandbox/v1/clock", headers={"Authorization": f"Bearer {self.initial_token}"}
        ).json()["Now"]
        return date.fromisoformat(now[:10])

    def loan(self, customer_id: str, consent_id: str, loan_id: str) -> dict:
        headers = self.customer_headers(customer_id, consent_id)
        response = self.stack.gateway.get(f"/lending/v1/loans/{loan_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["Data"]

    def schedule(self, customer_id: str, consent_id: str, loan_id: str) -> list[dict]:
        headers = self.customer_headers(customer_id, consent_id)
        response = self.stack.gateway.get(f"/lending/v1/loans/{loan_id}/schedule", headers=headers)
        return response.json()["Data"]["Instalment"]

    def events_token(self) -> str:
        """The same client's client-credentials token for the events API (payments scope)."""
        form = {"grant_type": "client_credentials", "scope": "payments", "client_id": self.client_id,
                "client_secret": self.client_secret}  # fmt: skip
        response = self.stack.gateway.post("/oauth2/token", data=form)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def loan_events(self) -> list[dict]:
        """Poll the events (acknowledging them) and return the verified claims of the loan resource-updates."""
        headers = {"Authorization": f"Bearer {self.events_token()}"}
        response = self.stack.gateway.post(
            "/open-banking/v4.0/events", json={"returnImmediately": True, "maxEvents": 100}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert_obie_response("events", "/events", "post", response)
        sets = response.json()["sets"]
        if sets:
            acked = self.stack.gateway.post(
                "/open-banking/v4.0/events", json={"ack": list(sets), "maxEvents": 0}, headers=headers
            )
            assert acked.status_code == 200, acked.text
        keys = KeySet.import_key_set(self.stack.gateway.get("/oauth2/jwks").json())
        claims = [jwt.decode(value, keys, algorithms=["ES256"]).claims for value in sets.values()]
        return sorted(
            (c for c in claims if c["sub"].startswith(f"{ISSUER}/lending/v1/loans/")), key=lambda c: c["txn"]
        )


@pytest.fixture
def book(stack, new_tenant) -> BookPartner:
    tenant_id, initial_token = new_tenant("book")
    registration = stack.gateway.post(
        "/sandbox/v1/apps",
        json={"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]},
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert registration.status_code == 201, registration.text
    app = registration.json()
    form = {"grant_type": "client_credentials", "scope": "lending", "client_id": app["client_id"],
            "client_secret": app["client_secret"]}  # fmt: skip
    token = stack.gateway.post("/oauth2/token", data=form)
    assert token.status_code == 200, token.text
    partner = BookPartner(stack, tenant_id, app["client_id"], token.json()["access_token"], initial_token)
    partner.client_secret = app["client_secret"]
    return partner


def _changes(events: list[dict]) -> list[str]:
    """The change each event reports, from its txn (the EventId: <LoanId>-<sequence>-<change>)."""
    return [event["txn"].split("-", 2)[2] for event in events]


def _pay_off(book: BookPartner, customer_id: str, consent_id: str, loan_id: str, key: str):
    """Repay in FULL: the amount owed today is quoted by the refusal of a wrong FULL amount."""
    path = f"/lending/v1/loans/{loan_id}/repayments"
    quote = book.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": "0.01", "Currency": "CNY"}, "Type": "FULL"}},
        headers=book.customer_headers(customer_id, consent_id, f"{key}-quote"),
    )  # fmt: skip
    assert quote.status_code == 400, quote.text
    amount = quote.json()["Errors"][0]["Message"].split(" is ")[1].split(" ")[0]
    repaid = book.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": amount, "Currency": "CNY"}, "Type": "FULL"}},
        headers=book.customer_headers(customer_id, consent_id, key),
    )  # fmt: skip
    assert repaid.status_code == 201, repaid.text
    assert repaid.json()["Data"]["LoanStatus"] == "CLOSED"
    return repaid


def _penalty_fen(owed_fen: int, annual_percent: str, days: int) -> int:
    rate = Decimal(annual_percent) / 100 * Decimal("1.5")  # contract rate +50%
    return int((Decimal(owed_fen) * rate * days / 360).quantize(Decimal(1), "ROUND_HALF_UP"))


def test_a_loan_life_cycle_posts_to_the_loan_and_income_accounts_to_the_fen(book, stack):
    customer_id, consent_id, data, account_id = _approved(book)
    principal_fen = _fen(data["Offer"]["Amount"])
    watched = (account_id, INTEREST_INCOME, PENALTY_INCOME, CLEARING, OLD_INTEREST)
    start = book.balances_fen(*watched)

    accepted = _accept(book, customer_id, consent_id, data)
    assert accepted.status_code == 201, accepted.text
    loan_id = accepted.json()["Data"]["LoanId"]
    assert accepted.json()["Data"]["LoanAccountId"] == loan_id  # the receivable account is named by the loan
    # Disbursement: Dr loan receivable (debit balance = negative here), Cr the customer's account.
    assert book.balance_fen(loan_id) == -principal_fen
    after = book.balances_fen(*watched)
    assert after[account_id] - start[account_id] == principal_fen
    assert {k: after[k] - start[k] for k in watched[1:]} == {k: 0 for k in watched[1:]}  # clearing untouched
    schedule = book.schedule(customer_id, consent_id, loan_id)
    first, second = schedule[0], schedule[1]

    # Instalment 1 on its due date: Dr customer; Cr loan (principal), Cr interest income (interest).
    before = book.balances_fen(loan_id, *watched)
    book.advance_clock(32)
    moved = {k: v - before[k] for k, v in book.balances_fen(loan_id, *watched).items()}
    assert moved == {loan_id: _fen(first["Principal"]), account_id: -_fen(first["Total"]),
                     INTEREST_INCOME: _fen(first["Interest"]), PENALTY_INCOME: 0, CLEARING: 0,
                     OLD_INTEREST: 0}  # fmt: skip

    # Instalment 2 goes overdue (no funds): nothing moves.
    _move(book, account_id, book.balance_fen(account_id) - 10_000, out=True, key=f"drain-{loan_id[-20:]}")
    before = book.balances_fen(loan_id, *watched)
    book.advance_clock(31)
    assert book.balances_fen(loan_id, *watched) == before
    assert book.loan(customer_id, consent_id, loan_id)["Status"] == "OVERDUE"

    # Funds arrive; collected ten days later with 罚息, which goes to the penalty income account.
    _move(book, account_id, 6_000_000, out=False, key=f"topup-{loan_id[-20:]}")
    before = book.balances_fen(loan_id, *watched)
    book.advance_clock(10)
    late_days = (book.clock_today() - date.fromisoformat(second["DueDate"])).days
    penalty_fen = _penalty_fen(_fen(second["Total"]), data["Offer"]["AnnualPercentageRate"], late_days)
    assert penalty_fen > 0
    moved = {k: v - before[k] for k, v in book.balances_fen(loan_id, *watched).items()}
    assert moved == {loan_id: _fen(second["Principal"]), account_id: -(_fen(second["Total"]) + penalty_fen),
                     INTEREST_INCOME: _fen(second["Interest"]), PENALTY_INCOME: penalty_fen, CLEARING: 0,
                     OLD_INTEREST: 0}  # fmt: skip
    loan = book.loan(customer_id, consent_id, loan_id)
    assert loan["Status"] == "ACTIVE"
    outstanding_fen = principal_fen - _fen(first["Principal"]) - _fen(second["Principal"])
    assert _fen(loan["OutstandingPrincipal"]) == outstanding_fen == -book.balance_fen(loan_id)

    # Payoff: principal back to the loan account (now zero), accrued interest to interest income.
    days = (book.clock_today() - date.fromisoformat(second["DueDate"])).days
    interest_fen = int(
        (
            Decimal(outstanding_fen) * Decimal(data["Offer"]["AnnualPercentageRate"]) / 100 * days / 360
        ).quantize(Decimal(1), "ROUND_HALF_UP")
    )
    before = book.balances_fen(loan_id, *watched)
    payoff = {"Amount": f"{Decimal(outstanding_fen + interest_fen) / 100:.2f}", "Currency": "CNY"}
    full = stack.gateway.post(
        f"/lending/v1/loans/{loan_id}/repayments",
        json={"Data": {"Amount": payoff, "Type": "FULL"}},
        headers=book.customer_headers(customer_id, consent_id, "payoff-1"),
    )
    assert full.status_code == 201, full.text
    assert full.json()["Data"]["LoanStatus"] == "CLOSED"
    moved = {k: v - before[k] for k, v in book.balances_fen(loan_id, *watched).items()}
    assert moved == {loan_id: outstanding_fen, account_id: -(outstanding_fen + interest_fen),
                     INTEREST_INCOME: interest_fen, PENALTY_INCOME: 0, CLEARING: 0, OLD_INTEREST: 0}  # fmt: skip
    assert book.balance_fen(loan_id) == 0

    # `openbank ledger verify`: every invariant holds after the whole life cycle.
    report = verify_tenant(stack.db("accounts"), book.tenant_id)
    assert report.breach_count == 0, report.breaches
    assert book.ledger_balanced()


def test_an_entrusted_payment_debits_the_loan_account_and_credits_the_merchant(book):
    merchant_id, merchant_number = _account_number(book, "CUS000101")  # 华兴商贸's corporate account
    payee = {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": merchant_number,
             "Name": "深圳市华兴商贸有限公司"}  # fmt: skip
    customer_id, consent_id, data, account_id = _approved(book, amount="8000.00", Payee=payee)
    before = book.balances_fen(account_id, merchant_id)
    loan = _accept(book, customer_id, consent_id, data).json()["Data"]
    assert loan["DisbursementAccountId"] == merchant_id
    assert book.balance_fen(loan["LoanId"]) == -800_000
    after = book.balances_fen(account_id, merchant_id)
    assert after[merchant_id] - before[merchant_id] == 800_000
    assert after[account_id] == before[account_id]  # the borrower's own account is not credited
    # The loan account is the borrower's, bound to the account instalments are taken from.
    opened = book.stack.services["accounts"].post(
        f"/internal/v1/tenants/{book.tenant_id}/loan-accounts",
        json={"LoanId": loan["LoanId"], "BorrowerAccountId": account_id},
        headers=book.stack.internal_headers,
    )
    assert opened.status_code == 200 and opened.json()["Data"]["CustomerId"] == customer_id


def _aisp_token(book: BookPartner, customer_id: str, account_ids=None) -> str:
    return book.aisp.authorised_token(customer_id, AISP_READS, account_ids=account_ids)


def test_the_loan_is_a_loan_account_in_aisp_with_its_outstanding_principal(book):
    customer_id, consent_id, data, account_id = _approved(book)
    aisp = book.aisp
    old_token = _aisp_token(book, customer_id)  # authorised before the loan exists
    loan_id = _accept(book, customer_id, consent_id, data).json()["Data"]["LoanId"]
    principal = data["Offer"]["Amount"]["Amount"]

    # OBIE: the accounts are those selected at authorisation; a loan opened later is not in the old consent.
    listed = aisp.read("/accounts", old_token, "/accounts").json()["Data"]["Account"]
    assert loan_id not in [a["AccountId"] for a in listed]
    assert aisp.call("GET", f"/accounts/{loan_id}/balances", old_token).status_code == 403

    token = _aisp_token(book, customer_id)  # a new consent sees it
    listed = aisp.read("/accounts", token, "/accounts").json()["Data"]["Account"]
    (loan_account,) = [a for a in listed if a["AccountId"] == loan_id]
    assert loan_account["AccountTypeCode"] == "LOAN" and loan_account["AccountCategory"] == "Personal"
    assert loan_account["Status"] == "Enabled" and "贷款" in loan_account["Description"]
    number = loan_account["Account"][0]["Identification"]
    assert len(number) == 19 and number.isdigit()  # a loan account has no card number to mask
    aisp.read(f"/accounts/{loan_id}", token, "/accounts/{AccountId}")

    def balance() -> dict:
        body = aisp.read(f"/accounts/{loan_id}/balances", token, "/accounts/{AccountId}/balances").json()
        (only,) = body["Data"]["Balance"]
        return only

    shown = balance()
    assert (shown["Type"], shown["CreditDebitIndicator"], shown["Amount"]) == (
        "ITBD", "Debit", {"Amount": principal, "Currency": "CNY"},
    )  # fmt: skip
    book.advance_clock(1)  # AISP lists transactions booked before the current second (a closed window)
    transactions = aisp.read(
        f"/accounts/{loan_id}/transactions", token, "/accounts/{AccountId}/transactions"
    ).json()["Data"]["Transaction"]
    assert [(t["CreditDebitIndicator"], t["Amount"]["Amount"], t["ProprietaryBankTransactionCode"]["Code"])
            for t in transactions] == [("Debit", principal, "LOAN_DISBURSEMENT")]  # fmt: skip
    assert transactions[0]["Balance"]["CreditDebitIndicator"] == "Debit"

    first = book.schedule(customer_id, consent_id, loan_id)[0]
    book.advance_clock(31)  # instalment 1 is paid
    book.advance_clock(1)
    outstanding_fen = _fen(data["Offer"]["Amount"]) - _fen(first["Principal"])
    shown = balance()
    assert shown["CreditDebitIndicator"] == "Debit" and _fen(shown["Amount"]) == outstanding_fen
    transactions = aisp.read(
        f"/accounts/{loan_id}/transactions", token, "/accounts/{AccountId}/transactions"
    ).json()["Data"]["Transaction"]
    repayments = [t for t in transactions if t["CreditDebitIndicator"] == "Credit"]
    assert [(t["Amount"]["Amount"], t["ProprietaryBankTransactionCode"]["Code"]) for t in repayments] == [
        (first["Principal"]["Amount"], "LOAN_REPAYMENT")
    ]
    products = aisp.read(f"/accounts/{loan_id}/product", token, "/accounts/{AccountId}/product").json()
    assert products["Data"]["Product"][0]["ProductId"] == "PRD-LOAN"

    _pay_off(book, customer_id, consent_id, loan_id, "payoff-aisp")
    shown = balance()
    assert shown["CreditDebitIndicator"] == "Debit" and shown["Amount"]["Amount"] == "0.00"


def test_payments_cannot_draw_on_or_pay_into_a_loan_account(book):
    customer_id, consent_id, data, account_id = _approved(book)
    loan_id = _accept(book, customer_id, consent_id, data).json()["Data"]["LoanId"]
    accounts = book.stack.services["accounts"]
    amount = {"Amount": "100.00", "Currency": "CNY"}
    for debit, credit in ((loan_id, account_id), (account_id, loan_id)):
        legs = [{"AccountId": debit, "CreditDebitIndicator": "Debit", "Amount": amount},
                {"AccountId": credit, "CreditDebitIndicator": "Credit", "Amount": amount}]  # fmt: skip
        refused = accounts.post(
            f"/internal/v1/tenants/{book.tenant_id}/ledger/transactions",
            json={"Category": "TRANSFER", "Description": "try", "Postings": legs},
            headers={
                **book.stack.internal_headers,
                "x-idempotency-key": f"try-{debit[-8:]}",
                "x-openbank-service": "payments",
            },  # fmt: skip
        )
        assert refused.status_code == 400 and "loan account" in refused.text
    hold = accounts.post(
        f"/internal/v1/tenants/{book.tenant_id}/ledger/holds",
        json={"AccountId": loan_id, "Amount": amount, "Description": "try"},
        headers={
            **book.stack.internal_headers,
            "x-idempotency-key": "hold-try",
            "x-openbank-service": "payments",
        },
    )
    assert hold.status_code == 400
    assert book.balance_fen(loan_id) == -_fen(data["Offer"]["Amount"])  # nothing moved
    # The list payments and the consent page choose debtor accounts from does not offer it.
    listed = accounts.get(
        f"/internal/v1/tenants/{book.tenant_id}/customers/{customer_id}/accounts",
        headers=book.stack.internal_headers,
    ).json()["Data"]["Account"]
    assert loan_id not in [a["AccountId"] for a in listed] and account_id in [a["AccountId"] for a in listed]


def test_every_status_change_of_the_loan_reaches_the_partner_as_a_signed_event(book):
    customer_id, consent_id, data, account_id = _approved(book)
    loan_id = _accept(book, customer_id, consent_id, data).json()["Data"]["LoanId"]
    events = book.loan_events()
    assert _changes(events) == ["DISBURSED"]
    event = events[0]
    assert event["sub"] == f"{ISSUER}/lending/v1/loans/{loan_id}" and event["aud"] == book.client_id
    subject = event["events"][RESOURCE_UPDATE]["subject"]
    assert subject["http://openbanking.org.uk/rid"] == loan_id
    assert subject["http://openbanking.org.uk/rty"] == "loans"

    book.advance_clock(32)
    assert _changes(book.loan_events()) == ["INSTALMENT_PAID"]
    _move(book, account_id, book.balance_fen(account_id) - 10_000, out=True, key=f"drain-{loan_id[-20:]}")
    book.advance_clock(31)
    assert _changes(book.loan_events()) == ["OVERDUE"]
    book.advance_clock(1)  # still overdue, nothing new happened: no event
    assert book.loan_events() == []
    _move(book, account_id, 6_000_000, out=False, key=f"topup-{loan_id[-20:]}")
    book.advance_clock(1)
    assert _changes(book.loan_events()) == ["INSTALMENT_PAID", "OVERDUE_CLEARED"]

    path = f"/lending/v1/loans/{loan_id}/repayments"
    partial = book.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": "10000.00", "Currency": "CNY"}}},
        headers=book.customer_headers(customer_id, consent_id, "part-1"),
    )  # fmt: skip
    assert partial.status_code == 201, partial.text
    assert _changes(book.loan_events()) == ["PREPAID"]
    assert book.loan(customer_id, consent_id, loan_id)["Status"] == "ACTIVE"
    _pay_off(book, customer_id, consent_id, loan_id, "payoff-events")
    assert _changes(book.loan_events()) == ["REPAID"]
    assert book.loan(customer_id, consent_id, loan_id)["Status"] == "CLOSED"
    assert book.loan_events() == []  # published once: nothing left over


def test_a_payments_outage_never_fails_the_loan_and_its_events_follow_once_payments_is_back(book):
    customer_id, consent_id, data, _account_id = _approved(book)
    loans = book.stack.services["loans"].app
    working = loans.state.payments_client
    loans.state.payments_client = ServiceClient("http://127.0.0.1:9", max_retries=0, timeout_s=1)
    try:
        accepted = _accept(book, customer_id, consent_id, data)
        assert accepted.status_code == 201 and accepted.json()["Data"]["Status"] == "ACTIVE"
        loan_id = accepted.json()["Data"]["LoanId"]
        assert book.loan(customer_id, consent_id, loan_id)["Status"] == "ACTIVE"  # reads work too
    finally:
        loans.state.payments_client = working
    assert book.loan_events() == []  # not published while payments was down
    book.loan(customer_id, consent_id, loan_id)  # the next loan operation publishes what is pending
    events = book.loan_events()
    assert _changes(events) == ["DISBURSED"] and events[0]["sub"].endswith(loan_id)
    book.loan(customer_id, consent_id, loan_id)
    assert book.loan_events() == []  # exactly once


def test_an_sme_tax_loan_account_is_the_businesss_and_an_sme_loan_product(book):
    customer_id, consent_id, data, account_id = _approved(book, "sun.hui", product_id="sme-tax-loan")
    loan_id = _accept(book, customer_id, consent_id, data).json()["Data"]["LoanId"]
    token = _aisp_token(book, PERSONAS["sun.hui"])
    listed = book.aisp.read("/accounts", token, "/accounts").json()["Data"]["Account"]
    (loan_account,) = [a for a in listed if a["AccountId"] == loan_id]
    assert loan_account["AccountCategory"] == "Business" and loan_account["AccountTypeCode"] == "LOAN"
    product = book.aisp.read(f"/accounts/{loan_id}/product", token, "/accounts/{AccountId}/product").json()
    assert product["Data"]["Product"][0]["ProductType"] == "SMELoan"
    assert loan_account["Account"][0]["Name"] == "深圳市华兴商贸有限公司"  # the borrower is the business


def test_interest_accrues_from_the_last_due_date_or_early_repayment_and_is_never_charged_twice(book):
    customer_id, consent_id, data, account_id = _approved(book)
    loan_id = _accept(book, customer_id, consent_id, data).json()["Data"]["LoanId"]
    rate = Decimal(data["Offer"]["AnnualPercentageRate"]) / 100
    path = f"/lending/v1/loans/{loan_id}/repayments"

    def interest_fen(principal_fen: int, days: int) -> int:
        return int((Decimal(principal_fen) * rate * days / 360).quantize(Decimal(1), "ROUND_HALF_UP"))

    book.advance_clock(10)
    partial = book.stack.gateway.post(
        path, json={"Data": {"Amount": {"Amount": "10000.00", "Currency": "CNY"}}},
        headers=book.customer_headers(customer_id, consent_id, "early-1"),
    )  # fmt: skip
    assert partial.status_code == 201, partial.text
    assert _fen(partial.json()["Data"]["Interest"]) == interest_fen(_fen(data["Offer"]["Amount"]), 10)
    outstanding_fen = _fen(partial.json()["Data"]["OutstandingPrincipal"])
    book.advance_clock(5)
    before = book.balances_fen(INTEREST_INCOME, loan_id)
    repaid = _pay_off(book, customer_id, consent_id, loan_id, "early-2")
    # Five days on what was left, not fifteen: the first ten were paid with the early repayment.
    assert _fen(repaid.json()["Data"]["Interest"]) == interest_fen(outstanding_fen, 5)
    after = book.balances_fen(INTEREST_INCOME, loan_id)
    assert after[INTEREST_INCOME] - before[INTEREST_INCOME] == interest_fen(outstanding_fen, 5)
    assert after[loan_id] == 0


@pytest.fixture
def push_dispatcher(stack):
    """The payments dispatcher thread is stopped so the test drives the push itself."""
    dispatcher = stack.services["payments"].app.state.event_dispatcher
    dispatcher.stop()
    yield dispatcher
    dispatcher.start(1.0)


def test_a_subscribed_partner_gets_the_loan_event_pushed_to_its_callback(book, push_dispatcher):
    from openbank_kit.clock import wall_clock
    from tests.services.payments.api.test_events import Receiver

    receiver = Receiver()
    try:
        subscribed = book.stack.gateway.post(
            "/open-banking/v4.0/event-subscriptions",
            json={"Data": {"Version": "4.0", "CallbackUrl": receiver.url}},
            headers={"Authorization": f"Bearer {book.events_token()}"},
        )
        assert subscribed.status_code == 201, subscribed.text
        customer_id, consent_id, data, _account_id = _approved(book)
        loan_id = _accept(book, customer_id, consent_id, data).json()["Data"]["LoanId"]
        assert push_dispatcher.deliver_due(wall_clock()) == 1
        ((path, content_type, body),) = receiver.received
        assert (path, content_type) == ("/tpp/callbacks/event-notifications", "application/jwt")
        keys = KeySet.import_key_set(book.stack.gateway.get("/oauth2/jwks").json())
        claims = jwt.decode(body.decode(), keys, algorithms=["ES256"]).claims
        assert claims["sub"] == f"{ISSUER}/lending/v1/loans/{loan_id}" and claims["aud"] == book.client_id
        assert _changes([claims]) == ["DISBURSED"] and RESOURCE_UPDATE in claims["events"]
    finally:
        receiver.close()
