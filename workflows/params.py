"""Turning a node's written params into the values an activity receives.

The runner's engine calls :func:`resolve_params` for each node it executes (a test pins that).
Rules (the same ones the validator checks at save time):

* ``string``/``text``/``list``/``object``/``any``/numbers/... are rendered as templates
  (:func:`workflows.expressions.render`, recursively, with ``{{credential}}`` → the secret);
* ``condition`` params stay as written — the engine evaluates them with
  :func:`workflows.expressions.evaluate` each time they are checked;
* ``variable`` params (``output``, ``item``, ``name``, ...) stay as written: they are names;
* ``code`` params stay as written: source code is full of braces and receives values through
  its ``inputs`` param instead;
* the ``credential`` param (any node may have it, most activities that log in declare it) is a
  vault name: rendered, but never with the secret itself;
* then defaults from the catalog fill the params the node leaves out (copies: an activity
  that changes its list never changes the catalog);
* an activity the catalog does not describe (``activity=None``: one only a runner knows) has
  every param rendered, the credential param again without the secret, and no defaults.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from . import catalog
from .catalog import Activity
from .expressions import render

__all__ = ["CREDENTIAL_PARAM", "RAW_PARAM_TYPES", "resolve_params"]

CREDENTIAL_PARAM = "credential"
#: param types passed to the activity exactly as written
RAW_PARAM_TYPES = frozenset({"condition", "variable", "code"})


def resolve_params(
    activity: Activity | str | None,
    params: Mapping[str, Any],
    variables: Mapping[str, Any],
    *,
    credential: str | None = None,
) -> dict[str, Any]:
    """The params of one node with templates rendered and defaults filled in.

    The written params come first, in the node's order, then the defaults. Raises
    :class:`workflows.expressions.ExpressionError` (undefined variable, missing path,
    ``{{credential}}`` without a credential) and, for a type name the catalog does not know,
    :class:`workflows.catalog.UnknownActivity`.
    """
    act = catalog.get(activity) if isinstance(activity, str) else activity
    out: dict[str, Any] = {}
    for name, value in params.items():
        spec = act.param(name) if act is not None else None
        if spec is not None and spec.type in RAW_PARAM_TYPES:
            out[name] = value
        elif name == CREDENTIAL_PARAM:
            out[name] = render(value, variables)  # a vault name, possibly "{which_login}"
        else:
            out[name] = render(value, variables, credential=credential)
    if act is not None:
        for declared in act.params:
            if declared.name not in out and declared.default is not None:
                out[declared.name] = copy.deepcopy(declared.default)
    return out
