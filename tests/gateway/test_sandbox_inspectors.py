"""Sandbox inspectors through the gateway: the tenant's credit decisions (inputs, rule hits, score, outcome) and the
idempotency records each service keeps."""

from __future__ import annotations

import pytest

from tests.gateway.sandbox_helpers import (  # noqa: F401 (fixture)
    apply,
    lending_consent,
    new_partner,
    sandbox,
    services_reach_each_other_in_process,
)


@pytest.fixture
def partner(stack, new_tenant):
    return new_partner(stack, new_tenant)


def _applied(partner, username: str, amount: str = "50000.00") -> dict:
    consent_id, token = lending_consent(partner, username, amount)
    applied = apply(partner, consent_id, token)
    assert applied.status_code == 201, applied.text
    return applied.json()["Data"]


def test_loan_decisions_are_listed_newest_first_with_inputs_and_rule_hits(stack, partner):
    approved = _applied(partner, "zhang.wei")
    declined = _applied(partner, "chen.jie")
    listed = sandbox(stack, partner, "GET", "/sandbox/v1/loan-decisions")
    assert listed.status_code == 200, listed.text
    decisions = listed.json()["Data"]["Decision"]
    assert [d["DecisionId"] for d in decisions] == [
        declined["Decision"]["DecisionId"], approved["Decision"]["DecisionId"]]  # fmt: skip
    newest = decisions[0]
    assert newest["Outcome"] == "DECLINED" and "FRAUD_BLACKLIST" in newest["ReasonCodes"]
    assert (
        newest["ApplicationId"] == declined["ApplicationId"] and newest["ConsentId"] == declined["ConsentId"]
    )
    assert newest["RulesVersion"] == declined["Decision"]["RulesVersion"]
    assert newest["Inputs"]["Features"] and newest["Inputs"]["Request"]
    assert any(hit for hit in newest["RuleHits"]) and "Score" in newest
    assert newest["CustomerId"] == "CUS000004" and newest["ClientId"] == partner.partner.client_id
    assert decisions[1]["Outcome"] == "APPROVED" and decisions[1]["OfferedAmount"]["Amount"] == "50000.00"

    one = sandbox(stack, partner, "GET", "/sandbox/v1/loan-decisions", params={"limit": 1}).json()
    assert [d["DecisionId"] for d in one["Data"]["Decision"]] == [newest["DecisionId"]]
    assert (
        sandbox(stack, partner, "GET", "/sandbox/v1/loan-decisions", params={"limit": 0}).status_code == 400
    )
    assert (
        sandbox(stack, partner, "GET", "/sandbox/v1/loan-decisions", params={"limit": 201}).status_code == 400
    )


def test_one_loan_decision_by_id_and_only_in_its_tenant(stack, partner, new_tenant):
    applied = _applied(partner, "liu.yang")
    decision_id = applied["Decision"]["DecisionId"]
    got = sandbox(stack, partner, "GET", f"/sandbox/v1/loan-decisions/{decision_id}")
    assert got.status_code == 200, got.text
    decision = got.json()["Data"]["Decision"][0]
    assert decision["DecisionId"] == decision_id and decision["Outcome"] == "DECLINED"
    assert "CREDIT_HISTORY" in decision["ReasonCodes"]
    assert sandbox(stack, partner, "GET", "/sandbox/v1/loan-decisions/dec-unknown").status_code == 404
    _, other_token = new_tenant("other")
    other = stack.gateway.get(f"/sandbox/v1/loan-decisions/{decision_id}",
                              headers={"Authorization": f"Bearer {other_token}"})  # fmt: skip
    assert other.status_code == 404
    assert stack.gateway.get("/sandbox/v1/loan-decisions").status_code == 401
    empty = stack.gateway.get(
        "/sandbox/v1/loan-decisions", headers={"Authorization": f"Bearer {other_token}"}
    )
    assert empty.json()["Data"]["Decision"] == []


def test_idempotency_records_of_each_service(stack, partner):
    creditor = partner.accounts_of("li.na")[0]["Identification"]
    body, consent_id, token = partner.authorised_consent("zhang.wei", creditor, "10.00")
    paid = partner.pay(body, consent_id, token, key="pay-key-1")
    assert paid.status_code == 201, paid.text
    _applied(partner, "zhang.wei")

    everything = sandbox(stack, partner, "GET", "/sandbox/v1/idempotency-records")
    assert everything.status_code == 200, everything.text
    records = everything.json()["Data"]["IdempotencyRecord"]
    assert {r["Service"] for r in records} == {"accounts", "payments", "loans"}
    assert [r["CreationDateTime"] for r in records] == sorted(
        (r["CreationDateTime"] for r in records), reverse=True
    )
    payment = next(r for r in records if r["Key"] == "pay-key-1")
    assert payment["Service"] == "payments" and payment["ClientId"] == partner.partner.client_id
    assert payment["Operation"] == "POST /open-banking/v4.0/pisp/domestic-payments"
    assert payment["Status"] == 201 and payment["Expired"] is False
    assert payment["ResourceId"] == paid.json()["Data"]["DomesticPaymentId"]
    assert payment["ExpirationDateTime"] > payment["CreationDateTime"]
    ledger = [r for r in records if r["Service"] == "accounts"]
    assert ledger and all(r["ClientId"] in ("payments", "loans") for r in ledger)  # the calling service

    only = sandbox(stack, partner, "GET", "/sandbox/v1/idempotency-records", params={"service": "payments"})
    assert {r["Service"] for r in only.json()["Data"]["IdempotencyRecord"]} == {"payments"}
    bad = sandbox(stack, partner, "GET", "/sandbox/v1/idempotency-records", params={"service": "gateway"})
    assert bad.status_code == 400 and bad.json()["Errors"][0]["ErrorCode"]


def test_idempotency_records_expire_by_the_tenant_clock(stack, partner):
    creditor = partner.accounts_of("li.na")[0]["Identification"]
    body, consent_id, token = partner.authorised_consent("zhang.wei", creditor, "10.00")
    assert partner.pay(body, consent_id, token, key="pay-key-2").status_code == 201
    partner.advance_clock(2)
    records = sandbox(
        stack, partner, "GET", "/sandbox/v1/idempotency-records", params={"service": "payments"}
    )
    payment = next(r for r in records.json()["Data"]["IdempotencyRecord"] if r["Key"] == "pay-key-2")
    assert payment["Expired"] is True
