"""Classroom mode: a trainer's CSV (or N) → N tenants with one sandbox-basic app each, a credentials sheet in HTML
and CSV whose credentials work, team resets that touch no other team, and bad CSVs explained."""

from __future__ import annotations

import base64
import csv
import io
import re
from datetime import datetime, timedelta

import pytest

from gateway.portal.models import ClassroomTeam
from openbank_kit.clock import wall_clock
from tests.gateway import portal_helpers

developers = portal_helpers.developers  # the fixture


@pytest.fixture
def trainer(stack, developers):
    developer = developers("trainer")
    yield developer
    with stack.db("gateway").read_session() as session:
        tenant_ids = [team.tenant_id for team in session.query(ClassroomTeam).all()]
    live = {t.tenant_id for t in stack.gateway.app.state.tenant_service.list_tenants()}
    for tenant_id in set(tenant_ids) & live:
        stack.gateway.app.state.tenant_service.delete(tenant_id)


def create_classroom(trainer, csv_text: str | bytes | None = None, **data):
    files = {"teams_csv": ("teams.csv", csv_text, "text/csv")} if csv_text is not None else None
    return trainer.post("/portal/classroom", {"name": "FinTech 101", **data}, files=files,
                        csrf_from="/portal/classroom")  # fmt: skip


def sheet_rows(trainer, location: str) -> list[dict]:
    response = trainer.browser.get(location + "/credentials.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def clock_of(stack, token: str) -> datetime:
    response = stack.gateway.get("/sandbox/v1/clock", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["Now"])


def test_a_csv_of_teams_gives_each_team_a_tenant_and_an_app_whose_credentials_work(stack, trainer):
    response = create_classroom(trainer, "team\n第一组 Dragons\nTeam Beta\nO'Brien-3\n")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    sheet = trainer.browser.get(location)
    assert sheet.status_code == 200 and sheet.text.count('data-test="team-row"') == 3
    assert "第一组 Dragons" in sheet.text and 'data-test="print"' in sheet.text
    rows = sheet_rows(trainer, location)
    assert [r["team"] for r in rows] == ["第一组 Dragons", "Team Beta", "O'Brien-3"]
    assert len({r["tenant_id"] for r in rows}) == 3
    for row in rows:
        assert row["initial_access_token"] in sheet.text and row["client_secret"] in sheet.text
        clock_of(stack, row["initial_access_token"])
        basic = base64.b64encode(f"{row['client_id']}:{row['client_secret']}".encode()).decode()
        token = stack.gateway.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "accounts"},
                                   headers={"Authorization": f"Basic {basic}"})  # fmt: skip
        assert token.status_code == 200, token.text
        apps = stack.gateway.app.state.oauth.clients.of_tenant(row["tenant_id"])
        assert [a.client_id for a in apps] == [row["client_id"]] and apps[0].profile == "sandbox-basic"
    listing = trainer.browser.get("/portal/classroom")
    assert "FinTech 101" in listing.text and location in listing.text


def test_resetting_one_team_never_touches_another(stack, trainer):
    location = create_classroom(trainer, team_count="2").headers["location"]
    first, second = sheet_rows(trainer, location)
    for row in (first, second):
        moved = stack.gateway.post("/sandbox/v1/clock/advance", json={"Days": 30},
                                   headers={"Authorization": f"Bearer {row['initial_access_token']}"})  # fmt: skip
        assert moved.status_code == 200
    reset = trainer.post(f"{location}/teams/1/reset", csrf_from=location)
    assert reset.status_code == 303
    assert abs(clock_of(stack, first["initial_access_token"]) - wall_clock()) < timedelta(minutes=1)
    assert clock_of(stack, second["initial_access_token"]) - wall_clock() > timedelta(days=29)
    assert len(stack.gateway.app.state.oauth.clients.of_tenant(first["tenant_id"])) == 1  # apps survive reset


def test_a_classroom_belongs_to_its_trainer(stack, trainer, developers):
    location = create_classroom(trainer, team_count="1").headers["location"]
    stranger = developers()
    assert stranger.browser.get(location).status_code == 404
    assert stranger.browser.get(location + "/credentials.csv").status_code == 404
    assert stranger.post(location + "/teams/1/reset").status_code == 404
    assert location not in stranger.browser.get("/portal/classroom").text


@pytest.mark.parametrize(
    ("csv_text", "data", "field", "message"),
    [
        ("", {}, "teams_csv", "upload a CSV"),
        ("team\n\n", {}, "teams_csv", "no team names"),
        ("".join(f"t{n}\n" for n in range(101)), {}, "teams_csv", "at most 100"),
        ("a" * (64 * 1024 + 1), {}, "teams_csv", "larger than 64 KiB"),
        ("good\n=cmd|evil\n", {}, "teams_csv", "bad team names"),
        ("same\nSame\n", {}, "teams_csv", "appear twice"),
        (b"\xff\xfe\x00bad", {}, "teams_csv", "not UTF-8"),
        (None, {"team_count": "0"}, "team_count", "from 1 to 100"),
        (None, {"team_count": "101"}, "team_count", "from 1 to 100"),
    ],
)
def test_bad_team_lists_are_explained_and_nothing_is_provisioned(
    stack, trainer, csv_text, data, field, message
):
    before = len(stack.gateway.app.state.tenant_service.list_tenants())
    response = create_classroom(trainer, csv_text, **data)
    assert response.status_code == 400
    error = re.search(rf'data-test="error-{field}">([^<]+)<', response.text)
    assert error and message in error.group(1), response.text[-2000:]
    assert len(stack.gateway.app.state.tenant_service.list_tenants()) == before
