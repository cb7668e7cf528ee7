"""The LLM response cache: an identical request is answered once, then from the journal.

A step middleware on ``model_call``. The key is the full request: the chain of deployments,
the model, the system prompt, every message, the tools and the call parameters (the output
cap), and the tenant, so no tenant is ever answered from another's conversation. Only answers
of a real provider are kept (the offline members cost nothing); errors and failed chains are
never cached. A hit makes no call and records no tokens and no cost: the run spent nothing. It
is what makes a repeated eval cheap (``CHORDLINE_LLM_CACHE=false`` turns it off; entries live
``CHORDLINE_LLM_CACHE_TTL_SECONDS``).

Replays never reach it: a recorded turn is read back from its step, not asked again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from datetime import timedelta

from orchestration.journal import Journal
from orchestration.journal.tables import utcnow
from orchestration.llm import store
from orchestration.llm.deployments import Deployment
from orchestration.llm.fallbacks import ChainOutcome, request_hash
from orchestration.llm.providers import ModelReply, Usage
from orchestration.runtime import Middleware, ModelCall, ModelNext

__all__ = ["ResponseCacheMiddleware", "cache_key", "purge_expired"]

log = logging.getLogger("chordline.cache")


def cache_key(call: ModelCall, max_output_tokens: int) -> str:
    """The hash of everything that decides the answer, and the tenant asking."""
    payload = {
        "tenant": call.at.run.tenant,
        "chain": [d.name for d in call.chain],
        "model": call.request.model,
        "request": request_hash(call.request),
        "params": {"max_output_tokens": max_output_tokens},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def purge_expired(journal: Journal, ttl_s: float) -> int:
    """Delete entries older than ``ttl_s`` seconds; returns how many."""
    return store.delete_cached_before(journal, utcnow() - timedelta(seconds=ttl_s))


class ResponseCacheMiddleware(Middleware):
    """Answers a model call from the cache, or asks the chain and keeps a good answer.

    Args:
        journal: where entries are kept (table ``llm_response_cache``).
        ttl_s: how long an entry answers.
        max_output_tokens: the output cap every call is made with (part of the key).
    """

    def __init__(self, journal: Journal, ttl_s: float, max_output_tokens: int) -> None:
        self.journal = journal
        self.ttl_s = ttl_s
        self.max_output_tokens = max_output_tokens

    def model_call(self, call: ModelCall, call_next: ModelNext) -> ChainOutcome:
        """Serve a hit without calling; keep a real provider's good answer."""
        if all(d.offline for d in call.chain):
            return call_next(call)
        key = cache_key(call, self.max_output_tokens)
        hit = self._lookup(key)
        if hit is not None:
            deployment, reply = hit
            log.info(
                "run %s step %s answered from the response cache", call.at.run.id, call.at.step.seq
            )
            return ChainOutcome(reply, deployment, attempts=(), skipped=())
        outcome = call_next(call)
        answered = outcome.deployment
        good = outcome.error is None and outcome.reply is not None
        if good and answered is not None and not answered.offline and outcome.reply is not None:
            self._store(key, call.at.run.tenant, answered, outcome.reply)
        return outcome

    def _lookup(self, key: str) -> tuple[Deployment, ModelReply] | None:
        found = store.cached_reply(self.journal, key, utcnow() - timedelta(seconds=self.ttl_s))
        if found is None:
            return None
        provider, _, model = found.deployment.partition(":")
        # Nothing was spent on this answer: no tokens, no cost.
        cached = dataclasses.replace(ModelReply.from_record(found.reply), usage=Usage())
        return Deployment(provider, model), cached

    def _store(self, key: str, tenant: str, deployment: Deployment, reply: ModelReply) -> None:
        store.keep_reply(self.journal, key, tenant, deployment.name, reply.to_record())
