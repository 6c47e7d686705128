"""Background customers: people and SMEs drawn from seeded sub-streams, one stream per customer id.

Every random choice for a customer comes from `random.Random(f"{seed}:<kind>:<customer_id>")`, so adding
customers never changes the ones already there. Identifier uniqueness is settled in creation order, which is
fixed: personas first, then background people, then background SMEs.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from sandbox_data import names
from sandbox_data.billers import ReferenceBook, choose_utilities
from sandbox_data.identifiers import INTERNAL_SERIAL_BASE, IdentifierFactory, account_number
from sandbox_data.model import AccountSpec, Person, Sme, add_months, period_of, years_before
from sandbox_data.tax import filed_on, monthly_revenue

# Account set-ups of background people and their weights (primary account first).
SETUPS = (("I", 55), ("I+II", 30), ("I+III", 7), ("II", 5), ("III", 3))


class Builder:
    """Allocates account ids, numbers and identifiers in a fixed order for one world."""

    def __init__(self, seed: int, as_of: date, history_start: date) -> None:
        self.seed = seed
        self.as_of = as_of
        self.history_start = history_start
        self.ids = IdentifierFactory()
        self.references = ReferenceBook()
        self.accounts: list[AccountSpec] = []
        self._external_numbers: dict[str, str] = {}
        self._company_names: set[str] = set()

    def account(
        self, customer_id: str, account_class: str, nickname: str, opened_on: date,
        bound_account_id: str | None = None, bound_external: str | None = None,
    ) -> AccountSpec:  # fmt: skip
        serial = len(self.accounts) + 1
        spec = AccountSpec(f"ACC{serial:07d}", customer_id, account_number(serial), account_class, nickname,
                           opened_on, bound_account_id, bound_external)  # fmt: skip
        self.accounts.append(spec)
        return spec

    def internal_accounts(self, biller_ids: list[str]) -> list[AccountSpec]:
        fixed = [
            ("INT-OPENING-BALANCE", "期初余额过渡户"),
            ("INT-CLEARING-CNAPS", "跨行清算往来户（CNAPS）"),
            ("INT-SETTLEMENT-ECOM", "网联/银联商户结算户"),
            ("INT-CASH", "现金库存"),
            ("INT-INTEREST-EXPENSE", "利息支出"),
        ] + [(f"INT-BILLER-{biller_id}", f"代收费待清算 {biller_id}") for biller_id in biller_ids]
        # Lending's income accounts (docs/lending.md, chart of accounts). Appended after the billers so that
        # every account number above stays what it was.
        fixed += [
            ("INT-LOAN-INTEREST-INCOME", "贷款利息收入"),
            ("INT-PENALTY-INTEREST-INCOME", "罚息收入"),
        ]
        opened = date(2010, 1, 1)
        return [
            AccountSpec(account_id, None, account_number(INTERNAL_SERIAL_BASE + n), "INTERNAL", nick, opened)
            for n, (account_id, nick) in enumerate(fixed, start=1)
        ]

    def external_number(self, holder: str) -> str:
        """One account number at another bank per named holder (employer, landlord, lender...)."""
        if holder not in self._external_numbers:
            self._external_numbers[holder] = self.ids.external_account_number()
        return self._external_numbers[holder]

    def person(
        self, rng: random.Random, customer_id: str, full_name: str, gender: str, birth_date: date, region: str,
        username: str, is_persona: bool, onboarded_on: date,
    ) -> Person:  # fmt: skip
        return Person(
            customer_id=customer_id,
            full_name=full_name,
            gender=gender,
            birth_date=birth_date,
            id_number=self.ids.resident_id(rng, region, birth_date, gender),
            mobile=self.ids.mobile(rng),
            username=username,
            is_persona=is_persona,
            onboarded_on=onboarded_on,
        )

    def company_name(self, rng: random.Random) -> tuple[str, str]:
        while True:
            core = rng.choice(names.COMPANY_CORES)
            trade, industry = rng.choice(names.COMPANY_TRADES)
            name = f"深圳市{core}{trade}有限公司"
            if name not in self._company_names and name not in names.EXTERNAL_EMPLOYERS:
                self._company_names.add(name)
                return name, industry

    def reserve_company_name(self, name: str) -> None:
        self._company_names.add(name)


def person_name(rng: random.Random, gender: str) -> str:
    surname = rng.choice(names.SURNAMES[:40]) if rng.random() < 0.8 else rng.choice(names.SURNAMES)
    pool = names.GIVEN_MALE if gender == "M" else names.GIVEN_FEMALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.6 else "")
    return surname + given


def background_person(builder: Builder, index: int) -> Person:
    """Background retail customer number `index` (0-based): CUS001001, CUS001002, ..."""
    number = 1001 + index
    cid = f"CUS{number:06d}"
    rng = random.Random(f"{builder.seed}:person:{cid}")
    as_of = builder.as_of
    gender = rng.choice("MF")
    age = rng.randint(22, 58)
    birth = years_before(as_of, age, rng.randint(0, 364))
    region = rng.choice(names.HOME_REGIONS) if rng.random() < 0.35 else rng.choice(names.BIRTH_REGIONS)
    opened = as_of - timedelta(days=rng.randint(460, min(age - 18, 15) * 365))
    person = builder.person(
        rng, cid, person_name(rng, gender), gender, birth, region, f"user.{number}", False, opened
    )

    setup = rng.choices([s for s, _ in SETUPS], [w for _, w in SETUPS])[0]
    classes = setup.split("+")
    salary = int(rng.lognormvariate(math.log(900_000), 0.45)) // 1_000 * 1_000
    person.salary_fen = min(max(salary, 420_000), 4_500_000)
    if classes[0] == "I":
        first = builder.account(cid, "I", "一类借记卡", opened)
        person.opening_fen[first.account_id] = int(person.salary_fen * rng.uniform(1.0, 4.0)) // 100 * 100
        if len(classes) == 2:
            second_opened = opened + timedelta(
                days=rng.randint(0, max(0, (builder.history_start - opened).days - 30))
            )
            nickname = "二类电子账户" if classes[1] == "II" else "三类零钱账户"
            second = builder.account(
                cid, classes[1], nickname, second_opened, bound_account_id=first.account_id
            )
            person.spend_account_id = second.account_id
            if classes[1] == "II":
                person.monthly_transfer_fen = rng.randrange(500, 3_000, 100) * 100
                person.opening_fen[second.account_id] = rng.randrange(300, 5_000, 10) * 100
            else:
                person.topup = (first.account_id, 20_000, rng.randrange(800, 1_500, 100) * 100)
                person.small_spender = True
                person.opening_fen[second.account_id] = rng.randrange(100, 1_500, 10) * 100
        person.primary_account_id = first.account_id
    else:
        bound = builder.ids.external_account_number()
        nickname = "二类电子账户" if classes[0] == "II" else "三类零钱账户"
        only = builder.account(cid, classes[0], nickname, opened, bound_external=bound)
        person.primary_account_id = only.account_id
        if classes[0] == "II":
            person.salary_fen = min(person.salary_fen, 950_000)  # one credit a day must fit the ¥10,000 limit
            person.opening_fen[only.account_id] = int(person.salary_fen * rng.uniform(0.3, 1.5)) // 100 * 100
        else:
            person.salary_fen = 0  # a Class III wallet: income is kept at the other bank
            person.small_spender = True
            person.topup = (None, 20_000, rng.randrange(600, 1_500, 100) * 100)
            person.opening_fen[only.account_id] = rng.randrange(100, 1_500, 10) * 100

    if person.salary_fen:
        person.payday = rng.choice((5, 8, 10, 15, 20, 25))
        person.employer_name = rng.choice(names.EXTERNAL_EMPLOYERS)
        person.employer_account_number = builder.external_number(person.employer_name)
        if rng.random() < 0.55:
            person.rent_fen = int(person.salary_fen * rng.uniform(0.18, 0.32)) // 10_000 * 10_000
            if rng.random() < 0.6:
                person.landlord_name = rng.choice(names.LANDLORD_COMPANIES)
            else:
                person.landlord_name = person_name(rng, rng.choice("MF"))
            person.landlord_account_number = builder.external_number(person.landlord_name)
        person.cash_per_month = rng.randint(0, 1) if classes[0] == "I" else 0
        person.p2p_per_month = rng.randint(0, 2)
    categories = ["TELECOM"]
    if person.salary_fen:
        categories += (
            ["ELECTRICITY"]
            + (["WATER"] if rng.random() < 0.7 else [])
            + (["GAS"] if rng.random() < 0.5 else [])
        )
        categories += ["TRANSIT"] if rng.random() < 0.3 else []
    person.utilities = choose_utilities(rng, builder.references, person.mobile, tuple(categories))
    person.ecommerce_per_month = rng.randint(2, 5) if not person.small_spender else rng.randint(6, 10)
    return person


def background_sme(builder: Builder, index: int, owners: list[Person]) -> Sme:
    """Background SME number `index` (0-based): CUS005001, ...; owned by a background person."""
    cid = f"CUS{5001 + index:06d}"
    rng = random.Random(f"{builder.seed}:sme:{cid}")
    as_of = builder.as_of
    established = as_of - timedelta(days=rng.randint(190, 36 * 31))
    name, industry = builder.company_name(rng)
    region = rng.choice(names.HOME_REGIONS)
    general = rng.random() < 0.4
    months_old = (as_of.year - established.year) * 12 + as_of.month - established.month
    grade = "M" if months_old < 12 else rng.choices("ABCD", (30, 45, 15, 10))[0]
    owner = owners[index % len(owners)] if owners else None
    sme = Sme(
        customer_id=cid,
        full_name=name,
        uscc=builder.ids.uscc(rng, region),
        region=region,
        owner_customer_id=owner.customer_id if owner else None,
        established_on=established,
        mobile=builder.ids.mobile(rng),
        account=builder.account(cid, "CORPORATE", "基本存款账户", established),
        industry=industry,
        taxpayer_type="GENERAL" if general else "SMALL_SCALE",
        tax_credit_grade=grade,
        filing_day=rng.randint(1, 10) if grade == "A" else rng.randint(5, 15),
        cost_ratio=rng.uniform(0.72, 0.8) if general else rng.uniform(0.55, 0.68),
        payday=rng.choice((5, 10, 15)),
        online_share=0.3 if rng.random() < 0.35 else 0.0,
    )
    base = (
        rng.randrange(300_000, 1_500_000, 1_000) * 100
        if general
        else rng.randrange(40_000, 250_000, 1_000) * 100
    )
    sme.rent_fen = int(base * rng.uniform(0.01, 0.04)) // 10_000 * 10_000
    sme.landlord_name = rng.choice(names.COMMERCIAL_LANDLORDS)
    sme.external_payroll_fen = int(base * rng.uniform(0.03, 0.07)) // 10_000 * 10_000
    fill_revenue(builder, sme, base)
    if grade in ("C", "D") and len(sme.filed_periods) > 6:
        for period in rng.sample(sme.filed_periods[:-1], rng.randint(1, 3)):
            sme.filed_periods.remove(period)  # missed filings are why the grade is poor
    if established < builder.history_start:
        sme.opening_fen = int(base * rng.uniform(1.5, 3.0)) // 100 * 100
    else:
        sme.capital_fen = int(base * rng.uniform(1.0, 2.0)) // 100_000 * 100_000
    return sme


def fill_revenue(builder: Builder, sme: Sme, base_fen: int, first_period_offset: int = 1) -> None:
    """Monthly revenue from the month after establishment to the as-of month; filed while filed_on < as_of."""
    month = add_months(sme.established_on.replace(day=1), first_period_offset)
    while month <= builder.as_of:
        period = period_of(month)
        sme.revenue_fen[period] = monthly_revenue(builder.seed, sme.customer_id, base_fen, period)
        if filed_on(sme, period) < builder.as_of:
            sme.filed_periods.append(period)
        month = add_months(month, 1)


def assign_payroll(builder: Builder, smes: list[Sme], people: list[Person]) -> None:
    """Some background people are paid by a background SME banking here (both salary legs in this ledger)."""
    owners = {sme.owner_customer_id for sme in smes}
    candidates = [
        p for p in people if p.customer_id not in owners and p.salary_fen and p.primary_account_id
        and next(a for a in builder.accounts if a.account_id == p.primary_account_id).account_class == "I"
    ]  # fmt: skip
    for sme in smes:
        if sme.established_on >= builder.history_start or not candidates:
            continue
        rng = random.Random(f"{builder.seed}:payroll:{sme.customer_id}")
        monthly = min(sme.revenue_fen.values())
        budget = int(monthly * 0.08)
        for _ in range(rng.randint(0, 3)):
            if not candidates:
                break
            person = candidates.pop(rng.randrange(len(candidates)))
            if person.salary_fen > budget:
                continue
            budget -= person.salary_fen
            person.employer_name = sme.full_name
            person.employer_account_number = None
            person.employer_account_id = sme.account.account_id
            person.payday = sme.payday
            sme.payroll.append((person.customer_id, person.salary_fen))
