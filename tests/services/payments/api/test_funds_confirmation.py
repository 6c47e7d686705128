"""OBIE Confirmation of Funds through the real journey; every response validated against the OBIE OpenAPI."""

from __future__ import annotations

from tests.obie_schema import assert_obie_response

CBPII = "/open-banking/v4.0/cbpii"


def cbpii_valid(path: str, method: str, response) -> None:
    assert_obie_response("confirmation-funds", path, method, response)


def test_a_partner_asks_whether_zhang_wei_can_cover_an_amount(pisp, stack):
    account = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    app = pisp.token_for("fundsconfirmations")
    body = {"Data": {"DebtorAccount": {"SchemeName": "CN.CNAPS.AccountNumber",
                                       "Identification": account["Identification"]}}}  # fmt: skip
    created = pisp.call("POST", f"{CBPII}/funds-confirmation-consents", app, json=body)
    cbpii_valid("/funds-confirmation-consents", "post", created)
    consent_id = created.json()["Data"]["ConsentId"]
    internal = (
        stack.services["payments"]
        .get(f"/internal/v1/tenants/{pisp.tenant_id}/consents/{consent_id}", headers=stack.internal_headers)
        .json()["Data"]
    )
    assert internal["Kind"] == "funds-confirmation" and internal["AccountSelection"] == "none"

    token = pisp.authorise(consent_id, "zhang.wei", scope="fundsconfirmations")
    read = pisp.call("GET", f"{CBPII}/funds-confirmation-consents/{consent_id}", app)
    cbpii_valid("/funds-confirmation-consents/{ConsentId}", "get", read)
    assert read.json()["Data"]["Status"] == "AUTH"

    available_fen = pisp.balance_fen(account["AccountId"])
    for amount, expected in (("1.00", True), (f"{available_fen // 100 + 1}.00", False)):
        asked = pisp.call("POST", f"{CBPII}/funds-confirmations", token, json={"Data": {
            "ConsentId": consent_id, "Reference": "order-1", "InstructedAmount": {"Amount": amount, "Currency": "CNY"}}})  # fmt: skip
        cbpii_valid("/funds-confirmations", "post", asked)
        assert asked.json()["Data"]["FundsAvailable"] is expected
    assert pisp.balance_fen(account["AccountId"]) == available_fen  # nothing moved

    deleted = pisp.call("DELETE", f"{CBPII}/funds-confirmation-consents/{consent_id}", app)
    assert deleted.status_code == 204
    assert (
        pisp.call("GET", f"{CBPII}/funds-confirmation-consents/{consent_id}", app).json()["Data"]["Status"]
        == "CANC"
    )
    refused = pisp.call("POST", f"{CBPII}/funds-confirmations", token, json={"Data": {
        "ConsentId": consent_id, "Reference": "order-2", "InstructedAmount": {"Amount": "1.00", "Currency": "CNY"}}})  # fmt: skip
    assert refused.status_code in (401, 403)


def test_a_funds_consent_for_someone_elses_account_cannot_be_approved(pisp, stack):
    li_na = pisp.accounts_of("li.na")[0]
    app = pisp.token_for("fundsconfirmations")
    body = {
        "Data": {
            "DebtorAccount": {
                "SchemeName": "CN.CNAPS.AccountNumber",
                "Identification": li_na["Identification"],
            }
        }
    }
    consent_id = pisp.call("POST", f"{CBPII}/funds-confirmation-consents", app, json=body).json()["Data"][
        "ConsentId"
    ]
    decided = stack.services["payments"].post(
        f"/internal/v1/tenants/{pisp.tenant_id}/consents/{consent_id}/authorisation",
        json={"ClientId": pisp.partner.client_id, "CustomerId": "CUS000001", "Decision": "approve"},
        headers=stack.internal_headers,
    )
    assert decided.status_code == 400
    assert (
        pisp.call("GET", f"{CBPII}/funds-confirmation-consents/{consent_id}", app).json()["Data"]["Status"]
        == "AWAU"
    )
    # a PISP token (payments scope) does not open CBPII
    assert pisp.call("GET", f"{CBPII}/funds-confirmation-consents/{consent_id}").status_code == 403
