"""Canary rollouts: an agent's variant gets a rising share of new runs while it does as well as
the stable version, and none at once when it does worse.

Names are imported on first use: routing a new run does not load the checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.rollouts._routing import RoutedRun, Router, bucket
    from orchestration.rollouts.check import (
        CheckResult,
        check_all,
        check_rollout,
        measure,
        start,
        stop,
    )
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

__all__ = [
    "CheckResult",
    "RolloutEvent",
    "RolloutPlan",
    "RolloutRecord",
    "RolloutStatus",
    "RoutedRun",
    "Router",
    "Sticky",
    "Thresholds",
    "bucket",
    "check_all",
    "check_rollout",
    "measure",
    "parse_duration",
    "parse_steps",
    "start",
    "stop",
]

_HOME = {
    **dict.fromkeys(
        ("CheckResult", "check_all", "check_rollout", "measure", "start", "stop"),
        "orchestration.rollouts.check",
    ),
    **dict.fromkeys(
        (
            "RolloutEvent",
            "RolloutPlan",
            "RolloutRecord",
            "RolloutStatus",
            "Sticky",
            "Thresholds",
            "parse_duration",
            "parse_steps",
        ),
        "orchestration.rollouts.plan",
    ),
    **dict.fromkeys(("RoutedRun", "Router", "bucket"), "orchestration.rollouts._routing"),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
