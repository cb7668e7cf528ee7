"""A bare Celery app that knows nothing of Chordline: it starts runs exactly as docs/runs.md shows
(``send_task`` naming no queue) and prints what it got back, one JSON object per line.

Run as ``python tests/bare_celery_sender.py REDIS_URL`` (the tests do, in a process of its own).
"""

from __future__ import annotations

import json
import sys

from celery import Celery

TIMEOUT_S = 60


def main(url: str) -> None:
    """Send one good run and the bad ones; print each outcome."""
    app = Celery("someone-else", broker=url, backend=url)
    good = app.send_task(
        "chordline.agent.run",
        args=("toolbox", 'CALL keyed_effect {"label": "bare"}'),
        kwargs={"tenant": "acme"},
    )
    print(json.dumps({"case": "good", "task_id": good.id, "result": good.get(TIMEOUT_S)}))
    bad = {
        "dict_input": (("toolbox", {"text": "hi"}), {}),
        "max_usd_lots": (("toolbox", "hi"), {"max_usd": "lots"}),
        "negative_steps": (("toolbox", "hi"), {"max_steps": -5}),
        "huge_input": (("toolbox", "x" * 5_000_000), {}),
        # Valid JSON on the wire ("\ud800", "\u0000"), but text no journal can store.
        "surrogate_input": (("toolbox", "\ud800x"), {}),
        "nul_metadata": (("toolbox", "hi"), {"metadata": {"ticket": "T\x00"}}),
        "surrogate_session": (("toolbox", "hi"), {"session": "\udcff"}),
    }
    for case, (args, kwargs) in bad.items():
        sent = app.send_task("chordline.agent.run", args=args, kwargs=kwargs)
        try:
            sent.get(TIMEOUT_S)
        except Exception as exc:  # the task's error, rebuilt by Celery on this side
            print(json.dumps({"case": case, "task_id": sent.id, "error": str(exc)}))
        else:
            print(json.dumps({"case": case, "task_id": sent.id, "error": None}))
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("orchestration", "workers"))
    print(json.dumps({"case": "imports", "chordline_modules": loaded}))


if __name__ == "__main__":
    main(sys.argv[1])
