"""Scripts: Python and JavaScript (Node.js) code run in a child process."""

from __future__ import annotations

from . import Activity, Param, category, register

category("script", "Scripting")

register(
    Activity(
        type="script.python",
        title="Python script",
        description=(
            "Run Python code in a separate process. The names in `inputs` are variables of the "
            "code (from JSON); whatever the code assigns to `result` (JSON-serialisable) goes "
            "into `output`. print() output appears in the execution log."
        ),
        params=(
            Param("code", "code", required=True),
            Param("inputs", "object", description="names visible to the code"),
            Param("timeout", "number", default=300, description="seconds"),
            Param("output", "variable", description="variable for `result`"),
        ),
        output="any",
    ),
    Activity(
        type="script.javascript",
        title="JavaScript script",
        description=(
            "Run JavaScript with Node.js in a separate process. The names in `inputs` are "
            "variables of the code; the value assigned to `result` goes into `output` (the "
            "code may `await`). console.log() output appears in the execution log."
        ),
        params=(
            Param("code", "code", required=True),
            Param("inputs", "object", description="names visible to the code"),
            Param("timeout", "number", default=300, description="seconds"),
            Param("output", "variable", description="variable for `result`"),
        ),
        output="any",
    ),
)
