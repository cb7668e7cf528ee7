"""Combines the ticket-triage branches into one triage (ticket-triage, the synthesis)."""
