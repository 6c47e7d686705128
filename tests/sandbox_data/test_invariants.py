"""Ledger, identifier and cross-table invariants of the default world."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, time
from zoneinfo import ZoneInfo

from stdnum import luhn
from stdnum.cn import ric, uscc

from sandbox_data.identifiers import BANK_BIN
from sandbox_data.tax import receipts_fen

MOBILE = re.compile(r"^1[3-9]\d{9}$")
TZ = ZoneInfo("Asia/Shanghai")
INTERNAL_IDS = {"INT-OPENING-BALANCE", "INT-CLEARING-CNAPS", "INT-SETTLEMENT-ECOM", "INT-CASH"}


def test_person_identifiers_are_valid_and_consistent(idx):
    for customer in idx.rows("accounts.customer"):
        assert MOBILE.match(customer["mobile"]), customer
        if customer["party_type"] == "PERSON":
            number = customer["id_number"]
            assert customer["id_type"] == "RESIDENT_ID" and ric.is_valid(number), customer
            assert ric.get_birth_date(number) == customer["birth_date"]
            assert int(number[16]) % 2 == (1 if customer["gender"] == "M" else 0)
            assert customer["region_code"] == number[:6]
            assert customer["owner_customer_id"] is None and customer["username"]
        else:
            assert customer["id_type"] == "USCC" and uscc.is_valid(customer["id_number"]), customer
            assert (
                customer["birth_date"] is None and customer["gender"] is None and customer["username"] is None
            )
            assert idx.customers[customer["owner_customer_id"]]["party_type"] == "PERSON"
            assert re.match(r"^\d{6}$", customer["region_code"])


def test_identifiers_are_unique(idx):
    customers = idx.rows("accounts.customer")
    blacklist_only = [e["id_number"] for e in idx.rows("loans.fraud_blacklist")
                      if e["id_number"] not in {c["id_number"] for c in customers}]  # fmt: skip
    id_numbers = [c["id_number"] for c in customers] + blacklist_only
    assert len(set(id_numbers)) == len(id_numbers)
    mobiles = [c["mobile"] for c in customers]
    assert len(set(mobiles)) == len(mobiles)
    numbers = [a["account_number"] for a in idx.rows("accounts.account")]
    external = [a["bound_external_account_number"] for a in idx.rows("accounts.account")
                if a["bound_external_account_number"]]  # fmt: skip
    assert len(set(numbers + external)) == len(numbers) + len(external)
    for table, key in (("gateway.sandbox_user", "username"), ("gateway.sandbox_user", "customer_id")):
        values = [row[key] for row in idx.rows(table)]
        assert len(set(values)) == len(values)
    for entry in idx.rows("loans.fraud_blacklist"):
        assert ric.is_valid(entry["id_number"])


def test_account_numbers_and_bindings(idx):
    for account in idx.rows("accounts.account"):
        number = account["account_number"]
        assert len(number) == 19 and number.startswith(BANK_BIN) and luhn.is_valid(number), account
        assert account["currency"] == "CNY" and account["status"] == "Enabled"
        klass = account["account_class"]
        if klass == "INTERNAL":
            assert account["customer_id"] is None and account["account_type"] == "Internal"
            continue
        owner = idx.customers[account["customer_id"]]
        assert (owner["party_type"] == "ORGANISATION") == (klass == "CORPORATE")
        if klass in ("II", "III"):
            assert account["account_subtype"] == "Savings"
            bound_id, external = account["bound_account_id"], account["bound_external_account_number"]
            assert (bound_id is None) != (external is None), account
            if bound_id:
                bound = idx.accounts[bound_id]
                assert bound["account_class"] == "I" and bound["customer_id"] == account["customer_id"]
            else:
                assert len(external) == 19 and luhn.is_valid(external) and not external.startswith(BANK_BIN)
        else:
            assert account["bound_account_id"] is None and account["bound_external_account_number"] is None
    people = [c for c in idx.rows("accounts.customer") if c["party_type"] == "PERSON"]
    for person in people:
        class_one = [a for a in idx.accounts_of[person["customer_id"]] if a["account_class"] == "I"]
        assert len(class_one) <= 1  # at most one Class I per bank
    ids = {a["account_id"] for a in idx.rows("accounts.account")}
    assert ids >= INTERNAL_IDS
    for biller in idx.rows("payments.biller"):
        assert biller["settlement_account_id"] in ids


def test_every_transaction_balances(idx):
    assert len(idx.postings_of_tx) == len(idx.transactions)
    for tx_id, postings in idx.postings_of_tx.items():
        assert len(postings) >= 2
        assert sum(p["amount_fen"] for p in postings) == 0, tx_id
        assert [p["posting_id"] for p in postings] == [f"{tx_id}-{n}" for n in range(1, len(postings) + 1)]
        assert all(p["account_id"] in idx.accounts for p in postings)


def test_history_window(world, idx):
    start = datetime.combine(world.config.history_start, time(0), TZ)
    end = datetime.combine(world.config.as_of_date, time(0), TZ)
    booked = [t["booked_at"] for t in idx.rows("accounts.ledger_transaction")]
    assert start <= min(booked) and max(booked) < end
    assert booked == sorted(booked)  # transaction ids follow booking order
    for tx in idx.rows("accounts.ledger_transaction"):
        assert tx["value_date"] == tx["booked_at"].astimezone(TZ).date()
    as_of = world.config.as_of_date
    for name, rows in world.tables.items():
        for row in rows:
            for column, value in row.items():
                if column in ("report_date", "due_date"):
                    continue  # the report is dated as_of; a bill's due date may lie ahead
                if hasattr(value, "year"):
                    day = value.astimezone(TZ).date() if isinstance(value, datetime) else value
                    assert day < as_of, (name, column, row)


def test_customer_balances_never_negative_and_class_limits_hold(idx):
    limits = {"II": (1_000_000, 1_000_000), "III": (500_000, 200_000)}
    for account_id, account in idx.accounts.items():
        if account["customer_id"] is None:
            continue
        balance = 0
        flows: dict[tuple, int] = defaultdict(int)
        bound_number = account["bound_external_account_number"]
        for tx, amount in idx.account_transactions(account_id):
            balance += amount
            assert balance >= 0, (account_id, tx)
            if account["account_class"] == "III":
                assert balance <= 200_000, (account_id, tx)
            if account["account_class"] in limits and tx["category"] not in ("OPENING_BALANCE", "INTEREST"):
                others = [
                    p["account_id"]
                    for p in idx.postings_of_tx[tx["transaction_id"]]
                    if p["account_id"] != account_id
                ]
                from_bound = others == [account["bound_account_id"]] or (
                    others == ["INT-CLEARING-CNAPS"]
                    and bound_number
                    and tx["counterparty_account_number"] == bound_number
                )
                if not from_bound:
                    flows[(tx["value_date"], amount > 0)] += abs(amount)
        for (day, inflow), total in flows.items():
            cap = limits[account["account_class"]][0 if inflow else 1]
            assert total <= cap, (account_id, day, inflow, total)


def test_bills_match_utility_transactions(idx):
    billers = {b["biller_id"]: b for b in idx.rows("payments.biller")}
    categories = defaultdict(int)
    for biller in billers.values():
        categories[biller["category"]] += 1
    assert set(categories) == {"GAS", "WATER", "ELECTRICITY", "TELECOM", "TRANSIT"}
    assert min(categories.values()) >= 2
    utility_payments = {}
    for tx in idx.rows("accounts.ledger_transaction"):
        if tx["category"] == "UTILITY":
            (leg,) = [p for p in idx.postings_of_tx[tx["transaction_id"]] if p["amount_fen"] > 0]
            biller_id = leg["account_id"].removeprefix("INT-BILLER-")
            assert re.match(billers[biller_id]["reference_pattern"], tx["reference"]), tx
            assert re.match(r"^\d{4}$", tx["merchant_category_code"])
            period = tx["description"].rsplit(" ", 1)[1]
            utility_payments[(biller_id, tx["reference"], period)] = leg["amount_fen"]
    bills = idx.rows("payments.bill")
    outstanding_people = {b["customer_id"] for b in bills if b["status"] == "OUTSTANDING"}
    people = [c for c in idx.rows("accounts.customer") if c["party_type"] == "PERSON"]
    assert len(outstanding_people) >= 0.9 * len(people)
    paid = [b for b in bills if b["status"] == "PAID"]
    assert len(paid) > len(people)
    references_of = defaultdict(set)
    for key in utility_payments:
        references_of[key[:2]].add(key)
    for bill in bills:
        assert re.match(billers[bill["biller_id"]]["reference_pattern"], bill["customer_reference"])
        key = (bill["biller_id"], bill["customer_reference"], bill["period"])
        if bill["status"] == "PAID":
            assert utility_payments[key] == bill["amount_fen"], bill
        else:
            assert key not in utility_payments
    # a reference belongs to one customer
    owner_of_reference = {}
    for bill in bills:
        ref = (bill["biller_id"], bill["customer_reference"])
        assert owner_of_reference.setdefault(ref, bill["customer_id"]) == bill["customer_id"]


def test_transfers_between_customers_exist(idx):
    both_customer = 0
    for tx in idx.rows("accounts.ledger_transaction"):
        if tx["category"] == "TRANSFER":
            postings = idx.postings_of_tx[tx["transaction_id"]]
            owners = {idx.accounts[p["account_id"]]["customer_id"] for p in postings}
            if None not in owners and len(owners) == 2:
                both_customer += 1
    assert both_customer >= 100


def test_tax_payments_and_receipts_match_filings(idx):
    filings = idx.rows("loans.tax_filing")
    by_reference = {}
    for tx in idx.rows("accounts.ledger_transaction"):
        if tx["category"] == "TAX_PAYMENT":
            by_reference[tx["reference"]] = -next(
                p["amount_fen"] for p in idx.postings_of_tx[tx["transaction_id"]] if p["amount_fen"] < 0
            )
    start = idx.world.config.history_start
    for filing in filings:
        due = filing["vat_fen"] + filing["income_tax_fen"]
        if filing["filed_on"] >= start and due:
            assert by_reference[filing["filing_id"]] == due, filing
    # Receipts of every complete month inside the history add up to revenue + output VAT.
    from sandbox_data.model import Sme

    profiles = {p["customer_id"]: p for p in idx.rows("loans.tax_profile")}
    for filing in filings:
        year, month = int(filing["period"][:4]), int(filing["period"][5:7])
        if (year, month) <= (start.year, start.month):
            continue
        (account,) = idx.accounts_of[filing["customer_id"]]
        income = sum(amount for tx, amount in idx.account_transactions(account["account_id"])
                     if tx["category"] == "BUSINESS_INCOME" and tx["value_date"].year == year
                     and tx["value_date"].month == month)  # fmt: skip
        profile = profiles[filing["customer_id"]]
        stub = Sme(filing["customer_id"], "", "", "", None, start, "", None, "", profile["taxpayer_type"], "")  # type: ignore[arg-type]
        assert income == receipts_fen(stub, filing["revenue_fen"]), filing


def test_repayments_follow_the_bureau_file(idx):
    """Every active, non-card loan held by a customer with a Class I/II account shows its monthly instalment."""
    for loan in idx.rows("loans.bureau_credit_account"):
        if loan["status"] != "ACTIVE":
            continue
        accounts = [a for a in idx.accounts_of[loan["customer_id"]] if a["account_class"] in ("I", "II")]
        if not accounts:
            continue
        amounts = [
            -amount
            for account in accounts
            for tx, amount in idx.account_transactions(account["account_id"])
            if tx["category"] == "LOAN_REPAYMENT" and tx["reference"] == loan["credit_account_id"]
        ]
        assert set(amounts) <= {loan["monthly_payment_fen"]}, loan
        months_open = (idx.world.config.as_of_date - loan["opened_on"]).days // 31
        if months_open >= 2:
            assert amounts, loan
