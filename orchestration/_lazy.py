"""Package attributes imported on first use, so importing a package costs only what is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names that live in other modules.

    Args:
        package: the package's ``__name__``, for the error on an unknown name.
        homes: each public name and the module that defines it.
        namespace: the package's ``globals()``; a name, once loaded, is stored there so that
            the next lookup is a plain attribute.
        public: the package's ``__all__``.

    Returns:
        The two module-level hooks, to assign as ``__getattr__, __dir__``.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
