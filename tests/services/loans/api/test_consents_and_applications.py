"""Consents, applications and their refusals: bad input changes nothing and names the field."""

from __future__ import annotations

from datetime import date

import pytest

from tests.services.loans.conftest import PERSONAS

ZHANG = PERSONAS["zhang.wei"]


def test_products_list_both_products_with_limits_terms_methods_and_rates(shared_partner):
    response = shared_partner.stack.gateway.get("/lending/v1/products", headers=shared_partner.client_headers)
    assert response.status_code == 200 and response.headers["x-fapi-interaction-id"]
    products = {p["ProductType"]: p for p in response.json()["Data"]["Product"]}
    quick = products["PERSONAL_QUICK_LOAN"]
    assert quick["MinimumAmount"] == {"Amount": "1000.00", "Currency": "CNY"}
    assert quick["MaximumAmount"] == {"Amount": "200000.00", "Currency": "CNY"}
    assert quick["TermMonths"] == [3, 6, 12, 24, 36]
    assert set(quick["RepaymentMethods"]) == {"EQUAL_INSTALMENT", "EQUAL_PRINCIPAL", "INTEREST_ONLY"}
    assert products["SME_TAX_LOAN"]["MaximumAmount"]["Amount"] == "1000000.00"
    assert quick["AnnualPercentageRate"] == {"From": "5.50", "To": "15.00"}


@pytest.mark.parametrize(
    ("terms", "path"),
    [
        ({"amount": "999.99"}, "Data.Amount.Amount"),
        ({"amount": "200000.01"}, "Data.Amount.Amount"),
        ({"amount": "50000.001"}, "Data.Amount.Amount"),
        ({"term": 7}, "Data.TermMonths"),
        ({"product_id": "no-such-product"}, "Data.ProductId"),
        ({"method": "BALLOON"}, "Data.RepaymentMethod"),
        ({"method": "INTEREST_ONLY", "term": 24}, "Data.TermMonths"),
        ({"product_id": "sme-tax-loan", "amount": "5000.00"}, "Data.Amount.Amount"),
    ],
)
def test_consent_terms_outside_the_product_are_a_400_naming_the_field(shared_partner, terms, path):
    response = shared_partner.create_consent(**terms)
    assert response.status_code == 400, response.text
    assert response.json()["Errors"][0]["Path"] == path


def test_purpose_is_required_and_amounts_must_be_strings(shared_partner):
    body = {"Data": {"ProductId": "quick-loan", "Amount": {"Amount": "50000.00", "Currency": "CNY"},
                     "TermMonths": 12, "RepaymentMethod": "EQUAL_INSTALMENT"}, "Risk": {}}  # fmt: skip
    response = shared_partner.stack.gateway.post(
        "/lending/v1/loan-application-consents", json=body, headers=shared_partner.client_headers
    )
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "Data.Purpose"
    body["Data"] |= {"Purpose": "x", "Amount": {"Amount": 50000.0, "Currency": "CNY"}}
    response = shared_partner.stack.gateway.post(
        "/lending/v1/loan-application-consents", json=body, headers=shared_partner.client_headers
    )
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "Data.Amount.Amount"


def test_consent_lifecycle_awau_auth_cond_and_the_internal_contract(shared_partner):
    stack = shared_partner.stack
    created = shared_partner.create_consent(PartnerScenario="travel")
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    assert created.json()["Data"]["Status"] == "AWAU" and created.json()["Data"]["Purpose"]
    internal = (
        stack.services["loans"]
        .get(
            f"/internal/v1/tenants/{shared_partner.tenant_id}/consents/{consent_id}",
            headers=stack.internal_headers,
        )
        .json()["Data"]
    )
    assert internal["Kind"] == "loan-application" and internal["AccountSelection"] == "one"
    assert (
        internal["ClientId"] == shared_partner.client_id
        and internal["Details"]["PartnerScenario"] == "travel"
    )
    # another client cannot decide it; an account that is not the customer's is refused
    other = shared_partner.stack.services["loans"].post(
        f"/internal/v1/tenants/{shared_partner.tenant_id}/consents/{consent_id}/authorisation",
        json={"ClientId": "someone-else", "CustomerId": ZHANG, "Decision": "approve"},
        headers=stack.internal_headers,
    )
    assert other.status_code == 403
    assert shared_partner.authorise(consent_id, ZHANG, account_ids=["ACC9999999"]).status_code == 400
    authorised = shared_partner.authorise(consent_id, ZHANG)
    assert authorised.status_code == 200 and authorised.json()["Data"]["Status"] == "AUTH"
    assert (
        authorised.json()["Data"]["CustomerId"] == ZHANG and len(authorised.json()["Data"]["AccountIds"]) == 1
    )
    assert shared_partner.authorise(consent_id, ZHANG).status_code == 409  # decided once only
    applied = shared_partner.apply(ZHANG, consent_id, key="lifecycle-1")
    assert applied.status_code == 201
    seen = stack.gateway.get(
        f"/lending/v1/loan-application-consents/{consent_id}", headers=shared_partner.client_headers
    )
    assert seen.json()["Data"]["Status"] == "COND"
    again = shared_partner.apply(ZHANG, consent_id, key="lifecycle-2")
    assert again.status_code == 403  # consumed: one application per consent
    missing = stack.services["loans"].get(
        f"/internal/v1/tenants/{shared_partner.tenant_id}/consents/lac_nope", headers=stack.internal_headers
    )
    assert missing.status_code == 404


def test_denied_consent_is_rjct_and_cannot_be_used(shared_partner):
    consent_id = shared_partner.create_consent().json()["Data"]["ConsentId"]
    denied = shared_partner.authorise(consent_id, ZHANG, decision="deny")
    assert denied.json()["Data"]["Status"] == "RJCT"
    assert shared_partner.apply(ZHANG, consent_id).status_code == 403


def test_application_needs_an_authorised_consent_of_this_customer(shared_partner, stack):
    consent_id = shared_partner.create_consent().json()["Data"]["ConsentId"]
    assert shared_partner.apply(ZHANG, consent_id, key="awau-1").status_code == 403  # still AWAU
    shared_partner.authorise(consent_id, ZHANG)
    # li.na's token naming zhang.wei's consent
    assert shared_partner.apply(PERSONAS["li.na"], consent_id, key="other-1").status_code == 403
    # a token issued for another consent, naming this one in the body
    other = shared_partner.create_consent().json()["Data"]["ConsentId"]
    response = stack.gateway.post(
        "/lending/v1/applications",
        json={"Data": {"ConsentId": consent_id}, "Risk": {}},
        headers=shared_partner.customer_headers(ZHANG, other, "wrong-intent"),
    )
    assert response.status_code == 403
    # the client-credentials token cannot apply
    response = stack.gateway.post(
        "/lending/v1/applications",
        json={"Data": {"ConsentId": consent_id}, "Risk": {}},
        headers={**shared_partner.client_headers, "x-idempotency-key": "cc-1"},
    )
    assert response.status_code == 403
    # the consent is still usable after all those refusals
    assert shared_partner.apply(ZHANG, consent_id, key="ok-1").status_code == 201


def test_application_idempotency_same_key_same_body_returns_the_original(shared_partner, stack):
    consent_id = shared_partner.create_consent().json()["Data"]["ConsentId"]
    shared_partner.authorise(consent_id, ZHANG)
    missing_key = stack.gateway.post(
        "/lending/v1/applications",
        json={"Data": {"ConsentId": consent_id}, "Risk": {}},
        headers=shared_partner.customer_headers(ZHANG, consent_id),
    )
    assert missing_key.status_code == 400 and missing_key.json()["Errors"][0]["Path"] == "x-idempotency-key"
    first = shared_partner.apply(ZHANG, consent_id, key="idem-1")
    second = shared_partner.apply(ZHANG, consent_id, key="idem-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    different = stack.gateway.post(
        "/lending/v1/applications",
        json={"Data": {"ConsentId": consent_id}, "Risk": {"x": 1}},
        headers=shared_partner.customer_headers(ZHANG, consent_id, "idem-1"),
    )
    assert different.status_code == 400


def test_the_decision_shows_inputs_rule_hits_and_score_to_its_client_only(shared_partner, stack, new_tenant):
    _, _, response = shared_partner.journey("wang.fang")
    decision_id = response.json()["Data"]["Decision"]["DecisionId"]
    detail = stack.gateway.get(f"/lending/v1/decisions/{decision_id}", headers=shared_partner.client_headers)
    assert detail.status_code == 200
    data = detail.json()["Data"]
    assert data["Inputs"]["Features"]["active_lenders"] == 7
    assert {hit["ReasonCode"] for hit in data["RuleHits"]} == {"MULTI_LENDING", "DEBT_TO_INCOME"}
    application_id = response.json()["Data"]["ApplicationId"]
    shown = stack.gateway.get(
        f"/lending/v1/applications/{application_id}", headers=shared_partner.client_headers
    )
    assert shown.json()["Data"]["Decision"]["DecisionId"] == decision_id
    from tests.services.loans.conftest import make_partner

    stranger = make_partner(stack, *new_tenant("lendx"))
    refused = stack.gateway.get(f"/lending/v1/decisions/{decision_id}", headers=stranger.client_headers)
    assert refused.status_code == 403


def _forget_snapshots(partner, customer_id: str) -> None:
    """The customer's ledger snapshots go: the next decision asks accounts."""
    from sqlalchemy import delete

    from services.loans.models import LedgerSnapshot

    with partner.stack.db("loans").write_session() as session:
        session.execute(
            delete(LedgerSnapshot).where(
                LedgerSnapshot.tenant_id == partner.tenant_id, LedgerSnapshot.customer_id == customer_id
            )
        )
        session.commit()


class _WatchesLoansConnections:
    """The ledger as it is, noting how many of loans' pooled database connections are checked out during each
    call (a connection held across the call queues every other decision behind the ledger)."""

    def __init__(self, real, adb, unreachable: bool = False):
        self.real, self.adb, self.unreachable = real, adb, unreachable
        self.held_during_calls: list[int] = []

    def get(self, path, **kwargs):  # the consent page's live read: not the decision's
        return self.real.get(path, **kwargs)

    async def aget(self, path, **kwargs):  # the decision is an async route
        self.held_during_calls.append(self.adb.connections_in_use())
        if self.unreachable:
            from openbank_kit.http_client import ServiceCallError

            raise ServiceCallError("http://accounts", "connection refused")
        return await self.real.aget(path, **kwargs)


def test_the_decision_asks_the_ledger_without_holding_a_database_connection(shared_partner):
    consent_id = shared_partner.create_consent().json()["Data"]["ConsentId"]
    shared_partner.authorise(consent_id, ZHANG)
    _forget_snapshots(shared_partner, ZHANG)
    loans = shared_partner.stack.services["loans"].app
    watcher = _WatchesLoansConnections(loans.state.accounts_client, loans.state.adb)
    loans.state.accounts_client = watcher
    try:
        response = shared_partner.apply(ZHANG, consent_id, key="no-conn-held")
        replayed = shared_partner.apply(ZHANG, consent_id, key="no-conn-held")
    finally:
        loans.state.accounts_client = watcher.real
    assert response.status_code == replayed.status_code == 201, response.text
    assert replayed.json() == response.json()
    assert watcher.held_during_calls == [0]  # asked once, with no connection out; the replay did not ask


def test_an_unreachable_ledger_is_a_503_that_leaves_the_consent_usable(shared_partner):
    consent_id = shared_partner.create_consent().json()["Data"]["ConsentId"]
    shared_partner.authorise(consent_id, ZHANG)
    _forget_snapshots(shared_partner, ZHANG)
    loans = shared_partner.stack.services["loans"].app
    watcher = _WatchesLoansConnections(loans.state.accounts_client, loans.state.adb, unreachable=True)
    loans.state.accounts_client = watcher
    try:
        refused = shared_partner.apply(ZHANG, consent_id, key="ledger-down")
    finally:
        loans.state.accounts_client = watcher.real
    assert refused.status_code == 503, refused.text
    assert len(watcher.held_during_calls) == 1  # not asked a second time inside the transaction
    consent = shared_partner.stack.gateway.get(
        f"/lending/v1/loan-application-consents/{consent_id}", headers=shared_partner.client_headers
    )
    assert consent.json()["Data"]["Status"] == "AUTH"
    retried = shared_partner.apply(ZHANG, consent_id, key="ledger-down")  # the key was not spent on the 503
    assert retried.status_code == 201, retried.text


def test_later_applications_in_the_month_read_the_ledger_snapshot_and_the_next_month_asks_again(partner):
    """The ledger is asked once per customer and month: its figures are of closed months, which never change, and the
    decision from the snapshot is the decision from the ledger (same features)."""
    _forget_snapshots(partner, ZHANG)
    loans = partner.stack.services["loans"].app
    watcher = _WatchesLoansConnections(loans.state.accounts_client, loans.state.adb)
    loans.state.accounts_client = watcher
    decided = []
    try:
        for round_number in range(3):
            if round_number == 2:
                clock = partner.stack.gateway.get(
                    "/sandbox/v1/clock", headers={"Authorization": f"Bearer {partner.initial_token}"}
                )
                today = date.fromisoformat(clock.json()["Now"][:10])
                partner.advance_clock(
                    (date(today.year + today.month // 12, today.month % 12 + 1, 1) - today).days + 1
                )
            consent_id = partner.create_consent().json()["Data"]["ConsentId"]
            assert partner.authorise(consent_id, ZHANG).status_code == 200
            applied = partner.apply(ZHANG, consent_id, key=f"snap-{round_number}")
            assert applied.status_code == 201, applied.text
            decided.append(applied.json()["Data"]["Decision"]["DecisionId"])
    finally:
        loans.state.accounts_client = watcher.real
    assert len(watcher.held_during_calls) == 2  # the first application of each month asked the ledger
    features = [
        partner.stack.gateway.get(
            f"/lending/v1/decisions/{decision_id}", headers=partner.client_headers
        ).json()["Data"]["Inputs"]["Features"]
        for decision_id in decided
    ]
    ledgers = [{name: value for name, value in f.items() if name != "applications_1h"} for f in features]
    assert ledgers[1] == ledgers[0]  # the snapshot gives what the ledger gave (the velocity counts the first)
    assert (features[0]["applications_1h"], features[1]["applications_1h"]) == (0, 1)
    from sqlalchemy import select

    from services.loans.models import LedgerSnapshot

    with partner.stack.db("loans").read_session() as session:
        months = session.scalars(
            select(LedgerSnapshot.month).where(
                LedgerSnapshot.tenant_id == partner.tenant_id, LedgerSnapshot.customer_id == ZHANG
            )
        ).all()
    assert len(months) == 2


class _CountsUnits:
    """Wraps loans' async database: records each unit it opens (True: a write unit, False: a read)."""

    def __init__(self, real) -> None:
        self.real, self.opened = real, []

    def unit(self, write: bool = True):
        self.opened.append(write)
        return self.real.unit(write=write)

    def __getattr__(self, name):
        return getattr(self.real, name)


def _applied(partner, customer_id: str, key: str, **terms) -> dict:
    consent_id = partner.create_consent(**terms).json()["Data"]["ConsentId"]
    assert partner.authorise(consent_id, customer_id).status_code == 200
    applied = partner.apply(customer_id, consent_id, key=key)
    assert applied.status_code == 201, applied.text
    decision_id = applied.json()["Data"]["Decision"]["DecisionId"]
    return partner.stack.gateway.get(
        f"/lending/v1/decisions/{decision_id}", headers=partner.client_headers
    ).json()


def test_a_customers_next_decision_reads_with_the_claim_and_a_wrong_guess_changes_nothing(partner):
    """After one decision, the process guesses the clock, product and snapshot of the customer's next one and sends
    its reads with the key's claim (no read unit first). A moved clock or another product proves the guess wrong: that
    transaction rolls back and the decision is made as without a guess, on the right time and the right reads."""
    SUN = PERSONAS["sun.hui"]
    loans = partner.stack.services["loans"].app
    first = _applied(partner, SUN, "hint-0")
    counter = _CountsUnits(loans.state.adb)
    loans.state.adb = counter
    try:
        guessed = _applied(partner, SUN, "hint-1")
        assert counter.opened == [True]  # one unit: the guess held
        partner.advance_clock(3)
        counter.opened.clear()
        moved = _applied(partner, SUN, "hint-2")
        assert counter.opened == [True, False, True]  # guessed, wrong (the clock moved), then as usual
        counter.opened.clear()
        sme = _applied(partner, SUN, "hint-3", product_id="sme-tax-loan", amount="100000.00")
        assert counter.opened == [True, False, True]  # another product: other reads (the business's tax file)
    finally:
        loans.state.adb = counter.real
    features = [d["Data"]["Inputs"]["Features"] for d in (first, guessed, moved, sme)]
    steady = [{name: value for name, value in f.items() if name != "applications_1h"} for f in features[:2]]
    assert steady[1] == steady[0]
    assert [f["applications_1h"] for f in features[:2]] == [0, 1]
    decided_on = [date.fromisoformat(d["Data"]["DecisionDateTime"][:10]) for d in (guessed, moved)]
    assert (decided_on[1] - decided_on[0]).days == 3  # the moved clock's time, not the guessed one
    assert features[3]["tax_filings_24m"] > 0 and features[3]["business_customer_id"]
    assert not features[0].get("business_customer_id")  # the personal loan read no tax file
