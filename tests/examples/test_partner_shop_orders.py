"""The demo shop's own rules: money in Decimal, and an order moves only along its state machine."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from examples.fapi2_client import PendingAuthorization
from examples.partner_shop.bank import BankError
from examples.partner_shop.shop import PRODUCTS, TRANSITIONS, Flow, Order, Store


def test_every_price_is_decimal_cny_with_two_places():
    assert len(PRODUCTS) in (3, 4)
    for product in PRODUCTS.values():
        assert isinstance(product.price, Decimal) and product.price.as_tuple().exponent == -2


def test_an_order_moves_only_along_its_state_machine():
    order = Order("ORD-1", "goods", "test", Decimal("10.00"))
    order.move("PAYMENT_SUBMITTED")
    with pytest.raises(ValueError, match="not allowed"):
        order.move("OFFERED")
    order.move("SETTLED")
    assert order.final and order.status == "SETTLED"
    with pytest.raises(ValueError):
        order.move("FAILED")  # a settled order never fails afterwards
    assert all(target in TRANSITIONS for targets in TRANSITIONS.values() for target in targets)


def test_an_order_amount_must_be_positive_whole_fen():
    store = Store()
    session = store.session(None)
    with pytest.raises(AssertionError):
        store.new_order(session, "goods", "bad", Decimal("1.001"))
    with pytest.raises(AssertionError):
        store.new_order(session, "goods", "bad", Decimal("0.00"))
    assert store.new_order(session, "goods", "ok", Decimal("1.00")).order_id in session.order_ids


def test_a_flow_is_taken_once_so_a_replayed_callback_finds_nothing():
    store = Store()
    pending = PendingAuthorization(
        "https://bank/authorize", "state-1", "nonce", "verifier", "https://shop/cb"
    )
    store.start_flow(Flow("accounts", "session-1", pending, "aac_1"))
    assert store.take_flow("state-1").consent_id == "aac_1"
    assert store.take_flow("state-1") is None


def test_bank_errors_are_said_from_the_obie_error_body():
    body = {"Code": "403", "Id": "x", "Message": "Forbidden",
            "Errors": [{"ErrorCode": "U009", "Message": "the consent is CANC, not AUTH"}]}  # fmt: skip
    error = BankError.from_response(httpx.Response(403, json=body), "reading your accounts")
    assert error.status == 403 and error.code == "U009"
    assert (
        error.message == "reading your accounts: the bank answered 403 (U009: the consent is CANC, not AUTH)"
    )
    oauth = BankError.from_response(
        httpx.Response(400, json={"error": "invalid_client", "error_description": "unknown client"}), "token"
    )
    assert oauth.code == "invalid_client" and "unknown client" in oauth.message


def test_the_store_forgets_the_oldest_session_and_its_orders_beyond_its_bound(monkeypatch):
    from examples.partner_shop import shop

    monkeypatch.setattr(shop, "MAX_SESSIONS", 2)
    store = Store()
    first = store.session(None)
    order = store.new_order(first, "goods", "old", Decimal("1.00"))
    store.session(None)
    store.session(None)  # the third pushes the first out
    assert first.session_id not in store.sessions and order.order_id not in store.orders
    assert len(store.sessions) == 2
