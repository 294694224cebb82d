"""Exekra workflows: the graph model, its schema and validator, the expression language and the
activity catalog — shared by the hub, the runner and the console. Pure: no I/O at import.
"""

from __future__ import annotations

from . import catalog, examples, hosts
from .catalog import CATALOG, Activity, Param, UnknownActivity
from .diff import diff, format_diff
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
from .inputs import InputDecl, InputsRejected, check_inputs
from .params import resolve_params
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
    "InputDecl",
    "InputsRejected",
    "InvalidGraph",
    "Node",
    "Param",
    "Problem",
    "Retry",
    "UnknownActivity",
    "canonical",
    "catalog",
    "check_condition",
    "check_inputs",
    "check_template",
    "diff",
    "dumps",
    "ensure_valid",
    "escape",
    "evaluate",
    "examples",
    "format_diff",
    "hosts",
    "loads",
    "references",
    "render",
    "resolve_params",
    "schema_problems",
    "validate",
]
