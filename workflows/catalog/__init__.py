"""The activity catalog: the single list of activity types.

The hub validates graphs against it, the console's toolbox shows it and the runner implements
exactly it. Each category lives in its own module in this package and registers its activities
with :func:`register` at import time; a duplicate type fails at import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Parameter types understood by the validator, the console's form and the runner.
PARAM_TYPES = frozenset(
    {
        "string",  # one line of text (expressions allowed)
        "text",  # long text; the editor offers a multi-line editor
        "integer",
        "number",
        "boolean",
        "list",
        "object",
        "any",
        "choice",  # one of ``choices``
        "variable",  # a variable name (e.g. ``output``, ``item``)
        "condition",  # a condition expression evaluated by the safe evaluator
        "code",  # source code (scripts)
        "target",  # a page element: a selector string or a target object (WORKFLOW_FORMAT.md)
    }
)


@dataclass(frozen=True)
class Param:
    """One parameter of an activity."""

    name: str
    type: str = "string"
    required: bool = False
    default: Any = None
    description: str = ""
    secret: bool = False
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"param {self.name!r}: unknown type {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"param {self.name!r}: a choice needs choices")


@dataclass(frozen=True)
class Activity:
    """One activity type: ``<category>.<action>``."""

    type: str
    title: str
    description: str
    params: tuple[Param, ...] = ()
    #: named outgoing ports besides the default (unnamed) one; ``error`` is always allowed
    ports: tuple[str, ...] = ()
    #: ports whose names are data (``logic.switch``: case values) — any port name is accepted
    dynamic_ports: bool = False
    #: what the activity stores in its ``output`` variable (None: it produces nothing)
    output: str | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def category(self) -> str:
        return self.type.split(".", 1)[0]

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "category": self.category,
            "title": self.title,
            "description": self.description,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                    "description": p.description,
                    "secret": p.secret,
                    "choices": list(p.choices),
                }
                for p in self.params
            ],
            "ports": list(self.ports),
            "dynamic_ports": self.dynamic_ports,
            "output": self.output,
        }


class UnknownActivity(KeyError):
    """Raised for an activity type the catalog does not have."""

    def __init__(self, activity_type: str) -> None:
        super().__init__(activity_type)
        self.activity_type = activity_type

    def __str__(self) -> str:
        return f"unknown activity type {self.activity_type!r}"


CATALOG: dict[str, Activity] = {}

#: Human names of the categories, in the order the console's toolbox shows them.
CATEGORY_TITLES: dict[str, str] = {}


def register(*activities: Activity) -> None:
    """Add activities to the catalog; a type registered twice is a programming error."""
    for act in activities:
        if "." not in act.type:
            raise ValueError(f"activity type {act.type!r} must be <category>.<action>")
        if act.type in CATALOG:
            raise ValueError(f"activity type {act.type!r} registered twice")
        names = [p.name for p in act.params]
        if len(names) != len(set(names)):
            raise ValueError(f"activity {act.type!r} has duplicate params")
        CATALOG[act.type] = act


def category(name: str, title: str) -> None:
    CATEGORY_TITLES.setdefault(name, title)


def get(activity_type: str) -> Activity:
    try:
        return CATALOG[activity_type]
    except KeyError:
        raise UnknownActivity(activity_type) from None


def by_category() -> dict[str, list[Activity]]:
    """Activities grouped by category, categories in toolbox order, activities by type."""
    groups: dict[str, list[Activity]] = {}
    order = list(CATEGORY_TITLES) + sorted({a.category for a in CATALOG.values()})
    for cat in order:
        if cat in groups:
            continue
        acts = sorted((a for a in CATALOG.values() if a.category == cat), key=lambda a: a.type)
        if acts:
            groups[cat] = acts
    return groups


def types() -> Iterable[str]:
    return sorted(CATALOG)


def document() -> dict[str, Any]:
    """The whole catalog as JSON (what the hub serves and the console's toolbox shows):
    ``{"categories": [{"name", "title", "activities": [Activity.to_dict(), ...]}]}``."""
    return {
        "categories": [
            {
                "name": cat,
                "title": CATEGORY_TITLES.get(cat, cat.replace("_", " ").title()),
                "activities": [a.to_dict() for a in acts],
            }
            for cat, acts in by_category().items()
        ]
    }


# Category modules register themselves on import (order = toolbox order).
from . import core, text, files, http, database, script  # noqa: E402,F401,I001
from . import browser  # noqa: E402,F401,I001
from . import excel  # noqa: E402,F401
from . import mail, transfer, desktop  # noqa: E402,F401,I001
from . import tables  # noqa: E402,F401
from . import documents  # noqa: E402,F401
