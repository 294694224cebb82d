"""Declared inputs: which variables of a graph may be set from outside, and the check.

A graph's optional ``inputs`` list declares them::

    "inputs": [
      {"name": "order", "type": "integer", "required": true, "description": "order number"},
      {"name": "region", "type": "string", "default": "EU"}
    ]

Only declared inputs can be set by an execution request, a trigger's saved inputs, a manual run
or a webhook body; anything else is refused naming it. A graph *without* ``inputs`` (every graph
written before declarations existed) is a legacy graph: the hub accepts for it only the names
its workflow's triggers and executions passed before the upgrade (``legacy_inputs``, learned by
migration 0008; none for a workflow created later). An input is a variable: its ``default``
(when given) is the variable's value when the input is not passed, so an input's name must not
also be in ``variables``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "INPUT_TYPES",
    "InputDecl",
    "InputsRejected",
    "accepted_inputs",
    "check_inputs",
    "describe_value",
    "legacy_declaration",
    "type_ok",
]

#: the value types an input may declare, with how they are described in messages
INPUT_TYPES: dict[str, str] = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "list": "a list",
    "object": "an object",
    "any": "any JSON value",
}

_NO_DEFAULT: Any = object()


def type_ok(kind: str, value: Any) -> bool:
    """Whether ``value`` (decoded JSON) is of input type ``kind``; null is no type's value."""
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return False


@dataclass(frozen=True)
class InputDecl:
    """One declared input. ``default`` is :data:`_NO_DEFAULT` when none was given."""

    name: str
    type: str = "any"
    required: bool = False
    default: Any = field(default=_NO_DEFAULT, compare=False)
    description: str = ""
    #: accepted only because the workflow passed it before declarations existed
    legacy: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputDecl:
        return cls(
            name=data["name"],
            type=data.get("type", "any"),
            required=bool(data.get("required", False)),
            default=data["default"] if "default" in data else _NO_DEFAULT,
            description=data.get("description", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """The graph document's form (``type``/``required``/``description`` left out when
        they are the defaults)."""
        out: dict[str, Any] = {"name": self.name}
        if self.type != "any":
            out["type"] = self.type
        if self.required:
            out["required"] = True
        if self.has_default:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out

    def describe(self) -> dict[str, Any]:
        """Every field spelled out, for the API and the pages that show declarations."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "description": self.description,
            "legacy": self.legacy,
        }
        if self.has_default:
            out["default"] = self.default
        return out


def legacy_declaration(names: Iterable[str]) -> list[InputDecl]:
    """The declaration a legacy graph gets: each learned name, any type, optional."""
    return [InputDecl(name=str(n), legacy=True) for n in sorted(set(names))]


def accepted_inputs(doc: Mapping[str, Any], legacy: Iterable[str] | None = None) -> list[InputDecl]:
    """What a graph document accepts from outside: its ``inputs`` declaration, or for a
    legacy graph without one the learned ``legacy`` names (none when there are none)."""
    declared = doc.get("inputs")
    if isinstance(declared, list):
        return [InputDecl.from_dict(d) for d in declared if isinstance(d, Mapping)]
    return legacy_declaration(legacy or [])


class InputsRejected(ValueError):
    """Inputs that the declaration does not allow; the lists say which and why."""

    def __init__(
        self, undeclared: list[str], missing: list[str], wrong_type: list[dict[str, str]]
    ) -> None:
        self.undeclared = undeclared
        self.missing = missing
        self.wrong_type = wrong_type
        parts = []
        if undeclared:
            parts.append(
                "not declared as inputs of this workflow: " + ", ".join(repr(n) for n in undeclared)
            )
        if missing:
            parts.append("required inputs missing: " + ", ".join(repr(n) for n in missing))
        for bad in wrong_type:
            parts.append(f"input {bad['name']!r} must be {bad['expected']}, not {bad['given']}")
        super().__init__("; ".join(parts))

    def to_dict(self) -> dict[str, Any]:
        return {
            "undeclared": self.undeclared,
            "missing": self.missing,
            "wrong_type": self.wrong_type,
        }


def describe_value(value: Any) -> str:
    """A value's kind in words for messages (``a number``, ``text``, ``null``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_inputs(
    declared: Iterable[InputDecl], given: Mapping[str, Any], *, partial: bool = False
) -> None:
    """Raise :class:`InputsRejected` unless ``given`` sets only declared inputs, each of its
    type, and (unless ``partial``: a trigger's saved inputs, which a run may complete) every
    required input."""
    decls = {d.name: d for d in declared}
    undeclared = sorted(str(name) for name in given if name not in decls)
    wrong = [
        {
            "name": name,
            "expected": INPUT_TYPES.get(decls[name].type, decls[name].type),
            "given": describe_value(value),
        }
        for name, value in given.items()
        if name in decls and not type_ok(decls[name].type, value)
    ]
    missing = (
        [] if partial else [d.name for d in decls.values() if d.required and d.name not in given]
    )
    if undeclared or missing or wrong:
        raise InputsRejected(undeclared, missing, wrong)
