"""Admin work (evals, embedding rebuilds, fine-tunes) that runs on the isolated ``admin`` queue.

Each job is a plain function in a module of its own, with a command in :mod:`admin_jobs.commands`
(``chordline admin run JOB``) and a task on the admin queue for Beat. The queue, its routing
(``chordline.admin.*``) and its worker (``chordline worker -Q admin``) are in place. Importing
the package imports every job (each module adds its command to the group).
"""

from admin_jobs.cleanup import CleanupReport, cleanup
from admin_jobs.finetune import Started, follow_finetune, start_finetune
from admin_jobs.finetune_export import finetune_export
from admin_jobs.nightly_eval import NightlyOutcome, nightly_agents, nightly_eval
from admin_jobs.rebuild_embeddings import rebuild_embeddings

__all__ = [
    "CleanupReport",
    "NightlyOutcome",
    "Started",
    "cleanup",
    "finetune_export",
    "follow_finetune",
    "nightly_agents",
    "nightly_eval",
    "rebuild_embeddings",
    "start_finetune",
]
