"""``python -m orchestration.cli``: the ``chordline`` command."""

from orchestration.cli import main

main()
