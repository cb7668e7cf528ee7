"""``python -m admin_jobs JOB ...``: run one admin job once, as a one-off process.

``chordline admin run JOB ...`` execs this, so the CLI in ``orchestration`` never imports the
admin jobs that build on it. Importing :mod:`admin_jobs` imports every job, and each job module
adds its command to :data:`jobs`.
"""

import admin_jobs  # noqa: F401  (registers every job's command)
from admin_jobs.commands import jobs

__all__: list[str] = []

jobs(prog_name="chordline admin run")
