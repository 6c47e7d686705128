from __future__ import annotations

import pytest

from loadtests.partner import ISSUER, Partner


@pytest.fixture
def tenant(new_tenant) -> tuple[str, str]:
    return new_tenant("oauth")


@pytest.fixture
def registered_partner(stack, tenant) -> Partner:
    """A fapi2 partner app registered through RFC 7591 with the tenant's initial access token."""
    assert stack.settings.issuer == ISSUER
    partner = Partner()
    response = stack.gateway.post(
        "/oauth2/register", json=partner.fapi2_metadata(), headers={"Authorization": f"Bearer {tenant[1]}"}
    )
    assert response.status_code == 201, response.text
    partner.registration = response.json()
    partner.client_id = partner.registration["client_id"]
    return partner
