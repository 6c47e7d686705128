"""Per-app rate limits at the front door (token buckets, memory or Redis) with 429 + Retry-After."""

from __future__ import annotations

import os
import secrets

import pytest

from gateway.proxy.rate_limit import DEFAULT_RATE_PER_S, MemoryRateLimiter, RedisRateLimiter, retry_after_s
from loadtests.partner import Partner
from tests.gateway.test_front_door import _call, _dpop_token


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_second_of_burst_then_refills_at_the_rate():
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    assert [limiter.take("a", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a", 3)
    assert wait == pytest.approx(1 / 3)
    assert limiter.take("b", 3) == 0.0  # buckets are per key
    clock.now += 1 / 3
    assert limiter.take("a", 3) == 0.0
    assert retry_after_s(0.01) == 1 and retry_after_s(1.2) == 2


def test_redis_bucket_is_shared_and_atomic():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(os.environ.get("OPENBANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis reachable")
    prefix = f"openbank:test:{secrets.token_hex(4)}:"
    first, second = RedisRateLimiter(client, prefix), RedisRateLimiter(client, prefix)
    try:
        results = [limiter.take("app", 2) for limiter in (first, second, first)]
        assert results[:2] == [0.0, 0.0] and results[2] > 0
    finally:
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


def test_an_app_over_its_limit_gets_429_with_retry_after(stack, tenant):
    partner = Partner()
    registration = stack.gateway.post("/oauth2/register", json=partner.fapi2_metadata(openbank_rate_limit_per_second=2),
                                      headers={"Authorization": f"Bearer {tenant[1]}"})  # fmt: skip
    assert registration.status_code == 201 and registration.json()["openbank_rate_limit_per_second"] == 2
    partner.client_id = registration.json()["client_id"]
    token = _dpop_token(stack, partner)
    statuses = [_call(stack, partner, token) for _ in range(3)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    assert statuses[2].status_code == 429
    assert int(statuses[2].headers["retry-after"]) >= 1
    assert statuses[2].json()["Errors"][0]["ErrorCode"]


def test_default_limit_is_1000_per_second_and_cannot_be_raised(stack, registered_partner, tenant):
    assert registered_partner.registration["openbank_rate_limit_per_second"] == DEFAULT_RATE_PER_S == 1000
    too_high = Partner().fapi2_metadata(openbank_rate_limit_per_second=1001)
    response = stack.gateway.post(
        "/oauth2/register", json=too_high, headers={"Authorization": f"Bearer {tenant[1]}"}
    )
    assert (
        response.status_code == 400
        and "openbank_rate_limit_per_second" in response.json()["error_description"]
    )
