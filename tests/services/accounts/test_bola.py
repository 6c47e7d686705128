"""BOLA: no id outside the token's consent opens anything, on any AISP path, whether the id exists or not."""

from __future__ import annotations

from tests.services.accounts.conftest import ALL_READS, ZHANG_WEI, make_app

PERSONAS = [f"CUS00000{n}" for n in range(1, 9)]
PER_ACCOUNT = [
    "/accounts/{id}", "/accounts/{id}/balances", "/accounts/{id}/transactions", "/accounts/{id}/beneficiaries",
    "/accounts/{id}/direct-debits", "/accounts/{id}/standing-orders", "/accounts/{id}/scheduled-payments",
    "/accounts/{id}/party", "/accounts/{id}/parties", "/accounts/{id}/product", "/accounts/{id}/statements",
    "/accounts/{id}/statements/STM-202611", "/accounts/{id}/statements/STM-202611/transactions",
]  # fmt: skip
BULK = ["/accounts", "/balances", "/transactions", "/beneficiaries", "/direct-debits", "/standing-orders",
        "/scheduled-payments", "/party", "/products", "/statements"]  # fmt: skip


def _account_ids(stack, tenant_id: str, customer_id: str) -> list[str]:
    response = stack.services["accounts"].get(
        f"/internal/v1/tenants/{tenant_id}/customers/{customer_id}/accounts", headers=stack.internal_headers
    )
    return [account["AccountId"] for account in response.json()["Data"]["Account"]]


def _refused(response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["Errors"] and "Data" not in body


def test_every_other_personas_account_and_unknown_ids_are_403_on_every_path(app, stack):
    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    own = _account_ids(stack, app.tenant_id, ZHANG_WEI)
    others = [a for c in PERSONAS if c != ZHANG_WEI for a in _account_ids(stack, app.tenant_id, c)]
    assert len(others) >= 8 and not set(own) & set(others)
    probes = [
        *others,
        "INT-CLEARING-CNAPS",
        "ACC9999999",
        "acc0000001",
        "ACC0000001 ",
        "ACC0000001,ACC0000003",
    ]
    for account_id in probes:
        for template in PER_ACCOUNT:
            response = app.call("GET", template.format(id=account_id), token)
            if (
                response.status_code == 404
            ):  # a path that does not route (e.g. an encoded '..'): no data either
                assert "Data" not in response.json()
                continue
            _refused(response)
    for template in PER_ACCOUNT:  # and his own still open
        assert app.call("GET", template.format(id=own[0]), token).status_code == 200, template


def test_a_consent_from_another_tenant_client_or_customer_opens_nothing(app, other_app, stack, new_tenant):
    foreign = make_app(stack, new_tenant("bola"))
    foreign_consent = foreign.create_consent(ALL_READS)
    foreign.authorise(foreign_consent["ConsentId"], ZHANG_WEI)
    consent = app.create_consent(ALL_READS)
    app.authorise(consent["ConsentId"], ZHANG_WEI)
    tokens = [
        app.customer_token(
            foreign_consent["ConsentId"], ZHANG_WEI
        ),  # another tenant's consent, same ids there
        other_app.customer_token(consent["ConsentId"], ZHANG_WEI),  # another client of this tenant
        app.customer_token(consent["ConsentId"], "CUS000002"),  # another customer
        app.customer_token("aac_doesnotexist00000000000000", ZHANG_WEI),
        app.client_token,  # the client's own token reads no customer data
    ]
    for token in tokens:
        for path in [*BULK, *(t.format(id="ACC0000001") for t in PER_ACCOUNT)]:
            _refused(app.call("GET", path, token))


def test_an_unauthorised_or_rejected_consent_opens_nothing(app):
    waiting = app.create_consent(ALL_READS)
    rejected = app.create_consent(ALL_READS)
    app.authorise(rejected["ConsentId"], ZHANG_WEI, decision="deny")
    for consent in (waiting, rejected):
        token = app.customer_token(consent["ConsentId"], ZHANG_WEI)
        for path in BULK:
            _refused(app.call("GET", path, token))
