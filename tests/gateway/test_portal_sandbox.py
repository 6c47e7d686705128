"""Portal sandbox controls (clock, reset), personas and the persona's session, and the inspectors (API call log,
event deliveries with re-delivery), through the pages."""

from __future__ import annotations

import re
from datetime import datetime

from loadtests.partner import ISSUER
from openbank_kit.clock import wall_clock
from sandbox_data import PERSONAS
from sandbox_data.model import add_months
from tests.gateway import portal_helpers
from tests.services.payments.api.test_events import Receiver, _paid, _subscribe
from tests.services.payments.conftest import _payments_reach_accounts_in_process, make_pisp

developers = portal_helpers.developers  # the fixture
_ledger = _payments_reach_accounts_in_process  # payments posts to accounts in-process (autouse)


def api_clock(stack, developer) -> datetime:
    response = stack.gateway.get(
        "/sandbox/v1/clock", headers={"Authorization": f"Bearer {developer.initial_access_token}"}
    )
    return datetime.fromisoformat(response.json()["Now"])


def test_the_clock_advances_by_days_or_by_months_and_shows_before_and_after(stack, developers):
    developer = developers()
    start = api_clock(stack, developer)
    moved = developer.post("/portal/sandbox/clock", {"days": "3"}, csrf_from="/portal/sandbox")
    assert moved.status_code == 200 and 'id="clock-after"' in moved.text
    after_days = api_clock(stack, developer)
    assert (after_days.date() - start.date()).days == 3
    assert start.isoformat()[:16] in moved.text and after_days.isoformat()[:16] in moved.text
    developer.post("/portal/sandbox/clock", {"months": "1"}, csrf_from="/portal/sandbox")
    assert api_clock(stack, developer).date() == add_months(after_days.date(), 1)


def test_clock_form_errors_move_nothing(stack, developers):
    developer = developers()
    start = api_clock(stack, developer)
    for data, field in [({"days": "2", "months": "1"}, "days"), ({}, "days"), ({"days": "-4"}, "days"),
                        ({"months": "x"}, "months"), ({"days": "99999"}, "days")]:  # fmt: skip
        response = developer.post("/portal/sandbox/clock", data, csrf_from="/portal/sandbox")
        assert response.status_code == 400 and f'data-test="error-{field}"' in response.text, data
    assert (api_clock(stack, developer) - start).total_seconds() < 60


def test_reset_needs_the_tenant_id_typed_and_keeps_the_apps(stack, developers):
    developer = developers()
    developer.post("/portal/apps", {"name": "kept", "profile": "sandbox-basic",
                                    "redirect_uris": "http://a.example/cb"}, csrf_from="/portal/apps/new")  # fmt: skip
    developer.post("/portal/sandbox/clock", {"days": "40"}, csrf_from="/portal/sandbox")
    advanced = api_clock(stack, developer)
    refused = developer.post("/portal/sandbox/reset", {"confirm": "not-it"}, csrf_from="/portal/sandbox")
    assert refused.status_code == 400 and 'data-test="error-confirm"' in refused.text
    assert api_clock(stack, developer).date() == advanced.date()
    done = developer.post(
        "/portal/sandbox/reset", {"confirm": developer.tenant_id}, csrf_from="/portal/sandbox"
    )
    assert done.status_code == 200 and 'data-test="notice"' in done.text
    assert abs((api_clock(stack, developer) - wall_clock()).total_seconds()) < 60
    assert len(stack.gateway.app.state.oauth.clients.of_tenant(developer.tenant_id)) == 1


def test_personas_catalogue_and_logging_in_as_a_persona(stack, developers):
    developer = developers()
    page = developer.browser.get("/portal/personas")
    assert page.status_code == 200
    assert re.findall(r'data-username="([^"]+)"', page.text) == [p.username for p in PERSONAS]
    assert "APPROVED" in page.text and "sandbox" in page.text
    wrong = developer.post("/portal/personas/sign-in", {"username": "zhang.wei", "password": "sandbox",
                                                        "otp": "000000"}, csrf_from="/portal/personas")  # fmt: skip
    assert wrong.status_code == 401 and 'data-test="error-persona"' in wrong.text
    assert developer.browser.get("/portal/personas/me", follow_redirects=False).status_code == 303
    signed = developer.post("/portal/personas/sign-in", {"username": "li.na", "password": "sandbox",
                                                         "otp": "123456"}, csrf_from="/portal/personas")  # fmt: skip
    assert signed.status_code == 303 and signed.headers["location"] == "/portal/personas/me"
    me = developer.browser.get("/portal/personas/me")
    assert me.status_code == 200 and 'id="persona-username">li.na<' in me.text
    left = developer.post("/portal/personas/sign-out", csrf_from="/portal/personas/me")
    assert left.status_code == 303
    assert developer.browser.get("/portal/personas/me", follow_redirects=False).status_code == 303
    assert developer.team in developer.browser.get("/portal").text  # the developer session stays


def test_the_api_call_log_shows_the_tenants_calls(stack, developers):
    developer, other = developers(), developers()
    pisp = make_pisp(stack, developer.tenant_id, developer.initial_access_token)
    pisp.app_token()
    _paid(pisp)
    stack.gateway.app.state.audit.flush()
    log = developer.browser.get("/portal/inspect/audit")
    assert log.status_code == 200
    assert "/open-banking/v4.0/pisp/domestic-payments" in log.text and pisp.partner.client_id in log.text
    assert "/open-banking/v4.0/pisp" not in other.browser.get("/portal/inspect/audit").text


def test_event_deliveries_show_attempts_and_the_signed_set_and_can_be_redelivered(stack, developers):
    developer = developers()
    pisp = make_pisp(stack, developer.tenant_id, developer.initial_access_token)
    receiver = Receiver(status=500, body=b"<error>quota & limits</error>", content_type="application/xml")
    try:
        _subscribe(pisp, receiver.url)
        _paid(pisp)
        stack.services["payments"].app.state.event_dispatcher.deliver_due(wall_clock())
        page = developer.browser.get("/portal/inspect/events")
        assert page.status_code == 200
        ids = re.findall(r'data-delivery-id="([^"]+)"', page.text)
        assert ids and 'data-test="attempt"' in page.text and "HTTP 500" in page.text
        # What the receiver answered, escaped as text: the partner's own markup never renders in the portal.
        assert 'data-test="attempt-response"' in page.text and "application/xml" in page.text
        assert "&lt;error&gt;quota &amp; limits&lt;/error&gt;" in page.text
        assert ISSUER in page.text and "&#34;typ&#34;" in page.text  # the SET's header and claims, decoded
        receiver.status = 202
        redelivered = developer.post(
            f"/portal/inspect/events/{ids[0]}/redeliver", csrf_from="/portal/inspect/events"
        )
        assert redelivered.status_code == 303
        stack.services["payments"].app.state.event_dispatcher.deliver_due(wall_clock())
        after = developer.browser.get("/portal/inspect/events?notice=redelivered").text
        block = after.split(f'data-delivery-id="{ids[0]}"')[1].split('data-test="delivery"')[0]
        assert "DELIVERED" in block
        other = developers()
        assert other.post(f"/portal/inspect/events/{ids[0]}/redeliver").status_code == 404
    finally:
        receiver.close()
