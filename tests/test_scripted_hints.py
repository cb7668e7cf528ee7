"""The scripted model's keywords live beside each agent, read by that model alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.agents.registry import load_registry
from orchestration.agents.versions import StoredTool, snapshot
from orchestration.errors import ConfigError
from orchestration.llm.providers import Message, ModelRequest, ToolSpec
from orchestration.llm.providers._scripted import HINTS_FILE, ScriptedModel, load_hints
from tests.support import ROOT

AGENTS = ROOT / "agents"


def _request(text: str, *tools: str) -> ModelRequest:
    schema = {"type": "object", "properties": {"query": {"type": "string"}}}
    specs = tuple(ToolSpec(name, f"{name} something", schema) for name in tools)
    return ModelRequest("planner-1", "system", (Message("user", text),), specs)


def test_the_example_agents_hints_are_in_their_folders_not_on_their_tools() -> None:
    hints = load_hints([AGENTS])
    assert hints["issue_refund"] == ("refund",)
    assert hints["lookup_customer"] == ("@", "customer", "account")
    registry = load_registry((AGENTS,))
    support = registry.get("support-triage")
    assert all(not hasattr(t, "keywords") for t in support.tools)
    assert all("keywords" not in t.to_json() for t in snapshot(support).tools)


def test_a_tool_is_picked_by_its_hints_else_by_the_words_of_its_name() -> None:
    request = _request("lookup tea", "audit", "lookup")
    hinted = ScriptedModel({"audit": ("lookup",)}).complete(request)
    assert sorted(c.name for c in hinted.tool_calls) == ["audit", "lookup"]
    plain = ScriptedModel().complete(request)
    assert [c.name for c in plain.tool_calls] == ["lookup"]
    assert json.loads(plain.tool_calls[0].arguments) == {"query": "lookup tea"}


def test_a_tool_named_in_two_folders_has_the_words_of_both(tmp_path: Path) -> None:
    for folder, words in (("one", '["alpha"]'), ("two", '["beta", "alpha"]')):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / HINTS_FILE).write_text(f"[keywords]\nfind = {words}\n")
    assert load_hints([tmp_path]) == {"find": ("alpha", "beta")}


@pytest.mark.parametrize(
    ("text", "reason"),
    [("[keywords\n", "not readable as TOML"), ('[keywords]\nfind = "alpha"\n', "list of words")],
)
def test_a_broken_hint_file_is_named_with_the_fix(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "agent").mkdir()
    path = tmp_path / "agent" / HINTS_FILE
    path.write_text(text)
    with pytest.raises(ConfigError, match=reason) as raised:
        load_hints([tmp_path])
    assert str(path) in str(raised.value) and "Fix:" in str(raised.value)


def test_a_stored_tool_written_with_keywords_still_reads() -> None:
    row = {
        "name": "find",
        "description": "Find.",
        "parameters": {},
        "read_only": True,
        "requires_approval": False,
        "timeout_s": 5,
        "keywords": ["x"],
        "hash": "h",
    }
    assert StoredTool.from_json(row).to_json() == {k: v for k, v in row.items() if k != "keywords"}
