"""The shop's own world: products, orders, customer sessions and the bank journeys in flight. In memory: a demo.

Money is Decimal, two places, as on the wire; an order's state moves only through `Order.move`.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from examples.fapi2_client import PendingAuthorization


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    name_en: str
    price: Decimal  # CNY, 2 dp

    @property
    def price_text(self) -> str:
        return f"{self.price:,.2f}"


PRODUCTS: dict[str, Product] = {
    p.sku: p
    for p in (
        Product("ac-15", "变频空调 1.5匹", "Inverter air conditioner, 1.5 HP", Decimal("3299.00")),
        Product("wash-10", "滚筒洗衣机 10公斤", "Front-load washing machine, 10 kg", Decimal("2899.00")),
        Product("fridge-sbs", "对开门冰箱 630升", "Side-by-side fridge, 630 L", Decimal("5999.00")),
        Product("robot-vac", "扫地机器人", "Robot vacuum cleaner", Decimal("1599.00")),
    )
}
for _p in PRODUCTS.values():
    assert _p.price == _p.price.quantize(Decimal("0.01")) and _p.price > 0

# Order states, and the moves allowed between them.
TRANSITIONS = {
    "AWAITING_AUTHORISATION": {"PAYMENT_SUBMITTED", "OFFERED", "DECLINED", "CANCELLED", "FAILED"},
    "PAYMENT_SUBMITTED": {"SETTLED", "FAILED"},
    "OFFERED": {"PAID_BY_LOAN", "FAILED"},
    "SETTLED": set(),
    "PAID_BY_LOAN": set(),
    "DECLINED": set(),
    "CANCELLED": set(),
    "FAILED": set(),
}
STATUS_TEXT = {
    "AWAITING_AUTHORISATION": "等待银行授权 Waiting for your bank",
    "PAYMENT_SUBMITTED": "已提交，等待银行通知 Submitted, waiting for the bank's notification",
    "OFFERED": "分期方案待确认 Instalment offer to accept",
    "SETTLED": "已结算 settled",
    "PAID_BY_LOAN": "已付款（分期） paid by instalment loan",
    "DECLINED": "分期申请未通过 Instalment application declined",
    "CANCELLED": "已取消 cancelled",
    "FAILED": "支付失败 payment failed",
}

# What a lending decision's reason codes mean, said to a shopper (DESIGN.md §6 Lending: the fixed list).
REASON_TEXT = {
    "FRAUD_BLACKLIST": "The bank cannot offer credit to this customer (FRAUD_BLACKLIST: fraud-risk list).",
    "MULTI_LENDING": "Too many recent loans at other lenders (MULTI_LENDING).",
    "DEBT_TO_INCOME": "Existing repayments are too high for the income (DEBT_TO_INCOME).",
    "CREDIT_HISTORY": "Overdue repayments in the credit history (CREDIT_HISTORY).",
    "THIN_FILE": "Not enough credit history yet; the bank reviews it by hand (THIN_FILE).",
    "INSUFFICIENT_TAX_HISTORY": "Not enough tax history (INSUFFICIENT_TAX_HISTORY).",
    "AMOUNT_ABOVE_LIMIT": "The amount is above what the bank can lend now (AMOUNT_ABOVE_LIMIT).",
}
# Why a payment was rejected (ISO 20022 status reason codes the bank uses).
PAYMENT_REASON_TEXT = {
    "AM04": "Insufficient funds in the chosen account",
    "AM14": "Over the account's or the customer's payment limit",
    "AG01": "The bank's rules do not allow this payment",
}


@dataclass
class Order:
    order_id: str
    kind: str  # "goods" (pay now), "instalments" (entrusted loan), "bill" (utility bill)
    description: str
    amount: Decimal
    status: str = "AWAITING_AUTHORISATION"
    message: str = ""  # what the bank said, in words
    consent_id: str = ""
    payment_id: str = ""
    payment_status: str = ""  # the bank's ISO code: ACCC, ACSC, RJCT...
    notified: bool = False  # a signed event about the payment arrived at our webhook
    decision: dict = field(default_factory=dict)  # lending: Decision
    offer: dict = field(default_factory=dict)  # lending: Offer
    application_id: str = ""
    loan: dict = field(default_factory=dict)
    customer_token: str = ""  # the customer's DPoP-bound token for this order's consent (lending accept)

    def move(self, status: str, message: str = "") -> None:
        if status not in TRANSITIONS[self.status]:
            raise ValueError(f"order {self.order_id}: {self.status} → {status} is not allowed")
        self.status, self.message = status, message or self.message

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def final(self) -> bool:
        return not TRANSITIONS[self.status]


@dataclass
class Flow:
    """One trip to the bank's consent pages: what to do when the customer comes back to /callback."""

    kind: str  # "accounts" | "payment" | "loan"
    session_id: str
    pending: PendingAuthorization
    consent_id: str
    order_id: str = ""
    consent_body: dict = field(default_factory=dict)  # PIS: the payment must repeat Initiation and Risk


@dataclass
class Session:
    session_id: str
    accounts_token: str = ""  # the linked bank account (AIS), a DPoP-bound customer token
    accounts_refresh_token: str = ""  # to renew it: access tokens live 10 minutes, the consent longer
    accounts_consent_id: str = ""
    order_ids: list[str] = field(default_factory=list)


MAX_SESSIONS = 10_000  # a demo in memory: beyond these the oldest session (and its orders) is forgotten
MAX_FLOWS = 10_000  # authorisations in flight; an abandoned one is forgotten first


class Store:
    """Orders, sessions and flows in flight, guarded by one lock (route handlers run in threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, Order] = {}
        self.sessions: dict[str, Session] = {}
        self.flows: dict[str, Flow] = {}  # by OAuth state
        self.notified_payments: set[str] = set()  # payment ids a verified SET named (it may come first)
        self.revoked_consents: set[str] = set()  # consent ids a verified consent-authorization-revoked named

    def session(self, session_id: str | None) -> Session:
        with self.lock:
            if session_id and session_id in self.sessions:
                return self.sessions[session_id]
            new = Session(secrets.token_urlsafe(16))
            self.sessions[new.session_id] = new
            if len(self.sessions) > MAX_SESSIONS:  # dicts keep insertion order: the first is the oldest
                oldest = self.sessions.pop(next(iter(self.sessions)))
                for order_id in oldest.order_ids:
                    self.orders.pop(order_id, None)
            return new

    def new_order(self, session: Session, kind: str, description: str, amount: Decimal) -> Order:
        assert amount > 0 and amount == amount.quantize(Decimal("0.01"))
        with self.lock:
            order = Order(f"ORD-{secrets.token_hex(5).upper()}", kind, description, amount)
            self.orders[order.order_id] = order
            session.order_ids.append(order.order_id)
            return order

    def start_flow(self, flow: Flow) -> None:
        with self.lock:
            self.flows[flow.pending.state] = flow
            if len(self.flows) > MAX_FLOWS:
                self.flows.pop(next(iter(self.flows)))

    def take_flow(self, state: str) -> Flow | None:
        """A flow is used once: a replayed callback finds nothing."""
        with self.lock:
            return self.flows.pop(state, None)
