"""Benchmarks: Chordline against bare Celery on the same services, measured in one run.

``python -m bench`` runs them all and prints a table per benchmark; ``--size tiny`` runs each
once, small, as the test suite does.
"""

__all__: list[str] = []
