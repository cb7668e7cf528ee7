"""``python -m admin_jobs JOB ...``: run one admin job once, as a one-off process.

``chordline admin run JOB ...`` execs this, so the CLI in ``orchestration`` never imports the
admin jobs that build on it. Each job module adds its command to :data:`jobs`.
"""

from admin_jobs import cleanup, finetune, finetune_export, nightly_eval, rebuild_embeddings
from admin_jobs.commands import jobs

__all__ = ["cleanup", "finetune", "finetune_export", "nightly_eval", "rebuild_embeddings"]

jobs(prog_name="chordline admin run")
