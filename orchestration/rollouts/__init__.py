"""Canary rollouts: an agent's variant gets a rising share of new runs while it does as well as
the stable version, and none at once when it does worse."""

from orchestration.rollouts.plan import (
    RolloutEvent,
    RolloutPlan,
    RolloutRecord,
    RolloutStatus,
    Sticky,
    Thresholds,
    parse_duration,
    parse_steps,
)
from orchestration.rollouts.routing import Router, bucket

__all__ = [
    "RolloutEvent",
    "RolloutPlan",
    "RolloutRecord",
    "RolloutStatus",
    "Router",
    "Sticky",
    "Thresholds",
    "bucket",
    "parse_duration",
    "parse_steps",
]
