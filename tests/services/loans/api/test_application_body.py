"""Bad application bodies get the OBIE error that names the field, before anything is read or decided."""

from __future__ import annotations

import pytest

from tests.services.loans.conftest import PERSONAS

ZHANG = PERSONAS["zhang.wei"]


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        (b'{"Data": {"ConsentId": "lac_1"}, "Risk": {}', 400, None),  # not JSON
        (b"", 400, None),
        (b'{"Data": {}, "Risk": {}}', 400, "Data.ConsentId"),
        (b'{"Data": {"ConsentId": 12}, "Risk": {}}', 400, "Data.ConsentId"),
        (b'{"Data": {"ConsentId": "lac_1", "Extra": 1}, "Risk": {}}', 400, "Data.Extra"),
        (b"[]", 400, None),
    ],
)
def test_a_malformed_application_is_a_400_naming_the_field(shared_partner, body, status, path):
    consent_id = "lac_1"
    headers = {
        **shared_partner.customer_headers(ZHANG, consent_id, "bad-body"),
        "content-type": "application/json",
    }
    response = shared_partner.stack.gateway.post("/lending/v1/applications", content=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["Code"].startswith("400") and error["Errors"]
    if path is not None:
        assert error["Errors"][0]["Path"] == path, error


def test_an_application_without_the_gateways_caller_assertion_is_refused_first(shared_partner):
    loans = shared_partner.stack.services["loans"]
    response = loans.post(
        "/lending/v1/applications", content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
