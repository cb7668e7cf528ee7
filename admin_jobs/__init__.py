"""Admin work (evals, embedding rebuilds, fine-tunes) that runs on the isolated ``admin`` queue.

The jobs themselves arrive with the evals issue; the queue, its routing
(``chordline.admin.*``) and its worker (``chordline worker -Q admin``) are in place.
"""

__all__: list[str] = []
