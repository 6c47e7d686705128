"""Hot routes answer from the middleware exactly as FastAPI would: same route function, same error answers."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from openbank_kit.deps import parsed_body
from openbank_kit.errors import Conflict
from openbank_kit.service_app import create_service_app
from openbank_kit.settings import load_settings
from openbank_kit.tenancy import TenantTables


class Body(BaseModel):
    Amount: int


router = APIRouter()
seen: list[str] = []


@router.post("/things/{thing_id}/moves", status_code=201)
async def move(request: Request) -> JSONResponse:
    seen.append(request.scope.get("route").path if request.scope.get("route") else "middleware")
    body = parsed_body(Body, await request.body())
    if body.Amount == 409:
        raise Conflict(message="already moving")
    if body.Amount == 500:
        raise RuntimeError("boom")
    return JSONResponse({"Thing": request.path_params["thing_id"], "Amount": body.Amount}, status_code=201)


def _client(hot: bool) -> TestClient:
    settings = load_settings(var_dir=tempfile.mkdtemp(), internal_token="x", log_level="WARNING")
    app = create_service_app(service="loans", title="t", settings=settings, db=None,
                             tenant_tables=TenantTables("loans", []), migrations_dir=Path("/nowhere"),
                             routers=[router], migrate_on_start=False,
                             hot_routes=[("POST", "/things/{thing_id}/moves", move)] if hot else ())  # fmt: skip
    return TestClient(app, raise_server_exceptions=False)


def test_a_hot_route_answers_like_the_same_route_through_fastapi():
    answers = {}
    for hot in (True, False):
        seen.clear()
        with _client(hot) as client:
            headers = {"x-fapi-interaction-id": "ia-1"}
            answers[hot] = [
                client.post("/things/t-9/moves", json={"Amount": 5}, headers=headers),
                client.post("/things/t-9/moves", json={"Amount": "x"}, headers=headers),
                client.post("/things/t-9/moves", content=b"{", headers=headers),
                client.post("/things/t-9/moves", json={"Amount": 409}, headers=headers),
                client.post("/things/t-9/moves", json={"Amount": 500}, headers=headers),
            ]
        assert set(seen) == ({"middleware"} if hot else {"/things/{thing_id}/moves"})
    for through_middleware, through_fastapi in zip(answers[True], answers[False], strict=True):
        assert through_middleware.status_code == through_fastapi.status_code
        assert through_middleware.headers["x-fapi-interaction-id"] == "ia-1"
        assert through_middleware.json() == through_fastapi.json()
    assert [a.status_code for a in answers[True]] == [201, 400, 400, 409, 500]
    assert answers[True][0].json() == {"Thing": "t-9", "Amount": 5}
    assert answers[True][1].json()["Errors"][0]["Path"] == "Amount"
