"""Text: replace, split, join, trim, change case, build from a template, regular expressions.

Every text activity stores its result in the variable named by ``output``. Regular expressions
use Python's ``re`` syntax.
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("text", "Text")

#: how the regex activities describe their pattern (RE2 runs it: linear time)
PATTERN_HELP = "a regular expression in RE2 syntax (linear time; no backreferences or lookaround)"
CASES = ("lower", "upper", "title", "capitalize")
TRIM_SIDES = ("both", "start", "end")


def _text(name: str = "text") -> Param:
    return Param(name, "text", required=True, description="the input text")


def _output(what: str) -> Param:
    return Param("output", "variable", required=True, description=f"variable for {what}")


def _ignore_case() -> Param:
    return Param("ignore_case", "boolean", default=False)


register(
    Activity(
        type="text.replace",
        title="Replace text",
        description="Replace every occurrence of `old` with `new` (plain text, no patterns).",
        params=(
            _text(),
            Param("old", "string", required=True),
            Param("new", "string", default=""),
            Param("count", "integer", description="replace at most this many (default: all)"),
            _output("the new text"),
        ),
        output="string",
    ),
    Activity(
        type="text.split",
        title="Split text",
        description="Split text into a list at a separator (default: any whitespace).",
        params=(
            _text(),
            Param("separator", "string", description="default: runs of whitespace"),
            Param("max_split", "integer", description="split at most this many times"),
            _output("the list of parts"),
        ),
        output="list",
    ),
    Activity(
        type="text.join",
        title="Join text",
        description="Join the elements of a list into one text, with a separator between them.",
        params=(
            Param("items", "list", required=True, description="e.g. {names}"),
            Param("separator", "string", default=""),
            _output("the joined text"),
        ),
        output="string",
    ),
    Activity(
        type="text.trim",
        title="Trim text",
        description="Remove whitespace (or the given characters) from the start and/or end.",
        params=(
            _text(),
            Param("characters", "string", description="characters to remove (default: space)"),
            Param("side", "choice", default="both", choices=TRIM_SIDES),
            _output("the trimmed text"),
        ),
        output="string",
    ),
    Activity(
        type="text.case",
        title="Change case",
        description="Convert text to lower case, UPPER CASE, Title Case or Capitalized.",
        params=(
            _text(),
            Param("case", "choice", required=True, choices=CASES),
            _output("the converted text"),
        ),
        output="string",
    ),
    Activity(
        type="text.format",
        title="Format text",
        description=(
            "Build text from a template: each {expression} is replaced by the variable's value "
            "(lists and objects as JSON). With `format` (a Python format spec such as `.2f`, "
            "`>10` or `,`) a single value is formatted instead: the template is that value."
        ),
        params=(
            Param("template", "text", required=True, description="e.g. Order {id} for {name}"),
            Param("format", "string", description="format spec for a single value, e.g. .2f"),
            _output("the text"),
        ),
        output="string",
    ),
    Activity(
        type="text.regex_match",
        title="Regex match",
        description=(
            "Whether a regular expression matches the text (anywhere, or the whole text with "
            "`full`): true or false."
        ),
        params=(
            _text(),
            Param("pattern", "string", required=True, description=PATTERN_HELP),
            Param("full", "boolean", default=False, description="the whole text must match"),
            _ignore_case(),
            _output("true or false"),
        ),
        output="boolean",
    ),
    Activity(
        type="text.regex_replace",
        title="Regex replace",
        description="Replace the matches of a regular expression (`\\1` or `\\g<name>` refer to "
        "groups).",
        params=(
            _text(),
            Param("pattern", "string", required=True, description=PATTERN_HELP),
            Param("replacement", "string", default=""),
            Param("count", "integer", description="replace at most this many (default: all)"),
            _ignore_case(),
            _output("the new text"),
        ),
        output="string",
    ),
    Activity(
        type="text.regex_extract",
        title="Regex extract",
        description=(
            "Extract the matches of a regular expression: a list of every match (with `all`, "
            "the default) or the first match (null when none). With `group` (a number or "
            "name) that group is taken instead of the whole match."
        ),
        params=(
            _text(),
            Param("pattern", "string", required=True, description=PATTERN_HELP),
            Param("group", "any", description="group number or name (default: whole match)"),
            Param("all", "boolean", default=True),
            _ignore_case(),
            _output("the matches"),
        ),
        output="list",
    ),
)
