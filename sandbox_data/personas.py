"""The eight personas of DESIGN.md §4, written out by hand so each expected loan outcome has a plain reason.

Persona identities (names, ids, phones) come from streams that depend only on the username, and every date is
relative to the as-of date, so a persona looks the same in every world (apart from background counterparties).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox_data import names
from sandbox_data.billers import BILLERS_BY_ID
from sandbox_data.bureau import credit_card, term_loan
from sandbox_data.model import Person, Sme, Utility, add_months, years_before
from sandbox_data.population import Builder, fill_revenue

SANDBOX_PASSWORD = "sandbox"
SANDBOX_OTP = "123456"


@dataclass(frozen=True)
class Persona:
    username: str
    customer_id: str
    display_name: str
    summary_en: str
    expected_outcome: str


PERSONAS: tuple[Persona, ...] = (
    Persona("zhang.wei", "CUS000001", "张伟",
            "Salaried (¥18,000/month), clean credit history, Class I + Class II accounts",
            "PERSONAL_QUICK_LOAN ¥50,000 / 12 months: APPROVED"),
    Persona("li.na", "CUS000002", "李娜",
            "22 years old, thin credit file (one recent credit card), Class II account only",
            "¥50,000: REFERRED (THIN_FILE, manual review); ¥5,000: APPROVED"),
    Persona("wang.fang", "CUS000003", "王芳",
            "Over-indebted: 7 active loans at 7 lenders, 8 loan inquiries in 3 months, repayments > 80% of salary",
            "DECLINED (MULTI_LENDING, DEBT_TO_INCOME)"),
    Persona("chen.jie", "CUS000004", "陈杰",
            "On the fraud blacklist; otherwise an ordinary salaried customer",
            "DECLINED (FRAUD_BLACKLIST)"),
    Persona("liu.yang", "CUS000005", "刘洋",
            "History of overdue repayments (up to 125 days), a credit card currently overdue",
            "DECLINED (CREDIT_HISTORY)"),
    Persona("zhao.min", "CUS000006", "赵敏",
            "Class III account only (balance ≤ ¥2,000), small everyday spends",
            "Payments over the Class III limits are rejected"),
    Persona("sun.hui", "CUS000007", "孙慧",
            "Owner of SME 深圳市华兴商贸有限公司 (CUS000101): 24 months of tax filings, grade A",
            "SME_TAX_LOAN ¥50,000 / 12 months: APPROVED"),
    Persona("zhou.qiang", "CUS000008", "周强",
            "Owner of a 3-month-old SME (CUS000102) with no tax history",
            "SME_TAX_LOAN: DECLINED (INSUFFICIENT_TAX_HISTORY)"),
)  # fmt: skip
PERSONA_SME_IDS = {"sun.hui": "CUS000101", "zhou.qiang": "CUS000102"}


def build_personas(builder: Builder) -> tuple[list[Person], list[Sme]]:
    as_of = builder.as_of

    def ago(days: int) -> date:
        return as_of - timedelta(days=days)

    def months_ago(months: int, day: int | None = None) -> date:
        return add_months(as_of, -months, day)

    def new(
        persona: Persona, gender: str, birth: date, region: str, onboarded: date
    ) -> tuple[Person, random.Random]:
        rng = random.Random(f"persona:{persona.username}")
        person = builder.person(rng, persona.customer_id, persona.display_name, gender, birth, region,
                                persona.username, True, onboarded)  # fmt: skip
        return person, rng

    def utilities(rng: random.Random, person: Person, wanted: list[tuple[str, int]]) -> None:
        person.utilities = [
            Utility(
                biller_id, builder.references.reference(rng, BILLERS_BY_ID[biller_id], person.mobile), base
            )
            for biller_id, base in wanted
        ]

    def employ(person: Person, employer: str, salary_fen: int, payday: int) -> None:
        person.salary_fen, person.payday, person.employer_name = salary_fen, payday, employer
        person.employer_account_number = builder.external_number(employer)

    def rent(person: Person, landlord: str, rent_fen: int) -> None:
        person.rent_fen, person.landlord_name = rent_fen, landlord
        person.landlord_account_number = builder.external_number(landlord)

    zhang, li, wang, chen, liu, zhao, sun, zhou = PERSONAS
    people: list[Person] = []

    # zhang.wei: steady salary, Class I + II, a card and a car loan, debt-to-income about 21%.
    p, rng = new(zhang, "M", years_before(as_of, 38, 140), "440304", months_ago(130))
    first = builder.account(p.customer_id, "I", "工资卡", months_ago(130))
    second = builder.account(
        p.customer_id, "II", "二类电子账户", months_ago(50), bound_account_id=first.account_id
    )
    p.primary_account_id, p.spend_account_id = first.account_id, second.account_id
    p.opening_fen = {first.account_id: 8_600_000, second.account_id: 250_000}
    employ(p, "深圳市腾达科技有限公司", 1_800_000, 10)
    rent(p, "深圳市万家公寓管理有限公司", 450_000)
    utilities(
        rng,
        p,
        [("BLR-ELEC-01", 26_000), ("BLR-WATER-01", 6_000), ("BLR-GAS-01", 7_000), ("BLR-TEL-01", 12_800)],
    )
    p.monthly_transfer_fen, p.ecommerce_per_month, p.cash_per_month, p.p2p_per_month = 300_000, 6, 1, 1
    p.loans = [
        credit_card("BCA-CUS000001-01", "江南商业银行", months_ago(78), 5_000_000, 150_000, 18),
        term_loan("BCA-CUS000001-02", "远途汽车金融有限公司", "CAR_LOAN", months_ago(20), as_of, 12_000_000, 0.055,
                  60, 12, disburse=False),
    ]  # fmt: skip
    p.inquiries = [
        (months_ago(20), "远途汽车金融有限公司", "LOAN_APPROVAL"),
        (ago(75), "江南商业银行", "POST_LOAN_MANAGEMENT"),
        (ago(30), "本人", "SELF_QUERY"),
    ]
    p.provident_fund_monthly_fen = 360_000
    people.append(p)

    # li.na: 22, first job, Class II bound to her Class I at another bank, one card opened 7 months ago.
    p, rng = new(li, "F", years_before(as_of, 22, 95), "430102", months_ago(15))
    only = builder.account(
        p.customer_id,
        "II",
        "二类电子账户",
        months_ago(15),
        bound_external=builder.ids.external_account_number(),
    )
    p.primary_account_id = only.account_id
    p.opening_fen = {only.account_id: 320_000}
    employ(p, "深圳市嘉和百货有限公司", 650_000, 15)
    rent(p, "深圳市青年之家长租公寓有限公司", 180_000)
    utilities(rng, p, [("BLR-TEL-01", 5_800), ("BLR-TRANSIT-02", 12_000)])
    p.ecommerce_per_month, p.p2p_per_month, p.sweep_to_bound_fen = 5, 1, 100_000
    p.loans = [credit_card("BCA-CUS000002-01", "岭南农村商业银行", months_ago(7), 800_000, 120_000, 20)]
    p.inquiries = [(months_ago(7) - timedelta(days=3), "岭南农村商业银行", "CREDIT_CARD_APPROVAL")]
    people.append(p)

    # wang.fang: salary ¥8,000; seven loans at seven lenders, four of them opened in the last three months.
    p, rng = new(wang, "F", years_before(as_of, 35, 60), "420106", months_ago(100))
    first = builder.account(p.customer_id, "I", "借记卡", months_ago(100))
    p.primary_account_id = first.account_id
    p.opening_fen = {first.account_id: 600_000}
    employ(p, "深圳市安泰物业服务有限公司", 800_000, 5)
    rent(p, "深圳市万家公寓管理有限公司", 200_000)
    utilities(rng, p, [("BLR-TEL-01", 5_800), ("BLR-ELEC-01", 15_000)])
    p.ecommerce_per_month, p.cash_per_month = 8, 2
    p.forward_disbursements_to = (
        "王建国",
        builder.external_number("王建国"),
    )  # borrowed money passed on to family
    micro = names.MICRO_LENDERS
    p.loans = [
        credit_card("BCA-CUS000003-01", "华东发展银行", months_ago(62), 2_000_000, 60_000, 8),
        term_loan("BCA-CUS000003-02", "鑫融消费金融有限公司", "CONSUMER_LOAN", months_ago(20), as_of, 3_600_000,
                  0.108, 36, 9, disburse=True),
        term_loan("BCA-CUS000003-03", micro[0], "ONLINE_MICRO_LOAN", months_ago(14), as_of, 1_500_000, 0.22, 24, 10,
                  disburse=True),
        term_loan("BCA-CUS000003-04", micro[1], "ONLINE_MICRO_LOAN", months_ago(8), as_of, 1_200_000, 0.235, 12, 12,
                  disburse=True),
        term_loan("BCA-CUS000003-05", micro[2], "ONLINE_MICRO_LOAN", ago(80), as_of, 1_000_000, 0.24, 12, 14,
                  disburse=True),
        term_loan("BCA-CUS000003-06", micro[3], "ONLINE_MICRO_LOAN", ago(62), as_of, 800_000, 0.24, 12, 16,
                  disburse=True),
        term_loan("BCA-CUS000003-07", micro[4], "ONLINE_MICRO_LOAN", ago(40), as_of, 800_000, 0.24, 12, 18,
                  disburse=True),
        term_loan("BCA-CUS000003-08", micro[5], "ONLINE_MICRO_LOAN", ago(21), as_of, 600_000, 0.24, 12, 20,
                  disburse=True),
    ]  # fmt: skip
    p.inquiries = [
        (loan.opened_on - timedelta(days=1), loan.lender_name, "LOAN_APPROVAL") for loan in p.loans[1:]
    ]
    p.inquiries += [
        (ago(85), micro[6], "LOAN_APPROVAL"),
        (ago(55), "安信消费金融有限公司", "LOAN_APPROVAL"),
        (ago(33), "华夏普惠消费金融有限公司", "LOAN_APPROVAL"),
        (ago(12), micro[6], "LOAN_APPROVAL"),
        (ago(5), "鑫融消费金融有限公司", "LOAN_APPROVAL"),
    ]
    p.provident_fund_monthly_fen = 100_000
    people.append(p)

    # chen.jie: an ordinary salaried file; the only problem is the blacklist entry.
    p, rng = new(chen, "M", years_before(as_of, 41, 200), "350203", months_ago(108))
    first = builder.account(p.customer_id, "I", "借记卡", months_ago(108))
    p.primary_account_id = first.account_id
    p.opening_fen = {first.account_id: 3_500_000}
    employ(p, "深圳市华信电子股份有限公司", 1_200_000, 25)
    rent(p, "黄志明", 350_000)
    utilities(rng, p, [("BLR-ELEC-02", 20_000), ("BLR-WATER-02", 5_000), ("BLR-TEL-02", 8_800)])
    p.ecommerce_per_month, p.cash_per_month, p.p2p_per_month = 5, 1, 1
    p.loans = [credit_card("BCA-CUS000004-01", "海峡银行", months_ago(48), 3_000_000, 200_000, 6)]
    p.inquiries = [(ago(100), "海峡银行", "POST_LOAN_MANAGEMENT")]
    p.provident_fund_monthly_fen = 180_000
    p.blacklist = ("身份信息涉嫌用于团伙欺诈骗贷", ago(150), "同业反欺诈信息共享平台")
    people.append(p)

    # liu.yang: card overdue for four months (125 days at worst), a consumer loan closed after late payments.
    p, rng = new(liu, "M", years_before(as_of, 43, 20), "410105", months_ago(132))
    first = builder.account(p.customer_id, "I", "借记卡", months_ago(132))
    p.primary_account_id = first.account_id
    p.opening_fen = {first.account_id: 1_200_000}
    employ(p, "深圳市远航物流有限公司", 1_050_000, 10)
    rent(p, "深圳市乐租房地产经纪有限公司", 280_000)
    utilities(rng, p, [("BLR-ELEC-01", 18_000), ("BLR-WATER-01", 4_500), ("BLR-TEL-01", 8_800)])
    p.ecommerce_per_month, p.cash_per_month = 5, 2
    card = credit_card("BCA-CUS000005-01", "中原兴业银行", months_ago(72), 3_000_000, 240_000, 12)
    card.status, card.overdue_count_24m, card.max_overdue_days_24m = "OVERDUE", 5, 125
    card.current_overdue_fen, card.outstanding_fen = 4 * 240_000, 2_850_000
    card.last_repayment_on = months_ago(5, 28)  # nothing paid to the card since
    closed = term_loan("BCA-CUS000005-02", "安信消费金融有限公司", "CONSUMER_LOAN", months_ago(29), as_of, 5_000_000,
                       0.12, 24, 8, disburse=False)  # fmt: skip
    closed.overdue_count_24m, closed.max_overdue_days_24m = 2, 45
    micro_loan = term_loan("BCA-CUS000005-03", names.MICRO_LENDERS[3], "ONLINE_MICRO_LOAN", months_ago(10), as_of,
                           800_000, 0.24, 12, 15, disburse=True)  # fmt: skip
    micro_loan.overdue_count_24m, micro_loan.max_overdue_days_24m = 1, 15
    p.loans = [card, closed, micro_loan]
    p.inquiries = [
        (months_ago(10) - timedelta(days=1), names.MICRO_LENDERS[3], "LOAN_APPROVAL"),
        (ago(120), "中原兴业银行", "POST_LOAN_MANAGEMENT"),
        (ago(95), "快易贷网络小额贷款有限公司", "LOAN_APPROVAL"),
        (ago(40), "中原兴业银行", "POST_LOAN_MANAGEMENT"),
        (ago(18), "华夏普惠消费金融有限公司", "LOAN_APPROVAL"),
    ]
    people.append(p)

    # zhao.min: a Class III wallet topped up from her Class I elsewhere; balance stays at a few hundred yuan.
    p, rng = new(zhao, "F", years_before(as_of, 27, 33), "360731", months_ago(20))
    only = builder.account(
        p.customer_id,
        "III",
        "三类零钱账户",
        months_ago(20),
        bound_external=builder.ids.external_account_number(),
    )
    p.primary_account_id = only.account_id
    p.opening_fen = {only.account_id: 35_000}
    p.topup = (None, 30_000, 60_000)
    p.small_spender, p.ecommerce_per_month = True, 18
    utilities(rng, p, [("BLR-TEL-01", 3_800)])
    p.inquiries = [(ago(210), "本人", "SELF_QUERY")]
    people.append(p)

    # sun.hui: paid a salary by her own company; mortgage and a card, both clean.
    p, rng = new(sun, "F", years_before(as_of, 48, 77), "310104", months_ago(140))
    first = builder.account(p.customer_id, "I", "借记卡", months_ago(140))
    p.primary_account_id = first.account_id
    p.opening_fen = {first.account_id: 18_000_000}
    utilities(rng, p, [("BLR-ELEC-01", 42_000), ("BLR-WATER-01", 9_000), ("BLR-GAS-02", 11_000),
                       ("BLR-TEL-01", 19_900), ("BLR-TRANSIT-01", 30_000)])  # fmt: skip
    p.ecommerce_per_month, p.cash_per_month, p.p2p_per_month = 6, 1, 1
    p.loans = [
        credit_card("BCA-CUS000007-01", "华东发展银行", months_ago(110), 10_000_000, 500_000, 10),
        term_loan("BCA-CUS000007-02", "江南商业银行", "MORTGAGE", months_ago(96), as_of, 120_000_000, 0.039, 300, 20,
                  disburse=False),
    ]  # fmt: skip
    p.inquiries = [(ago(160), "本人", "SELF_QUERY")]
    sun_person = p
    people.append(p)

    # zhou.qiang: left his job four months ago and put ¥100,000 into a new company.
    p, rng = new(zhou, "M", years_before(as_of, 34, 150), "430602", months_ago(96))
    first = builder.account(p.customer_id, "I", "借记卡", months_ago(96))
    p.primary_account_id = first.account_id
    p.opening_fen = {first.account_id: 19_000_000}
    employ(p, "深圳市远航物流有限公司", 1_300_000, 15)
    p.salary_until = months_ago(4, 16)
    rent(p, "深圳市安居乐家住房租赁有限公司", 320_000)
    utilities(rng, p, [("BLR-ELEC-01", 16_000), ("BLR-WATER-01", 4_000), ("BLR-TEL-01", 5_800)])
    p.ecommerce_per_month, p.cash_per_month = 4, 1
    p.loans = [credit_card("BCA-CUS000008-01", "海峡银行", months_ago(40), 4_000_000, 300_000, 22)]
    p.inquiries = [(ago(200), "海峡银行", "POST_LOAN_MANAGEMENT")]
    p.provident_fund_monthly_fen = 150_000
    zhou_person = p
    people.append(p)

    smes = [
        _huaxing(builder, sun_person),
        _zhou_company(builder, zhou_person, zhou_person.primary_account_id),
    ]
    return people, smes


def _huaxing(builder: Builder, owner: Person) -> Sme:
    """华兴商贸: a wholesale trader, general VAT taxpayer, ~¥650,000 revenue a month, grade A."""
    rng = random.Random("persona:sme:CUS000101")
    name = "深圳市华兴商贸有限公司"
    builder.reserve_company_name(name)
    # The month after it starts exactly 24 filed periods (one month earlier when as_of is the 1st, since the
    # previous month's return is filed on the 1st and so not yet in the history).
    established = add_months(builder.as_of, -25 - (builder.as_of.day == 1), 8)
    sme = Sme(
        customer_id="CUS000101",
        full_name=name,
        uscc=builder.ids.uscc(rng, "440304"),
        region="440304",
        owner_customer_id=owner.customer_id,
        established_on=established,
        mobile=builder.ids.mobile(rng),
        account=builder.account("CUS000101", "CORPORATE", "基本存款账户", established),
        industry="批发业",
        taxpayer_type="GENERAL",
        tax_credit_grade="A",
        filing_day=1,
        cost_ratio=0.80,
        rent_fen=1_800_000,
        landlord_name="深圳市华强北商业运营有限公司",
        external_payroll_fen=3_000_000,
        payday=5,
        online_share=0.2,
        opening_fen=80_000_000,
    )
    fill_revenue(builder, sme, 65_000_000)
    sme.payroll.append((owner.customer_id, 2_500_000))
    owner.salary_fen, owner.payday, owner.employer_name = 2_500_000, 5, name
    owner.employer_account_id = sme.account.account_id
    return sme


def _zhou_company(builder: Builder, owner: Person, capital_account_id: str) -> Sme:
    """A three-month-old online shop: capital from the owner, a few sales, nothing filed yet (grade M)."""
    rng = random.Random("persona:sme:CUS000102")
    name = "深圳市启航优品电子商务有限公司"
    builder.reserve_company_name(name)
    established = builder.as_of - timedelta(days=92)
    sme = Sme(
        customer_id="CUS000102",
        full_name=name,
        uscc=builder.ids.uscc(rng, "440306"),
        region="440306",
        owner_customer_id=owner.customer_id,
        established_on=established,
        mobile=builder.ids.mobile(rng),
        account=builder.account("CUS000102", "CORPORATE", "基本存款账户", established),
        industry="零售业",
        taxpayer_type="SMALL_SCALE",
        tax_credit_grade="M",
        cost_ratio=0.65,
        rent_fen=600_000,
        landlord_name="深圳市宝安物业经营有限公司",
        payday=10,
        online_share=0.7,
        capital_from_account_id=capital_account_id,
        capital_fen=10_000_000,
    )
    fill_revenue(builder, sme, 4_000_000)
    sme.filed_periods = []  # no return filed yet: the first filing season has not closed for the new taxpayer
    return sme
