"""Components take their settings group: outside the composition root, the entry points and the
config package, no parameter or attribute is annotated with the whole ``Settings``.

A component says what it reads by taking ``LlmSettings``, ``ObservabilitySettings``, ... (or the
few values it needs); ``Settings`` itself is handed around only where everything is assembled.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

_WALKED = ("orchestration", "workers", "admin_jobs")

# Where the whole Settings may be named, by module path (a folder ends with "/"), and why.
_ALLOWED = {
    # The settings themselves.
    "orchestration/config/": "the config package",
    # The composition root: builds the runtime and its middleware from every group.
    "orchestration/bootstrap.py": "the composition root",
    "workers/runtime.py": "the worker's composition root",
    # Entry points: they read the settings once and hand each component its group.
    "orchestration/cli/": "the CLI's commands",
    "orchestration/api/app.py": "the API's app factory",
    "orchestration/api/context.py": "the API's per-app context",
    "orchestration/client.py": "the Python client, the public entry",
    "orchestration/canvas.py": "the broker's Celery configuration, from the whole settings",
    "workers/app.py": "the worker's Celery app factory",
    "admin_jobs/": "the admin jobs Celery and the CLI call",
}


def _python_files() -> Iterator[Path]:
    for folder in _WALKED:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _allowed(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == a or (a.endswith("/") and relative.startswith(a)) for a in _ALLOWED)


def _names_settings(annotation: ast.expr | None) -> bool:
    """True when ``annotation`` names the class ``Settings`` (``Settings | None`` included)."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body  # a quoted annotation
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Settings":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Settings":
            return True
    return False


def _annotated(tree: ast.AST) -> Iterator[tuple[int, str, ast.expr | None]]:
    """Every parameter and annotated attribute or variable, with its annotation."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            every = [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
            ]
            name = getattr(node, "name", "lambda")
            for argument in every:
                yield argument.lineno, f"{name}({argument.arg})", argument.annotation
        elif isinstance(node, ast.AnnAssign):
            yield node.lineno, ast.unparse(node.target), node.annotation


def _offenders(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{line} {what}: Settings"
        for line, what, annotation in _annotated(tree)
        if _names_settings(annotation)
    ]


def test_only_the_root_the_entry_points_and_config_take_the_whole_settings() -> None:
    offenders = [o for p in _python_files() if not _allowed(p) for o in _offenders(p)]
    assert offenders == [], (
        "take the settings group (settings.llm, ...) or the values you need, not Settings:\n"
        + "\n".join(offenders)
    )


def test_the_walk_sees_the_annotations_it_is_about() -> None:
    # The root's own signature is found, so an empty list above means something.
    assert any(
        "open_runtime(settings)" in o for o in _offenders(ROOT / "orchestration/bootstrap.py")
    )
    tree = ast.parse("class A:\n    s: 'Settings | None'\ndef f(*, x: config.Settings): ...\n")
    found = [what for _, what, annotation in _annotated(tree) if _names_settings(annotation)]
    assert sorted(found) == ["f(x)", "s"]
    assert not _names_settings(ast.parse("LlmSettings", mode="eval").body)


def test_every_allowed_module_exists() -> None:
    for allowed in _ALLOWED:
        assert (ROOT / allowed).exists(), f"{allowed} is allowed but does not exist"
