"""Puts a support ticket in a category (ticket-triage, a parallel branch)."""
