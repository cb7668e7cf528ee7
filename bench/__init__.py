"""Benchmarks: Chordline against bare Celery on the same services, measured in one run.

``python -m bench`` (or ``chordline bench``) runs them all and prints a table per benchmark.
"""

__all__: list[str] = []
