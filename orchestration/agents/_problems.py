"""Why an agent folder failed to load, said in one line that names the file and the fix.

A broken agent must not stop the commands that do not need it, so the loader keeps a
:class:`BrokenAgent` per folder that failed instead of raising; ``chordline agents`` lists them
and submitting to one says why it cannot run.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from orchestration.errors import AgentError

__all__ = ["BrokenAgent", "describe_load_error"]


@dataclass(frozen=True)
class BrokenAgent:
    """An agent folder whose ``agent.py`` could not be loaded.

    Attributes:
        directory: the agent's folder.
        reason: one line naming the file (and line) at fault and the fix.
    """

    directory: Path
    reason: str

    @property
    def label(self) -> str:
        """The folder's name, the closest thing to an agent name a broken agent has."""
        return self.directory.name


def _shown(filename: str) -> str:
    """The path relative to the working directory when it is below it (shorter to read)."""
    path = Path(filename)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return filename


def _where(exc: BaseException, directory: Path) -> str | None:
    """``file:line`` of the innermost frame inside the agent's folder, if any."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{_shown(exc.filename)}:{exc.lineno}" if exc.lineno else _shown(exc.filename)
    inside = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).is_relative_to(directory)
    ]
    if not inside:
        return None
    return f"{_shown(inside[-1].filename)}:{inside[-1].lineno}"


def _sentence(text: str) -> str:
    """``text`` on one line, ending in a full stop."""
    line = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return line if line.endswith((".", "?", "!")) else line + "."


def describe_load_error(exc: BaseException, directory: Path) -> str:
    """One line saying which file of the agent at ``directory`` failed, why, and the fix.

    Args:
        exc: what importing the agent raised.
        directory: the agent's folder.

    Returns:
        ``path:line: what went wrong. Fix: ...``
    """
    where = _where(exc, directory) or _shown(str(directory / "agent.py"))
    if isinstance(exc, SyntaxError):
        return f"{where}: syntax error: {_sentence(exc.msg)} Fix: correct the Python at that line."
    if isinstance(exc, AgentError):
        # Our own messages already say what to fix.
        return f"{where}: {_sentence(str(exc))}"
    if isinstance(exc, ImportError):
        return (
            f"{where}: {_sentence(str(exc))} Fix: install the missing package, or import the "
            "agent's own modules relatively (`from . import tools`)."
        )
    return (
        f"{where}: {type(exc).__name__}: {_sentence(str(exc))} Fix: correct that line "
        "(it runs when the agent is loaded)."
    )
