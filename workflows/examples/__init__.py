"""Example workflows that validate: used by tests, the demo and the README.

``names()`` lists them; ``load(name)`` returns a fresh copy of one graph document. The files
are read when asked for, never at import.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["load", "names", "text"]


def names() -> list[str]:
    """Names of the example workflows (file names without ``.json``), sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".json")
    )


def text(name: str) -> str:
    """The example's JSON text as stored; raises KeyError for an unknown name."""
    if name not in names():
        raise KeyError(f"no example workflow {name!r} (examples: {', '.join(names())})")
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """The example's graph document (a new dict each time)."""
    data: dict[str, Any] = json.loads(text(name))
    return data
