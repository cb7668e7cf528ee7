"""Admin work (evals, embedding rebuilds, fine-tunes) that runs on the isolated ``admin`` queue.

Each job is a plain function in a module of its own, with a command in :mod:`admin_jobs.commands`
(``chordline admin run JOB``) and a task on the admin queue for Beat. The queue, its routing
(``chordline.admin.*``) and its worker (``chordline worker -Q admin``) are in place.
"""

__all__: list[str] = []
