"""Reservations against a tenant's daily budget, so calls in flight on many workers cannot
together pass it.

The journal says what a tenant spent today; it cannot see calls still in the air. With Redis
attached, each LLM call reserves its estimated cost in a sorted set per tenant and UTC day, in
one atomic step that also checks ``spent + reserved + estimate <= cap``, and frees it once the
step is recorded (its real cost is in the journal then). A reservation whose worker died expires
on its own after the longest a call can take.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import redis

from orchestration.config import LlmSettings

__all__ = ["Ledger", "NullLedger", "Reservation", "SpendLedger", "open_ledger"]

_KEY = "chordline:spend:{tenant}:{day}"
_DAY_S = 2 * 86_400

# KEYS[1] the day's set; ARGV: now, expires_at, member, amount, cap, spent, ttl of the set
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  held = held + tonumber(string.match(member, '^[^|]+'))
end
if tonumber(ARGV[6]) + held + tonumber(ARGV[4]) > tonumber(ARGV[5]) then
  return {0, tostring(held)}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[7])
return {1, tostring(held)}
"""


@dataclass(frozen=True)
class Reservation:
    """The outcome of one reservation: granted or not, and what other calls held."""

    granted: bool
    held: Decimal
    key: str = ""
    member: str = ""


class SpendLedger:
    """Tenant-day reservations in Redis.

    Args:
        url: the Redis URL.
        hold_s: seconds a reservation lives if it is never freed (its worker died).
    """

    def __init__(self, url: str, hold_s: float) -> None:
        self._redis = redis.Redis.from_url(url)
        self._reserve = self._redis.register_script(_RESERVE)
        self._hold_s = hold_s

    def reserve(
        self,
        tenant: str,
        now: datetime,
        *,
        amount: Decimal,
        cap: Decimal,
        spent: Decimal,
        label: str,
    ) -> Reservation:
        """Reserve ``amount`` of the tenant's day if ``spent`` plus what is held leaves room.

        Args:
            tenant: the tenant.
            now: the current UTC time (picks the day).
            amount: the call's estimated cost.
            cap: the tenant's daily cap.
            spent: what the journal says the tenant spent today.
            label: names the call in the reservation (run and step).

        Returns:
            Whether it was granted, with the amount other calls hold.
        """
        key = _KEY.format(tenant=tenant, day=now.date().isoformat())
        member = f"{amount}|{label}|{uuid.uuid4().hex[:8]}"
        stamp = now.timestamp()
        granted, held = self._reserve(
            keys=[key],
            args=[stamp, stamp + self._hold_s, member, str(amount), str(cap), str(spent), _DAY_S],
        )
        return Reservation(
            bool(granted), Decimal(held.decode()).quantize(Decimal("0.000001")), key, member
        )

    def release(self, reservation: Reservation) -> None:
        """Free a granted reservation (the call's real cost is journaled by now)."""
        if reservation.granted:
            self._redis.zrem(reservation.key, reservation.member)


class NullLedger:
    """The ledger with no Redis attached (the embedded mode, one machine): it grants every
    reservation and holds nothing, so the journal's sum alone is the check."""

    def reserve(
        self,
        tenant: str,
        now: datetime,
        *,
        amount: Decimal,
        cap: Decimal,
        spent: Decimal,
        label: str,
    ) -> Reservation:
        """Grant, holding nothing."""
        return Reservation(granted=True, held=Decimal(0))

    def release(self, reservation: Reservation) -> None:
        """Nothing to free."""


Ledger = SpendLedger | NullLedger


def open_ledger(redis_url: str | None, llm: LlmSettings, lease_seconds: float) -> Ledger:
    """A ledger in the Redis at ``redis_url`` when one is attached, else the null ledger; a
    reservation outlives the longest turn ``llm``'s retries allow plus one lease."""
    if redis_url is None:
        return NullLedger()
    # The longest a turn's calls can take: every attempt timing out after the longest wait, for
    # a chain of up to three deployments, plus one lease.
    per_deployment = llm.llm_max_attempts * (llm.llm_timeout_seconds + llm.llm_retry_max_seconds)
    return SpendLedger(redis_url, 3 * per_deployment + lease_seconds)
