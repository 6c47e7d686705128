"""Helpers shared by the scheduled payment and standing order tests: bodies, the partner journey, events."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from joserfc import jwt
from joserfc.jwk import KeySet

from loadtests.partner import ISSUER
from openbank_kit.clock import BANK_TIMEZONE
from tests.obie_schema import assert_obie_response
from tests.services.payments.conftest import PISP

CNAPS = "CN.CNAPS.AccountNumber"


def valid(path: str, method: str, response) -> None:
    """Every PISP response in these tests validates against the official OBIE v4.0 OpenAPI."""
    assert_obie_response("payment-initiation", path, method, response)


def clock_now(pisp) -> datetime:
    response = pisp.stack.gateway.get(
        "/sandbox/v1/clock", headers={"Authorization": f"Bearer {pisp.initial_token}"}
    )
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["Now"]).astimezone(BANK_TIMEZONE)


def iso(moment: datetime) -> str:
    return moment.astimezone(BANK_TIMEZONE).replace(microsecond=0).isoformat()


def account(pisp, username: str, account_class: str | None = None) -> dict:
    accounts = pisp.accounts_of(username)
    return next(a for a in accounts if account_class is None or a["AccountClass"] == account_class)


def scheduled_body(creditor: str, amount: str, when: str, debtor: str | None = None) -> dict:
    initiation = {
        "InstructionIdentification": "SCH-" + secrets.token_hex(4),
        "EndToEndIdentification": "E2E-" + secrets.token_hex(4),
        "RequestedExecutionDateTime": when,
        "InstructedAmount": {"Amount": amount, "Currency": "CNY"},
        "CreditorAccount": {"SchemeName": CNAPS, "Identification": creditor, "Name": "李娜"},
        "RemittanceInformation": {"Unstructured": ["预约转账 rent"]},
    }
    if debtor:
        initiation["DebtorAccount"] = {"SchemeName": CNAPS, "Identification": debtor}
    return {"Data": {"Permission": "Create", "Initiation": initiation},
            "Risk": {"PaymentContextCode": "TransferToThirdParty"}}  # fmt: skip


def standing_body(creditor: str, first_at: str, frequency: str, first: str, *, recurring: str | None = None,
                  final: str | None = None, number: str | None = None, final_at: str | None = None,
                  debtor: str | None = None) -> dict:  # fmt: skip
    mandate: dict = {"MandateIdentification": "SO-" + secrets.token_hex(4), "FirstPaymentDateTime": first_at,
                     "Frequency": {"Type": frequency}, "Reason": "房租 rent"}  # fmt: skip
    if final_at:
        mandate["FinalPaymentDateTime"] = final_at
    initiation: dict = {
        "FirstPaymentAmount": {"Amount": first, "Currency": "CNY"},
        "CreditorAccount": {"SchemeName": CNAPS, "Identification": creditor, "Name": "李娜"},
        "MandateRelatedInformation": mandate,
        "RemittanceInformation": {"Unstructured": ["定期转账 rent"]},
    }
    if recurring:
        initiation["RecurringPaymentAmount"] = {"Amount": recurring, "Currency": "CNY"}
    if final:
        initiation["FinalPaymentAmount"] = {"Amount": final, "Currency": "CNY"}
    if number:
        initiation["NumberOfPayments"] = number
    if debtor:
        initiation["DebtorAccount"] = {"SchemeName": CNAPS, "Identification": debtor}
    return {"Data": {"Permission": "Create", "Initiation": initiation},
            "Risk": {"PaymentContextCode": "TransferToThirdParty"}}  # fmt: skip


def create_consent(pisp, consents: str, body: dict, key: str | None = None):
    return pisp.call("POST", f"{PISP}/{consents}", json=body, key=key or secrets.token_hex(8))


def submit(pisp, orders: str, consent_body: dict, consent_id: str, token: str, key: str | None = None):
    body = {"Data": {"ConsentId": consent_id, "Initiation": consent_body["Data"]["Initiation"]},
            "Risk": consent_body["Risk"]}  # fmt: skip
    return pisp.call("POST", f"{PISP}/{orders}", token, json=body, key=key or secrets.token_hex(8))


def authorised(
    pisp, consents: str, body: dict, username: str = "zhang.wei", account_ids=None
) -> tuple[str, str]:
    """(consent id, the customer's token): a consent created by the partner and approved by the persona."""
    created = create_consent(pisp, consents, body)
    valid(f"/{consents}", "post", created)
    assert created.status_code == 201, created.text
    assert created.json()["Data"]["Status"] == "AWAU"
    consent_id = created.json()["Data"]["ConsentId"]
    return consent_id, pisp.authorise(consent_id, username, account_ids=account_ids)


def move_clock_without_running_anything(pisp, days: int) -> None:
    """The clock moves but payments does not react (as if it crashed before running what fell due)."""
    app = pisp.stack.services["payments"].app
    original = app.state.on_clock_moved
    app.state.on_clock_moved = lambda tenant_id: None
    try:
        pisp.advance_clock(days)
    finally:
        app.state.on_clock_moved = original


def run_clock_moved_again(pisp) -> None:
    """A repeated clock move (the gateway retries, or two moves race): payments runs what is due again."""
    pisp.stack.services["payments"].app.state.on_clock_moved(pisp.tenant_id)


def revoke_at_the_bank(pisp, consent_id: str, username: str = "zhang.wei"):
    """The persona revokes at the bank, through the sandbox consent dashboard (docs/sandbox-api.md)."""
    return pisp.stack.gateway.post(
        f"/sandbox/v1/personas/{username}/consents/{consent_id}/revoke",
        headers={"Authorization": f"Bearer {pisp.initial_token}"},
    )


def dashboard(pisp, username: str = "zhang.wei") -> dict[str, dict]:
    """The persona's consents as the sandbox consent dashboard lists them, by id."""
    response = pisp.stack.gateway.get(f"/sandbox/v1/personas/{username}/consents",
                                      headers={"Authorization": f"Bearer {pisp.initial_token}"})  # fmt: skip
    assert response.status_code == 200, response.text
    return {row["ConsentId"]: row for row in response.json()["Data"]["Consent"]}


def event_txns(pisp) -> list[str]:
    """The `txn` (EventId) of every event waiting for the partner, verified with the gateway's JWKS, in order."""
    token = pisp.app_token()
    path = "/open-banking/v4.0/events"
    response = pisp.stack.gateway.post(
        path, json={"returnImmediately": True, "maxEvents": 100},
        headers={"Authorization": f"DPoP {token}", "DPoP": pisp.partner.dpop("POST", ISSUER + path, access_token=token)},
    )  # fmt: skip
    assert_obie_response("events", "/events", "post", response)
    assert response.status_code == 200, response.text
    keys = KeySet.import_key_set(pisp.stack.gateway.get("/oauth2/jwks").json())
    return [jwt.decode(s, keys, algorithms=["ES256"]).claims["txn"] for s in response.json()["sets"].values()]


def later(now: datetime, **delta) -> str:
    return iso(now + timedelta(**delta))
