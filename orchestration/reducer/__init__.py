"""The agent as a reducer over the journal: turns, tool calls, approvals, the sweeper, and the
step middlewares of its own (lease heartbeats, the response cache, a worker's life).

Names are imported on first use, so a module that needs only the pure planning (what a step
came to, what to enqueue next) does not load the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.reducer._approvals import decide, decide_approval, run_approval
    from orchestration.reducer._heartbeat import HeartbeatMiddleware, LeaseKeeper
    from orchestration.reducer._lifecycle import Redrive, StartupChecks, SweeperMiddleware
    from orchestration.reducer._recovery import redrive_plan
    from orchestration.reducer._tool_calls import run_tool
    from orchestration.reducer.endings import ends_run
    from orchestration.reducer.loop import run_turn
    from orchestration.reducer.planning import Dispatch, Progress, ProgressStatus
    from orchestration.reducer.response_cache import ResponseCacheMiddleware, purge_expired
    from orchestration.reducer.sweeper import sweep

__all__ = [
    "Dispatch",
    "HeartbeatMiddleware",
    "LeaseKeeper",
    "Progress",
    "ProgressStatus",
    "Redrive",
    "ResponseCacheMiddleware",
    "StartupChecks",
    "SweeperMiddleware",
    "decide",
    "decide_approval",
    "ends_run",
    "purge_expired",
    "redrive_plan",
    "run_approval",
    "run_tool",
    "run_turn",
    "sweep",
]

_HOME = {
    **dict.fromkeys(
        ("decide", "decide_approval", "run_approval"), "orchestration.reducer._approvals"
    ),
    "ends_run": "orchestration.reducer.endings",
    **dict.fromkeys(("HeartbeatMiddleware", "LeaseKeeper"), "orchestration.reducer._heartbeat"),
    **dict.fromkeys(
        ("Redrive", "StartupChecks", "SweeperMiddleware"), "orchestration.reducer._lifecycle"
    ),
    "run_turn": "orchestration.reducer.loop",
    **dict.fromkeys(("Dispatch", "Progress", "ProgressStatus"), "orchestration.reducer.planning"),
    "redrive_plan": "orchestration.reducer._recovery",
    **dict.fromkeys(
        ("ResponseCacheMiddleware", "purge_expired"), "orchestration.reducer.response_cache"
    ),
    "sweep": "orchestration.reducer.sweeper",
    "run_tool": "orchestration.reducer._tool_calls",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
