"""Proposes a support ticket's resolution (ticket-triage, a parallel branch)."""
