"""Calling models: providers, deployments and their fallback chains, retries, breakers,
prices and the context window.

Names are imported on first use: a price lookup loads neither a provider's SDK nor Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.llm._retry import Attempt, RetryPolicy, call_with_retries
    from orchestration.llm.breakers import BreakerBoard, CircuitOpenError, breaker_key
    from orchestration.llm.deployments import (
        Deployment,
        alias_problem,
        check_pin,
        parse,
        resolve_chain,
    )
    from orchestration.llm.fallbacks import ChainOutcome, ask_chain, request_hash
    from orchestration.llm.providers import (
        LLMProvider,
        Message,
        ModelReply,
        ModelRequest,
        ProviderPool,
        ToolCall,
        ToolSpec,
        Usage,
        register_provider,
    )

__all__ = [
    "Attempt",
    "BreakerBoard",
    "ChainOutcome",
    "CircuitOpenError",
    "Deployment",
    "LLMProvider",
    "Message",
    "ModelReply",
    "ModelRequest",
    "ProviderPool",
    "RetryPolicy",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "alias_problem",
    "ask_chain",
    "breaker_key",
    "call_with_retries",
    "check_pin",
    "parse",
    "register_provider",
    "request_hash",
    "resolve_chain",
]

_HOME = {
    **dict.fromkeys(
        ("BreakerBoard", "CircuitOpenError", "breaker_key"), "orchestration.llm.breakers"
    ),
    **dict.fromkeys(
        ("Deployment", "alias_problem", "check_pin", "parse", "resolve_chain"),
        "orchestration.llm.deployments",
    ),
    **dict.fromkeys(("ChainOutcome", "ask_chain", "request_hash"), "orchestration.llm.fallbacks"),
    **dict.fromkeys(
        (
            "LLMProvider",
            "Message",
            "ModelReply",
            "ModelRequest",
            "ProviderPool",
            "ToolCall",
            "ToolSpec",
            "Usage",
            "register_provider",
        ),
        "orchestration.llm.providers",
    ),
    **dict.fromkeys(("Attempt", "RetryPolicy", "call_with_retries"), "orchestration.llm._retry"),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
