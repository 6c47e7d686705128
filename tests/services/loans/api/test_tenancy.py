"""Lending's own tables belong to the tenant: a reset empties them, and consents expire with the clock."""

from __future__ import annotations

from tests.services.loans.api.test_loans import _accept, _approved

LENDING_TABLES = ("lending_consent", "loan_application", "credit_decision", "loan", "loan_instalment")


def _rows(partner) -> dict[str, int]:
    response = partner.stack.services["loans"].get(
        f"/internal/v1/tenants/{partner.tenant_id}", headers=partner.stack.internal_headers
    )
    return response.json()["Rows"]


def test_a_reset_removes_every_lending_row_of_the_tenant(partner):
    customer_id, consent_id, data, _ = _approved(partner)
    assert _accept(partner, customer_id, consent_id, data).status_code == 201
    assert all(_rows(partner)[table] > 0 for table in LENDING_TABLES)
    reset = partner.stack.gateway.post(
        "/sandbox/v1/reset", headers={"Authorization": f"Bearer {partner.initial_token}"}
    )
    assert reset.status_code == 200, reset.text
    rows = _rows(partner)
    assert all(rows[table] == 0 for table in LENDING_TABLES) and rows["bureau_subject"] > 0


def test_an_unused_consent_expires_after_a_day(partner):
    consent_id = partner.create_consent().json()["Data"]["ConsentId"]
    partner.advance_clock(2)
    shown = partner.stack.gateway.get(
        f"/lending/v1/loan-application-consents/{consent_id}", headers=partner.client_headers
    )
    assert shown.json()["Data"]["Status"] == "EXPD"
    assert partner.authorise(consent_id, "CUS000001").status_code == 409
