"""The offline scripted model: a deterministic, rule-based planner. It is not a language model.

It exists so the quick start and the tests run with no API key and no network, through the same
journal, tasks and canvases as a real model. Its rules, in order:

1. **Script.** Lines ``CALL <tool> <json arguments>`` in the input are followed literally; lines
   in one paragraph are one turn's calls, each paragraph is the next turn. After the last
   paragraph it answers with the results. Tests use this to send any call, valid or not.
2. **Repeat.** An input saying ``<N> times`` calls the first matching tool once per turn for N
   turns, then answers.
3. **Keywords.** Otherwise it calls every tool whose keywords appear in the input and whose
   required arguments it can fill, all in one turn; arguments come from the input (a field's
   ``pattern``, free-text fields such as ``query``) or from earlier results (a key of the same
   name). Tools it cannot fill yet wait for a later turn. A failed call is tried again; a call a
   reviewer rejected is not. When no tool is left it composes an answer from the results.

A tool's keywords are hints for this model alone, kept beside its agent in
``scripted_hints.toml`` (a ``[keywords]`` table: a list of words per tool name) and read when
the model is built (:func:`load_hints`); a tool without hints is matched by the words of its
name. No real model, no tool definition and no agent version carries them.

Token counts are estimates (four characters a token); it costs nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.errors import ConfigError
from orchestration.llm.providers.base import (
    Message,
    ModelReply,
    ModelRequest,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = ["HINTS_FILE", "ScriptedModel", "load_hints"]

HINTS_FILE = "scripted_hints.toml"
"""The file beside an agent (``agents/<dir>/``) that holds its tools' keywords."""

_CALL = re.compile(r"^CALL\s+(?P<name>[\w.-]+)\s*(?P<args>.*)$")
_REPEAT = re.compile(r"\b(\d{1,5})\s+times\b", re.IGNORECASE)
_FREE_TEXT = ("query", "question", "topic", "text", "reason", "subject", "message")


@dataclass(frozen=True)
class _Observation:
    name: str
    value: Any
    is_error: bool

    @property
    def rejected(self) -> bool:
        return isinstance(self.value, dict) and self.value.get("rejected") is True


def load_hints(directories: Iterable[Path]) -> dict[str, tuple[str, ...]]:
    """The keywords of every tool named in the hint files of the agent folders in
    ``directories``, by tool name (a name in several files has the words of all of them).

    Raises:
        ConfigError: a hint file is not TOML, or its ``keywords`` are not lists of words
            (naming the file and the fix).
    """
    hints: dict[str, tuple[str, ...]] = {}
    for directory in directories:
        for path in sorted(directory.glob(f"*/{HINTS_FILE}")):
            for tool, words in _read_hints(path).items():
                hints[tool] = tuple(dict.fromkeys((*hints.get(tool, ()), *words)))
    return hints


def _read_hints(path: Path) -> dict[str, tuple[str, ...]]:
    example = 'e.g. [keywords] then lookup_orders = ["order", "refund"]'
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not readable as TOML ({exc}). Fix: {example}.") from None
    keywords = data.get("keywords", {})
    valid = isinstance(keywords, dict) and all(
        isinstance(words, list) and all(isinstance(w, str) and w for w in words)
        for words in keywords.values()
    )
    if not valid:
        raise ConfigError(
            f"{path}: [keywords] must give each tool's name a list of words. Fix: {example}."
        )
    return {tool: tuple(words) for tool, words in keywords.items()}


class ScriptedModel:
    """The offline rule-based planner behind ``scripted:<anything>`` pins.

    Args:
        keywords: the words that pick each tool, by tool name (see :func:`load_hints`); a tool
            without any is picked by the words of its name.
    """

    name = "scripted"
    context_window = 8192
    # A planner, not a reader: it acts on the input and recent results, so it looks back at
    # most this far. This keeps a turn at step 1,000 as cheap as one at step 10.
    max_context_steps: int | None = 48

    def __init__(self, keywords: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.keywords = dict(keywords or {})

    def count_tokens(self, text: str) -> int:
        """Estimate: one token per four characters."""
        return max(1, len(text) // 4)

    def complete(self, request: ModelRequest) -> ModelReply:
        """Plan the next step from the conversation (see the module docstring)."""
        user = next((m.content for m in request.messages if m.role == "user"), "")
        observations = list(_observations(request.messages))
        script = _script(user)
        if script:
            reply = self._follow_script(script, request.turn, observations)
        else:
            repeat = _REPEAT.search(user)
            if repeat:
                reply = self._repeat(int(repeat.group(1)), user, request, observations)
            else:
                reply = self._by_keywords(user, request, observations)
        prompt = request.system + "".join(m.content for m in request.messages)
        prompt += json.dumps([t.parameters for t in request.tools])
        return ModelReply(
            text=reply.text,
            tool_calls=reply.tool_calls,
            usage=Usage(
                input_tokens=self.count_tokens(prompt),
                output_tokens=self.count_tokens(json.dumps(reply.to_record())),
            ),
            model=request.model,
        )

    def _follow_script(
        self, script: list[list[ToolCall]], turn: int, observations: list[_Observation]
    ) -> ModelReply:
        if turn <= len(script):
            return ModelReply(text=None, tool_calls=tuple(script[turn - 1]))
        return ModelReply(text=_compose("Script finished.", observations))

    def _repeat(
        self, times: int, user: str, request: ModelRequest, observations: list[_Observation]
    ) -> ModelReply:
        matching = [t for t in request.tools if self._matches(t, user)]
        if not matching or request.turn > times:
            return ModelReply(text=_compose(f"Done after {times} calls.", observations[-1:]))
        spec = matching[0]
        args = _fill(spec, user, observations) or {}
        call = ToolCall(f"call_{request.turn}_0", spec.name, json.dumps(args))
        return ModelReply(text=None, tool_calls=(call,))

    def _by_keywords(
        self, user: str, request: ModelRequest, observations: list[_Observation]
    ) -> ModelReply:
        settled = {o.name for o in observations if not o.is_error or o.rejected}
        calls: list[ToolCall] = []
        for spec in request.tools:
            if spec.name in settled or not self._matches(spec, user):
                continue
            args = _fill(spec, user, observations)
            if args is not None:
                call_id = f"call_{request.turn}_{len(calls)}"
                calls.append(ToolCall(call_id, spec.name, json.dumps(args)))
        if calls:
            return ModelReply(text=None, tool_calls=tuple(calls))
        return ModelReply(text=_compose(f"Answer to: {user.strip()[:120]}", observations))

    def _matches(self, spec: ToolSpec, user: str) -> bool:
        text = user.lower()
        words = self.keywords.get(spec.name) or tuple(spec.name.lower().split("_"))
        return any(re.search(rf"\b{re.escape(word.lower())}", text) for word in words)


def _script(user: str) -> list[list[ToolCall]]:
    turns: list[list[ToolCall]] = []
    current: list[ToolCall] = []
    for line in [*user.splitlines(), ""]:
        match = _CALL.match(line.strip())
        if match:
            index = len(current)
            call_id = f"call_{len(turns) + 1}_{index}"
            current.append(ToolCall(call_id, match["name"], match["args"].strip() or "{}"))
        elif not line.strip() and current:
            turns.append(current)
            current = []
    return turns


def _observations(messages: tuple[Message, ...]) -> Iterator[_Observation]:
    for message in messages:
        if message.role != "tool":
            continue
        try:
            value = json.loads(message.content)
        except json.JSONDecodeError:
            value = message.content
        yield _Observation(message.name or "", value, message.is_error)


def _fill(spec: ToolSpec, user: str, observations: list[_Observation]) -> dict[str, Any] | None:
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", []))
    args: dict[str, Any] = {}
    for field_name, prop in properties.items():
        value = _value_for(field_name, prop, user, observations, args)
        if value is None:
            if field_name in required:
                return None
            continue
        args[field_name] = value
    return args


def _value_for(
    field_name: str,
    prop: dict[str, Any],
    user: str,
    observations: list[_Observation],
    chosen: dict[str, Any],
) -> Any:
    pattern = prop.get("pattern")
    if pattern:
        regex = re.compile(pattern.strip("^$"))
        for text in [user, *(json.dumps(o.value) for o in reversed(observations))]:
            found = regex.search(text)
            if found:
                return found.group(0)
        return None
    found_value = _lookup(field_name, observations, set(map(str, chosen.values())))
    if found_value is not None:
        return found_value
    if "enum" in prop:
        return next((v for v in prop["enum"] if str(v).lower() in user.lower()), None)
    if prop.get("type") == "string" and field_name in _FREE_TEXT:
        return user.strip()[:200]
    return None


def _lookup(key: str, observations: list[_Observation], anchors: set[str]) -> Any:
    """The value of ``key`` in earlier results, preferring an object that mentions an argument
    already chosen (the amount *of the order* being refunded, not of any order)."""
    candidates: list[tuple[bool, Any]] = []
    for observation in reversed(observations):
        if observation.is_error:
            continue
        for obj in _objects(observation.value):
            if key in obj and not isinstance(obj[key], dict | list):
                anchored = any(str(v) in anchors for v in obj.values())
                candidates.append((anchored, obj[key]))
    candidates.sort(key=lambda pair: not pair[0])
    return candidates[0][1] if candidates else None


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _objects(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _objects(inner)


def _compose(opening: str, observations: list[_Observation]) -> str:
    lines = [opening]
    for observation in observations:
        lines.extend(_describe(observation))
    return "\n".join(lines)


def _describe(observation: _Observation) -> list[str]:
    value = observation.value
    if observation.is_error:
        return [f"- {observation.name} failed: {value}"]
    if isinstance(value, dict):
        lines = [f"- {observation.name}: {value.get('summary') or _short(value)}"]
        for item in value.get("results", [])[:3]:
            if isinstance(item, dict) and "title" in item:
                source = f" ({item['source']})" if item.get("source") else ""
                lines.append(f"  - {item['title']}{source}: {item.get('snippet', '')}".rstrip())
        return lines
    return [f"- {observation.name}: {_short(value)}"]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
