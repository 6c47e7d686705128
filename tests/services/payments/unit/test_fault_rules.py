"""The fault header's rules in payments and at the front door, pure."""

from __future__ import annotations

import pytest

from gateway.proxy import faults as gateway_faults
from openbank_kit.errors import FieldInvalid, TooManyRequests
from openbank_kit.faults import FAULT_DESCRIPTIONS, KNOWN_FAULTS, requested_faults, unknown_faults
from services.payments import faults


def test_the_shared_list_names_every_fault_once_with_a_description():
    expected = {"webhook-failure", "payment-rejected", "insufficient-funds", "bank-timeout", "slow-clearing",
                "throttling", "slow-response"}  # fmt: skip
    assert set(KNOWN_FAULTS) == expected and len(KNOWN_FAULTS) == len(expected)
    assert all(FAULT_DESCRIPTIONS[name] for name in KNOWN_FAULTS)
    assert requested_faults("Throttling, slow-clearing,") == {"throttling", "slow-clearing"}
    assert unknown_faults("throttling, nope") == ["nope"] and unknown_faults(None) == []


def test_payments_reads_known_faults_and_refuses_unknown_ones():
    assert faults.requested(None) == frozenset() and faults.requested("") == frozenset()
    assert faults.requested(" Payment-Rejected ") == {"payment-rejected"}
    assert faults.requested("slow-clearing, insufficient-funds") == {"slow-clearing", "insufficient-funds"}
    with pytest.raises(FieldInvalid) as refused:
        faults.requested("slow-clearing, meteor-strike")
    assert refused.value.path == "x-openbank-fault" and refused.value.error_code == "U006"


def _stored(*names: str, same_bank: bool = True) -> str | None:
    return faults.stored_fault(frozenset(names), same_bank=same_bank)


def test_only_posting_and_clearing_faults_are_kept_on_the_payment():
    assert _stored("insufficient-funds", same_bank=False) == "insufficient-funds"
    assert _stored("slow-clearing") == "slow-clearing"
    assert _stored("slow-clearing", same_bank=False) is None  # another bank's payment is in clearing anyway
    assert _stored("payment-rejected") is None  # refused on receipt instead
    assert _stored("slow-clearing", "insufficient-funds") == "insufficient-funds"  # the posting fault first
    assert faults.rejected_on_request(frozenset({"payment-rejected", "slow-clearing"}))[0] == "MS03"
    assert faults.rejected_on_request(frozenset({"slow-clearing"})) is None
    assert faults.shortfall_forced(frozenset({"insufficient-funds"}))
    assert faults.simulated_outcome("insufficient-funds").message.startswith("insufficient funds")
    assert faults.simulated_outcome(None) is None


def test_the_front_door_delays_are_bounded_and_default_per_fault():
    assert gateway_faults.delay_ms("slow-response", {}) == 2000
    assert gateway_faults.delay_ms("bank-timeout", {}) == 1000
    assert gateway_faults.delay_ms("throttling", {"x-openbank-fault-delay-ms": "99999"}) == 0  # does not wait
    assert gateway_faults.delay_ms("slow-response", {"x-openbank-fault-delay-ms": "10000"}) == 10000
    for bad in ("10001", "-1", "1.5", "soon"):
        with pytest.raises(FieldInvalid):
            gateway_faults.delay_ms("slow-response", {"x-openbank-fault-delay-ms": bad})


def test_the_front_door_answers_throttling_and_bank_timeout_itself():
    with pytest.raises(TooManyRequests) as throttled:
        gateway_faults.refuse("throttling")
    assert throttled.value.headers["Retry-After"] == "1"
    with pytest.raises(gateway_faults.GatewayTimeout) as timed_out:
        gateway_faults.refuse("bank-timeout")
    assert timed_out.value.status_code == 504
    gateway_faults.refuse("slow-response")  # forwarded
    gateway_faults.refuse(None)


def test_the_front_door_applies_the_first_transport_fault_and_refuses_unknown_names():
    assert gateway_faults.gateway_action(frozenset({"slow-response", "throttling"})) == "throttling"
    assert gateway_faults.gateway_action(frozenset({"slow-response", "bank-timeout"})) == "bank-timeout"
    assert gateway_faults.gateway_action(frozenset({"payment-rejected"})) is None
    header = {"x-openbank-fault": "throttling, slow-clearing"}
    assert gateway_faults.requested(header) == {"throttling", "slow-clearing"}
    with pytest.raises(FieldInvalid) as refused:
        gateway_faults.requested({"x-openbank-fault": "throttling, nope"})
    assert refused.value.path == "x-openbank-fault"
