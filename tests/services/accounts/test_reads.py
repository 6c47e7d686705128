"""AISP reads through the gateway with a customer's token: shapes (validated against the OBIE schema), field-level
permissions, balances with holds, transaction windows and pagination, statements, and the empty resources."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.services.accounts.conftest import ALL_READS, SUN_HUI, ZHANG_WEI

TX = "/accounts/{AccountId}/transactions"


def _path_and_query(link: str) -> tuple[str, dict]:
    parts = urlsplit(link)
    return parts.path.removeprefix("/open-banking/v4.0/aisp"), {
        k: v[0] for k, v in parse_qs(parts.query).items()
    }


def _all_pages(app, token, path: str, template: str, **params) -> list[dict]:
    seen, pages = [], 0
    response = app.read(path, token, template, params=params).json()
    while True:
        pages += 1
        seen.extend(response["Data"]["Transaction"])
        assert response["Meta"]["TotalPages"] >= pages
        if "Next" not in response["Links"]:
            break
        next_path, next_params = _path_and_query(response["Links"]["Next"])
        response = app.read(next_path, token, template, params=next_params).json()
    assert pages == response["Meta"]["TotalPages"]
    return seen


def test_basic_accounts_leave_out_identification_detail_shows_it_masked_without_read_pan(app):
    basic = app.authorised_token(ZHANG_WEI, ["ReadAccountsBasic"])
    accounts = app.read("/accounts", basic, "/accounts").json()["Data"]["Account"]
    assert [a["AccountId"] for a in accounts] == ["ACC0000001", "ACC0000002"]
    assert all("Account" not in a for a in accounts)
    assert accounts[0]["Description"].startswith("Class I ") and accounts[1]["Description"].startswith(
        "Class II "
    )
    detail = app.authorised_token(ZHANG_WEI, ["ReadAccountsDetail"])
    number = app.read("/accounts/ACC0000001", detail, "/accounts/{AccountId}").json()["Data"]["Account"][0][
        "Account"
    ][0]
    assert number["SchemeName"] == "CN.CNAPS.AccountNumber"
    assert number["Identification"].startswith("621999") and "*" in number["Identification"]
    pan = app.authorised_token(ZHANG_WEI, ["ReadAccountsDetail", "ReadPAN"])
    clear = app.read("/accounts/ACC0000001", pan, "/accounts/{AccountId}").json()["Data"]["Account"][0][
        "Account"
    ][0]
    assert clear["Identification"].isdigit() and len(clear["Identification"]) == 19


def test_consent_limited_to_chosen_accounts(app):
    token = app.authorised_token(ZHANG_WEI, ["ReadAccountsBasic", "ReadBalances"], account_ids=["ACC0000002"])
    assert [a["AccountId"] for a in app.read("/accounts", token).json()["Data"]["Account"]] == ["ACC0000002"]
    app.read("/accounts/ACC0000001", token, "/accounts/{AccountId}", status=403)
    app.read("/accounts/ACC0000001/balances", token, "/accounts/{AccountId}/balances", status=403)


def test_a_permission_not_granted_is_403(app):
    token = app.authorised_token(ZHANG_WEI, ["ReadAccountsBasic"])
    for path, template in [("/balances", "/balances"), ("/accounts/ACC0000001/transactions", TX),
                           ("/party", "/party"), ("/accounts/ACC0000001/product", "/accounts/{AccountId}/product"),
                           ("/statements", "/statements"), ("/beneficiaries", "/beneficiaries")]:  # fmt: skip
        response = app.read(path, token, template, status=403)
        assert response.json()["Errors"][0]["ErrorCode"] == "U008"


def test_balances_show_booked_and_available_and_a_hold_lowers_only_available(app, stack):
    token = app.authorised_token(ZHANG_WEI, ["ReadBalances"])
    before = app.read("/accounts/ACC0000001/balances", token, "/accounts/{AccountId}/balances").json()
    by_type = {b["Type"]: b["Amount"]["Amount"] for b in before["Data"]["Balance"]}
    assert by_type["ITAV"] == by_type["ITBD"]
    placed = stack.services["accounts"].post(
        f"/internal/v1/tenants/{app.tenant_id}/ledger/holds",
        json={
            "AccountId": "ACC0000001",
            "Amount": {"Amount": "100.50", "Currency": "CNY"},
            "Description": "order",
        },
        headers={**stack.internal_headers, "x-idempotency-key": "hold-1"},
    )
    assert placed.status_code == 201, placed.text
    after = app.read("/balances", token, "/balances").json()["Data"]["Balance"]
    mine = {b["Type"]: b["Amount"]["Amount"] for b in after if b["AccountId"] == "ACC0000001"}
    assert mine["ITBD"] == by_type["ITBD"]
    from decimal import Decimal

    assert Decimal(mine["ITBD"]) - Decimal(mine["ITAV"]) == Decimal("100.50")


def test_transactions_page_through_without_gaps_or_repeats(app):
    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    listed = _all_pages(app, token, "/accounts/ACC0000001/transactions", TX)
    keys = [(t["BookingDateTime"], t["TransactionId"]) for t in listed]
    assert len(keys) == len(set(keys)) > 100  # more than one page
    assert keys == sorted(keys, reverse=True)  # newest first
    first = app.read("/accounts/ACC0000001/transactions", token).json()
    second_path, second_params = _path_and_query(first["Links"]["Next"])
    second = app.read(second_path, token, TX, params=second_params).json()
    back_path, back_params = _path_and_query(second["Links"]["Prev"])
    again = app.read(back_path, token, TX, params=back_params).json()
    assert again["Data"]["Transaction"] == first["Data"]["Transaction"]
    assert first["Meta"]["FirstAvailableDateTime"] <= first["Meta"]["LastAvailableDateTime"]


def test_running_balance_of_the_newest_transaction_is_the_booked_balance(app):
    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    newest = app.read("/accounts/ACC0000002/transactions", token).json()["Data"]["Transaction"][0]
    booked = [b for b in app.read("/accounts/ACC0000002/balances", token).json()["Data"]["Balance"]
              if b["Type"] == "ITBD"][0]  # fmt: skip
    assert newest["Balance"]["Amount"] == booked["Amount"]


def test_credits_only_basic_shows_no_debits_and_no_detail_fields(app):
    token = app.authorised_token(ZHANG_WEI, ["ReadTransactionsBasic", "ReadTransactionsCredits"])
    listed = _all_pages(app, token, "/accounts/ACC0000001/transactions", TX)
    assert listed and all(t["CreditDebitIndicator"] == "Credit" for t in listed)
    assert not any(
        {"TransactionInformation", "Balance", "DebtorAccount", "CreditorAccount"} & t.keys() for t in listed
    )


def test_booking_window_is_clamped_to_the_consent_and_filters_survive_paging(app):
    token = app.authorised_token(ZHANG_WEI, ["ReadTransactionsDetail", "ReadTransactionsDebits"],
                                 TransactionFromDateTime="2026-06-01T00:00:00+08:00",
                                 TransactionToDateTime="2026-09-30T23:59:59+08:00")  # fmt: skip
    response = app.read("/transactions", token, "/transactions",
                        params={"fromBookingDateTime": "2026-01-01T00:00:00", "toBookingDateTime": "2026-12-31T00:00:00"})  # fmt: skip
    body = response.json()
    listed = _all_pages(app, token, "/transactions", "/transactions",
                        **_path_and_query(body["Links"]["Self"])[1])  # fmt: skip
    assert listed and all("2026-06-01" <= t["BookingDateTime"][:10] <= "2026-09-30" for t in listed)
    assert all(t["CreditDebitIndicator"] == "Debit" for t in listed)
    assert {t["AccountId"] for t in listed} == {"ACC0000001", "ACC0000002"}
    _, params = _path_and_query(body["Links"]["Self"])
    assert params["fromBookingDateTime"].startswith("2026-06-01") and params["toBookingDateTime"].startswith(
        "2026-09-30"
    )


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"fromBookingDateTime": "yesterday"}, "fromBookingDateTime"),
        ({"toBookingDateTime": "2026-13-01T00:00:00"}, "toBookingDateTime"),
        ({"fromBookingDateTime": "2026-05-01T00:00:00", "toBookingDateTime": "2026-04-01T00:00:00"}, "fromBookingDateTime"),
        ({"cursor": "garbage"}, "cursor"),
        ({"fromBookingDate": "2026-05-01"}, "fromBookingDate"),
    ],
)  # fmt: skip
def test_malformed_or_inverted_windows_and_bad_cursors_are_400(app, params, path):
    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    response = app.read("/accounts/ACC0000001/transactions", token, TX, status=400, params=params)
    assert response.json()["Errors"][0]["Path"] == path


def test_a_page_number_out_of_range_is_400(app):
    import base64
    import json

    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    cursor = json.dumps({"p": 99, "d": "after", "k": ["2026-01-01T00:00:00+00:00", "TX1", "TX1-1"]})
    encoded = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    response = app.read(
        "/accounts/ACC0000001/transactions", token, TX, status=400, params={"cursor": encoded}
    )
    assert "out of range" in response.json()["Errors"][0]["Message"]


def test_party_parties_and_product_of_an_sme_account(app, stack):
    token = app.authorised_token(SUN_HUI, ["ReadParty", "ReadPartyPSU", "ReadProducts", "ReadAccountsBasic"])
    accounts = app.read("/accounts", token, "/accounts").json()["Data"]["Account"]
    business = [a for a in accounts if a["AccountCategory"] == "Business"][0]["AccountId"]
    psu = app.read("/party", token, "/party").json()["Data"]["Party"]
    assert psu["PartyId"] == SUN_HUI and psu["Name"] == "孙慧"
    owner = app.read(f"/accounts/{business}/party", token, "/accounts/{AccountId}/party").json()["Data"][
        "Party"
    ]
    assert owner["PartyId"] == "CUS000101" and owner["FullLegalName"] == "深圳市华兴商贸有限公司"
    parties = app.read(f"/accounts/{business}/parties", token, "/accounts/{AccountId}/parties").json()[
        "Data"
    ]["Party"]
    assert [p["PartyId"] for p in parties] == ["CUS000101", SUN_HUI]
    product = app.read(f"/accounts/{business}/product", token, "/accounts/{AccountId}/product").json()
    assert product["Data"]["Product"][0]["ProductType"] == "BusinessCurrentAccount"
    app.read("/products", token, "/products")


def test_monthly_statements_and_their_transactions_agree_with_the_ledger(app):
    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    statements = app.read("/accounts/ACC0000001/statements", token, "/accounts/{AccountId}/statements").json()
    listed = statements["Data"]["Statement"]
    assert 12 <= len(listed) <= 14 and all(s["Type"] == "RegularPeriodic" for s in listed)
    latest = listed[0]
    one = app.read(f"/accounts/ACC0000001/statements/{latest['StatementId']}", token,
                   "/accounts/{AccountId}/statements/{StatementId}").json()  # fmt: skip
    assert one["Data"]["Statement"] == [latest]
    amounts = {a["Type"]: a for a in latest["StatementAmount"]}
    entries = _all_pages(app, token, f"/accounts/ACC0000001/statements/{latest['StatementId']}/transactions",
                         "/accounts/{AccountId}/statements/{StatementId}/transactions")  # fmt: skip
    from decimal import Decimal

    def signed(amount: dict) -> Decimal:
        value = Decimal(amount["Amount"]["Amount"])
        return value if amount["CreditDebitIndicator"] == "Credit" else -value

    movement = sum((signed(t) for t in entries), Decimal(0))
    assert signed(amounts["UK.OBIE.OpeningBalance"]) + movement == signed(amounts["UK.OBIE.ClosingBalance"])
    assert all(latest["StartDateTime"] <= t["BookingDateTime"] <= latest["EndDateTime"] for t in entries)
    app.read("/accounts/ACC0000001/statements/STM-199001", token, "/accounts/{AccountId}/statements/{StatementId}",
             status=403)  # fmt: skip
    app.read("/statements", token, "/statements")


@pytest.mark.parametrize(
    "resource", ["beneficiaries", "direct-debits", "standing-orders", "scheduled-payments"]
)
def test_resources_the_world_has_none_of_are_the_obie_empty_list(app, resource):
    token = app.authorised_token(ZHANG_WEI, ALL_READS)
    bulk = app.read(f"/{resource}", token, f"/{resource}").json()
    one = app.read(f"/accounts/ACC0000001/{resource}", token, f"/accounts/{{AccountId}}/{resource}").json()
    assert list(bulk["Data"].values()) == [[]] and list(one["Data"].values()) == [[]]


def test_endpoints_not_offered_answer_404(app):
    token = app.authorised_token(ZHANG_WEI, ALL_READS + ["ReadOffers"])
    for path in ("/offers", "/accounts/ACC0000001/offers", "/accounts/ACC0000001/statements/STM-202611/file"):
        response = app.call("GET", path, token)
        assert response.status_code == 404 and response.json()["Errors"], path


def test_interaction_id_is_echoed_on_aisp_reads_and_errors(app):
    token = app.authorised_token(ZHANG_WEI, ["ReadAccountsBasic"])
    for path in ("/accounts", "/accounts/ACC0000009"):
        response = app.call("GET", path, token, headers={"x-fapi-interaction-id": "tpp-42"})
        assert response.headers["x-fapi-interaction-id"] == "tpp-42"
