"""Finding workflows: every ``<directory>/<name>.py`` that defines ``workflow = Workflow(...)``."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

from orchestration.errors import WorkflowError, WorkflowNotFound
from orchestration.workflows._dsl import Workflow

__all__ = ["WorkflowRegistry", "load_workflows", "workflow_dirs"]


def workflow_dirs(spec: str) -> tuple[Path, ...]:
    """The directories named by ``CHORDLINE_WORKFLOWS_DIR`` (separated by ':'), resolved."""
    return tuple(Path(part).resolve() for part in spec.split(os.pathsep) if part)


class WorkflowRegistry:
    """The workflows found in the workflow directories, by name."""

    def __init__(self, workflows: dict[str, Workflow], directories: tuple[Path, ...]) -> None:
        self._workflows = workflows
        self.directories = directories

    def __contains__(self, name: object) -> bool:
        return name in self._workflows

    def get(self, name: str) -> Workflow:
        """The workflow called ``name``.

        Raises:
            WorkflowNotFound: listing the workflows there are.
        """
        try:
            return self._workflows[name]
        except KeyError:
            known = ", ".join(sorted(self._workflows)) or "none"
            where = os.pathsep.join(str(d) for d in self.directories)
            raise WorkflowNotFound(
                f"unknown workflow {name!r} (workflows in {where}: {known}). Fix: use one of "
                "those names, add workflows/<name>.py, or set CHORDLINE_WORKFLOWS_DIR."
            ) from None

    def names(self) -> list[str]:
        """The workflow names, sorted."""
        return sorted(self._workflows)


def _load_file(path: Path) -> Workflow:
    module_name = f"chordline_workflows_{path.stem.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise WorkflowError(f"cannot load workflow module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    found = getattr(module, "workflow", None)
    if not isinstance(found, Workflow):
        raise WorkflowError(f"{path} must define `workflow = Workflow(name=..., root=...)`")
    return found


@functools.cache
def load_workflows(directories: tuple[Path, ...]) -> WorkflowRegistry:
    """Load every ``<directory>/*.py`` of each directory; a missing directory holds none.

    Raises:
        WorkflowError: a module is broken, or two workflows share a name.
    """
    workflows: dict[str, Workflow] = {}
    for directory in directories:
        if not directory.is_dir():
            continue  # workflows are optional: a deployment of plain agents has none
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            workflow = _load_file(path)
            if workflow.name in workflows:
                raise WorkflowError(f"two workflows are called {workflow.name!r}")
            workflows[workflow.name] = workflow
    return WorkflowRegistry(workflows, directories)
