"""Every API call through the front door leaves an audit record the tenant can read back."""

from __future__ import annotations

from loadtests.partner import ISSUER
from tests.gateway.test_front_door import WHOAMI, _dpop_token


def test_calls_through_the_front_door_are_audited(stack, registered_partner, tenant):
    token = _dpop_token(stack, registered_partner)
    proof = registered_partner.dpop("GET", ISSUER + WHOAMI, access_token=token)
    response = stack.gateway.get(WHOAMI, headers={"Authorization": f"DPoP {token}", "DPoP": proof,
                                                  "x-fapi-interaction-id": "audit-me-1"})  # fmt: skip
    assert response.status_code == 200
    stack.gateway.app.state.audit.flush()
    auth = {"Authorization": f"Bearer {tenant[1]}"}
    records = stack.gateway.get("/sandbox/v1/audit", headers=auth).json()["Data"]["AuditRecord"]
    mine = [record for record in records if record["InteractionId"] == "audit-me-1"]
    assert len(mine) == 1
    record = mine[0]
    assert (
        record["ClientId"] == registered_partner.client_id
        and record["Subject"] == registered_partner.client_id
    )
    assert record["Method"] == "GET" and record["Path"] == WHOAMI and record["Status"] == 200
    assert record["LatencyMs"] > 0


def test_audit_records_are_per_tenant_and_need_the_tenants_token(stack, registered_partner, new_tenant):
    _dpop_token(stack, registered_partner)
    other_tenant = new_tenant("other")
    records = stack.gateway.get("/sandbox/v1/audit", headers={"Authorization": f"Bearer {other_tenant[1]}"})
    assert records.status_code == 200 and records.json()["Data"]["AuditRecord"] == []
    assert stack.gateway.get("/sandbox/v1/audit").status_code == 401
