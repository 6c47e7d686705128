"""Each persona's traits, read back from the tables, make its DESIGN.md §4 outcome follow for a plain reason."""

from __future__ import annotations

from datetime import timedelta

from sandbox_data import PERSONAS
from sandbox_data.model import add_months

LOAN_TYPES = {"CONSUMER_LOAN", "ONLINE_MICRO_LOAN", "MORTGAGE", "CAR_LOAN", "BUSINESS_LOAN"}


def customer(idx, username: str) -> dict:
    (user,) = idx.where("gateway.sandbox_user", username=username)
    assert user["is_persona"]
    return idx.customers[user["customer_id"]]


def accounts(idx, customer_id: str) -> list[dict]:
    return sorted(idx.accounts_of[customer_id], key=lambda a: a["account_id"])


def credits(idx, customer_id: str, category: str) -> list[tuple[dict, int]]:
    return [(tx, amount) for account in accounts(idx, customer_id)
            for tx, amount in idx.account_transactions(account["account_id"])
            if tx["category"] == category and amount > 0]  # fmt: skip


def debits(idx, customer_id: str, category: str) -> list[tuple[dict, int]]:
    return [(tx, -amount) for account in accounts(idx, customer_id)
            for tx, amount in idx.account_transactions(account["account_id"])
            if tx["category"] == category and amount < 0]  # fmt: skip


def balances(idx, account_id: str) -> list[int]:
    result, balance = [], 0
    for _, amount in idx.account_transactions(account_id):
        balance += amount
        result.append(balance)
    return result


def bureau(idx, customer_id: str) -> tuple[list[dict], list[dict]]:
    return (idx.where("loans.bureau_credit_account", customer_id=customer_id),
            idx.where("loans.bureau_inquiry", customer_id=customer_id))  # fmt: skip


def blacklisted(idx, id_number: str) -> bool:
    return any(e["id_number"] == id_number for e in idx.rows("loans.fraud_blacklist"))


def monthly_debt(credit_accounts: list[dict]) -> int:
    return sum(a["monthly_payment_fen"] for a in credit_accounts if a["status"] != "CLOSED")


def test_persona_catalogue_matches_the_tables(idx):
    for persona in PERSONAS:
        row = customer(idx, persona.username)
        assert row["customer_id"] == persona.customer_id and row["full_name"] == persona.display_name
        assert row["username"] == persona.username and persona.expected_outcome and persona.summary_en
    background = [u for u in idx.rows("gateway.sandbox_user") if not u["is_persona"]]
    assert background and all(u["username"] == f"user.{int(u['customer_id'][3:])}" for u in background)


def test_zhang_wei_salaried_clean_and_affordable(idx):
    c = customer(idx, "zhang.wei")
    class_one, class_two = accounts(idx, c["customer_id"])
    assert (class_one["account_class"], class_two["account_class"]) == ("I", "II")
    assert class_two["bound_account_id"] == class_one["account_id"]
    salaries = credits(idx, c["customer_id"], "SALARY")
    assert len(salaries) == 13 and {amount for _, amount in salaries} == {1_800_000}
    assert len({tx["value_date"].day for tx, _ in salaries}) == 1  # a fixed payday
    assert min(balances(idx, class_one["account_id"])) >= 5_000_000  # never below ¥50,000
    credit_accounts, inquiries = bureau(idx, c["customer_id"])
    assert {a["account_type"] for a in credit_accounts} <= {"CREDIT_CARD", "CAR_LOAN"}
    assert any(a["account_type"] == "CREDIT_CARD" for a in credit_accounts)
    assert all(a["status"] == "ACTIVE" and a["overdue_count_24m"] == 0 and a["current_overdue_fen"] == 0
               for a in credit_accounts)  # fmt: skip
    six_months_ago = add_months(idx.world.config.as_of_date, -6)
    assert len([i for i in inquiries if i["inquired_on"] >= six_months_ago]) <= 2
    assert monthly_debt(credit_accounts) < 0.25 * 1_800_000
    assert not blacklisted(idx, c["id_number"])


def test_li_na_young_class_two_only_thin_file(idx):
    c = customer(idx, "li.na")
    as_of = idx.world.config.as_of_date
    assert 21 <= (as_of - c["birth_date"]).days // 365 <= 23
    (only,) = accounts(idx, c["customer_id"])
    assert only["account_class"] == "II" and only["bound_account_id"] is None
    assert only["bound_external_account_number"]
    salaries = credits(idx, c["customer_id"], "SALARY")
    assert len(salaries) >= 12 and {amount for _, amount in salaries} == {650_000}
    credit_accounts, _ = bureau(idx, c["customer_id"])
    assert len(credit_accounts) <= 1 and not (LOAN_TYPES & {a["account_type"] for a in credit_accounts})
    for account in credit_accounts:
        assert account["account_type"] == "CREDIT_CARD" and account["opened_on"] > add_months(as_of, -12)
        assert account["overdue_count_24m"] == 0
    (subject,) = idx.where("loans.bureau_subject", customer_id=c["customer_id"])
    assert subject["first_credit_on"] is None or subject["first_credit_on"] > add_months(as_of, -12)
    assert not blacklisted(idx, c["id_number"])


def test_wang_fang_over_indebted(idx):
    c = customer(idx, "wang.fang")
    as_of = idx.world.config.as_of_date
    credit_accounts, inquiries = bureau(idx, c["customer_id"])
    loans = [a for a in credit_accounts if a["account_type"] in LOAN_TYPES and a["status"] == "ACTIVE"]
    assert len(loans) >= 6 and len({a["lender_name"] for a in loans}) >= 5
    micro = [a for a in loans if a["account_type"] == "ONLINE_MICRO_LOAN"]
    assert len(micro) > len(loans) / 2
    recent = [
        i for i in inquiries if i["reason"] == "LOAN_APPROVAL" and i["inquired_on"] >= add_months(as_of, -3)
    ]
    assert len(recent) >= 6
    salaries = credits(idx, c["customer_id"], "SALARY")
    salary = salaries[-1][1]
    assert monthly_debt(credit_accounts) > 0.7 * salary
    # The ledger shows those repayments: in the last full month every loan that was due got its instalment.
    repaid = debits(idx, c["customer_id"], "LOAN_REPAYMENT")
    last_month = add_months(as_of.replace(day=1), -1)
    in_last_month = {tx["reference"] for tx, _ in repaid if tx["value_date"] >= last_month}
    due = {a["credit_account_id"] for a in credit_accounts
           if a["status"] != "CLOSED" and a["opened_on"] < add_months(last_month, -1)}  # fmt: skip
    assert due <= in_last_month
    assert sum(amount for tx, amount in repaid if tx["value_date"] >= last_month) > 0.7 * salary
    assert not blacklisted(idx, c["id_number"])


def test_chen_jie_blacklisted_but_otherwise_ordinary(idx):
    c = customer(idx, "chen.jie")
    assert blacklisted(idx, c["id_number"])
    credit_accounts, _ = bureau(idx, c["customer_id"])
    assert all(a["overdue_count_24m"] == 0 and a["status"] == "ACTIVE" for a in credit_accounts)
    salaries = credits(idx, c["customer_id"], "SALARY")
    assert len(salaries) == 13
    assert monthly_debt(credit_accounts) < 0.3 * salaries[-1][1]


def test_liu_yang_overdue_history(idx):
    c = customer(idx, "liu.yang")
    credit_accounts, _ = bureau(idx, c["customer_id"])
    assert sum(a["overdue_count_24m"] for a in credit_accounts) >= 3
    assert max(a["max_overdue_days_24m"] for a in credit_accounts) >= 90
    overdue = [a for a in credit_accounts if a["status"] == "OVERDUE"]
    assert len(overdue) == 1 and overdue[0]["current_overdue_fen"] > 0
    # No repayment reached the overdue account in the last three months.
    as_of = idx.world.config.as_of_date
    refs = {tx["reference"] for tx, _ in debits(idx, c["customer_id"], "LOAN_REPAYMENT")
            if tx["value_date"] >= add_months(as_of, -3)}  # fmt: skip
    assert overdue[0]["credit_account_id"] not in refs
    assert not blacklisted(idx, c["id_number"])


def test_zhao_min_class_three_small_balances(idx):
    c = customer(idx, "zhao.min")
    (only,) = accounts(idx, c["customer_id"])
    assert only["account_class"] == "III" and only["bound_external_account_number"]
    history = balances(idx, only["account_id"])
    assert max(history) <= 200_000
    assert sorted(history)[len(history) // 2] <= 100_000  # typically a few hundred yuan
    spends = debits(idx, c["customer_id"], "ECOMMERCE")
    assert len(spends) >= 50 and max(amount for _, amount in spends) <= 10_000


def test_sun_hui_owns_huaxing_with_24_months_of_grade_a_filings(idx):
    c = customer(idx, "sun.hui")
    sme = idx.customers["CUS000101"]
    assert sme["party_type"] == "ORGANISATION" and "华兴商贸" in sme["full_name"]
    assert sme["owner_customer_id"] == c["customer_id"]
    (profile,) = idx.where("loans.tax_profile", customer_id="CUS000101")
    assert profile["tax_credit_grade"] == "A" and profile["uscc"] == sme["id_number"]
    filings = sorted(idx.where("loans.tax_filing", customer_id="CUS000101"), key=lambda f: f["period"])
    as_of = idx.world.config.as_of_date
    last = (
        as_of.replace(day=1) if as_of.day > 1 else add_months(as_of, -1)
    )  # the 1st's return is filed that day
    expected = [f"{d.year:04d}-{d.month:02d}" for d in (add_months(last, -n) for n in range(24, 0, -1))]
    assert [f["period"] for f in filings] == expected
    annual_tax = sum(f["vat_fen"] + f["income_tax_fen"] for f in filings[-12:])
    assert annual_tax >= 2 * 5_000_000  # even 1x of a year's tax covers ¥50,000 twice over
    (corporate,) = accounts(idx, "CUS000101")
    assert corporate["account_class"] == "CORPORATE" and corporate["account_type"] == "Business"
    income = sum(amount for _, amount in credits(idx, "CUS000101", "BUSINESS_INCOME"))
    assert income >= 12 * 50_000_000  # healthy turnover: over ¥500,000 a month
    assert len(debits(idx, "CUS000101", "TAX_PAYMENT")) >= 12
    assert not blacklisted(idx, c["id_number"])


def test_zhou_qiang_owns_a_three_month_old_sme_without_filings(idx):
    c = customer(idx, "zhou.qiang")
    sme = idx.customers["CUS000102"]
    as_of = idx.world.config.as_of_date
    assert sme["owner_customer_id"] == c["customer_id"]
    assert timedelta(days=80) <= as_of - sme["onboarded_on"] <= timedelta(days=100)
    (profile,) = idx.where("loans.tax_profile", customer_id="CUS000102")
    assert profile["tax_credit_grade"] == "M" and profile["registered_on"] == sme["onboarded_on"]
    assert idx.where("loans.tax_filing", customer_id="CUS000102") == []
    (corporate,) = accounts(idx, "CUS000102")
    history = idx.account_transactions(corporate["account_id"])
    assert corporate["opened_on"] == sme["onboarded_on"] and 1 <= len(history) <= 40
    assert all(tx["value_date"] >= sme["onboarded_on"] for tx, _ in history)


def test_persona_outcome_does_not_depend_on_population(world):
    """Persona identities stay the same however many background customers there are."""
    from sandbox_data import WorldConfig, generate_world

    small = generate_world(WorldConfig(as_of_date=world.config.as_of_date, retail_customers=10, smes=2))
    ids = {p.customer_id for p in PERSONAS} | {"CUS000101", "CUS000102"}

    def rows(w):
        return sorted((c["customer_id"], c["id_number"], c["mobile"]) for c in w.tables["accounts.customer"]
                      if c["customer_id"] in ids)  # fmt: skip

    assert rows(small) == rows(world)
