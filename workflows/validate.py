"""Graph validation: every problem at once, each naming its node, edge and param.

:func:`validate` never raises for a bad document (anything JSON can hold is accepted as input);
it returns the list of :class:`Problem`. The hub answers 400 with ``[p.to_dict() ...]`` so the
console can point at the node. :func:`ensure_valid` raises :class:`InvalidGraph` instead and
returns the :class:`Graph`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from . import catalog
from .catalog import Activity, Param
from .expressions import (
    check_condition,
    check_template,
    has_expressions,
    is_identifier,
    uses_credential,
)
from .graph import Graph
from .inputs import INPUT_TYPES, type_ok
from .inputs import describe_value as _describe
from .params import CREDENTIAL_PARAM
from .problems import InvalidGraph, Problem
from .schema import FORMAT, NODE_ID_PATTERN, VARIABLE_PATTERN, schema_problems

__all__ = ["CODES", "InvalidGraph", "Problem", "ensure_valid", "validate"]

#: every problem code, with what it means
CODES: dict[str, str] = {
    "json": "the text is not valid JSON",
    "schema": "the document's structure is wrong (missing, unknown or wrongly typed fields)",
    "format": "the graph format is not 1",
    "unknown_type": "a node's activity type is not in the catalog",
    "missing_param": "a required param is missing or empty",
    "param_type": "a param has the wrong type (or is not one of its choices)",
    "unknown_param": "a param the activity does not have",
    "invalid_name": "a variable name (output, item, variables, ...) is not a valid identifier",
    "expression": "a template or condition has a syntax error",
    "missing_credential": "{{credential}} is used but the node names no credential",
    "duplicate_node": "two nodes have the same id",
    "dangling_edge": "an edge starts or ends at a node that does not exist",
    "no_start": "no node without an incoming edge (or no nodes at all)",
    "multiple_starts": "more than one node without an incoming edge",
    "unknown_port": "an edge leaves by a port the node's activity does not have",
    "missing_port": "an edge without a port leaves a node whose activity needs one",
    "duplicate_edge": "the same edge twice",
    "duplicate_port": "two edges leave one node by the same port",
    "unreachable": "a node that execution can never reach from the start node",
    "duplicate_input": "two declared inputs have the same name",
    "input_conflict": "a declared input is also in variables (give its default in the input)",
    "input_default": "an input's default is not of its type, or a required input has one",
}

#: the port every node has: taken when the node fails
ERROR_PORT = "error"

_TEXT_TYPES = frozenset({"string", "text", "code", "condition", "variable", "choice"})


def _type_ok(param: Param, value: Any) -> bool:
    """Whether a value is of its param's type. Text with an expression is accepted for every
    type that is not text: ``"{count}"`` for an integer is resolved at run time."""
    kind = param.type
    if isinstance(value, str) and kind not in _TEXT_TYPES and has_expressions(value):
        return True
    if kind in ("string", "text", "code", "condition", "variable"):
        return isinstance(value, str)
    if kind == "choice":
        return isinstance(value, str) and (value in param.choices or has_expressions(value))
    if kind == "target":  # a selector, or the extension's object with at least a selector
        if isinstance(value, dict):
            return isinstance(value.get("selector"), str) and bool(value["selector"].strip())
        return isinstance(value, str)
    # integer, number, boolean, list, object, any: the same JSON types as a declared input's
    return type_ok(kind, value)


def _expected(param: Param) -> str:
    if param.type == "choice":
        return "one of " + ", ".join(repr(c) for c in param.choices)
    return {
        "string": "text",
        "text": "text",
        "code": "text (source code)",
        "condition": "a condition (text)",
        "variable": "a variable name",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "list": "a list",
        "object": "an object",
        "target": "a selector (text) or a target object with a 'selector'",
    }.get(param.type, param.type)


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a param value (dict values and list items, recursively)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _check_params(
    node_id: str, activity: Activity | None, params: Mapping[str, Any]
) -> list[Problem]:
    """A node's params: the required ones that are missing, then each given param in order,
    then a ``{{credential}}`` token with no credential to fill it. For a node of an unknown
    activity only what needs no param spec is checked (templates, ``output``, ``credential``)."""
    problems = _missing_params(node_id, activity, params) if activity is not None else []
    specs = {p.name: p for p in activity.params} if activity is not None else {}
    uses_secret = False
    for name, value in params.items():
        found, secret = _check_param(node_id, activity, specs.get(name), name, value)
        problems.extend(found)
        uses_secret = uses_secret or secret
    if uses_secret and not params.get(CREDENTIAL_PARAM):
        problems.append(
            Problem(
                "missing_credential",
                f"node {node_id!r} uses {{{{credential}}}} but has no 'credential' param "
                "naming a vault credential",
                node_id=node_id,
                param=CREDENTIAL_PARAM,
            )
        )
    return problems


def _missing_params(node_id: str, activity: Activity, params: Mapping[str, Any]) -> list[Problem]:
    """The required params that are absent, null, or empty text."""
    return [
        Problem(
            "missing_param",
            f"node {node_id!r} ({activity.type}): required param {spec.name!r} is missing",
            node_id=node_id,
            param=spec.name,
        )
        for spec in activity.params
        if spec.required and _is_empty(spec, params.get(spec.name))
    ]


def _is_empty(spec: Param, value: Any) -> bool:
    return value is None or (spec.type in _TEXT_TYPES | {"target"} and value == "")


def _check_param(
    node_id: str, activity: Activity | None, spec: Param | None, name: str, value: Any
) -> tuple[list[Problem], bool]:
    """The problems of one given param, by the first rule that applies to it; and whether it
    is text that uses the ``{{credential}}`` token."""
    if spec is None and name == CREDENTIAL_PARAM:
        return _check_credential(node_id, value), False
    if spec is None and activity is not None:
        known = ", ".join(sorted({p.name for p in activity.params})) or "none"
        message = f"node {node_id!r} ({activity.type}): unknown param {name!r} (params: {known})"
        return [Problem("unknown_param", message, node_id=node_id, param=name)], False
    return _check_value(node_id, spec, name, value)


def _check_value(
    node_id: str, spec: Param | None, name: str, value: Any
) -> tuple[list[Problem], bool]:
    """A param value against its spec (none: a node of an unknown activity): its type, then by
    type a variable name, a condition, source code (not checked) or templates."""
    if spec is not None and value is not None and not _type_ok(spec, value):
        return [_wrong_type(node_id, spec, name, value)], False
    kind = spec.type if spec is not None else "any"
    if (kind == "variable" or name == "output") and isinstance(value, str) and value != "":
        return _check_variable_name(node_id, name, value), False
    if kind == "condition" and isinstance(value, str):
        return _check_condition(node_id, name, value), False
    if kind == "code":
        return [], False  # source code is passed as is, never rendered
    texts = list(_strings(value))
    return _check_templates(node_id, name, texts), any(uses_credential(t) for t in texts)


def _wrong_type(node_id: str, spec: Param, name: str, value: Any) -> Problem:
    given = repr(value) if isinstance(value, str) else _describe(value)
    message = f"node {node_id!r}: param {name!r} must be {_expected(spec)}, not {given}"
    return Problem("param_type", message, node_id=node_id, param=name)


def _check_credential(node_id: str, value: Any) -> list[Problem]:
    """The ``credential`` param every node may have: the name of a vault credential."""
    if value is not None and not isinstance(value, str):
        message = f"node {node_id!r}: 'credential' must be a name (text)"
        return [Problem("param_type", message, node_id=node_id, param=CREDENTIAL_PARAM)]
    return _check_templates(node_id, CREDENTIAL_PARAM, [value] if value is not None else [])


def _check_variable_name(node_id: str, name: str, value: str) -> list[Problem]:
    """A param that names a variable (``output``, a loop's ``item``, ...)."""
    if is_identifier(value):
        return []
    message = (
        f"node {node_id!r}: {name} {value!r} is not a valid variable name "
        "(letters, digits and _, not starting with a digit or __)"
    )
    return [Problem("invalid_name", message, node_id=node_id, param=name)]


def _check_condition(node_id: str, name: str, condition: str) -> list[Problem]:
    return [
        Problem(
            "expression",
            f"node {node_id!r}: condition {name!r}: {msg}",
            node_id=node_id,
            param=name,
        )
        for msg in check_condition(condition)
    ]


def _check_templates(node_id: str, name: str, texts: list[str]) -> list[Problem]:
    """The syntax errors of the templates in one param's value."""
    return [
        Problem(
            "expression", f"node {node_id!r}: param {name!r}: {msg}", node_id=node_id, param=name
        )
        for text in texts
        for msg in check_template(text)
    ]


def _check_inputs(inputs: Any, variables: Any) -> list[Problem]:
    """Problems of the ``inputs`` declaration the schema cannot see."""
    problems: list[Problem] = []
    if not isinstance(inputs, list):
        return problems
    seen: set[str] = set()
    for index, decl in enumerate(inputs):
        if not isinstance(decl, Mapping) or not isinstance(decl.get("name"), str):
            continue  # reported by the schema
        name = decl["name"]
        path = f"/inputs/{index}"
        if re.match(VARIABLE_PATTERN, name) and not is_identifier(name):
            problems.append(
                Problem(
                    "invalid_name",
                    f"input {name!r} is not a valid name "
                    "(letters, digits and _, not starting with a digit or __)",
                    path=path,
                )
            )
        if name in seen:
            problems.append(
                Problem("duplicate_input", f"input {name!r} is declared twice", path=path)
            )
        seen.add(name)
        if isinstance(variables, Mapping) and name in variables:
            problems.append(
                Problem(
                    "input_conflict",
                    f"input {name!r} is also in variables; remove it there and give its "
                    "default in the input's declaration",
                    path=path,
                )
            )
        kind = decl.get("type", "any")
        if "default" in decl and isinstance(kind, str) and kind in INPUT_TYPES:
            if decl.get("required") is True:
                problems.append(
                    Problem(
                        "input_default",
                        f"input {name!r} is required, so it cannot have a default",
                        path=path + "/default",
                    )
                )
            elif not type_ok(kind, decl["default"]):
                problems.append(
                    Problem(
                        "input_default",
                        f"input {name!r}: the default must be {INPUT_TYPES[kind]}",
                        path=path + "/default",
                    )
                )
    return problems


def validate(doc: Any) -> list[Problem]:
    """Every problem of a graph document (empty list: the graph is valid).

    The checks run in this order, and so do their problems: the schema, the format, the
    variables and declared inputs, then each node (its id, its activity type, its params), each
    edge (its ends, duplicates, its port), and last the start node and what it reaches.
    """
    problems = schema_problems(doc)
    if not isinstance(doc, Mapping):
        return problems
    problems.extend(_check_format(doc.get("format")))
    variables = doc.get("variables")
    problems.extend(_check_variables(variables))
    problems.extend(_check_inputs(doc.get("inputs"), variables))
    raw_nodes = doc.get("nodes")
    node_problems, nodes = _check_nodes(raw_nodes)
    problems.extend(node_problems)
    edge_problems, adjacency = _check_edges(doc.get("edges"), nodes)
    problems.extend(edge_problems)
    if isinstance(raw_nodes, list):
        schema_reported = any(p.code == "schema" for p in problems)
        problems.extend(_check_start(adjacency, schema_reported))
    return problems


def _check_format(fmt: Any) -> list[Problem]:
    """A format the schema accepts (an integer) but this version does not know."""
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt != FORMAT:
        return [Problem("format", f"unsupported graph format {fmt}; expected {FORMAT}")]
    return []


def _check_variables(variables: Any) -> list[Problem]:
    """Variable names the schema's pattern lets through: dunders and a trailing newline (JSON
    Schema's "$" is Python's "$", which allows one)."""
    if not isinstance(variables, Mapping):
        return []
    return [
        Problem(
            "invalid_name",
            f"variable {name!r} is not a valid name "
            "(letters, digits and _, not starting with a digit or __)",
        )
        for name in variables
        if isinstance(name, str) and re.match(VARIABLE_PATTERN, name) and not is_identifier(name)
    ]


#: a node's activity by node id, in the order the nodes are listed (None: unknown type)
_Nodes = dict[str, Activity | None]


def _check_nodes(raw_nodes: Any) -> tuple[list[Problem], _Nodes]:
    """Each node's id, activity type and params, node after node; and the nodes by id (the
    first of two with one id; nodes the schema refuses for their id are left out)."""
    problems: list[Problem] = []
    nodes: _Nodes = {}
    for raw in raw_nodes if isinstance(raw_nodes, list) else []:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            continue  # reported by the schema
        node_id = raw["id"]
        problems.extend(_check_node_id(node_id))
        if node_id in nodes:
            problems.append(
                Problem("duplicate_node", f"node id {node_id!r} is used twice", node_id=node_id)
            )
            continue
        activity, unknown = _node_activity(node_id, raw.get("type"))
        problems.extend(unknown)
        nodes[node_id] = activity
        params = raw.get("params", {})
        if isinstance(params, Mapping):
            problems.extend(_check_params(node_id, activity, params))
    return problems, nodes


def _check_node_id(node_id: str) -> list[Problem]:
    """An id the schema's pattern lets through only for its trailing newline."""
    if re.match(NODE_ID_PATTERN, node_id) and not re.fullmatch(NODE_ID_PATTERN[:-1], node_id):
        return [
            Problem(
                "schema",
                f"node id {node_id!r} must be letters, digits and _ . : - only",
                node_id=node_id,
            )
        ]
    return []


def _node_activity(node_id: str, node_type: Any) -> tuple[Activity | None, list[Problem]]:
    """The catalog's activity for a node's type (None when there is none: a type that is not
    text is the schema's to report, an unknown one is reported here)."""
    if not isinstance(node_type, str):
        return None, []
    try:
        return catalog.get(node_type), []
    except catalog.UnknownActivity:
        return None, [
            Problem(
                "unknown_type",
                f"node {node_id!r}: unknown activity type {node_type!r}",
                node_id=node_id,
            )
        ]


#: the nodes each node's edges lead to, for every known node (edges to unknown nodes left out)
_Adjacency = dict[str, list[str]]


def _check_edges(raw_edges: Any, nodes: _Nodes) -> tuple[list[Problem], _Adjacency]:
    """Each edge's ends, duplicates and port, edge after edge; and where the edges lead."""
    problems: list[Problem] = []
    seen: set[tuple[str, str, str | None]] = set()
    port_targets: dict[tuple[str, str | None], str] = {}
    adjacency: _Adjacency = {n: [] for n in nodes}
    for edge in _edges(raw_edges):
        source, target, port = edge["from"], edge["to"], edge["port"]
        dangling = _dangling_ends(edge, nodes)
        problems.extend(dangling)
        if (source, target, port) in seen:
            problems.append(_duplicate_edge(edge))
            continue
        seen.add((source, target, port))
        if dangling:
            continue
        adjacency[source].append(target)
        previous = port_targets.setdefault((source, port), target)
        if previous != target:
            problems.append(_duplicate_port(edge, previous))
        problems.extend(_check_port(edge, nodes[source]))
    return problems, adjacency


def _edges(raw_edges: Any) -> Iterator[dict[str, Any]]:
    """The edges whose ends are text and whose port is text or absent, as the
    ``{"index", "from", "to", "port"}`` a problem names (the schema reports the others)."""
    for index, raw in enumerate(raw_edges if isinstance(raw_edges, list) else []):
        if not isinstance(raw, Mapping):
            continue
        source, target, port = raw.get("from"), raw.get("to"), raw.get("port")
        if not isinstance(source, str) or not isinstance(target, str):
            continue
        if port is not None and not isinstance(port, str):
            continue
        yield {"index": index, "from": source, "to": target, "port": port}


def _dangling_ends(edge: dict[str, Any], nodes: _Nodes) -> list[Problem]:
    """One problem for each end of an edge that is not a node."""
    index, source, target = edge["index"], edge["from"], edge["to"]
    return [
        Problem(
            "dangling_edge",
            f"edge {index} ({source} -> {target}): '{end}' node {name!r} does not exist",
            edge=edge,
        )
        for end, name in (("from", source), ("to", target))
        if name not in nodes
    ]


def _duplicate_edge(edge: dict[str, Any]) -> Problem:
    port = edge["port"]
    return Problem(
        "duplicate_edge",
        f"edge {edge['index']} ({edge['from']} -> {edge['to']}"
        f"{f', port {port}' if port else ''}) appears twice",
        node_id=edge["from"],
        edge=edge,
    )


def _duplicate_port(edge: dict[str, Any], previous: str) -> Problem:
    source, port = edge["from"], edge["port"]
    via = f"port {port!r}" if port else "the default (no) port"
    return Problem(
        "duplicate_port",
        f"node {source!r} has two edges leaving by {via} (to {previous!r} and "
        f"{edge['to']!r}); each port leads to one node",
        node_id=source,
        edge=edge,
    )


def _check_port(edge: dict[str, Any], activity: Activity | None) -> list[Problem]:
    """An edge's port against its source node's activity: a branching node's edges need one
    of its ports, a plain node's edges none (every node has the error port)."""
    index, source, port = edge["index"], edge["from"], edge["port"]
    if activity is None or port == ERROR_PORT:
        return []
    named = list(activity.ports)
    if port is None and (named or activity.dynamic_ports):
        wanted = ", ".join(named) if named else "a case value or 'default'"
        return [
            Problem(
                "missing_port",
                f"edge {index} from {source!r} ({activity.type}) needs a port: {wanted}",
                node_id=source,
                edge=edge,
            )
        ]
    if port is not None and not activity.dynamic_ports and port not in named:
        allowed = ", ".join([*named, ERROR_PORT]) if named else f"none besides {ERROR_PORT!r}"
        return [
            Problem(
                "unknown_port",
                f"edge {index}: {activity.type} node {source!r} has no port {port!r} "
                f"(ports: {allowed})",
                node_id=source,
                edge=edge,
            )
        ]
    return []


def _check_start(adjacency: _Adjacency, schema_reported: bool) -> list[Problem]:
    """Exactly one node without an incoming edge, and every node reachable from it. A graph
    without nodes has no start, which goes without saying when the schema refused them."""
    if not adjacency:
        return [] if schema_reported else [Problem("no_start", "the workflow has no nodes")]
    has_incoming = {target for targets in adjacency.values() for target in targets}
    starts = [n for n in adjacency if n not in has_incoming]
    if not starts:
        return [
            Problem(
                "no_start",
                "every node has an incoming edge; execution begins at the one node without one",
            )
        ]
    if len(starts) > 1:
        return [
            Problem(
                "multiple_starts",
                f"node {node_id!r} has no incoming edge, and neither do "
                f"{', '.join(repr(s) for s in starts if s != node_id)}; "
                "exactly one start node is allowed",
                node_id=node_id,
            )
            for node_id in starts
        ]
    return _check_reachable(starts[0], adjacency)


def _check_reachable(start: str, adjacency: _Adjacency) -> list[Problem]:
    """The nodes a breadth-first walk from the start node never reaches, in node order."""
    reached = {start}
    queue = deque([start])
    while queue:
        for nxt in adjacency[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    return [
        Problem(
            "unreachable",
            f"node {node_id!r} cannot be reached from the start node {start!r}",
            node_id=node_id,
        )
        for node_id in adjacency
        if node_id not in reached
    ]


def ensure_valid(doc: Any) -> Graph:
    """The :class:`Graph` of a valid document; raises :class:`InvalidGraph` otherwise."""
    problems = validate(doc)
    if problems:
        raise InvalidGraph(problems)
    return Graph._build(doc)
