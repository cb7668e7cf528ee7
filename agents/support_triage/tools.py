"""Support-triage tools over the shop data shipped in ``data/``, and a real refunds table
(kept, with its SQL, in :mod:`.store`)."""

from __future__ import annotations

import functools
import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from orchestration import ToolContext, tool
from orchestration.knowledge import Document, IndexUnavailable, read_markdown, search

from .store import issue_once

DATA = Path(__file__).parent / "data"
KNOWLEDGE = Path(__file__).parent / "knowledge"
KB_NAME = "support-triage"
_STOP = frozenset(["a", "an", "and", "for", "i", "in", "is", "it", "my", "of", "the", "to"])
# The shop's CRM answers in about this long; the lookups of one turn overlap, so a turn takes
# one latency, not three. SUPPORT_TRIAGE_LATENCY_S=0 turns it off.
LATENCY_S = float(os.environ.get("SUPPORT_TRIAGE_LATENCY_S", "0.2"))
EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
ORDER_ID = r"ORD-\d{4}"


@functools.cache
def _articles() -> list[Document]:
    return [read_markdown(p) for p in sorted(KNOWLEDGE.glob("*.md"))]


@functools.cache
def _rows(name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return rows


class CustomerQuery(BaseModel):
    email: str = Field(pattern=EMAIL, description="the customer's email address")


class RefundRequest(BaseModel):
    order_id: str = Field(pattern=ORDER_ID, description="the order to refund, e.g. ORD-1042")
    amount_usd: float = Field(gt=0, le=5000, description="the amount to refund in dollars")
    reason: str = Field(min_length=3, max_length=500, description="why, in the customer's words")


class KBQuery(BaseModel):
    query: str = Field(min_length=2, max_length=500, description="words to search for")


@tool(read_only=True, timeout_s=5)
def lookup_customer(args: CustomerQuery, ctx: ToolContext) -> dict[str, Any]:
    """Find a customer by email: id, name, tier, country, open tickets."""
    time.sleep(LATENCY_S)
    found = [c for c in _rows("customers") if c["email"].lower() == args.email.lower()]
    if not found:
        return {"found": False, "summary": f"no customer with email {args.email}"}
    customer = found[0]
    summary = f"{customer['name']} ({customer['tier']} tier since {customer['since']})"
    return {"found": True, "customer": customer, "summary": summary}


@tool(read_only=True, timeout_s=5)
def lookup_orders(args: CustomerQuery, ctx: ToolContext) -> dict[str, Any]:
    """List a customer's orders by email: id, status, items, amount."""
    time.sleep(LATENCY_S)
    orders = [o for o in _rows("orders") if o["email"].lower() == args.email.lower()]
    listed = ", ".join(f"{o['order_id']} {o['status']} ${o['amount_usd']:.2f}" for o in orders)
    return {"orders": orders, "summary": f"{len(orders)} order(s): {listed}" if orders else "none"}


@tool(read_only=True, timeout_s=15)
def search_kb(args: KBQuery, ctx: ToolContext) -> dict[str, Any]:
    """Search the support knowledge base by meaning; returns the best matching articles."""
    time.sleep(LATENCY_S)
    try:
        found = search(ctx.knowledge, ctx.llm, KB_NAME, args.query, k=3, data_dir=ctx.data_dir)
    except IndexUnavailable as exc:
        return _keyword_search(args.query, reason=str(exc))
    results = [
        {
            "title": h.title,
            "source": h.source.removesuffix(".md"),
            "snippet": h.text,
            "score": h.score,
        }
        for h in found.hits
    ]
    best = results[0] if results else None
    summary = f"best match {best['source']}: {best['title']}" if best else "no article"
    return {"results": results, "search": f"vector ({found.model})", "summary": summary}


def _stems(text: str) -> set[str]:
    # Crude suffix stripping, so that "refund" finds "refunds" and "refunded".
    words = set(re.findall(r"[a-z]+", text.lower())) - _STOP
    return {re.sub(r"(ed|ing|s)$", "", w) if len(w) > 4 else w for w in words}


def _keyword_search(query: str, reason: str) -> dict[str, Any]:
    """Stems shared with an article's title (twice) and body: the fallback without an index."""
    words = _stems(query)
    scored = []
    for article in _articles():
        score = 2 * len(words & _stems(article.title)) + len(words & _stems(article.text))
        if score:
            scored.append((score, article))
    scored.sort(key=lambda pair: -pair[0])
    best = [article for _, article in scored[:3]]
    results = [
        {"title": a.title, "source": a.source.removesuffix(".md"), "snippet": a.text} for a in best
    ]
    summary = f"best match {results[0]['source']}: {best[0].title}" if best else "no article"
    return {
        "results": results,
        "search": f"keyword fallback: {reason}",
        "summary": summary,
    }


@tool(requires_approval=True, timeout_s=10)
def issue_refund(args: RefundRequest, ctx: ToolContext) -> dict[str, Any]:
    """Refund an order to the original payment method. A person approves each refund."""
    order = next((o for o in _rows("orders") if o["order_id"] == args.order_id), None)
    if order is None:
        raise ValueError(f"no order {args.order_id}")
    if args.amount_usd > order["amount_usd"]:
        raise ValueError(f"{args.amount_usd} exceeds the order total {order['amount_usd']}")
    # Keyed by the call's idempotency key: a redelivered or re-driven call finds the refund
    # already issued and reports it instead of refunding twice.
    stored = issue_once(
        ctx.database_url,
        idempotency_key=ctx.idempotency_key,
        run_id=ctx.run_id,
        order_id=args.order_id,
        amount_usd=args.amount_usd,
        reason=args.reason,
        created_at=datetime.now(UTC),
    )
    issued = "issued" if stored.issued else "already issued"
    return {
        "refund_id": stored.idempotency_key[:12],
        "order_id": stored.order_id,
        "amount_usd": float(stored.amount_usd),
        "status": issued,
        "summary": f"refund of ${float(stored.amount_usd):.2f} for {stored.order_id} {issued}",
    }
