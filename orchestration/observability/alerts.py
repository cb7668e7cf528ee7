"""Alerts: threshold rules from the settings, checked on Beat, recorded, logged and POSTed.

Rules (each off until its setting is given):

* ``error_rate``: an agent's share of failed runs over ``CHORDLINE_ALERT_WINDOW_MINUTES``;
* ``p95_latency``: an agent's p95 run latency (seconds) over the window;
* ``cost_per_run``: an agent's mean cost per run over the window;
* ``tenant_daily_cost``: what a tenant spent since UTC midnight.

Rate rules need ``CHORDLINE_ALERT_MIN_RUNS`` finished runs in the window, so one failure at
night does not page anyone. A breach is written to the ``alerts`` table and logged (WARNING,
``chordline.alerts``); a rule fires again for the same subject only after
``CHORDLINE_ALERT_COOLDOWN_MINUTES``. With ``CHORDLINE_ALERT_WEBHOOK_URL`` set, each alert is
POSTed as JSON, retried with backoff up to ``CHORDLINE_ALERT_WEBHOOK_ATTEMPTS`` times, from the
admin queue's periodic task: never from a step, so a slow receiver never holds a run.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from orchestration.config import ObservabilitySettings
from orchestration.journal.tables import utcnow
from orchestration.observability import store
from orchestration.observability._redaction import Redactor
from orchestration.observability.stats import AgentStats, agent_stats, tenant_spend

if TYPE_CHECKING:
    from orchestration.journal import Journal

__all__ = ["AlertRecord", "Breach", "check_alerts", "deliver", "find_breaches", "record_alert"]

log = logging.getLogger("chordline.alerts")
_WEBHOOK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Breach:
    """A rule whose threshold a subject crossed."""

    rule: str
    subject: str
    value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class AlertRecord:
    """An alert as the journal holds it."""

    id: int
    rule: str
    subject: str
    value: float
    threshold: float
    message: str
    fired_at: datetime


def record_alert(
    journal: Journal, *, rule: str, subject: str, value: float, threshold: float, message: str
) -> AlertRecord:
    """Write one alert and log it (other subsystems call this too, e.g. evals regressions).

    Args:
        journal: the journal.
        rule: what kind of alert, e.g. ``error_rate`` or ``eval_regression`` (64 chars).
        subject: what it is about, e.g. ``agent:support-triage`` (160 chars).
        value: the measured value.
        threshold: the limit it crossed.
        message: one line for a person.

    Returns:
        The recorded alert.
    """
    fired = utcnow()
    alert_id = store.insert_alert(
        journal,
        rule=rule[:64],
        subject=subject[:160],
        value=value,
        threshold=threshold,
        message=message,
        fired=fired,
    )
    log.warning("alert %s on %s: %s", rule, subject, message)
    return AlertRecord(alert_id, rule[:64], subject[:160], value, threshold, message, fired)


def _agent_breaches(settings: ObservabilitySettings, stats: AgentStats) -> list[Breach]:
    if stats.finished < settings.alert_min_runs:
        return []
    subject, name = f"agent:{stats.agent}", stats.agent
    found: list[Breach] = []
    rate, limit = stats.error_rate, settings.alert_error_rate
    if limit is not None and rate is not None and rate > limit:
        text = f"{name}: {rate:.0%} of {stats.finished} runs failed (limit {limit:.0%})"
        found.append(Breach("error_rate", subject, rate, limit, text))
    p95, limit_s = stats.run_p95_s, settings.alert_p95_latency_seconds
    if limit_s is not None and p95 is not None and p95 > limit_s:
        text = f"{name}: p95 run latency {p95:.1f}s (limit {limit_s:g}s)"
        found.append(Breach("p95_latency", subject, p95, limit_s, text))
    per_run, limit_usd = stats.cost_per_run, settings.alert_cost_per_run_usd
    if limit_usd is not None and per_run is not None and per_run > limit_usd:
        text = f"{name}: ${per_run} per run (limit ${limit_usd})"
        found.append(Breach("cost_per_run", subject, float(per_run), float(limit_usd), text))
    return found


def find_breaches(settings: ObservabilitySettings, journal: Journal, now: datetime) -> list[Breach]:
    """Every rule threshold crossed at ``now``."""
    window = now - timedelta(minutes=settings.alert_window_minutes)
    found = [b for s in agent_stats(journal, window) for b in _agent_breaches(settings, s)]
    daily = settings.alert_tenant_daily_usd
    if daily is not None:
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for tenant, spent in sorted(tenant_spend(journal, midnight).items()):
            if spent > daily:
                text = f"tenant {tenant} spent ${spent} today (limit ${daily})"
                found.append(
                    Breach(
                        "tenant_daily_cost", f"tenant:{tenant}", float(spent), float(daily), text
                    )
                )
    return found


def deliver(
    settings: ObservabilitySettings,
    journal: Journal,
    alert: AlertRecord,
    redactor: Redactor,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``alert`` to the webhook, retrying with backoff; record the outcome on the alert
    (its error passed through ``redactor``).

    Returns:
        True when the webhook answered 2xx (or no webhook is set).
    """
    if settings.alert_webhook_url is None:
        return True
    url = settings.alert_webhook_url.get_secret_value()
    payload = asdict(alert) | {"fired_at": alert.fired_at.isoformat(), "source": "chordline"}
    body = json.dumps(payload).encode()
    error = "not tried"
    for attempt in range(settings.alert_webhook_attempts):
        if attempt:
            sleep(min(0.5 * 2 ** (attempt - 1), 10.0))
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=_WEBHOOK_TIMEOUT_S) as answer:
                if 200 <= answer.status < 300:
                    store.mark_delivery(journal, alert.id, None)
                    return True
                error = f"HTTP {answer.status}"
        except (urllib.error.URLError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
    # The URL may hold a token: the error names the failure, the redactor hides the secret.
    error = redactor.text(error)
    log.warning("alert %d not delivered after %d attempts: %s", alert.id, attempt + 1, error)
    store.mark_delivery(journal, alert.id, error)
    return False


def check_alerts(
    settings: ObservabilitySettings,
    journal: Journal,
    redactor: Redactor,
    *,
    now: datetime | None = None,
) -> list[AlertRecord]:
    """Check every rule; record, log and deliver each new breach (the periodic task's body);
    delivery errors pass through ``redactor``.

    Returns:
        The alerts fired (breaches still in their cooldown are not fired again).
    """
    now = now or utcnow()
    cooldown = now - timedelta(minutes=settings.alert_cooldown_minutes)
    fired: list[AlertRecord] = []
    for breach in find_breaches(settings, journal, now):
        if settings.alert_cooldown_minutes and store.alert_fired_since(
            journal, breach.rule, breach.subject, cooldown
        ):
            continue
        alert = record_alert(
            journal,
            rule=breach.rule,
            subject=breach.subject,
            value=breach.value,
            threshold=breach.threshold,
            message=breach.message,
        )
        deliver(settings, journal, alert, redactor)
        fired.append(alert)
    return fired
