"""The eval harness: datasets, checks, trials as real runs, metrics, gates, baselines, releases.

One concept a module: :mod:`~orchestration.evals.dataset` (JSONL cases),
:mod:`~orchestration.evals._checks`, :mod:`~orchestration.evals._judge`,
:mod:`~orchestration.evals._driver` and :mod:`~orchestration.evals.runner` (trials as runs),
:mod:`~orchestration.evals._metrics`, :mod:`~orchestration.evals.results`,
:mod:`~orchestration.evals.store` and :mod:`~orchestration.evals.report`,
:mod:`~orchestration.evals.gate` and :mod:`~orchestration.evals.release`, and
:mod:`~orchestration.evals.lock` (``chordline.lock``). Names are imported on first use, so that
``chordline.lock`` can hash datasets without loading the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration._lazy import lazy_exports

if TYPE_CHECKING:
    from orchestration.evals.dataset import Case, Dataset, dataset_dir, dataset_hash, load_dataset
    from orchestration.evals.gate import (
        Breach,
        GateThresholds,
        baseline_json,
        check_gate,
        load_baseline,
    )
    from orchestration.evals.lock import (
        LOCK_FILE,
        LockReport,
        build_lock,
        compare_lock,
        write_lock,
    )
    from orchestration.evals.release import ReleaseRecord, prepare_release, thresholds_of
    from orchestration.evals.results import EvalRecord, Metrics, TrialOutcome
    from orchestration.evals.runner import EvalOptions, Mode, run_eval

__all__ = [
    "LOCK_FILE",
    "Breach",
    "Case",
    "Dataset",
    "EvalOptions",
    "EvalRecord",
    "GateThresholds",
    "LockReport",
    "Metrics",
    "Mode",
    "ReleaseRecord",
    "TrialOutcome",
    "baseline_json",
    "build_lock",
    "check_gate",
    "compare_lock",
    "dataset_dir",
    "dataset_hash",
    "load_baseline",
    "load_dataset",
    "prepare_release",
    "run_eval",
    "thresholds_of",
    "write_lock",
]

_HOME = {
    **dict.fromkeys(
        ("Case", "Dataset", "dataset_dir", "dataset_hash", "load_dataset"),
        "orchestration.evals.dataset",
    ),
    **dict.fromkeys(
        ("Breach", "GateThresholds", "baseline_json", "check_gate", "load_baseline"),
        "orchestration.evals.gate",
    ),
    **dict.fromkeys(
        ("LOCK_FILE", "LockReport", "build_lock", "compare_lock", "write_lock"),
        "orchestration.evals.lock",
    ),
    **dict.fromkeys(
        ("ReleaseRecord", "prepare_release", "thresholds_of"), "orchestration.evals.release"
    ),
    **dict.fromkeys(("EvalRecord", "Metrics", "TrialOutcome"), "orchestration.evals.results"),
    **dict.fromkeys(("EvalOptions", "Mode", "run_eval"), "orchestration.evals.runner"),
}

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals(), __all__)
