"""Logic, loops, flow, variables and logging: the control-flow core of every workflow.

Control-flow activities choose an outgoing port (``true``/``false``, a case value or
``default``, ``body``/``done``); the runner's engine interprets them. ``loop.break`` and
``loop.continue`` act on the innermost loop whose body is running.
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("logic", "Logic")
category("loop", "Loops")
category("flow", "Flow")
category("variable", "Variables")
category("log", "Logging")

LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_MAX_ITERATIONS = 10_000

register(
    Activity(
        type="logic.if",
        title="If",
        description="Evaluate a condition and continue on the `true` or the `false` port.",
        params=(Param("condition", "condition", required=True, description="e.g. len(order) > 0"),),
        ports=("true", "false"),
    ),
    Activity(
        type="logic.switch",
        title="Switch",
        description=(
            "Compare a value with the case values written on the outgoing edges' ports and "
            "continue on the matching one, or on `default` when none matches."
        ),
        params=(
            Param(
                "value",
                "any",
                required=True,
                description="the value to compare, e.g. {status}; cases compare as text",
            ),
        ),
        ports=("default",),
        dynamic_ports=True,
    ),
    Activity(
        type="loop.for_each",
        title="For each",
        description=(
            "Run the chain on the `body` port once per element of a list, with the element in "
            "the `item` variable; then continue on `done`."
        ),
        params=(
            Param("items", "list", required=True, description="the list, e.g. {rows}"),
            Param("item", "variable", required=True, description="variable for the element"),
            Param("index", "variable", description="variable for the element's 0-based index"),
        ),
        ports=("body", "done"),
    ),
    Activity(
        type="loop.while",
        title="While",
        description=(
            "Run the chain on the `body` port as long as the condition holds (checked before "
            "each round); then continue on `done`. Fails after max_iterations rounds."
        ),
        params=(
            Param("condition", "condition", required=True),
            Param(
                "max_iterations",
                "integer",
                default=DEFAULT_MAX_ITERATIONS,
                description="safety limit; exceeding it fails the node",
            ),
        ),
        ports=("body", "done"),
    ),
    Activity(
        type="loop.do_while",
        title="Do while",
        description=(
            "Run the chain on the `body` port once, then again as long as the condition holds "
            "(checked after each round); then continue on `done`."
        ),
        params=(
            Param("condition", "condition", required=True),
            Param("max_iterations", "integer", default=DEFAULT_MAX_ITERATIONS),
        ),
        ports=("body", "done"),
    ),
    Activity(
        type="loop.break",
        title="Break",
        description="Leave the innermost running loop; execution continues on its `done` port.",
    ),
    Activity(
        type="loop.continue",
        title="Continue",
        description="End the current round of the innermost running loop and start the next.",
    ),
    Activity(
        type="flow.delay",
        title="Delay",
        description="Wait a number of seconds (a stop request ends the wait at once).",
        params=(Param("seconds", "number", required=True),),
    ),
    Activity(
        type="variable.set",
        title="Set variable",
        description="Store a value (text, number, list, object, or an {expression}) in a variable.",
        params=(
            Param("name", "variable", required=True),
            Param("value", "any", required=True),
        ),
    ),
    Activity(
        type="log.write",
        title="Write log",
        description="Write a line to the execution log.",
        params=(
            Param("message", "text", required=True),
            Param("level", "choice", default="info", choices=LOG_LEVELS),
        ),
    ),
)
