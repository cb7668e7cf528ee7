"""The Celery settings that make workers disposable, read from the app the workers run."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.canvas import PRIORITY_RECOVERY, PRIORITY_ROUTINE
from orchestration.config import load_settings
from workers.app import create_app, shutdown_plan


def test_workers_ack_late_reject_on_loss_prefetch_one_and_return_messages_on_stop() -> None:
    settings = load_settings(
        broker_url="redis://127.0.0.1:6379/0", visibility_timeout=7200, shutdown_timeout_seconds=30
    )
    conf = create_app(settings).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_soft_shutdown_timeout == shutdown_plan(settings).soft_s > 0
    assert conf.worker_enable_soft_shutdown_on_idle is True
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.broker_connection_max_retries is None
    assert conf.broker_transport_options == {
        "visibility_timeout": 7200,
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 30,
    }
    # Redis serves the lowest number first: re-drives go ahead of routine steps.
    assert conf.task_default_priority == PRIORITY_ROUTINE > PRIORITY_RECOVERY


@pytest.mark.parametrize("budget", [2.0, 6.0, 25.0, 300.0])
def test_the_sigterm_budget_is_spent_exactly(budget: float, tmp_path: Path) -> None:
    plan = shutdown_plan(load_settings(shutdown_timeout_seconds=budget, data_dir=tmp_path))
    assert plan.warm_s > 0 and plan.soft_s > 0 and plan.teardown_s > 0
    assert plan.warm_s + plan.soft_s + plan.teardown_s == pytest.approx(budget)


def test_default_recovery_fits_in_ten_seconds(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    # A killed worker's lease lapses within one lease; the next sweep re-drives the run.
    assert settings.lease_seconds + settings.sweep_interval_seconds <= 10
