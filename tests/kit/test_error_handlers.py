"""install_error_handlers + InteractionIdMiddleware + RequestLogMiddleware on a tiny FastAPI app."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from openbank_kit.errors import FieldInvalid, TooManyRequests, install_error_handlers
from openbank_kit.interaction import (
    INTERACTION_HEADER,
    InteractionIdMiddleware,
    bind_tenant_id,
    current_interaction_id,
)
from openbank_kit.logging import RequestLogMiddleware


class AmountIn(BaseModel):
    Amount: str = Field(pattern=r"^\d{1,13}$|^\d{1,13}\.\d{1,5}$")
    Currency: str


class DataIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    Amount: AmountIn
    Purpose: str


class ConsentIn(BaseModel):
    Data: DataIn


def tenant_from_header(x_tenant: Annotated[str | None, Header()] = None) -> str | None:
    bind_tenant_id(x_tenant)  # a sync dependency: runs in the thread pool on a copied context
    return x_tenant


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(InteractionIdMiddleware)

    @app.get("/sync")
    def sync_route(tenant: Annotated[str | None, Depends(tenant_from_header)]) -> dict:
        return {"InteractionId": current_interaction_id(), "Tenant": tenant}

    @app.get("/async")
    async def async_route() -> dict:
        return {"InteractionId": current_interaction_id()}

    @app.post("/consents", status_code=201)
    def create_consent(body: ConsentIn) -> dict:
        return {"Data": {"Purpose": body.Data.Purpose}}

    @app.get("/headers")
    def needs_header(x_idempotency_key: Annotated[str, Header()]) -> dict:
        return {}

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("database password is hunter2")

    @app.get("/async-boom")
    async def async_boom() -> dict:
        raise KeyError("internal detail")

    @app.get("/invalid")
    def invalid() -> dict:
        raise FieldInvalid(path="Data.Amount.Currency", message="Currency USD is not supported")

    @app.get("/limited")
    def limited() -> dict:
        raise TooManyRequests(7)

    @app.get("/media")
    def media() -> dict:
        raise HTTPException(status_code=415)

    @app.get("/teapot")
    def teapot() -> dict:
        raise HTTPException(status_code=418, detail="short and stout")

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        return await request.json()

    @app.get("/stream")
    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b", b"c"]), media_type="text/plain")

    return app


@pytest.fixture
def client() -> TestClient:
    # raise_server_exceptions=False: we want to see the 500 the client would see.
    return TestClient(build_app(), raise_server_exceptions=False)


def assert_obie_error(response, status: int, validate_obie_error) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers[INTERACTION_HEADER]
    body = response.json()
    validate_obie_error(body)
    assert body["Code"].startswith(f"{status} ")
    assert body["Id"] == response.headers[INTERACTION_HEADER]
    return body


def test_interaction_id_is_echoed_exactly(client: TestClient) -> None:
    response = client.get("/async", headers={INTERACTION_HEADER: "93bac548-d2de-4546-b106-880a5018460d"})
    assert response.headers[INTERACTION_HEADER] == "93bac548-d2de-4546-b106-880a5018460d"
    assert response.json()["InteractionId"] == "93bac548-d2de-4546-b106-880a5018460d"
    assert (
        client.get("/async", headers={INTERACTION_HEADER: "not-a-uuid-but-fine"}).headers[INTERACTION_HEADER]
        == "not-a-uuid-but-fine"
    )


def test_missing_interaction_id_gets_a_new_uuid(client: TestClient) -> None:
    first = client.get("/async").headers[INTERACTION_HEADER]
    second = client.get("/async").headers[INTERACTION_HEADER]
    assert uuid.UUID(first).version == 4
    assert first != second


def test_overlong_interaction_id_is_replaced(client: TestClient) -> None:
    response = client.get("/async", headers={INTERACTION_HEADER: "x" * 101})
    assert uuid.UUID(response.headers[INTERACTION_HEADER])


def test_sync_routes_and_dependencies_see_the_interaction_id(client: TestClient) -> None:
    response = client.get("/sync", headers={INTERACTION_HEADER: "abc-123", "x-tenant": "team-a"})
    assert response.json() == {"InteractionId": "abc-123", "Tenant": "team-a"}


def test_streaming_responses_pass_through_with_the_header(client: TestClient) -> None:
    response = client.get("/stream", headers={INTERACTION_HEADER: "s-1"})
    assert response.text == "abc"
    assert response.headers[INTERACTION_HEADER] == "s-1"


def test_unknown_path_is_an_obie_404(client: TestClient, validate_obie_error) -> None:
    response = client.get("/nope", headers={INTERACTION_HEADER: "n-1"})
    body = assert_obie_error(response, 404, validate_obie_error)
    assert response.headers[INTERACTION_HEADER] == "n-1"
    assert body["Errors"][0]["ErrorCode"] == "U011"
    assert "/nope" in body["Errors"][0]["Message"]


def test_wrong_method_is_an_obie_405_with_allow(client: TestClient, validate_obie_error) -> None:
    response = client.delete("/async")
    body = assert_obie_error(response, 405, validate_obie_error)
    assert "GET" in response.headers["allow"]
    assert body["Errors"][0]["ErrorCode"] == "U010"


def test_validation_error_is_a_400_with_json_paths(client: TestClient, validate_obie_error) -> None:
    response = client.post(
        "/consents",
        json={"Data": {"Amount": {"Amount": "12.5x", "Currency": "CNY"}, "Surprise": 1}},
        headers={INTERACTION_HEADER: "v-1"},
    )
    body = assert_obie_error(response, 400, validate_obie_error)
    by_path = {entry["Path"]: entry for entry in body["Errors"]}
    assert by_path["Data.Amount.Amount"]["ErrorCode"] == "U002"
    assert "pattern" in by_path["Data.Amount.Amount"]["Message"]
    assert by_path["Data.Purpose"]["ErrorCode"] == "U004"
    assert by_path["Data.Surprise"]["ErrorCode"] == "U005"
    assert response.headers[INTERACTION_HEADER] == "v-1"


def test_missing_header_is_a_400_naming_the_header(client: TestClient, validate_obie_error) -> None:
    body = assert_obie_error(client.get("/headers"), 400, validate_obie_error)
    assert body["Errors"] == [{"ErrorCode": "U007", "Message": "Field required", "Path": "x-idempotency-key"}]


def test_malformed_json_body_is_a_400(client: TestClient, validate_obie_error) -> None:
    for path in ("/consents", "/raw"):
        response = client.post(path, content=b'{"Data": ', headers={"content-type": "application/json"})
        body = assert_obie_error(response, 400, validate_obie_error)
        assert body["Errors"][0]["ErrorCode"] == "U010"
        assert "JSON" in body["Errors"][0]["Message"]


def test_obie_errors_keep_their_status_code_path_and_headers(client: TestClient, validate_obie_error) -> None:
    body = assert_obie_error(client.get("/invalid"), 400, validate_obie_error)
    assert body["Errors"][0] == {
        "ErrorCode": "U002",
        "Message": "Currency USD is not supported",
        "Path": "Data.Amount.Currency",
    }
    response = client.get("/limited")
    assert_obie_error(response, 429, validate_obie_error)
    assert response.headers["retry-after"] == "7"


def test_http_exceptions_map_to_obie_bodies(client: TestClient, validate_obie_error) -> None:
    body = assert_obie_error(client.get("/media"), 415, validate_obie_error)
    assert body["Errors"][0]["Path"] == "Content-Type"
    body = assert_obie_error(client.get("/teapot"), 418, validate_obie_error)
    assert body["Errors"][0]["Message"] == "short and stout"


@pytest.mark.parametrize("path", ["/boom", "/async-boom"])
def test_unexpected_error_is_a_generic_500_with_the_interaction_id(
    client: TestClient, validate_obie_error, path: str
) -> None:
    response = client.get(path, headers={INTERACTION_HEADER: "crash-1"})
    body = assert_obie_error(response, 500, validate_obie_error)
    assert response.headers[INTERACTION_HEADER] == "crash-1"
    assert body["Errors"][0]["ErrorCode"] == "U000"
    text = response.text
    for leak in ("Traceback", "RuntimeError", "KeyError", "hunter2", "internal detail", ".py"):
        assert leak not in text


def test_500_without_the_interaction_middleware_still_has_the_header(validate_obie_error) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("x")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    body = assert_obie_error(response, 500, validate_obie_error)
    assert uuid.UUID(response.headers[INTERACTION_HEADER])
    assert body["Id"] == response.headers[INTERACTION_HEADER]


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_request_log_has_one_json_line_per_request_with_context(client: TestClient, log_stream) -> None:
    client.get("/sync", headers={INTERACTION_HEADER: "log-1", "x-tenant": "team-a"})
    client.get("/nope", headers={INTERACTION_HEADER: "log-2"})
    requests = [line for line in _lines(log_stream) if line["event"] == "http_request"]
    assert len(requests) == 2
    first, second = requests
    assert first["method"] == "GET" and first["path"] == "/sync" and first["status"] == 200
    assert first["interaction_id"] == "log-1"
    assert first["tenant_id"] == "team-a"
    assert first["service"] == "kit-test"
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")
    assert isinstance(first["duration_ms"], float | int)
    assert second["status"] == 404 and second["interaction_id"] == "log-2"
    assert "tenant_id" not in second


def test_unexpected_error_is_logged_with_traceback(client: TestClient, log_stream) -> None:
    client.get("/boom", headers={INTERACTION_HEADER: "crash-2"})
    lines = _lines(log_stream)
    crash = next(line for line in lines if line["event"] == "unhandled_exception")
    assert crash["interaction_id"] == "crash-2"
    assert crash["level"] == "error"
    assert "Traceback" in crash["exception"] and "hunter2" in crash["exception"]
    request = next(line for line in lines if line["event"] == "http_request")
    assert request["status"] == 500 and request["interaction_id"] == "crash-2"
