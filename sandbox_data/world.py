"""generate_world: the whole synthetic world for one (seed, as-of date, population size), as table rows."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sandbox_data import billers, bureau, tax
from sandbox_data.model import AccountSpec, Person, Sme, add_months, years_before
from sandbox_data.personas import build_personas
from sandbox_data.population import Builder, assign_payroll, background_person, background_sme, person_name
from sandbox_data.transactions import (
    Ledger,
    Schedule,
    bill_rows,
    ledger_rows,
    schedule_interest,
    schedule_person,
    schedule_sme,
)

HISTORY_MONTHS = 13
BACKGROUND_BLACKLISTED = 4  # background customers on the fraud blacklist (never given a clean outcome)
NON_CUSTOMER_BLACKLISTED = 3  # blacklist entries for people who do not bank here
ProgressCallback = Callable[[int, int], None]

# The primary key of every table, which is also its sort order.
PRIMARY_KEYS = {
    "gateway.sandbox_user": "username",
    "accounts.customer": "customer_id",
    "accounts.account": "account_id",
    "accounts.ledger_transaction": "transaction_id",
    "accounts.posting": "posting_id",
    "payments.biller": "biller_id",
    "payments.bill": "bill_id",
    "loans.bureau_subject": "customer_id",
    "loans.bureau_credit_account": "credit_account_id",
    "loans.bureau_inquiry": "inquiry_id",
    "loans.fraud_blacklist": "entry_id",
    "loans.tax_profile": "customer_id",
    "loans.tax_filing": "filing_id",
}


@dataclass(frozen=True)
class WorldConfig:
    as_of_date: date  # a local date in Asia/Shanghai; the history ends at its 00:00 (exclusive)
    seed: int = 8
    retail_customers: int = 200  # background people, besides the 8 personas
    smes: int = 30  # background SMEs, besides the 2 persona SMEs

    def __post_init__(self) -> None:
        if self.retail_customers < 0 or self.smes < 0:
            raise ValueError("population sizes must not be negative")
        if self.smes and not self.retail_customers:
            raise ValueError("background SMEs need background retail customers to own them")

    @property
    def history_start(self) -> date:
        return add_months(self.as_of_date, -HISTORY_MONTHS)


@dataclass
class World:
    config: WorldConfig
    tables: dict[str, list[dict]] = field(default_factory=dict)

    def for_service(self, service: str) -> dict[str, list[dict]]:
        prefix = f"{service}."
        return {name[len(prefix) :]: rows for name, rows in self.tables.items() if name.startswith(prefix)}

    def digest(self) -> str:
        """sha256 of the canonical JSON of every table (sorted keys, dates and datetimes in ISO 8601)."""
        canonical = json.dumps(
            self.tables, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_iso
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _iso(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def generate_world(config: WorldConfig, progress: ProgressCallback | None = None) -> World:
    steps = 6
    report = progress or (lambda done, total: None)
    as_of, start = config.as_of_date, config.history_start
    builder = Builder(config.seed, as_of, start)

    people, smes = build_personas(builder)
    background = [background_person(builder, n) for n in range(config.retail_customers)]
    people += background
    background_smes = [background_sme(builder, n, background) for n in range(config.smes)]
    smes += background_smes
    assign_payroll(builder, [smes[0], *background_smes], background)
    report(1, steps)

    for person in background:
        bureau.background_credit(random.Random(f"{config.seed}:bureau:{person.customer_id}"), person, as_of)
    blacklist = _blacklist(builder, people, background, config.seed)
    report(2, steps)

    internal = builder.internal_accounts([b.biller_id for b in billers.BILLERS])
    accounts = {a.account_id: a for a in [*internal, *builder.accounts]}
    schedule = Schedule(start, as_of)
    recipients = _transfer_recipients(people, accounts)
    for person in people:
        schedule_person(schedule, config.seed, person, accounts, recipients)
    people_by_id = {p.customer_id: p for p in people}
    for sme in smes:
        schedule_sme(schedule, config.seed, sme, accounts, people_by_id.get(sme.owner_customer_id or ""))
    schedule_interest(schedule, builder.accounts)
    report(3, steps)

    schedule.events.sort(key=lambda e: (e.t, e.seq))
    ledger = Ledger(accounts, start)
    for event in schedule.events:
        ledger.apply(event)
    transactions, postings = ledger_rows(ledger, start)
    report(4, steps)

    tables = {
        "gateway.sandbox_user": [
            {
                "username": p.username,
                "customer_id": p.customer_id,
                "display_name": p.display_name,
                "is_persona": p.is_persona,
            }
            for p in people
        ],  # fmt: skip
        "accounts.customer": [_person_row(p) for p in people] + [_sme_row(s, people_by_id) for s in smes],
        "accounts.account": [_account_row(a) for a in accounts.values()],
        "accounts.ledger_transaction": transactions,
        "accounts.posting": postings,
        "payments.biller": billers.biller_rows(),
        "payments.bill": bill_rows(people, ledger, config.seed, as_of, start),
        "loans.bureau_subject": bureau.subject_rows(people, as_of),
        "loans.bureau_credit_account": bureau.credit_account_rows(people),
        "loans.bureau_inquiry": bureau.inquiry_rows(people),
        "loans.fraud_blacklist": blacklist,
        "loans.tax_profile": tax.profile_rows(smes),
        "loans.tax_filing": tax.filing_rows(smes),
    }
    report(5, steps)
    for name, key in PRIMARY_KEYS.items():
        tables[name].sort(key=lambda row, key=key: row[key])
    report(6, steps)
    return World(config, tables)


def _transfer_recipients(
    people: list[Person], accounts: dict[str, AccountSpec]
) -> list[tuple[str, str, str]]:
    """Primary Class I/II accounts that friends and family transfer to (Class III wallets are left out)."""
    result = []
    for person in people:
        account = accounts[person.primary_account_id]
        if account.account_class in ("I", "II"):
            result.append((account.account_id, person.full_name, account.account_number))
    return result


def _blacklist(builder: Builder, people: list[Person], background: list[Person], seed: int) -> list[dict]:
    rng = random.Random(f"{seed}:blacklist")
    listed = [p for p in people if p.blacklist]
    reasons = (
        "多头借贷中介代办包装",
        "提供虚假收入证明申请贷款",
        "银行卡出租出借（涉电诈）",
        "身份信息涉嫌用于团伙欺诈骗贷",
    )
    for person in rng.sample(background, min(BACKGROUND_BLACKLISTED, len(background))):
        person.blacklist = (
            rng.choice(reasons),
            builder.as_of - timedelta(days=rng.randint(20, 700)),
            "同业反欺诈信息共享平台",
        )
        listed.append(person)
    rows = []
    for n, person in enumerate(sorted(listed, key=lambda p: p.customer_id), start=1):
        reason, listed_on, source = person.blacklist  # type: ignore[misc]
        rows.append({"entry_id": f"FBL{n:06d}", "id_type": "RESIDENT_ID", "id_number": person.id_number,
                     "full_name": person.full_name, "reason": reason, "listed_on": listed_on, "source": source})  # fmt: skip
    for n in range(len(rows) + 1, len(rows) + 1 + NON_CUSTOMER_BLACKLISTED):
        gender = rng.choice("MF")
        birth = years_before(builder.as_of, rng.randint(22, 55), rng.randint(0, 364))
        id_number = builder.ids.resident_id(rng, rng.choice(("450103", "360102", "410105")), birth, gender)
        rows.append({"entry_id": f"FBL{n:06d}", "id_type": "RESIDENT_ID", "id_number": id_number,
                     "full_name": person_name(rng, gender), "reason": rng.choice(reasons),
                     "listed_on": builder.as_of - timedelta(days=rng.randint(20, 700)),
                     "source": "公安部门协查通报"})  # fmt: skip
    return rows


def _person_row(person: Person) -> dict:
    return {
        "customer_id": person.customer_id,
        "party_type": "PERSON",
        "full_name": person.full_name,
        "id_type": "RESIDENT_ID",
        "id_number": person.id_number,
        "mobile": person.mobile,
        "birth_date": person.birth_date,
        "gender": person.gender,
        "region_code": person.id_number[:6],
        "owner_customer_id": None,
        "username": person.username,
        "onboarded_on": person.onboarded_on,
    }


def _sme_row(sme: Sme, people: dict[str, Person]) -> dict:
    return {
        "customer_id": sme.customer_id,
        "party_type": "ORGANISATION",
        "full_name": sme.full_name,
        "id_type": "USCC",
        "id_number": sme.uscc,
        "mobile": sme.mobile,
        "birth_date": None,
        "gender": None,
        "region_code": sme.region,
        "owner_customer_id": sme.owner_customer_id,
        "username": None,
        "onboarded_on": sme.established_on,
    }


def _account_row(account: AccountSpec) -> dict:
    return {
        "account_id": account.account_id,
        "customer_id": account.customer_id,
        "account_number": account.account_number,
        "account_class": account.account_class,
        "account_type": account.account_type,
        "account_subtype": account.account_subtype,
        "currency": "CNY",
        "nickname": account.nickname,
        "opened_on": account.opened_on,
        "bound_account_id": account.bound_account_id,
        "bound_external_account_number": account.bound_external_account_number,
        "status": "Enabled",
    }
