"""Events (DESIGN.md §6): subscriptions, aggregated polling and signed push, through the gateway as a partner."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from loadtests.partner import ISSUER, pkce_pair
from openbank_kit.clock import wall_clock
from openbank_kit.http_client import ServiceClient
from tests.gateway.test_authorization_code import authorization_url, exchange, headless, push, redirect_params
from tests.obie_schema import assert_obie_response, schema_by_name, validate_body
from tests.services.payments.conftest import OTHER_BANK_NUMBER, make_pisp

EVENTS = "/open-banking/v4.0"
RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
REVOKED = "urn:uk:org:openbanking:events:consent-authorization-revoked"


@pytest.fixture(scope="module", autouse=True)
def _dispatcher_driven_by_the_tests(stack):
    """The dispatcher thread is stopped: each test calls deliver_due(now) itself."""
    dispatcher = stack.services["payments"].app.state.event_dispatcher
    dispatcher.stop()
    yield dispatcher
    dispatcher.start(1.0)


@pytest.fixture
def dispatcher(stack):
    return stack.services["payments"].app.state.event_dispatcher


class Receiver:
    """A partner's event-notification endpoint on 127.0.0.1: records each POST, answers `status` with `body`
    (and a Content-Type header when `content_type` is set)."""

    def __init__(self, status: int = 202, body: bytes = b"", content_type: str | None = None):
        self.status, self.body, self.content_type = status, body, content_type
        self.received: list[tuple[str, str, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, self.headers["Content-Type"], body))
                self.send_response(receiver.status)
                if receiver.content_type is not None:
                    self.send_header("Content-Type", receiver.content_type)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tpp/callbacks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.close()


def _events(pisp, method: str, path: str, json=None, headers=None):
    token = pisp.app_token()
    all_headers = {"Authorization": f"DPoP {token}",
                   "DPoP": pisp.partner.dpop(method, ISSUER + EVENTS + path, access_token=token), **(headers or {})}  # fmt: skip
    return pisp.stack.gateway.request(method, EVENTS + path, json=json, headers=all_headers)


def _subscribe(pisp, callback: str | None = None, headers=None, **data):
    body = {"Data": {"Version": "4.0", **({"CallbackUrl": callback} if callback else {}), **data}}
    response = _events(pisp, "POST", "/event-subscriptions", json=body, headers=headers)
    assert_obie_response("events", "/event-subscriptions", "post", response)
    assert response.status_code == 201, response.text
    return response.json()["Data"]["EventSubscriptionId"]


def _poll(pisp, **body):
    response = _events(pisp, "POST", "/events", json={"returnImmediately": True, **body})
    assert_obie_response("events", "/events", "post", response)
    assert response.status_code == 200, response.text
    return response.json()


def _paid(pisp, creditor: str | None = None) -> str:
    creditor = creditor or pisp.accounts_of("li.na")[0]["Identification"]
    body, consent_id, token = pisp.authorised_consent("zhang.wei", creditor, "12.30")
    paid = pisp.pay(body, consent_id, token)
    assert paid.status_code == 201, paid.text
    return paid.json()["Data"]["DomesticPaymentId"]


def _gateway_keys(pisp) -> KeySet:
    jwks = pisp.stack.gateway.get("/oauth2/jwks")
    assert jwks.status_code == 200
    return KeySet.import_key_set(jwks.json())


def _claims(pisp, set_jwt: str) -> dict:
    """Verified with the keys published at the gateway's jwks_uri, as a partner would."""
    token = jwt.decode(set_jwt, _gateway_keys(pisp), algorithms=["ES256"])
    assert token.header["kid"].startswith("evt-")
    if RESOURCE_UPDATE in token.claims["events"]:  # the spec's OBEvent1 knows only resource-update
        schema = schema_by_name("event-notifications", "OBEventNotification1")
        assert validate_body("event-notifications", schema, token.claims) == []
    return token.claims


def _inspector(pisp) -> list[dict]:
    response = pisp.stack.gateway.get(
        "/sandbox/v1/event-deliveries?limit=50", headers={"Authorization": f"Bearer {pisp.initial_token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()["Data"]["Delivery"]


# --- subscriptions -----------------------------------------------------------------------------------------
def test_subscription_crud_one_per_client_and_schema_errors(pisp):
    sub_id = _subscribe(pisp, "https://tpp.example.com/cb", EventTypes=[RESOURCE_UPDATE])
    again = _events(pisp, "POST", "/event-subscriptions", json={"Data": {"Version": "4.0"}})
    assert again.status_code == 409, again.text
    listed = _events(pisp, "GET", "/event-subscriptions")
    assert_obie_response("events", "/event-subscriptions", "get", listed)
    assert [s["EventSubscriptionId"] for s in listed.json()["Data"]["EventSubscription"]] == [sub_id]
    put = _events(pisp, "PUT", f"/event-subscriptions/{sub_id}",
                  json={"Data": {"EventSubscriptionId": sub_id, "Version": "4.0", "CallbackUrl": "https://tpp.example.com/v2"}})  # fmt: skip
    assert_obie_response("events", "/event-subscriptions/{EventSubscriptionId}", "put", put)
    assert put.status_code == 200 and put.json()["Data"]["CallbackUrl"] == "https://tpp.example.com/v2"
    assert "EventTypes" not in put.json()["Data"]
    bad = _events(pisp, "PUT", f"/event-subscriptions/{sub_id}",
                  json={"Data": {"Version": "4.0", "EventTypes": ["urn:nope"]}})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["Errors"][0]["Path"] == "Data.EventTypes[0]"
    no_version = _events(pisp, "PUT", f"/event-subscriptions/{sub_id}", json={"Data": {}})
    assert no_version.status_code == 400
    not_url = _events(
        pisp,
        "PUT",
        f"/event-subscriptions/{sub_id}",
        json={"Data": {"Version": "4.0", "CallbackUrl": "ftp:x"}},
    )
    assert not_url.status_code == 400
    assert _events(pisp, "GET", "/event-subscriptions").json()["Data"]["EventSubscription"][0][
        "CallbackUrl"
    ] == ("https://tpp.example.com/v2")  # nothing changed by the refused updates
    deleted = _events(pisp, "DELETE", f"/event-subscriptions/{sub_id}")
    assert deleted.status_code == 204
    assert _events(pisp, "GET", "/event-subscriptions").json()["Data"]["EventSubscription"] == []
    assert _events(pisp, "DELETE", f"/event-subscriptions/{sub_id}").status_code == 404


# --- aggregated polling ------------------------------------------------------------------------------------
def test_polling_returns_each_status_in_order_ack_removes_and_max_events(pisp):
    payment_id = _paid(pisp, OTHER_BANK_NUMBER)  # RCVD → ACSP, then ACSC at the clock move
    pisp.advance_clock(1)
    first = _poll(pisp, maxEvents=2)
    assert len(first["sets"]) == 2 and first["moreAvailable"] is True
    claims = [_claims(pisp, s) for s in first["sets"].values()]
    assert all(c["aud"] == pisp.partner.client_id and c["iss"] == ISSUER for c in claims)
    assert all(c["sub"] == f"{ISSUER}/open-banking/v4.0/pisp/domestic-payments/{payment_id}" for c in claims)
    assert [c["txn"] for c in claims] == [f"{payment_id}-RCVD", f"{payment_id}-ACSP"]
    assert list(first["sets"]) == [c["jti"] for c in claims]  # keyed by jti
    subject = claims[0]["events"][RESOURCE_UPDATE]["subject"]
    assert subject["http://openbanking.org.uk/rid"] == payment_id
    again = _poll(pisp, maxEvents=10)
    assert list(again["sets"])[:2] == list(first["sets"])  # not acknowledged: returned again
    acked = _poll(pisp, ack=list(first["sets"]), maxEvents=10)
    rest = [_claims(pisp, s)["txn"] for s in acked["sets"].values()]
    assert rest == [f"{payment_id}-ACSC"] and acked["moreAvailable"] is False
    jti = list(acked["sets"])[0]
    counted = _poll(pisp, maxEvents=0)
    assert counted["sets"] == {} and counted["moreAvailable"] is True
    done = _poll(pisp, setErrs={jti: {"err": "jwtIss", "description": "test"}})
    assert done["sets"] == {} and done["moreAvailable"] is False


def test_long_poll_without_events_returns_empty(pisp):
    response = _events(pisp, "POST", "/events", json={"returnImmediately": False, "maxEvents": 5})
    assert_obie_response("events", "/events", "post", response)
    assert response.json() == {"moreAvailable": False, "sets": {}}


def test_another_tenants_client_never_sees_the_events(pisp, stack, new_tenant):
    _paid(pisp)
    tenant_id, token = new_tenant("evt")
    other = make_pisp(stack, tenant_id, token)
    assert _poll(other, maxEvents=50) == {"moreAvailable": False, "sets": {}}
    stranger = _poll(pisp, maxEvents=50)
    assert len(stranger["sets"]) == 2  # RCVD and ACCC, only for the paying client
    assert _poll(other, ack=list(stranger["sets"]))["sets"] == {}
    assert len(_poll(pisp)["sets"]) == 2  # another client's ack removed nothing


# --- push --------------------------------------------------------------------------------------------------
def test_push_delivers_a_signed_set_the_partner_verifies_with_the_gateway_jwks(pisp, receiver, dispatcher):
    _subscribe(pisp, receiver.url)
    payment_id = _paid(pisp)
    assert dispatcher.deliver_due(wall_clock()) >= 2
    mine = [r for r in receiver.received]
    assert [(path, ctype) for path, ctype, _ in mine] == [
        ("/tpp/callbacks/event-notifications", "application/jwt")
    ] * 2
    claims = [_claims(pisp, body.decode()) for _, _, body in mine]
    assert [c["txn"] for c in claims] == [f"{payment_id}-RCVD", f"{payment_id}-ACCC"]
    assert all(c["aud"] == pisp.partner.client_id and isinstance(c["toe"], int) for c in claims)
    deliveries = _inspector(pisp)
    assert {d["Status"] for d in deliveries} == {"DELIVERED"}
    assert all(d["Attempts"][0]["ResponseStatus"] == 202 for d in deliveries)
    assert _poll(pisp)["sets"] == {}  # delivered by push: acknowledged


def test_end_to_end_payment_settles_balances_move_in_aisp_and_the_webhook_gets_a_signed_event(
    pisp, receiver, dispatcher
):
    """The issue's whole story as a partner lives it: subscribe, consent, the persona approves (headless), pay;
    both balances read back through AISP with the customers' own consents; the push is verified with the jwks."""
    from tests.services.payments.api.test_domestic_payments import _aisp_balance

    _subscribe(pisp, receiver.url, EventTypes=[RESOURCE_UPDATE])
    debtor = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    creditor = pisp.accounts_of("li.na")[0]
    before = (_aisp_balance(pisp, "zhang.wei", debtor["AccountId"]),
              _aisp_balance(pisp, "li.na", creditor["AccountId"]))  # fmt: skip
    body = pisp.consent_body(creditor["Identification"], "88.80")
    created = pisp.create_consent(body)
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    token = pisp.authorise(consent_id, "zhang.wei", account_ids=[debtor["AccountId"]])
    paid = pisp.pay(body, consent_id, token)
    assert paid.status_code == 201 and paid.json()["Data"]["Status"] == "ACCC", paid.text
    payment_id = paid.json()["Data"]["DomesticPaymentId"]

    after = (_aisp_balance(pisp, "zhang.wei", debtor["AccountId"]),
             _aisp_balance(pisp, "li.na", creditor["AccountId"]))  # fmt: skip
    assert Decimal(after[0]) == Decimal(before[0]) - Decimal("88.80")
    assert Decimal(after[1]) == Decimal(before[1]) + Decimal("88.80")

    assert dispatcher.deliver_due(wall_clock()) == 2  # RCVD then ACCC
    claims = [_claims(pisp, set_jwt.decode()) for _, _, set_jwt in receiver.received]
    assert [c["txn"] for c in claims] == [f"{payment_id}-RCVD", f"{payment_id}-ACCC"]
    settled = claims[-1]
    assert settled["iss"] == ISSUER and settled["aud"] == pisp.partner.client_id
    assert settled["sub"].endswith(f"/domestic-payments/{payment_id}")
    update = settled["events"][RESOURCE_UPDATE]["subject"]
    assert update["http://openbanking.org.uk/rid"] == payment_id
    assert update["http://openbanking.org.uk/rty"] == "domestic-payments"


def test_failing_receiver_backs_off_dead_letters_and_redeliver_requeues(pisp, receiver, dispatcher, stack):
    receiver.status = 500
    _subscribe(pisp, receiver.url, EventTypes=[RESOURCE_UPDATE])
    _paid(pisp)
    now = wall_clock()
    dispatcher.deliver_due(now)
    pending = _inspector(pisp)
    assert {d["Status"] for d in pending} == {"PENDING"} and len(pending) == 2
    assert pending[0]["Attempts"][0]["ResponseStatus"] == 500
    assert pending[0]["NextAttemptAt"] == (now + timedelta(seconds=1)).isoformat()
    assert dispatcher.deliver_due(now + timedelta(milliseconds=500)) == 0  # not due yet
    moment = now
    for attempt in range(2, dispatcher.max_attempts + 1):
        moment = moment + timedelta(seconds=2 ** (attempt - 2))
        assert dispatcher.deliver_due(moment) == 2
    dead = _inspector(pisp)
    assert {d["Status"] for d in dead} == {"DEAD_LETTERED"}
    assert all(len(d["Attempts"]) == dispatcher.max_attempts for d in dead)
    assert len(receiver.received) == 2 * dispatcher.max_attempts
    assert len({body for _, _, body in receiver.received}) == 2  # every retry re-sends the same SET
    receiver.status = 202
    redelivered = stack.gateway.post(
        f"/sandbox/v1/event-deliveries/{dead[0]['DeliveryId']}/redeliver",
        headers={"Authorization": f"Bearer {pisp.initial_token}"},
    )
    assert redelivered.status_code == 202, redelivered.text
    assert redelivered.json()["Data"]["Delivery"][0]["Status"] == "PENDING"
    dispatcher.deliver_due(wall_clock() + timedelta(seconds=1))
    statuses = {d["DeliveryId"]: d["Status"] for d in _inspector(pisp)}
    assert statuses[dead[0]["DeliveryId"]] == "DELIVERED"
    assert list(statuses.values()).count("DEAD_LETTERED") == 1


def test_the_inspector_shows_the_body_and_content_type_a_receiver_answered_with(pisp, receiver, dispatcher):
    receiver.status, receiver.content_type = 200, "application/json; charset=utf-8"
    receiver.body = '{"Received": true, "Note": "已收到"}'.encode()
    _subscribe(pisp, receiver.url, EventTypes=[RESOURCE_UPDATE])
    _paid(pisp)
    assert dispatcher.deliver_due(wall_clock()) == 2
    deliveries = _inspector(pisp)
    assert {d["Status"] for d in deliveries} == {"DELIVERED"}
    for delivery in deliveries:
        (attempt,) = delivery["Attempts"]
        assert attempt["ResponseStatus"] == 200 and attempt["Error"] is None
        assert attempt["ResponseContentType"] == "application/json; charset=utf-8"
        assert attempt["ResponseBody"] == '{"Received": true, "Note": "已收到"}'
        assert attempt["ResponseBodyTruncated"] is False


def test_a_failing_receivers_long_answer_is_kept_truncated_and_flagged_on_every_attempt(
    pisp, receiver, dispatcher
):
    # 9,000+ characters, multi-byte ones among them, and a byte that is not UTF-8 at the start.
    text = "处理失败 internal error; " * 400
    receiver.status, receiver.content_type = 500, "text/plain"
    receiver.body = b"\xff" + text.encode()
    _subscribe(pisp, receiver.url, EventTypes=[RESOURCE_UPDATE])
    _paid(pisp)
    now = wall_clock()
    dispatcher.deliver_due(now)
    dispatcher.deliver_due(
        now + timedelta(seconds=1)
    )  # the first retry: both attempts keep what was answered
    deliveries = _inspector(pisp)
    assert {d["Status"] for d in deliveries} == {"PENDING"} and len(deliveries) == 2
    expected = ("\ufffd" + text)[:2048]
    for delivery in deliveries:
        assert len(delivery["Attempts"]) == 2
        for attempt in delivery["Attempts"]:
            assert attempt["ResponseStatus"] == 500 and attempt["Error"] == "HTTP 500"
            assert attempt["ResponseContentType"] == "text/plain"
            assert attempt["ResponseBody"] == expected
            assert attempt["ResponseBodyTruncated"] is True


def test_a_receiver_that_cannot_be_reached_keeps_the_error_and_no_response(pisp, dispatcher):
    import socket

    with socket.socket() as closed:  # a port nothing listens on once the socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _subscribe(pisp, f"http://127.0.0.1:{port}/tpp", EventTypes=[RESOURCE_UPDATE])
    _paid(pisp)
    dispatcher.deliver_due(wall_clock())
    attempts = [d["Attempts"][0] for d in _inspector(pisp)]
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt["ResponseStatus"] is None and attempt["Error"].startswith("ConnectError")
        assert attempt["ResponseBody"] is None and attempt["ResponseContentType"] is None
        assert attempt["ResponseBodyTruncated"] is False


def test_webhook_failure_fault_fails_every_delivery_without_calling_the_receiver(pisp, receiver, dispatcher):
    _subscribe(pisp, receiver.url, headers={"x-openbank-fault": "webhook-failure"})
    _paid(pisp)
    moment = wall_clock()
    for _ in range(dispatcher.max_attempts):
        dispatcher.deliver_due(moment)
        moment += timedelta(seconds=60)
    dead = _inspector(pisp)
    assert {d["Status"] for d in dead} == {"DEAD_LETTERED"}
    assert "webhook-failure" in dead[0]["Attempts"][-1]["Error"]
    assert receiver.received == []


def test_a_claim_whose_process_died_is_retried_after_the_lease(pisp, receiver, dispatcher):
    _subscribe(pisp, receiver.url)
    _paid(pisp)
    now = wall_clock()
    assert len(dispatcher._claim(now, 50)) == 2  # claimed, then the process "dies" before posting
    assert dispatcher.deliver_due(now + timedelta(seconds=1)) == 0  # leased
    assert dispatcher.deliver_due(now + timedelta(seconds=dispatcher.lease_s + 1)) == 2
    assert {d["Status"] for d in _inspector(pisp)} == {"DELIVERED"}


# --- publish API, consent revocation, reset ----------------------------------------------------------------
def test_publish_is_idempotent_on_event_id(pisp, stack):
    body = {"EventId": "loan-L1-DISBURSED", "ClientId": pisp.partner.client_id, "EventType": RESOURCE_UPDATE,
            "Subject": {"ResourceId": "L1", "ResourceType": "loans",
                        "ResourceLinks": [{"Version": "4.0", "Link": f"{ISSUER}/loans/v1/loans/L1"}]},
            "OccurredAt": "2026-12-02T10:00:00+08:00"}  # fmt: skip
    path = f"/internal/v1/tenants/{pisp.tenant_id}/events"
    first = stack.services["payments"].post(path, json=body, headers=stack.internal_headers)
    assert first.status_code == 201, first.text
    second = stack.services["payments"].post(path, json=body, headers=stack.internal_headers)
    assert second.status_code == 200 and second.json() == first.json()
    sets = _poll(pisp, maxEvents=10)["sets"]
    assert list(sets) == [first.json()["Jti"]]
    assert _claims(pisp, sets[first.json()["Jti"]])["sub"] == f"{ISSUER}/loans/v1/loans/L1"
    unauthenticated = stack.services["payments"].post(path, json=body)
    assert unauthenticated.status_code == 401
    bad = stack.services["payments"].post(path, json={**body, "EventId": "x2", "OccurredAt": "yesterday"},
                                          headers=stack.internal_headers)  # fmt: skip
    assert bad.status_code == 400


def test_concurrent_publishes_of_one_event_id_make_one_event(pisp, stack, backend):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; the insert race is PostgreSQL's")
    body = {"EventId": "loan-L2-REPAID", "ClientId": pisp.partner.client_id, "EventType": RESOURCE_UPDATE,
            "Subject": {"ResourceId": "L2", "ResourceType": "loans",
                        "ResourceLinks": [{"Version": "4.0", "Link": f"{ISSUER}/lending/v1/loans/L2"}]},
            "OccurredAt": "2026-12-02T10:00:00+08:00"}  # fmt: skip
    path = f"/internal/v1/tenants/{pisp.tenant_id}/events"
    start = threading.Barrier(8)

    def publish(_n):
        start.wait()
        return stack.services["payments"].post(path, json=body, headers=stack.internal_headers)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(publish, range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201], [r.text for r in responses]
    assert len({r.json()["Jti"] for r in responses}) == 1  # every caller is told the same event
    assert list(_poll(pisp, maxEvents=10)["sets"]) == [responses[0].json()["Jti"]]


def test_reset_clears_the_tenants_events_deliveries_and_subscription(pisp, receiver, dispatcher, stack):
    _subscribe(pisp, receiver.url)
    _paid(pisp)
    assert len(_inspector(pisp)) == 2
    reset = stack.gateway.post("/sandbox/v1/reset", headers={"Authorization": f"Bearer {pisp.initial_token}"})
    assert reset.status_code == 200, reset.text
    pisp._app_token = None  # tokens issued before a reset are refused
    assert _inspector(pisp) == []
    assert _poll(pisp) == {"moreAvailable": False, "sets": {}}
    assert _events(pisp, "GET", "/event-subscriptions").json()["Data"]["EventSubscription"] == []


# --- consent revocation (accounts → payments' publish API) -------------------------------------------------
AISP = "/open-banking/v4.0/aisp"


@pytest.fixture
def accounts_reach_payments(stack):
    accounts = stack.services["accounts"].app
    original = accounts.state.payments_client
    accounts.state.payments_client = ServiceClient(
        "http://payments", client=stack.services["payments"],
        token_provider=lambda: stack.settings.internal_token, max_retries=0,
    )  # fmt: skip
    yield accounts
    accounts.state.payments_client = original


def _authorised_aisp_consent(pisp, username: str = "zhang.wei") -> tuple[str, str]:
    app = pisp.token_for("accounts")
    created = pisp.call("POST", f"{AISP}/account-access-consents", app,
                        json={"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}})  # fmt: skip
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    verifier, challenge = pkce_pair()
    request_uri = push(
        pisp.stack, pisp.partner, challenge, scope="openid accounts", openbanking_intent_id=consent_id
    )
    params = redirect_params(headless(pisp.stack, pisp.initial_token,
                                      authorization_url(pisp.partner.client_id, request_uri), username=username))  # fmt: skip
    assert exchange(pisp.stack, pisp.partner, params["code"], verifier).status_code == 200
    return consent_id, app


def _revoked_events(pisp) -> list[dict]:
    sets = _poll(pisp, maxEvents=50)["sets"]
    return [c for c in (_claims(pisp, s) for s in sets.values()) if REVOKED in c["events"]]


def test_tpp_delete_of_an_authorised_consent_emits_consent_authorization_revoked(
    pisp, accounts_reach_payments
):
    consent_id, app = _authorised_aisp_consent(pisp)
    deleted = pisp.call("DELETE", f"{AISP}/account-access-consents/{consent_id}", app)
    assert deleted.status_code == 204, deleted.text
    again = pisp.call("DELETE", f"{AISP}/account-access-consents/{consent_id}", app)
    assert again.status_code == 204
    revoked = _revoked_events(pisp)
    assert len(revoked) == 1  # the second DELETE republished the same EventId: still one event
    subject = revoked[0]["events"][REVOKED]["subject"]
    assert subject["http://openbanking.org.uk/rid"] == consent_id
    assert subject["http://openbanking.org.uk/rty"] == "account-access-consents"
    assert revoked[0]["sub"] == f"{ISSUER}{AISP}/account-access-consents/{consent_id}"
    unauthorised = pisp.call("POST", f"{AISP}/account-access-consents", app,
                             json={"Data": {"Permissions": ["ReadAccountsBasic"]}, "Risk": {}})  # fmt: skip
    pisp.call("DELETE", f"{AISP}/account-access-consents/{unauthorised.json()['Data']['ConsentId']}", app)
    assert len(_revoked_events(pisp)) == 1  # an AWAU consent deleted was never authorised: no event


def test_bank_side_revocation_emits_the_event_and_never_fails_when_payments_is_down(
    pisp, stack, accounts_reach_payments
):
    consent_id, _ = _authorised_aisp_consent(pisp)
    accounts_reach_payments.state.payments_client = ServiceClient(
        "http://127.0.0.1:9", max_retries=0, timeout_s=1
    )
    path = f"/internal/v1/tenants/{pisp.tenant_id}/consents/{consent_id}/revocation"
    revoked = stack.services["accounts"].post(
        path, json={"CustomerId": "CUS000001"}, headers=stack.internal_headers
    )
    assert (
        revoked.status_code == 200 and revoked.json()["Data"]["Status"] == "CANC"
    )  # payments down: still revoked
    assert _revoked_events(pisp) == []  # best effort: lost while payments was down (logged)
    accounts_reach_payments.state.payments_client = ServiceClient(
        "http://payments", client=stack.services["payments"],
        token_provider=lambda: stack.settings.internal_token, max_retries=0,
    )  # fmt: skip
    again = stack.services["accounts"].post(
        path, json={"CustomerId": "CUS000001"}, headers=stack.internal_headers
    )
    assert again.status_code == 200  # revoking again (idempotent) publishes it now
    assert [
        c["events"][REVOKED]["subject"]["http://openbanking.org.uk/rid"] for c in _revoked_events(pisp)
    ] == [consent_id]
