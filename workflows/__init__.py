"""Exekra workflows: the graph model, its schema and validator, the expression language and the
activity catalog — shared by the hub, the runner and the console. Pure: no I/O at import.
"""

from __future__ import annotations

from . import catalog
from .catalog import CATALOG, Activity, Param, UnknownActivity
from .expressions import (
    ExpressionError,
    check_condition,
    check_template,
    escape,
    evaluate,
    references,
    render,
)
from .graph import Edge, Graph, Node, Retry, canonical, dumps, loads
from .problems import InvalidGraph, Problem
from .schema import SCHEMA, schema_problems
from .validate import CODES, ensure_valid, validate

__all__ = [
    "CATALOG",
    "CODES",
    "SCHEMA",
    "Activity",
    "Edge",
    "ExpressionError",
    "Graph",
    "InvalidGraph",
    "Node",
    "Param",
    "Problem",
    "Retry",
    "UnknownActivity",
    "canonical",
    "catalog",
    "check_condition",
    "check_template",
    "dumps",
    "ensure_valid",
    "escape",
    "evaluate",
    "loads",
    "references",
    "render",
    "schema_problems",
    "validate",
]
