"""The fault header's rules in payments and at the front door, pure."""

from __future__ import annotations

import pytest

from gateway.proxy import faults as gateway_faults
from openbank_kit.errors import FieldInvalid, TooManyRequests
from openbank_kit.faults import FAULT_DESCRIPTIONS, KNOWN_FAULTS
from services.payments import faults


def test_the_shared_list_names_every_fault_once_with_a_description():
    assert {"webhook-failure", "payment-rejected", "insufficient-funds", "bank-timeout",
                            "slow-clearing", "throttling", "slow-response"} == KNOWN_FAULTS  # fmt: skip
    assert all(FAULT_DESCRIPTIONS[name] for name in KNOWN_FAULTS)


def test_payments_reads_known_faults_and_refuses_unknown_ones():
    assert faults.requested(None) is None and faults.requested("") is None
    assert faults.requested(" Payment-Rejected ") == "payment-rejected"
    with pytest.raises(FieldInvalid) as refused:
        faults.requested("meteor-strike")
    assert refused.value.path == "x-openbank-fault" and refused.value.error_code == "U006"


def test_only_posting_and_clearing_faults_are_kept_on_the_payment():
    assert faults.stored_fault("insufficient-funds", same_bank=False) == "insufficient-funds"
    assert faults.stored_fault("slow-clearing", same_bank=True) == "slow-clearing"
    assert (
        faults.stored_fault("slow-clearing", same_bank=False) is None
    )  # another bank's: already in clearing
    assert faults.stored_fault("payment-rejected", same_bank=True) is None  # refused on receipt instead
    assert faults.rejected_on_request("payment-rejected")[0] == "MS03"
    assert faults.simulated_outcome("insufficient-funds").message.startswith("insufficient funds")
    assert faults.simulated_outcome(None) is None


def test_the_front_door_delays_are_bounded_and_default_per_fault():
    assert gateway_faults.delay_ms("slow-response", {}) == 2000
    assert gateway_faults.delay_ms("bank-timeout", {}) == 1000
    assert (
        gateway_faults.delay_ms("throttling", {"x-openbank-fault-delay-ms": "99999"}) == 0
    )  # not a waiting fault
    assert gateway_faults.delay_ms("slow-response", {"x-openbank-fault-delay-ms": "10000"}) == 10000
    for bad in ("10001", "-1", "1.5", "soon"):
        with pytest.raises(FieldInvalid):
            gateway_faults.delay_ms("slow-response", {"x-openbank-fault-delay-ms": bad})


def test_the_front_door_answers_throttling_and_bank_timeout_itself():
    with pytest.raises(TooManyRequests) as throttled:
        gateway_faults.refuse_before_forwarding("throttling")
    assert throttled.value.headers["Retry-After"] == "1"
    with pytest.raises(gateway_faults.GatewayTimeout) as timed_out:
        gateway_faults.refuse_before_forwarding("bank-timeout")
    assert timed_out.value.status_code == 504
    gateway_faults.refuse_before_forwarding("slow-response")  # forwarded
    gateway_faults.refuse_before_forwarding(None)
