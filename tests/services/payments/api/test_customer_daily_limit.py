"""The bank's per-customer daily channel limit (¥50,000 across all the customer's accounts), through the API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.services.payments.conftest import pisp_valid


def _accounts(pisp) -> tuple[dict, dict, dict]:
    class_i = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "I")
    class_ii = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "II")
    return class_i, class_ii, pisp.accounts_of("li.na")[0]


def test_the_limit_counts_every_account_of_the_customer_and_resets_the_next_day(pisp):
    class_i, class_ii, li_na = _accounts(pisp)
    pisp.credit(class_i["AccountId"], "60000.00")
    pisp.credit(class_ii["AccountId"], "9000.00")
    first = pisp.pay(*pisp.authorised_consent("zhang.wei", li_na["Identification"], "45000.00",
                                              debtor=class_i["Identification"]))  # fmt: skip
    assert first.json()["Data"]["Status"] == "ACCC", first.text
    before = pisp.balance_fen(class_ii["AccountId"])

    # ¥8,000 fits the Class Ⅱ account's own ¥10,000 a day, not the customer's ¥50,000 with ¥45,000 already paid.
    refused = pisp.pay(*pisp.authorised_consent("zhang.wei", li_na["Identification"], "8000.00",
                                                debtor=class_ii["Identification"]))  # fmt: skip
    pisp_valid("/domestic-payments", "post", refused)
    data = refused.json()["Data"]
    assert data["Status"] == "RJCT" and data["StatusReason"][0]["StatusReasonCode"] == "AM14"
    assert data["StatusReason"][0]["StatusReasonDescription"].startswith("CUSTOMER_DAILY_TRANSFER_LIMIT")
    assert pisp.balance_fen(class_ii["AccountId"]) == before  # nothing moved

    pisp.advance_clock(1)
    next_day = pisp.pay(*pisp.authorised_consent("zhang.wei", li_na["Identification"], "8000.00",
                                                 debtor=class_ii["Identification"]))  # fmt: skip
    assert next_day.json()["Data"]["Status"] == "ACCC", next_day.text
    assert pisp.balance_fen(class_ii["AccountId"]) == before - 800_000


def test_a_refused_payment_gives_its_amount_back_to_the_customer_limit(pisp):
    class_i, _, li_na = _accounts(pisp)
    zhao_min = pisp.accounts_of("zhao.min")[0]  # Class Ⅲ: the ledger refuses what would exceed its ¥2,000 cap
    refused = pisp.pay(*pisp.authorised_consent("zhang.wei", zhao_min["Identification"], "3000.00",
                                                debtor=class_i["Identification"]))  # fmt: skip
    assert refused.json()["Data"]["Status"] == "RJCT", refused.text
    pisp.credit(class_i["AccountId"], "50000.00")
    whole_limit = pisp.pay(*pisp.authorised_consent("zhang.wei", li_na["Identification"], "50000.00",
                                                    debtor=class_i["Identification"]))  # fmt: skip
    assert whole_limit.json()["Data"]["Status"] == "ACCC", whole_limit.text
    over = pisp.pay(*pisp.authorised_consent("zhang.wei", li_na["Identification"], "0.01",
                                             debtor=class_i["Identification"]))  # fmt: skip
    assert over.json()["Data"]["StatusReason"][0]["StatusReasonDescription"].startswith("CUSTOMER_DAILY")


def test_the_customer_limit_holds_under_concurrent_payments_from_two_accounts(pisp, backend):
    if backend != "postgresql":
        pytest.skip("concurrency is tested against real PostgreSQL")
    class_i, class_ii, li_na = _accounts(pisp)
    pisp.credit(class_i["AccountId"], "60000.00")
    pisp.credit(class_ii["AccountId"], "10000.00")
    before = pisp.balance_fen(class_i["AccountId"]) + pisp.balance_fen(class_ii["AccountId"])
    consents = [pisp.authorised_consent("zhang.wei", li_na["Identification"], "9000.00", debtor=account)
                for account in [class_i["Identification"]] * 7 + [class_ii["Identification"]]]  # fmt: skip
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [r.json()["Data"]["Status"] for r in pool.map(lambda c: pisp.pay(*c), consents)]
    assert statuses.count("ACCC") == 5, statuses  # 5 × ¥9,000 ≤ ¥50,000 < 6 × ¥9,000
    after = pisp.balance_fen(class_i["AccountId"]) + pisp.balance_fen(class_ii["AccountId"])
    assert before - after == 5 * 900_000
