"""Per-client rate limits at the front door: token buckets, in memory or in Redis (shared by every gateway).

A bucket holds up to `rate_per_s` tokens (one second of burst) and refills continuously; a call takes one token.
A refused call learns how long until a token is back (`Retry-After`, whole seconds, at least 1).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

DEFAULT_RATE_PER_S = (
    1000  # DESIGN.md §6: at least 300 requests/s per client so that benchmarks are not throttled
)
MAX_BUCKETS = 100_000


class RateLimiter(Protocol):
    def take(self, key: str, rate_per_s: int) -> float:
        """0 when the call may go ahead, else the seconds to wait."""
        ...


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)

    def take(self, key: str, rate_per_s: int) -> float:
        now = self.clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(rate_per_s), now))
            tokens = min(float(rate_per_s), tokens + (now - updated) * rate_per_s)
            if tokens >= 1:
                if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
                    self._buckets.clear()  # bounded; a reset bucket is full, which errs on the caller's side
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate_per_s


# KEYS[1] bucket; ARGV: rate, now (s, float). Atomic in Redis, so every gateway process shares one bucket.
_TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or rate
local updated = tonumber(state[2]) or now
tokens = math.min(rate, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'updated', now)
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


class RedisRateLimiter:
    def __init__(self, client, prefix: str = "openbank:ratelimit:"):
        self.client, self.prefix = client, prefix
        self._take = client.register_script(_TAKE_SCRIPT)

    def take(self, key: str, rate_per_s: int) -> float:
        return float(self._take(keys=[self.prefix + key], args=[rate_per_s, time.time()]))


def rate_limiter_from_url(redis_url: str | None) -> RateLimiter:
    if not redis_url:
        return MemoryRateLimiter()
    import redis

    return RedisRateLimiter(redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0))


def retry_after_s(wait_s: float) -> int:
    return max(1, math.ceil(wait_s))
