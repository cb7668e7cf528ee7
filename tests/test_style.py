"""The formatter has the last word on layout: `# fmt: skip` (or `# fmt: off`) is kept only for a
table people read, and the comment on the line above the statement says so."""

from __future__ import annotations

import io
import os
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MARKERS = ("fmt: skip", "fmt: off")
_WHY = "table"
_NOT_OURS = ("__pycache__", "build", "dist", "node_modules")


def _sources() -> list[Path]:
    """Every Python file of the project; hidden folders (.venv, .git, caches) are not ours."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in _NOT_OURS]
        found += [Path(folder, name) for name in files if name.endswith(".py")]
    return sorted(found)


def unjustified_skips(source: str) -> list[int]:
    """The lines whose formatter escape has no comment naming a table above its statement.

    A trailing `# fmt: skip` sits on the last line of a statement that may span several, so
    the explaining comment belongs above the statement's first line.
    """
    lines = source.splitlines()
    found: list[int] = []
    start: int | None = None
    layout = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NEWLINE:
            start = None
        elif token.type not in layout and start is None:
            start = token.start[0]
        elif token.type == tokenize.COMMENT and any(m in token.string for m in _MARKERS):
            first = token.start[0] if start is None else start
            above = lines[first - 2].strip() if first >= 2 else ""
            if not (above.startswith("#") and _WHY in above.lower()):
                found.append(token.start[0])
    return found


def test_each_formatter_escape_is_a_table_with_its_reason_above() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources()
        for line in unjustified_skips(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, (
        "`# fmt: skip` without a reason: "
        + ", ".join(offenders)
        + ". Fix: remove it and let `ruff format` lay the statement out (name an intermediate "
        "value if the result reads badly); keep it only for a table whose columns line up, "
        "with a comment such as `# a table: columns aligned for reading` above the statement."
    )


def test_the_check_sees_a_bare_skip_and_accepts_a_table_with_its_reason() -> None:
    bare = "x = [\n    1,  2,\n]  # fmt: skip\n"
    assert unjustified_skips(bare) == [3]
    explained = "# a table: columns aligned for reading\nrows = [\n    (1,  2),\n]  # fmt: skip\n"
    assert unjustified_skips(explained) == []
    # A reason that is not a table is not enough, nor is a comment far from the statement.
    assert unjustified_skips("# shorter this way\nx = [1,  2]  # fmt: skip\n") == [2]
    assert unjustified_skips("# a table\n\nx = [1,  2]  # fmt: skip\n") == [3]
    # The marker inside a string is not a formatter escape.
    assert unjustified_skips('text = "# fmt: skip"\n') == []
