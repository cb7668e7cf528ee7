"""Which variant serves a new run: the agent's active rollout, a hash bucket, the kill switch.

A caller's bucket is a hash of the agent, the variant and its sticky key (the run's session, or
its tenant), so the same session lands on the same side for the whole rollout, and a bucket on
the variant at 5% stays on it at 25% (the buckets below the percentage only grow). A run with no
session under a session-sticky rollout is bucketed by its own id.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestration.agents import Agent
from orchestration.config import RolloutSettings
from orchestration.errors import AgentNotFound
from orchestration.rollouts import store
from orchestration.rollouts.plan import RolloutRecord, Sticky
from orchestration.rollouts.store import Assignment

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["RoutedRun", "Router", "bucket"]

log = logging.getLogger("chordline.rollouts")

_BUCKETS = 10_000


def bucket(agent: str, variant: str, key: str) -> float:
    """The caller's place in 0..100 (two decimals) for this agent's variant."""
    digest = hashlib.sha256(f"{agent}\x00{variant}\x00{key}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") % _BUCKETS) / (_BUCKETS / 100)


@dataclass(frozen=True)
class RoutedRun:
    """The definition a new run starts on, and the assignment recorded for it."""

    agent: Agent
    assignment: Assignment


class Router:
    """Routes new runs between an agent's stable definition and its variant under rollout.

    Args:
        settings: the settings (the kill switch).
        journal: the journal.
    """

    def __init__(self, settings: RolloutSettings, journal: Journal) -> None:
        self.settings = settings
        self.journal = journal

    def choose(self, agent: Agent, *, run_id: str, tenant: str, session: str | None) -> Assignment:
        """Which side a new run is on (nothing is written)."""
        rollout = store.routing_rollout(self.journal, agent.name)
        if rollout is None:
            return Assignment("stable")
        if (agent.name, rollout.variant) in self.settings.disabled_variant_pairs:
            return Assignment("stable", rollout.id, rollout.stage)
        key = _sticky_key(rollout, run_id=run_id, tenant=tenant, session=session)
        on_variant = bucket(agent.name, rollout.variant, key) < rollout.percent
        return Assignment(rollout.variant if on_variant else "stable", rollout.id, rollout.stage)

    def route(self, agent: Agent, *, run_id: str, tenant: str, session: str | None) -> RoutedRun:
        """Choose a side for a new run and record it (a run routed already keeps its side).

        A variant this process does not have loaded (a rollout started from a newer deploy, or
        a completed one whose variant became the stable code) serves nothing here: the run goes
        to the stable definition and says so in the log.
        """
        chosen = self.choose(agent, run_id=run_id, tenant=tenant, session=session)
        try:
            serving = agent.get_variant(chosen.variant)
        except AgentNotFound:
            log.info(
                "rollout %s routes to %s:%s, which this process has not loaded; run %s is stable",
                chosen.rollout_id,
                agent.name,
                chosen.variant,
                run_id,
            )
            chosen = Assignment("stable", chosen.rollout_id, chosen.stage)
            serving = agent
        recorded = store.assign(self.journal, run_id, agent.name, serving.version, chosen)
        if recorded.variant != chosen.variant:
            serving = agent.get_variant(recorded.variant)
        return RoutedRun(serving, recorded)


def _sticky_key(rollout: RolloutRecord, *, run_id: str, tenant: str, session: str | None) -> str:
    if rollout.sticky == Sticky.TENANT:
        return f"tenant:{tenant}"
    return f"session:{session}" if session else f"run:{run_id}"
