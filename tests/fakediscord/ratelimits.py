"""Per-route rate-limit buckets with Discord's headers, so discord.py's limiter really runs.

discord.py keys its buckets on ``X-RateLimit-Bucket`` plus the route's major parameters (channel,
guild, webhook id and token) and pre-emptively sleeps when ``X-RateLimit-Remaining`` reaches 0.
The fake keeps real counters per bucket and answers a real 429 if a client exceeds them, so a bot
that hammers one channel is slowed down here exactly as it would be in production.  The default
policy is generous so that ordinary tests never wait.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from .state import JSON

#: discord.py treats a 429 *without* a ``Via`` header as a Cloudflare ban and raises instead of
#: retrying; Discord's own 429s always carry it.
VIA_HEADER = "1.1 google"


@dataclass(frozen=True)
class RateLimitPolicy:
    """``limit`` requests per ``window`` seconds in every bucket."""

    limit: int = 50
    window: float = 1.0


DEFAULT_RATE_LIMIT = RateLimitPolicy()


@dataclass
class _Bucket:
    started: float
    used: int = 0


class RateLimiter:
    def __init__(self, policy: RateLimitPolicy) -> None:
        self.policy = policy
        self._buckets: dict[str, _Bucket] = {}

    def take(self, method: str, route: str, major: str) -> tuple[bool, dict[str, str]]:
        """Count one request; returns ``(allowed, headers)`` for the response."""
        now = time.monotonic()
        key = f"{method} {route} {major}"
        bucket = self._buckets.get(key)
        if bucket is None or now - bucket.started >= self.policy.window:
            bucket = self._buckets[key] = _Bucket(started=now)
        bucket.used += 1
        reset_after = max(0.0, bucket.started + self.policy.window - now)
        allowed = bucket.used <= self.policy.limit
        remaining = max(0, self.policy.limit - bucket.used)
        return allowed, rate_limit_headers(
            bucket_hash(method, route), self.policy.limit, remaining, reset_after
        )


def bucket_hash(method: str, route: str) -> str:
    """Opaque and stable per route template, like Discord's bucket hashes."""
    return hashlib.sha1(f"{method} {route}".encode()).hexdigest()[:32]


def rate_limit_headers(bucket: str, limit: int, remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
    }


def too_many_requests(
    bucket: str, limit: int, retry_after: float, *, is_global: bool
) -> tuple[JSON, dict[str, str]]:
    """The body and headers of a Discord 429."""
    headers = rate_limit_headers(bucket, limit, 0, retry_after)
    headers.update(
        {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": VIA_HEADER,
        }
    )
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body: JSON = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
    return body, headers
