"""Per-app sandbox switches through the sandbox API: fault toggles the front door turns into `x-openbank-fault`,
and a lower rate limit it applies (429 + Retry-After)."""

from __future__ import annotations

from sqlalchemy import select

from loadtests.partner import ISSUER, Partner
from openbank_kit.faults import KNOWN_FAULTS
from services.payments.events.models import EventSubscription
from tests.gateway.test_front_door import _call, _dpop_token

EVENTS = "/open-banking/v4.0/event-subscriptions"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _subscribe(stack, partner: Partner, headers: dict | None = None):
    token = _dpop_token(stack, partner, scope="payments")
    return stack.gateway.post(
        EVENTS,
        json={"Data": {"Version": "4.0"}},
        headers={"Authorization": f"DPoP {token}", "DPoP": partner.dpop("POST", ISSUER + EVENTS, access_token=token),
                 **(headers or {})},
    )  # fmt: skip


def _stored_fault(stack, tenant_id: str, client_id: str) -> str | None:
    with stack.db("payments").read_session() as session:
        row = session.scalars(
            select(EventSubscription).where(
                EventSubscription.tenant_id == tenant_id, EventSubscription.client_id == client_id
            )
        ).one()
        return row.fault


class RecordingUpstream:
    """Wraps the front door's connection to a service and keeps the headers it forwarded."""

    def __init__(self, inner):
        self.inner, self.sent = inner, []

    async def asend(self, method, target, body, headers):
        self.sent.append(dict(headers))
        return await self.inner.asend(method, target, body, headers)


def test_faults_start_off_and_a_toggle_keeps_exactly_the_known_names(stack, tenant, registered_partner):
    path = f"/sandbox/v1/apps/{registered_partner.client_id}/faults"
    got = stack.gateway.get(path, headers=_auth(tenant[1]))
    assert got.status_code == 200, got.text
    assert got.json()["Data"]["Faults"] == [] and got.json()["Data"]["KnownFaults"] == list(KNOWN_FAULTS)

    put = stack.gateway.put(
        path, json={"Faults": ["webhook-failure", "webhook-failure"]}, headers=_auth(tenant[1])
    )
    assert put.status_code == 200 and put.json()["Data"]["Faults"] == ["webhook-failure"]
    assert stack.gateway.get(path, headers=_auth(tenant[1])).json()["Data"]["Faults"] == ["webhook-failure"]

    unknown = stack.gateway.put(
        path, json={"Faults": ["webhook-failure", "meteor-strike"]}, headers=_auth(tenant[1])
    )
    assert unknown.status_code == 400
    assert unknown.json()["Errors"][0]["Path"] == "Faults[1]"
    assert stack.gateway.get(path, headers=_auth(tenant[1])).json()["Data"]["Faults"] == ["webhook-failure"]
    assert (
        stack.gateway.put(path, json={"Faults": "webhook-failure"}, headers=_auth(tenant[1])).status_code
        == 400
    )


def test_another_tenants_app_and_a_missing_token_are_refused(stack, tenant, registered_partner, new_tenant):
    _, other_token = new_tenant("other")
    path = f"/sandbox/v1/apps/{registered_partner.client_id}/faults"
    assert stack.gateway.get(path, headers=_auth(other_token)).status_code == 404
    assert stack.gateway.put(path, json={"Faults": []}, headers=_auth(other_token)).status_code == 404
    assert stack.gateway.get(path).status_code == 401
    rate = f"/sandbox/v1/apps/{registered_partner.client_id}/rate-limit"
    assert (
        stack.gateway.put(rate, json={"RequestsPerSecond": 1}, headers=_auth(other_token)).status_code == 404
    )


def test_an_apps_fault_toggle_reaches_the_service_as_the_fault_header(stack, tenant, registered_partner):
    put = stack.gateway.put(f"/sandbox/v1/apps/{registered_partner.client_id}/faults",
                            json={"Faults": ["webhook-failure"]}, headers=_auth(tenant[1]))  # fmt: skip
    assert put.status_code == 200
    subscribed = _subscribe(stack, registered_partner)
    assert subscribed.status_code == 201, subscribed.text
    assert _stored_fault(stack, tenant[0], registered_partner.client_id) == "webhook-failure"


def test_the_per_request_fault_header_is_forwarded_and_wins_over_the_toggle(
    stack, tenant, registered_partner
):
    upstreams = stack.gateway.app.state.service_http
    recording = RecordingUpstream(upstreams["payments"])
    upstreams["payments"] = recording
    try:
        stack.gateway.put(f"/sandbox/v1/apps/{registered_partner.client_id}/faults",
                          json={"Faults": ["webhook-failure"]}, headers=_auth(tenant[1]))  # fmt: skip
        subscribed = _subscribe(stack, registered_partner, headers={"x-openbank-fault": "slow-clearing"})
    finally:
        upstreams["payments"] = recording.inner
    assert subscribed.status_code == 201, subscribed.text
    assert recording.sent[-1]["x-openbank-fault"] == "slow-clearing"
    assert (
        _stored_fault(stack, tenant[0], registered_partner.client_id) is None
    )  # the request's own fault won


def test_without_a_toggle_no_fault_header_is_added(stack, tenant, registered_partner):
    upstreams = stack.gateway.app.state.service_http
    recording = RecordingUpstream(upstreams["payments"])
    upstreams["payments"] = recording
    try:
        subscribed = _subscribe(stack, registered_partner)
    finally:
        upstreams["payments"] = recording.inner
    assert subscribed.status_code == 201, subscribed.text
    assert "x-openbank-fault" not in {name.lower() for name in recording.sent[-1]}


def test_rate_limit_shows_the_default_and_a_lower_limit_is_applied_by_the_front_door(
    stack, tenant, registered_partner
):
    path = f"/sandbox/v1/apps/{registered_partner.client_id}/rate-limit"
    got = stack.gateway.get(path, headers=_auth(tenant[1]))
    assert got.status_code == 200, got.text
    assert got.json()["Data"] == {"ClientId": registered_partner.client_id, "RequestsPerSecond": 1000,
                                  "RegisteredRequestsPerSecond": 1000, "DefaultRequestsPerSecond": 1000}  # fmt: skip
    for bad in (0, 1001, "2", 2.5):
        refused = stack.gateway.put(path, json={"RequestsPerSecond": bad}, headers=_auth(tenant[1]))
        assert refused.status_code == 400, (bad, refused.text)
    assert stack.gateway.get(path, headers=_auth(tenant[1])).json()["Data"]["RequestsPerSecond"] == 1000

    put = stack.gateway.put(path, json={"RequestsPerSecond": 1}, headers=_auth(tenant[1]))
    assert put.status_code == 200 and put.json()["Data"]["RequestsPerSecond"] == 1
    token = _dpop_token(stack, registered_partner)
    first, second = _call(stack, registered_partner, token), _call(stack, registered_partner, token)
    assert first.status_code == 200, first.text
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1 and second.json()["Errors"][0]["ErrorCode"]
