from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from openbank_kit import http_client
from openbank_kit.http_client import ServiceCallError, ServiceClient
from openbank_kit.interaction import INTERACTION_HEADER, InteractionIdMiddleware, request_context

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler answering from a script, remembering every request."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, json={"ok": answer < 400})


def service(recorder: Recorder, **kwargs) -> ServiceClient:
    client = httpx.Client(transport=httpx.MockTransport(recorder), base_url="http://accounts.internal")
    return ServiceClient("http://ignored", client=client, backoff_s=0.0, **kwargs)


def test_post_without_idempotency_key_is_tried_once() -> None:
    recorder = Recorder(503)
    response = service(recorder).post("/internal/v1/ledger/transactions", json={"a": 1})
    assert response.status_code == 503  # not retried, and not an error: the caller reads the answer
    assert len(recorder.requests) == 1


def test_post_with_idempotency_key_is_retried_until_retries_are_exhausted() -> None:
    recorder = Recorder(503)
    with pytest.raises(ServiceCallError) as caught:
        service(recorder, max_retries=2).post(
            "/internal/v1/ledger/transactions", json={}, idempotency_key="k-1"
        )
    assert len(recorder.requests) == 3
    assert caught.value.attempts == 3
    assert caught.value.response is not None and caught.value.response.status_code == 503
    assert caught.value.service_url == "http://accounts.internal"
    assert "503" in caught.value.reason
    assert all(request.headers["x-idempotency-key"] == "k-1" for request in recorder.requests)


def test_post_with_key_succeeds_after_a_502() -> None:
    recorder = Recorder(502, 201)
    response = service(recorder).post("/x", json={}, idempotency_key="k-2")
    assert response.status_code == 201
    assert len(recorder.requests) == 2


def test_get_is_retried_on_503_then_succeeds() -> None:
    recorder = Recorder(503, 504, 200)
    response = service(recorder).get("/internal/v1/accounts/1")
    assert response.status_code == 200
    assert len(recorder.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 409, 429, 500])
def test_other_statuses_are_not_retried(status: int) -> None:
    recorder = Recorder(status)
    assert service(recorder).get("/x").status_code == status
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "OPTIONS"])
def test_idempotent_methods_are_retried(method: str) -> None:
    recorder = Recorder(503, 200)
    assert service(recorder).request(method, "/x").status_code == 200
    assert len(recorder.requests) == 2


def test_connection_errors_and_timeouts_are_retried_for_idempotent_calls() -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 200)
    assert service(recorder).put("/x", json={}).status_code == 200
    assert len(recorder.requests) == 3


def test_connection_error_on_post_without_key_raises_after_one_attempt() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(ServiceCallError) as caught:
        service(recorder).post("/x", json={})
    assert len(recorder.requests) == 1
    assert "ReadTimeout" in str(caught.value)
    assert "may or may not" in caught.value.reason


def test_unreachable_service_raises_service_call_error() -> None:
    recorder = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(ServiceCallError) as caught:
        service(recorder, max_retries=1).get("/x")
    assert len(recorder.requests) == 2
    assert caught.value.response is None


def test_backoff_is_exponential_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(http_client.time, "sleep", slept.append)
    recorder = Recorder(503)
    client = httpx.Client(transport=httpx.MockTransport(recorder), base_url="http://svc")
    with pytest.raises(ServiceCallError):
        ServiceClient("http://svc", client=client, max_retries=5, backoff_s=0.5).get("/x")
    assert slept == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_headers_carry_token_interaction_id_and_idempotency_key() -> None:
    tokens = iter(["t-1", "t-2"])
    recorder = Recorder(503, 200)
    client = service(recorder, token_provider=lambda: next(tokens))
    with request_context("ia-1"):
        client.post("/x", json={"a": 1}, headers={"x-extra": "1"}, idempotency_key="k-3")
    first, second = recorder.requests
    assert first.headers["authorization"] == "Bearer t-1"
    assert second.headers["authorization"] == "Bearer t-2"  # asked again for each attempt
    assert first.headers[INTERACTION_HEADER] == "ia-1"
    assert first.headers["x-idempotency-key"] == "k-3"
    assert first.headers["x-extra"] == "1"


def test_no_token_and_no_interaction_id_outside_a_request() -> None:
    recorder = Recorder(200)
    service(recorder).get("/x")
    (request,) = recorder.requests
    assert "authorization" not in request.headers
    assert INTERACTION_HEADER not in request.headers


def test_own_client_has_explicit_timeouts_and_limits() -> None:
    with ServiceClient("http://127.0.0.1:8101", timeout_s=3.0, connect_timeout_s=1.0) as client:
        pool = client._pool
        assert (pool.timeout.connect_timeout, pool.timeout.read_timeout) == (1.0, 3.0)
        assert (pool.host, pool.port) == ("127.0.0.1", 8101)
        assert pool.retries is False and pool.pool.maxsize == http_client.POOL_MAX_KEEPALIVE_CONNECTIONS
        assert client.service_url == "http://127.0.0.1:8101"
    assert pool.pool is None  # closed


def test_own_pool_talks_to_a_real_server_and_retries_a_refused_connection() -> None:
    """The urllib3 path end to end: a real uvicorn server, JSON both ways, headers, and an unreachable port."""
    import socket
    import threading

    import uvicorn

    app = FastAPI()

    @app.post("/internal/v1/echo")
    async def echo(request: Request) -> dict:
        return {"Body": await request.json(), "Key": request.headers.get("x-idempotency-key"),
                "Authorization": request.headers.get("authorization")}  # fmt: skip

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.02)
        with ServiceClient(f"http://127.0.0.1:{port}", token_provider=lambda: "internal") as client:
            for n in range(3):  # the connection is reused
                answer = client.post(
                    "/internal/v1/echo", json={"Amount": "1.00", "N": n}, idempotency_key=f"k-{n}"
                )
                assert answer.status_code == 200 and answer.is_success
                assert answer.json() == {"Body": {"Amount": "1.00", "N": n}, "Key": f"k-{n}",
                                         "Authorization": "Bearer internal"}  # fmt: skip
                assert answer.headers["Content-Type"] == "application/json"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
    with pytest.raises(ServiceCallError) as caught:  # nothing listens there now
        ServiceClient(f"http://127.0.0.1:{port}", max_retries=1, backoff_s=0.0).get("/x")
    assert caught.value.attempts == 2


def test_passed_in_client_is_not_closed() -> None:
    inner = httpx.Client(transport=httpx.MockTransport(Recorder(200)))
    ServiceClient("http://x", client=inner).close()
    assert not inner.is_closed


@pytest.mark.parametrize(
    "kwargs", [{"max_retries": -1}, {"max_retries": 11}, {"timeout_s": 0}, {"backoff_s": -1}]
)
def test_bad_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ServiceClient("http://x", **kwargs)


def test_works_with_a_starlette_test_client() -> None:
    app = FastAPI()
    app.add_middleware(InteractionIdMiddleware)

    @app.get("/internal/v1/echo")
    def echo(request: Request) -> dict:
        return {"Authorization": request.headers.get("authorization")}

    with TestClient(app) as test_client:
        client = ServiceClient("http://unused", client=test_client, token_provider=lambda: "internal")
        with request_context("from-gateway"):
            response = client.get("/internal/v1/echo")
    assert response.status_code == 200
    assert response.json() == {"Authorization": "Bearer internal"}
    assert response.headers[INTERACTION_HEADER] == "from-gateway"
