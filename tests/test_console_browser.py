"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download),
against `chordline api` and worker processes on Redis and PostgreSQL.

A person signs in, opens a support-triage run and sees its three lookups side by side on the
timeline, opens a step, approves the waiting refund from the approvals page and watches the
run finish on its page without reloading it, sees another tenant's run answer 404 and a
`<script>` in a tool's result shown as text. Each page's screenshot is written under the
test's temporary folder (``docs/console.md`` shows them).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import ApiProcess, new_key, start_api
from tests.conftest import unavailable
from tests.support import WorkerPool

TRIAGE = (
    "Hi, this is jane.doe@example.com. Order ORD-1042 arrived with a cracked screen. "
    "Please refund it."
)
SCRIPT = "<script>document.title='owned'</script>"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


@pytest.fixture
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        unavailable("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def api(service_env: dict[str, str], tmp_path: Path) -> Iterator[ApiProcess]:
    server = start_api(service_env, tmp_path / "api")
    yield server
    server.stop()


def _until(check: Callable[[], object], what: str, timeout_s: float = 90) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s:g}s"
        time.sleep(0.1)


def _submit(http: httpx.Client, agent: str, text: str) -> str:
    created = http.post("/v1/runs", json={"agent": agent, "input": text})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _status(http: httpx.Client, run_id: str) -> str:
    return str(http.get(f"/v1/runs/{run_id}").json()["status"])


def _first_tool_turn(page: Page) -> list[tuple[float, float]]:
    """The timeline's bars (start, end) of the tool calls of the first turn that called any."""
    rows = page.locator('.tl-row[data-kind="tool"]')
    bars = [
        (
            rows.nth(i).get_attribute("data-turn"),
            float(rows.nth(i).get_attribute("data-start") or 0),
            float(rows.nth(i).get_attribute("data-end") or 0),
        )
        for i in range(rows.count())
    ]
    return [(start, end) for turn, start, end in bars if turn == bars[0][0]]


def _rate(page: Page, http: httpx.Client, run_id: str) -> None:
    """Give the answer a thumbs up with a comment; the API shows it, with who gave it."""
    page.fill("form.give input[name=comment]", "right refund, fast")
    page.click("form.give button.thumb.up")
    expect(page.locator('.feedback li[data-giver="ann"]')).to_contain_text("right refund, fast")
    (given,) = http.get(f"/v1/runs/{run_id}").json()["feedback"]
    assert (given["giver"], given["score"]) == ("ann", 1.0)


def _what_is_not_shown(
    page: Page, base: str, theirs: str, scripted: str, dialogs: list[str]
) -> None:
    """Another tenant's run answers 404; a script in a tool's result shows as text."""
    answer = page.goto(f"{base}/console/runs/{theirs}")
    assert answer is not None and answer.status == 404
    assert "Not found" in page.inner_text("h1")
    page.goto(f"{base}/console/runs/{scripted}")
    assert SCRIPT in page.inner_text(".io")
    assert page.title() != "owned" and dialogs == []


def _sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/console/runs")
    assert "/console/login" in page.url  # no session: the sign-in form
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/runs")


def test_a_person_signs_in_follows_a_run_and_approves_its_refund(
    api: ApiProcess,
    service_env: dict[str, str],
    workers: WorkerPool,
    browser: Browser,
    tmp_path: Path,
) -> None:
    workers.start(service_env, concurrency=3)
    key = new_key(service_env, "acme", "ann")
    other = new_key(service_env, "globex", "gus")
    http = httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    theirs = _submit(
        httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {other}"}),
        "toolbox",
        'CALL echo {"text": "globex only"}',
    )
    run_id = _submit(http, "support-triage", TRIAGE)
    scripted = _submit(http, "toolbox", f'CALL echo {{"text": "{SCRIPT}"}}')
    _until(lambda: _status(http, run_id) == "waiting_for_approval", "the refund's wait")
    _until(lambda: _status(http, scripted) == "succeeded", "the echo run")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, api.url, key)
    assert page.locator(f'tr[data-run="{run_id}"]').count() == 1
    assert page.locator(f'tr[data-run="{theirs}"]').count() == 0
    page.screenshot(path=str(shots / "runs.png"), full_page=True)

    # The run: three lookups of one turn, side by side on the timeline.
    page.click(f'tr[data-run="{run_id}"] a')
    page.wait_for_selector(".timeline")
    assert page.inner_text("#run-status") == "waiting_for_approval"
    spans = _first_tool_turn(page)
    assert len(spans) == 3, spans
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    # Open a step: its arguments and result appear.
    page.click("#step-2 summary")
    assert page.locator("#step-2 h3", has_text="arguments").is_visible()
    page.screenshot(path=str(shots / "run-waiting.png"), full_page=True)
    page.evaluate("window.__notReloaded = true")

    # Approve from the approvals page in a second tab; the run page finishes live.
    approvals = context.new_page()
    approvals.goto(f"{api.url}/console/approvals")
    card = approvals.locator("article.approval", has_text="issue_refund")
    assert card.count() == 1
    approvals.screenshot(path=str(shots / "approvals.png"), full_page=True)
    card.locator("input[name=reason]").fill("photo checked")
    card.locator("button.approve").click()
    approvals.wait_for_selector("table.decided td", state="attached")
    assert approvals.locator("table.decided", has_text="photo checked").count() == 1
    # Waited on in Playwright's own world: the page's CSP forbids evaluating strings in it.
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=90_000)
    assert page.evaluate("window.__notReloaded") is True  # updated in place, not reloaded
    assert "refund of $1249.00 for ORD-1042 issued" in page.inner_text("#run-answer")
    page.screenshot(path=str(shots / "run-finished.png"), full_page=True)

    _rate(page, http, run_id)

    _what_is_not_shown(page, api.url, theirs, scripted, dialogs)
    page.screenshot(path=str(shots / "escaped.png"), full_page=True)
    context.close()
