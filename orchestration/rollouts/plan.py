"""What a canary rollout is: its plan (stages, runs, dwell, thresholds) and its recorded state."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestration.errors import RolloutError

__all__ = [
    "RolloutEvent",
    "RolloutPlan",
    "RolloutRecord",
    "RolloutStatus",
    "Sticky",
    "Thresholds",
    "parse_duration",
    "parse_steps",
]


class RolloutStatus(enum.StrEnum):
    """Where a rollout is."""

    ACTIVE = "active"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"
    STOPPED = "stopped"


class Sticky(enum.StrEnum):
    """What keeps a caller on one side: the run's session, or its tenant."""

    SESSION = "session"
    TENANT = "tenant"


@dataclass(frozen=True)
class Thresholds:
    """How much worse than the stable version the variant may be before it is rolled back.

    Attributes:
        max_success_drop: success rate points (0..1) the variant may lose.
        max_p95_ratio: the variant's p95 latency over the stable one's.
        max_cost_ratio: the variant's cost per run over the stable one's.
        max_eval_drop: eval pass rate points (0..1) the variant may lose, where both have one.
    """

    max_success_drop: float = 0.05
    max_p95_ratio: float = 1.5
    max_cost_ratio: float = 1.5
    max_eval_drop: float = 0.05

    def __post_init__(self) -> None:
        for name in ("max_success_drop", "max_eval_drop"):
            if not 0 <= getattr(self, name) <= 1:
                raise RolloutError(f"--{name.replace('_', '-')} must be within 0..1 (a share)")
        for name in ("max_p95_ratio", "max_cost_ratio"):
            if getattr(self, name) < 1:
                raise RolloutError(f"--{name.replace('_', '-')} must be >= 1 (a ratio)")

    def to_json(self) -> dict[str, float]:
        """The thresholds as the ``rollouts`` row keeps them."""
        return {
            "max_success_drop": self.max_success_drop,
            "max_p95_ratio": self.max_p95_ratio,
            "max_cost_ratio": self.max_cost_ratio,
            "max_eval_drop": self.max_eval_drop,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Thresholds:
        """Read them back."""
        return cls(**{k: float(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RolloutPlan:
    """What ``chordline rollout start`` asks for.

    Attributes:
        agent: the agent.
        variant: its variant to roll out.
        steps: the percentages of new runs, rising, each 1..100.
        min_runs: finished runs of the variant a stage needs before a decision.
        dwell_seconds: how long a healthy stage lasts before the next one.
        sticky: what keeps a caller on one side.
        thresholds: the regressions that roll it back.
    """

    agent: str
    variant: str
    steps: tuple[int, ...] = (1, 5, 25, 50, 100)
    min_runs: int = 50
    dwell_seconds: int = 600
    sticky: Sticky = Sticky.SESSION
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if not self.steps or any(not 1 <= s <= 100 for s in self.steps):
            raise RolloutError(
                f"--steps {self.steps} must be percentages within 1..100. Fix: e.g. 1,5,25,50,100."
            )
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise RolloutError(f"--steps {self.steps} must rise. Fix: e.g. 1,5,25,50,100.")
        if self.min_runs < 1:
            raise RolloutError("--min-runs must be >= 1")
        if self.dwell_seconds < 0:
            raise RolloutError("--dwell must be >= 0")


@dataclass(frozen=True)
class RolloutRecord:
    """A rollout as the journal holds it."""

    id: str
    agent: str
    variant: str
    variant_version: str
    status: RolloutStatus
    steps: tuple[int, ...]
    stage: int
    percent: int
    min_runs: int
    dwell_seconds: int
    sticky: Sticky
    thresholds: Thresholds
    reason: str | None
    stage_started_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> RolloutRecord:
        """Copy a ``rollouts`` row."""
        return cls(
            id=row.id,
            agent=row.agent,
            variant=row.variant,
            variant_version=row.variant_version,
            status=RolloutStatus(row.status),
            steps=tuple(int(s) for s in row.steps),
            stage=row.stage,
            percent=row.percent,
            min_runs=row.min_runs,
            dwell_seconds=row.dwell_seconds,
            sticky=Sticky(row.sticky),
            thresholds=Thresholds.from_json(row.thresholds),
            reason=row.reason,
            stage_started_at=row.stage_started_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class RolloutEvent:
    """One thing that happened to a rollout; ``alert`` marks the ones a person must hear of."""

    kind: str
    stage: int
    percent: int
    reason: str
    alert: bool
    at: datetime
    metrics: dict[str, Any] | None = None

    @classmethod
    def of(cls, row: Any) -> RolloutEvent:
        """Copy a ``rollout_events`` row."""
        return cls(row.kind, row.stage, row.percent, row.reason, row.alert, row.at, row.metrics)


def parse_steps(text: str) -> tuple[int, ...]:
    """``"1,5,25,50,100"`` as percentages.

    Raises:
        RolloutError: naming the flag and the fix.
    """
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise RolloutError(
            f"--steps {text!r} is not a list of percentages. Fix: e.g. --steps 1,5,25,50,100."
        ) from None


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``"10m"``, ``"90s"``, ``"2h"`` or plain seconds, as seconds.

    Raises:
        RolloutError: naming the flag and the fix.
    """
    match = _DURATION.match(text)
    if match is None:
        raise RolloutError(f"--dwell {text!r} is not a duration. Fix: e.g. 90s, 10m or 2h.")
    return int(match.group(1)) * _UNIT_S[match.group(2)]
