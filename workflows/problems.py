"""What the validator reports: :class:`Problem`, and :class:`InvalidGraph` that carries them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["InvalidGraph", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph, naming where it is so the console can point at it.

    ``code`` is stable and machine-readable (see ``workflows.validate.CODES``); ``message`` is
    for people. ``node_id`` names the node, ``edge`` the edge (``{"index", "from", "to",
    "port"}``), ``param`` the node param; ``path`` is the JSON pointer of the offending value
    when the document's structure is wrong.
    """

    code: str
    message: str
    node_id: str | None = None
    edge: dict[str, Any] | None = field(default=None, hash=False, compare=True)
    param: str | None = None
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "node_id": self.node_id,
            "edge": dict(self.edge) if self.edge is not None else None,
            "param": self.param,
            "path": self.path,
        }

    def __str__(self) -> str:
        return self.message


class InvalidGraph(ValueError):
    """A graph did not validate; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid graph"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"invalid workflow graph: {first}{more}")

    def to_dict(self) -> dict[str, Any]:
        return {"problems": [p.to_dict() for p in self.problems]}
