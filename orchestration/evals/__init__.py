"""The eval harness: datasets, checks, trials as real runs, metrics, gates, baselines, releases.

One concept a module: :mod:`~orchestration.evals.dataset` (JSONL cases),
:mod:`~orchestration.evals.checks`, :mod:`~orchestration.evals.judge`,
:mod:`~orchestration.evals.driver` and :mod:`~orchestration.evals.runner` (trials as runs),
:mod:`~orchestration.evals.metrics`, :mod:`~orchestration.evals.results`,
:mod:`~orchestration.evals.store` and :mod:`~orchestration.evals.report`,
:mod:`~orchestration.evals.gate` and :mod:`~orchestration.evals.release`. Nothing is imported
here, so that ``chordline.lock`` can hash datasets without loading the runtime.
"""

__all__: list[str] = []
