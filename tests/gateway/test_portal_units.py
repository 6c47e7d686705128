"""Focused unit tests of the portal's pure parts: team lists, JWKS parsing, the credentials CSV, threads."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from gateway.portal.models import Classroom, ClassroomTeam
from gateway.portal.quickstart import Capture, substitute
from gateway.portal.service import (
    ClassroomResult,
    FormErrors,
    classroom_threads,
    credentials_csv,
    hash_password,
    parse_jwks,
    parse_team_names,
)


def test_team_names_take_the_first_column_skip_a_header_and_blank_lines():
    assert parse_team_names("Team,notes\n\nAlpha,x\n 贝塔 ,y\n".encode(), None) == ["Alpha", "贝塔"]
    assert parse_team_names(None, "3") == ["Team 01", "Team 02", "Team 03"]
    assert parse_team_names(b"\xef\xbb\xbfAlpha\n", None) == ["Alpha"]  # a spreadsheet's UTF-8 BOM


@pytest.mark.parametrize("csv_bytes", [b"team\n", b"-dash\n", b"x" * 41 + b"\n"])
def test_bad_team_lists_raise_a_field_error(csv_bytes):
    with pytest.raises(FormErrors) as raised:
        parse_team_names(csv_bytes, None)
    assert set(raised.value.errors) == {"teams_csv"}


def test_a_single_jwk_is_wrapped_into_a_set_and_non_objects_are_refused():
    assert parse_jwks('{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}')["keys"][0]["kty"] == "EC"
    with pytest.raises(FormErrors):
        parse_jwks("[1, 2]")


def test_the_credentials_csv_quotes_formula_starts():
    now = datetime.now(UTC)
    result = ClassroomResult(Classroom(classroom_id="cls_1", developer_id="d", name="n", created_at=now), [
        ClassroomTeam(classroom_id="cls_1", position=1, team_name="=SUM(A1)", tenant_id="t1",
                      initial_access_token="iat", client_id="c", client_secret="s", created_at=now)])  # fmt: skip
    rows = list(csv.reader(io.StringIO(credentials_csv(result))))
    assert rows[0] == ["team", "tenant_id", "initial_access_token", "client_id", "client_secret"]
    assert rows[1] == ["'=SUM(A1)", "t1", "iat", "c", "s"]


def test_classroom_threads_are_one_on_sqlite():
    assert classroom_threads(None) == 1 and classroom_threads("sqlite:///x.db") == 1
    assert 1 <= classroom_threads("postgresql+psycopg://h/db") <= 4


def test_password_hashes_depend_on_the_salt():
    assert hash_password("same password", b"a" * 16) != hash_password("same password", b"b" * 16)
    assert hash_password("same password", b"a" * 16) == hash_password("same password", b"a" * 16)


def test_quickstart_captures_read_json_members_and_url_parameters():
    assert Capture("X", "Data.ConsentId").take({"Data": {"ConsentId": "aac_1"}}) == "aac_1"
    assert (
        Capture("C", "RedirectTo", "code").take({"RedirectTo": "https://a/cb?state=s&code=abc&iss=x"})
        == "abc"
    )
    assert substitute({"a": ["$X-$Y"]}, {"X": "1", "Y": "2"}) == {"a": ["1-2"]}
