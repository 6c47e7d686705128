"""The ledger history: scheduled events simulated in time order under the account-class rules.

Every customer's money movements over the history are first laid out as candidate events (salary, rent,
bills, spending, repayments, business flows...). They are then applied in (time, creation order); an event
that would overdraw an account or break a Class Ⅱ/Ⅲ limit is skipped, as the bank would refuse it. Every
applied event becomes one ledger transaction with two postings that sum to zero.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox_data import names, tax
from sandbox_data.billers import BILLERS_BY_ID, PAID_BILL_PERIODS, bill_amount
from sandbox_data.model import AccountSpec, Person, Sme, add_months, period_of

TZ = ZoneInfo("Asia/Shanghai")
OPENING, CNAPS, ECOM, CASH, INTEREST = (
    "INT-OPENING-BALANCE", "INT-CLEARING-CNAPS", "INT-SETTLEMENT-ECOM", "INT-CASH", "INT-INTEREST-EXPENSE",
)  # fmt: skip
# Limits with non-bound accounts (PBOC 银发〔2018〕16号), in fen: daily in, daily out, yearly in, yearly out.
CLASS_LIMITS = {
    "II": (1_000_000, 1_000_000, 20_000_000, 20_000_000),
    "III": (500_000, 200_000, 10_000_000, 5_000_000),
}
CLASS_III_MAX_BALANCE_FEN = 200_000
DEMAND_RATE = 0.0005  # 活期 0.05% a year, credited quarterly on the 21st of Mar/Jun/Sep/Dec
ONLINE_PLATFORMS = ("京东商城", "天猫", "拼多多", "抖音电商")


@dataclass(slots=True)
class Event:
    t: int  # seconds after the start of the history (00:00 Asia/Shanghai)
    seq: int
    src: str
    dst: str
    amount: int  # fen; 0 = computed when applied (top-ups, interest)
    category: str
    description: str
    counterparty_name: str | None = None
    counterparty_account_number: str | None = None
    mcc: str | None = None
    reference: str | None = None
    floor: int = 0  # a discretionary payment keeps at least this much in the paying account
    exempt: bool = False  # not counted against class limits (opening balance, interest from the bank itself)
    topup: tuple[int, int] | None = None  # (low, target): top the payee up to target when below low
    tag: tuple | None = None  # marks what the event settles (a bill), reported back when applied


class Schedule:
    """Candidate events inside [start, end) of the history."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        self.days = (end - start).days
        self.events: list[Event] = []

    def inside(self, day: date) -> bool:
        return self.start <= day < self.end

    def add(self, day: date, seconds: int, src: str, dst: str, amount: int, category: str, description: str,
            **extra) -> None:  # fmt: skip
        if not self.inside(day) or (amount <= 0 and "topup" not in extra and category != "INTEREST"):
            return
        t = (day - self.start).days * 86_400 + min(max(seconds, 0), 86_399)
        self.events.append(Event(t, len(self.events), src, dst, amount, category, description, **extra))

    def months(self) -> list[date]:
        """The first day of every month touching the history."""
        month, result = self.start.replace(day=1), []
        while month < self.end:
            result.append(month)
            month = add_months(month, 1)
        return result

    def monthly(self, day_of_month: int) -> list[date]:
        days = (add_months(m, 0, day_of_month) for m in self.months())
        return [d for d in days if self.inside(d)]


def _clock(hour: int, minute: int = 0, second: int = 0) -> int:
    return hour * 3600 + minute * 60 + second


class Ledger:
    """Applies events in order, enforcing balances and class limits, and keeps what was applied."""

    def __init__(self, accounts: dict[str, AccountSpec], start: date) -> None:
        self.accounts = accounts
        self.start = start
        self.balance: dict[str, int] = defaultdict(int)
        self.flows: dict[tuple, int] = defaultdict(int)
        self.applied: list[tuple[Event, int]] = []
        self.settled: set[tuple] = set()

    def _bound(self, account: AccountSpec, other: AccountSpec, number: str | None) -> bool:
        if account.bound_account_id and account.bound_account_id == other.account_id:
            return True
        return (
            bool(account.bound_external_account_number)
            and other.account_id == CNAPS
            and (number == account.bound_external_account_number)
        )

    def apply(self, event: Event) -> None:
        src, dst = self.accounts[event.src], self.accounts[event.dst]
        amount = event.amount
        if event.topup:
            low, target = event.topup
            if self.balance[dst.account_id] >= low:
                return
            amount = target - self.balance[dst.account_id]
        elif event.category == "INTEREST":
            amount = int(self.balance[dst.account_id] * DEMAND_RATE / 4)
        if amount <= 0:
            return
        if src.customer_id is not None and self.balance[src.account_id] - amount < max(event.floor, 0):
            return
        if dst.account_class == "III" and self.balance[dst.account_id] + amount > CLASS_III_MAX_BALANCE_FEN:
            return
        # Class II/III limits count only money moving to or from accounts other than the bound one.
        day = event.t // 86_400
        year = (self.start + timedelta(days=day)).year
        checks = []
        number = event.counterparty_account_number
        if src.account_class in CLASS_LIMITS and not event.exempt and not self._bound(src, dst, number):
            checks.append((src, 1))
        if dst.account_class in CLASS_LIMITS and not event.exempt and not self._bound(dst, src, number):
            checks.append((dst, 0))
        for account, direction in checks:
            limits = CLASS_LIMITS[account.account_class]
            if self.flows[(account.account_id, "d", direction, day)] + amount > limits[direction]:
                return
            if self.flows[(account.account_id, "y", direction, year)] + amount > limits[2 + direction]:
                return
        for account, direction in checks:
            self.flows[(account.account_id, "d", direction, day)] += amount
            self.flows[(account.account_id, "y", direction, year)] += amount
        self.balance[src.account_id] -= amount
        self.balance[dst.account_id] += amount
        self.applied.append((event, amount))
        if event.tag:
            self.settled.add(event.tag)


def _fixed_monthly_outflows(person: Person) -> int:
    loans = sum(loan.monthly_payment_fen for loan in person.loans if loan.status != "CLOSED")
    bills = sum(utility.base_fen for utility in person.utilities)
    return person.rent_fen + loans + bills + person.monthly_transfer_fen + person.sweep_to_bound_fen


def _spread(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` split into `parts` positive amounts (whole yuan except the last) that sum exactly to it."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = total / sum(weights)
    amounts = [int(w * scale) // 100 * 100 for w in weights[:-1]]
    return [*amounts, total - sum(amounts)]


def schedule_person(schedule: Schedule, seed: int, person: Person, accounts: dict[str, AccountSpec],
                    recipients: list[tuple[str, str, str]]) -> None:  # fmt: skip
    """All candidate events of one person. recipients: (account_id, name, number) for transfers."""
    rng = random.Random(f"{seed}:ledger:{person.customer_id}")
    primary = accounts[person.primary_account_id]
    spend = accounts[person.spend_account_id] if person.spend_account_id else primary
    reserve = _fixed_monthly_outflows(person) if primary.account_class != "III" else 0
    start = schedule.start
    for n, (account_id, amount) in enumerate(sorted(person.opening_fen.items())):
        schedule.add(start, n, OPENING, account_id, amount, "OPENING_BALANCE", "期初余额", exempt=True)

    if person.salary_fen:
        source = person.employer_account_id or CNAPS
        number = person.employer_account_number or (
            accounts[person.employer_account_id].account_number if person.employer_account_id else None
        )
        for day in schedule.monthly(person.payday):
            if person.salary_until and day > person.salary_until:
                break
            schedule.add(day, _clock(9, rng.randint(0, 50), rng.randint(0, 59)), source, primary.account_id,
                         person.salary_fen, "SALARY", f"工资 {person.employer_name}",
                         counterparty_name=person.employer_name, counterparty_account_number=number)  # fmt: skip
    for day in schedule.monthly(person.payday):
        pay = day + timedelta(days=2)
        if person.rent_fen:
            schedule.add(pay, _clock(10, 30, rng.randint(0, 59)), primary.account_id, CNAPS, person.rent_fen, "RENT",
                         f"房租 {person.landlord_name}", counterparty_name=person.landlord_name,
                         counterparty_account_number=person.landlord_account_number)  # fmt: skip
        if person.monthly_transfer_fen and spend is not primary:
            schedule.add(day + timedelta(days=1), _clock(20, rng.randint(0, 59)), primary.account_id, spend.account_id,
                         person.monthly_transfer_fen, "TRANSFER", "本人账户互转 转入二类户",
                         counterparty_name=person.full_name, counterparty_account_number=spend.account_number,
                         floor=reserve - person.monthly_transfer_fen)  # fmt: skip
        if person.sweep_to_bound_fen:
            schedule.add(day + timedelta(days=3), _clock(21, rng.randint(0, 59)), primary.account_id, CNAPS,
                         person.sweep_to_bound_fen, "TRANSFER", "本人账户互转 转至绑定账户",
                         counterparty_name=person.full_name,
                         counterparty_account_number=primary.bound_external_account_number,
                         floor=reserve - person.sweep_to_bound_fen)  # fmt: skip

    _schedule_bills(schedule, seed, person, primary, rng)
    _schedule_loans(schedule, person, primary, rng)

    if person.topup:
        source_id, low, target = person.topup
        wallet = spend if source_id else primary
        for day_index in range(rng.randint(0, 6), schedule.days, 7):
            day = start + timedelta(days=day_index)
            if source_id:
                schedule.add(day, _clock(7, 30), source_id, wallet.account_id, 0, "TRANSFER", "本人账户互转 零钱账户充值",
                             counterparty_name=person.full_name, counterparty_account_number=wallet.account_number,
                             topup=(low, target), floor=reserve)  # fmt: skip
            else:
                schedule.add(day, _clock(7, 30), CNAPS, wallet.account_id, 0, "TRANSFER", "绑定账户转入",
                             counterparty_name=person.full_name,
                             counterparty_account_number=wallet.bound_external_account_number,
                             topup=(low, target))  # fmt: skip

    merchants = names.SMALL_MERCHANTS if person.small_spender else names.ECOMMERCE_MERCHANTS
    small_wallet = spend if person.small_spender else None
    for month in schedule.months():
        month_days = (add_months(month, 1) - month).days
        for _ in range(max(0, person.ecommerce_per_month + rng.randint(-2, 2))):
            name, mcc, low, high = rng.choice(merchants)
            day = month + timedelta(days=rng.randrange(month_days))
            account = small_wallet or spend
            schedule.add(day, _clock(rng.randint(8, 23), rng.randint(0, 59), rng.randint(0, 59)), account.account_id,
                         ECOM, rng.randint(low, high) // 10 * 10, "ECOMMERCE", f"{name} 快捷支付",
                         counterparty_name=name, counterparty_account_number=accounts[ECOM].account_number,
                         mcc=mcc, floor=reserve if account is primary else 0)  # fmt: skip
        for _ in range(person.cash_per_month if primary.account_class == "I" else 0):
            day = month + timedelta(days=rng.randrange(month_days))
            schedule.add(day, _clock(rng.randint(11, 20), rng.randint(0, 59)), primary.account_id, CASH,
                         rng.choice((200, 300, 500, 800, 1_000, 2_000)) * 100, "CASH_WITHDRAWAL", "ATM取现",
                         mcc="6011", floor=reserve)  # fmt: skip
        for _ in range(person.p2p_per_month):
            account_id, name, number = rng.choice(recipients)
            if account_id in (primary.account_id, spend.account_id):
                continue
            day = month + timedelta(days=rng.randrange(month_days))
            amount = rng.choice((88, 200, 500, 520, 666, 888, 1_000, 1_500, 2_000)) * 100
            schedule.add(day, _clock(rng.randint(9, 22), rng.randint(0, 59)), primary.account_id, account_id, amount,
                         "TRANSFER", f"转账 {person.full_name}→{name}", counterparty_name=name,
                         counterparty_account_number=number, floor=reserve)  # fmt: skip


def latest_bill_period(as_of: date) -> str:
    """The newest bill period: issued on the 1st of the as-of month, still outstanding at the as-of date."""
    return period_of(add_months(as_of.replace(day=1), -1))


def bill_pay_day(person: Person, period: str) -> date:
    offset = 2 + int(person.customer_id[-3:]) % 8  # each customer pays a fixed few days after the bill comes
    return add_months(date(int(period[:4]), int(period[5:7]), 1), 1, 1 + offset)


def _schedule_bills(
    schedule: Schedule, seed: int, person: Person, primary: AccountSpec, rng: random.Random
) -> None:
    latest = latest_bill_period(schedule.end)
    for month in schedule.months():
        period = period_of(add_months(month, -1))
        if period >= latest:
            continue
        for utility in person.utilities:
            biller = BILLERS_BY_ID[utility.biller_id]
            schedule.add(bill_pay_day(person, period), _clock(rng.randint(8, 22), rng.randint(0, 59)),
                         primary.account_id, biller.settlement_account_id,
                         bill_amount(utility, period, person.customer_id, seed), "UTILITY",
                         f"缴费 {biller.name} {biller.reference_label}{utility.reference} {period}",
                         counterparty_name=biller.name, mcc=biller.mcc, reference=utility.reference,
                         tag=(person.customer_id, utility.biller_id, period))  # fmt: skip


def _schedule_loans(schedule: Schedule, person: Person, primary: AccountSpec, rng: random.Random) -> None:
    if primary.account_class == "III":
        return  # a Class III-only customer repays from the other bank where their money is
    for loan in person.loans:
        if loan.disbursed_fen:
            schedule.add(loan.opened_on, _clock(14, rng.randint(0, 59)), CNAPS, primary.account_id, loan.disbursed_fen,
                         "TRANSFER", f"贷款发放 {loan.lender_name}", counterparty_name=loan.lender_name,
                         reference=loan.credit_account_id)  # fmt: skip
            if person.forward_disbursements_to:
                name, number = person.forward_disbursements_to
                schedule.add(loan.opened_on + timedelta(days=1), _clock(10, rng.randint(0, 59)), primary.account_id,
                             CNAPS, loan.disbursed_fen * 9 // 10, "TRANSFER", f"转账 {name}", counterparty_name=name,
                             counterparty_account_number=number)  # fmt: skip
        label = "信用卡还款" if loan.account_type == "CREDIT_CARD" else "贷款还款"
        for day in schedule.monthly(loan.repay_day):
            if day <= add_months(loan.opened_on, 1, 1) - timedelta(days=1):
                continue  # first instalment falls in the month after opening
            if loan.last_repayment_on and day > loan.last_repayment_on:
                break
            schedule.add(day, _clock(6, rng.randint(0, 59)), primary.account_id, CNAPS, loan.monthly_payment_fen,
                         "LOAN_REPAYMENT", f"{label} {loan.lender_name}", counterparty_name=loan.lender_name,
                         reference=loan.credit_account_id)  # fmt: skip


def schedule_sme(schedule: Schedule, seed: int, sme: Sme, accounts: dict[str, AccountSpec],
                 owner: Person | None) -> None:  # fmt: skip
    rng = random.Random(f"{seed}:ledger:{sme.customer_id}")
    account = sme.account.account_id
    if sme.opening_fen:
        schedule.add(
            schedule.start, 0, OPENING, account, sme.opening_fen, "OPENING_BALANCE", "期初余额", exempt=True
        )
    if sme.capital_fen and owner:
        source = sme.capital_from_account_id or CNAPS
        number = accounts[source].account_number if sme.capital_from_account_id else None
        schedule.add(sme.established_on, _clock(10), source, account, sme.capital_fen, "TRANSFER",
                     f"投资款 {owner.full_name}", counterparty_name=sme.full_name if number else owner.full_name,
                     counterparty_account_number=sme.account.account_number if number else None)  # fmt: skip
    for month in schedule.months():
        period = period_of(month)
        revenue = sme.revenue_fen.get(period)
        if not revenue:
            continue
        parts = min(10, max(2, revenue // 5_000_000))
        for amount in _spread(rng, tax.receipts_fen(sme, revenue), parts):
            day = add_months(month, 0, rng.randint(3, 25))
            if day <= sme.established_on:
                continue
            if rng.random() < sme.online_share:
                payer, source, description = rng.choice(ONLINE_PLATFORMS), ECOM, "平台结算款"
            else:
                payer, source, description = rng.choice(names.SME_CUSTOMERS), CNAPS, "货款"
            schedule.add(day, _clock(rng.randint(9, 16), rng.randint(0, 59)), source, account, amount,
                         "BUSINESS_INCOME", f"{description} {payer}", counterparty_name=payer)  # fmt: skip
        for amount in _spread(rng, tax.purchases_fen(sme, revenue), rng.randint(2, 5)):
            supplier = rng.choice(names.SME_SUPPLIERS)
            day = add_months(month, 0, rng.randint(12, 28))
            schedule.add(day, _clock(rng.randint(9, 16), rng.randint(0, 59)), account, CNAPS, amount,
                         "BUSINESS_EXPENSE", f"采购货款 {supplier}", counterparty_name=supplier)  # fmt: skip
        schedule.add(add_months(month, 0, 3), _clock(10, 15), account, CNAPS, sme.rent_fen, "BUSINESS_EXPENSE",
                     f"房租 {sme.landlord_name}", counterparty_name=sme.landlord_name)  # fmt: skip
        schedule.add(add_months(month, 0, sme.payday), _clock(9, 5), account, CNAPS, sme.external_payroll_fen,
                     "BUSINESS_EXPENSE", "代发工资（他行）", counterparty_name="代发工资批量")  # fmt: skip
    for period in sme.filed_periods:
        revenue = sme.revenue_fen[period]
        schedule.add(tax.filed_on(sme, period), _clock(10, 40), account, CNAPS,
                     tax.vat_payable(sme, revenue) + tax.income_tax(sme, revenue), "TAX_PAYMENT",
                     f"税款 增值税及企业所得税 {period}", counterparty_name=names.TAX_AUTHORITY,
                     reference=tax.filing_id(sme, period))  # fmt: skip


def schedule_interest(schedule: Schedule, customer_accounts: list[AccountSpec]) -> None:
    for month in schedule.months():
        if month.month % 3:
            continue
        for n, account in enumerate(customer_accounts):
            schedule.add(add_months(month, 0, 21), _clock(2) + n, INTEREST, account.account_id, 0, "INTEREST", "结息",
                         exempt=True)  # fmt: skip


def ledger_rows(ledger: Ledger, start: date) -> tuple[list[dict], list[dict]]:
    base = datetime(start.year, start.month, start.day, tzinfo=TZ)
    transactions, postings = [], []
    for n, (event, amount) in enumerate(ledger.applied, start=1):
        tx_id = f"TX{n:08d}"
        booked = base + timedelta(seconds=event.t)
        transactions.append(
            {
                "transaction_id": tx_id,
                "booked_at": booked,
                "value_date": booked.date(),
                "category": event.category,
                "description": event.description,
                "counterparty_name": event.counterparty_name,
                "counterparty_account_number": event.counterparty_account_number,
                "merchant_category_code": event.mcc,
                "reference": event.reference,
            }
        )
        postings.append({"posting_id": f"{tx_id}-1", "transaction_id": tx_id, "account_id": event.src,
                         "amount_fen": -amount})  # fmt: skip
        postings.append({"posting_id": f"{tx_id}-2", "transaction_id": tx_id, "account_id": event.dst,
                         "amount_fen": amount})  # fmt: skip
    return transactions, postings


def bill_rows(
    people: list[Person], ledger: Ledger, seed: int, as_of: date, history_start: date
) -> list[dict]:
    latest = latest_bill_period(as_of)
    first = add_months(date(int(latest[:4]), int(latest[5:7]), 1), -PAID_BILL_PERIODS)
    periods = [period_of(add_months(first, n)) for n in range(PAID_BILL_PERIODS + 1)]
    rows = []
    for person in people:
        for utility in person.utilities:
            for period in periods:
                pay_day = bill_pay_day(person, period)
                paid = (person.customer_id, utility.biller_id, period) in ledger.settled
                if period != latest and not paid and pay_day < history_start:
                    continue
                issued = date(int(period[:4]), int(period[5:7]), 1)
                rows.append(
                    {
                        "bill_id": f"BIL-{person.customer_id}-{utility.biller_id[4:]}-{period.replace('-', '')}",
                        "biller_id": utility.biller_id,
                        "customer_reference": utility.reference,
                        "customer_id": person.customer_id,
                        "period": period,
                        "amount_fen": bill_amount(utility, period, person.customer_id, seed),
                        "due_date": add_months(issued, 1, 25),
                        "status": "PAID" if paid else "OUTSTANDING",
                    }
                )
    return rows
