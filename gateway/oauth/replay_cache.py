"""One-time-use stores for DPoP proof ``jti`` values (RFC 9449 §11.1).

A proof may be used once. The verifier records ``"{jkt}:{jti}"`` for as long as the proof's ``iat`` would
still be accepted; after that the ``iat`` check alone rejects it, so entries can expire.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # redis is only needed when a Redis URL is configured
    import redis

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_REDIS_PREFIX",
    "MemoryReplayCache",
    "RedisReplayCache",
    "ReplayCache",
    "replay_cache_from_url",
]

#: Upper bound on remembered keys in the in-process cache (OWASP API4: the jti cache must be bounded).
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_REDIS_PREFIX = "openbank:dpop:jti:"
#: Redis socket timeouts in seconds: a stuck Redis must fail the request, not hang it.
REDIS_SOCKET_TIMEOUT_S = 1.0


@runtime_checkable
class ReplayCache(Protocol):
    def first_use(self, key: str, ttl_s: int) -> bool:
        """Record ``key`` for ``ttl_s`` seconds.

        Return True the first time the key is seen within its ttl, False for a replay.
        """
        ...


class MemoryReplayCache:
    """Thread-safe, bounded, in-process replay cache.

    Only correct for a single process; run several workers or replicas against Redis instead.
    When full it drops expired entries first and then the oldest live ones. Dropping live entries re-opens
    a replay window for those keys, but the alternative (refusing every new proof) turns a flood into a
    full outage. ``max_entries`` should exceed the proof rate times the ttl.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # key -> expiry time, in insertion order, so the first item is the oldest.
        self._entries: OrderedDict[str, float] = OrderedDict()
        # (expiry, key) min-heap, so expired entries can be found without scanning every key.
        self._expiry_heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def first_use(self, key: str, ttl_s: int) -> bool:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        with self._lock:
            now = self._clock()
            self._purge_expired(now)
            # After the purge every remaining entry is live.
            if key in self._entries:
                return False
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
            expires_at = now + ttl_s
            self._entries[key] = expires_at
            heapq.heappush(self._expiry_heap, (expires_at, key))
            # Evicted keys leave stale heap items behind; rebuild so the heap stays bounded too.
            if len(self._expiry_heap) > 2 * self.max_entries:
                self._expiry_heap = [(exp, k) for k, exp in self._entries.items()]
                heapq.heapify(self._expiry_heap)
            return True

    def _purge_expired(self, now: float) -> None:
        heap = self._expiry_heap
        while heap and heap[0][0] <= now:
            expires_at, key = heapq.heappop(heap)
            # The key may have been evicted, or evicted and re-inserted with a later expiry.
            if self._entries.get(key) == expires_at:
                del self._entries[key]


class RedisReplayCache:
    """Replay cache shared by all workers: one atomic ``SET key 1 NX EX ttl`` per proof.

    Redis errors propagate, so the request fails closed rather than skipping the replay check.
    """

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_REDIS_PREFIX):
        self._client = client
        self.prefix = prefix

    def first_use(self, key: str, ttl_s: int) -> bool:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        # SET NX returns True when the key was created and None when it already existed.
        return bool(self._client.set(self.prefix + key, b"1", nx=True, ex=int(ttl_s)))


def replay_cache_from_url(redis_url: str | None) -> ReplayCache:
    """Redis when a URL is given, an in-process cache otherwise (development and tests)."""
    if not redis_url:
        return MemoryReplayCache()
    import redis as redis_lib

    client = redis_lib.Redis.from_url(
        redis_url,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
    )
    return RedisReplayCache(client)
