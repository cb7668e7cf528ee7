"""Rates a support ticket's urgency (ticket-triage, a parallel branch)."""
