"""Portal pages over the sandbox's data back ends: a persona's accounts and bureau, the customer's view of consents
with Revoke (CANC, the partner's token stops), loan decisions, idempotency records, per-app faults and rate limits."""

from __future__ import annotations

import re

import pytest

from tests.gateway import portal_helpers
from tests.gateway.sandbox_helpers import (
    AISP,
    aisp_consent,
    apply,
    lending_consent,
    services_reach_each_other_in_process,
)
from tests.services.payments.conftest import make_pisp

developers = portal_helpers.developers  # the fixture
_wired = services_reach_each_other_in_process  # module-scoped autouse: services call each other in-process


@pytest.fixture
def developer(developers):
    return developers()


@pytest.fixture
def partner(stack, developer):
    """A fapi2 app of the developer's tenant that runs the real journeys."""
    return make_pisp(stack, developer.tenant_id, developer.initial_access_token)


def sign_in_as(developer, username: str):
    signed = developer.post("/portal/personas/sign-in", {"username": username, "password": "sandbox",
                                                         "otp": "123456"}, csrf_from="/portal/personas")  # fmt: skip
    assert signed.status_code == 303


def test_a_personas_page_shows_accounts_balances_and_bureau(stack, developer):
    page = developer.browser.get("/portal/personas/zhang.wei")
    assert page.status_code == 200
    assert page.text.count('data-test="persona-account"') >= 2
    assert re.search(r'class="balance">\d+\.\d{2} CNY<', page.text)
    assert 'id="persona-bureau"' in page.text and "FraudBlacklisted" in page.text
    assert 'data-test="persona-detail"' in developer.browser.get("/portal/personas").text
    assert developer.browser.get("/portal/personas/nobody").status_code == 404


def test_a_persona_revokes_a_consent_and_the_partners_next_call_is_refused(stack, developer, partner):
    consent_id, token = aisp_consent(partner, "zhang.wei")
    assert partner.call("GET", f"{AISP}/accounts", token).status_code == 200
    sign_in_as(developer, "zhang.wei")
    view = developer.browser.get("/portal/personas/me")
    row = view.text.split(f'data-consent-id="{consent_id}"')[1].split("</tr>")[0]
    assert 'class="consent-status">AUTH<' in row and 'data-test="revoke-consent"' in row
    assert partner.partner.client_id in row or "测试商城" in row
    revoked = developer.post(
        f"/portal/personas/me/consents/{consent_id}/revoke", csrf_from="/portal/personas/me"
    )
    assert revoked.status_code == 303 and revoked.headers["location"].endswith("notice=revoked")
    after = developer.browser.get("/portal/personas/me").text
    assert (
        'class="consent-status">CANC<' in after.split(f'data-consent-id="{consent_id}"')[1].split("</tr>")[0]
    )
    refused = partner.call("GET", f"{AISP}/accounts", token)
    assert refused.status_code == 403 and refused.json()["Errors"][0]["ErrorCode"]


def test_a_persona_cannot_revoke_another_personas_consent(stack, developer, partner):
    consent_id, token = aisp_consent(partner, "li.na")
    sign_in_as(developer, "zhang.wei")
    refused = developer.post(
        f"/portal/personas/me/consents/{consent_id}/revoke", csrf_from="/portal/personas/me"
    )
    assert refused.status_code == 404
    assert partner.call("GET", f"{AISP}/accounts", token).status_code == 200
    no_csrf = developer.browser.post(f"/portal/personas/me/consents/{consent_id}/revoke")
    assert no_csrf.status_code == 403


def test_loan_decisions_list_and_detail_show_outcome_reasons_rule_hits_and_inputs(stack, developer, partner):
    consent_id, token = lending_consent(partner, "chen.jie")
    declined = apply(partner, consent_id, token)
    assert declined.status_code == 201, declined.text
    decision_id = declined.json()["Data"]["Decision"]["DecisionId"]
    listing = developer.browser.get("/portal/inspect/loan-decisions")
    assert f'data-decision-id="{decision_id}"' in listing.text and "DECLINED" in listing.text
    detail = developer.browser.get(f"/portal/inspect/loan-decisions/{decision_id}")
    assert detail.status_code == 200
    assert 'id="decision-outcome">DECLINED<' in detail.text and "FRAUD_BLACKLIST" in detail.text
    assert 'data-test="rule-hit"' in detail.text and 'id="decision-inputs"' in detail.text
    other = portal_helpers.sign_up(stack, "other")
    try:
        assert other.browser.get(f"/portal/inspect/loan-decisions/{decision_id}").status_code == 404
    finally:
        stack.gateway.app.state.tenant_service.delete(other.tenant_id)


def test_idempotency_records_page_lists_keys_per_service(stack, developer, partner):
    consent_id, token = lending_consent(partner, "zhang.wei")
    assert apply(partner, consent_id, token).status_code == 201
    page = developer.browser.get("/portal/inspect/idempotency")
    assert page.status_code == 200 and 'data-test="idempotency-row"' in page.text
    assert partner.partner.client_id in page.text
    loans_only = developer.browser.get("/portal/inspect/idempotency?service=loans").text
    assert re.findall(r'data-test="idempotency-row"><td>(\w+)<', loans_only) and all(
        s == "loans" for s in re.findall(r'data-test="idempotency-row"><td>(\w+)<', loans_only)
    )
    assert developer.browser.get("/portal/inspect/idempotency?service=nope").status_code == 404


def test_fault_toggles_and_rate_limit_are_set_per_app_from_the_controls_page(stack, developer, partner):
    client_id = partner.partner.client_id
    page = developer.browser.get("/portal/sandbox")
    assert f'data-client-id="{client_id}"' in page.text and "webhook-failure" in page.text
    saved = developer.browser.post(f"/portal/sandbox/apps/{client_id}/faults", data={
        "csrf": developer.csrf("/portal/sandbox"), "fault": ["webhook-failure", "bank-timeout"]})  # fmt: skip
    assert saved.status_code == 200
    api = stack.gateway.get(f"/sandbox/v1/apps/{client_id}/faults",
                            headers={"Authorization": f"Bearer {developer.initial_access_token}"})  # fmt: skip
    assert api.json()["Data"]["Faults"] == ["webhook-failure", "bank-timeout"]
    bad = developer.post(
        f"/portal/sandbox/apps/{client_id}/faults", {"fault": "melt-down"}, csrf_from="/portal/sandbox"
    )
    assert bad.status_code == 400 and f'data-test="error-faults-{client_id}"' in bad.text
    rate = developer.post(f"/portal/sandbox/apps/{client_id}/rate-limit", {"requests_per_second": "7"},
                          csrf_from="/portal/sandbox")  # fmt: skip
    assert (
        rate.status_code == 200 and f'id="rate-{client_id}" name="requests_per_second" min="1"' in rate.text
    )
    limit = stack.gateway.get(f"/sandbox/v1/apps/{client_id}/rate-limit",
                              headers={"Authorization": f"Bearer {developer.initial_access_token}"})  # fmt: skip
    assert limit.json()["Data"]["RequestsPerSecond"] == 7
    for value in ("0", "100000", "x"):
        refused = developer.post(f"/portal/sandbox/apps/{client_id}/rate-limit", {"requests_per_second": value},
                                 csrf_from="/portal/sandbox")  # fmt: skip
        assert refused.status_code == 400 and f'data-test="error-rate-{client_id}"' in refused.text
    assert stack.gateway.get(f"/sandbox/v1/apps/{client_id}/rate-limit", headers={
        "Authorization": f"Bearer {developer.initial_access_token}"}).json()["Data"]["RequestsPerSecond"] == 7  # fmt: skip


def test_the_api_reference_is_linked_from_every_page_and_answers(stack, developer):
    page = developer.browser.get("/portal")
    assert 'href="/portal/api-reference"' in page.text
    assert developer.browser.get("/portal/api-reference").status_code == 200
