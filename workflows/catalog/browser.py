"""Browser automation (Playwright on the runner): sessions, page actions, reading pages.

A ``target`` param is a Playwright selector string or the extension's target object
(WORKFLOW_FORMAT.md "Targets"). Every action auto-waits for its element to be attached,
visible, stable and enabled; no sleeps are needed.
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("browser", "Browser")

SESSION = Param(
    "session",
    "string",
    description="name of the browser session (default: the only one open, or 'default')",
)
TARGET = Param("target", "target", required=True, description="the element (selector or target)")
OUTPUT = Param("output", "variable", description="variable for the result")
STATES = ("visible", "hidden", "attached", "detached")
BUTTONS = ("left", "right", "middle")
NAV_ACTIONS = ("goto", "back", "forward", "reload")


def _act(type_: str, title: str, description: str, *params: Param, output: str | None = None):
    return Activity(
        type=type_,
        title=title,
        description=description,
        params=(*params, SESSION, *((OUTPUT,) if output else ())),
        output=output,
    )


register(
    _act(
        "browser.open",
        "Open browser",
        "Start a browser (Chromium through Playwright; Chrome or Edge by `channel`) and open "
        "`url`. Later browser nodes of the execution use this session; it is closed when the "
        "execution ends, however it ends. `trace: true` records a Playwright trace that is "
        "kept as an artifact when a node fails and when the session closes.",
        Param("url", "string", description="page to open (default: a blank page)"),
        Param("headless", "boolean", description="no window (default: the runner setting)"),
        Param("channel", "choice", choices=("chromium", "chrome", "msedge"), description=""),
        Param("viewport", "object", description='{"width": 1280, "height": 800}'),
        Param("user_data_dir", "string", description="a persistent profile folder"),
        Param("trace", "boolean", default=False, description="record a Playwright trace"),
        output="object",
    ),
    _act(
        "browser.navigate",
        "Navigate",
        "Go to `url`, or back, forward or reload. Output: {url, title, status}.",
        Param("url", "string", description="the address (for action goto)"),
        Param("action", "choice", default="goto", choices=NAV_ACTIONS),
        output="object",
    ),
    _act(
        "browser.click",
        "Click",
        "Click an element once it is visible, stable and enabled.",
        TARGET,
        Param("button", "choice", default="left", choices=BUTTONS),
        Param("double", "boolean", default=False, description="double-click"),
        Param("modifiers", "list", description='keys held down: ["Shift", "Control", ...]'),
    ),
    _act(
        "browser.type",
        "Type text",
        "Fill a field with `text` (`{{credential}}` types the vault secret, never logged). "
        "`clear: false` appends instead of replacing.",
        TARGET,
        Param("text", "string", required=True),
        Param("clear", "boolean", default=True),
        Param("press_enter", "boolean", default=False),
    ),
    _act(
        "browser.select",
        "Select option",
        "Choose an option of a <select> by `value` or by `label` (a list chooses several). "
        "Output: the selected values.",
        TARGET,
        Param("value", "any", description="option value(s)"),
        Param("label", "any", description="option label(s)"),
        output="list",
    ),
    _act(
        "browser.check",
        "Check",
        "Tick (or with `checked: false` untick) a checkbox or radio button.",
        TARGET,
        Param("checked", "boolean", default=True),
    ),
    _act("browser.hover", "Hover", "Move the mouse over an element.", TARGET),
    _act(
        "browser.press_key",
        "Press key",
        "Press a key or chord (Enter, Tab, Control+A, ...) on `target` or the focused element.",
        Param("key", "string", required=True),
        Param("target", "target", description="element to focus first"),
    ),
    _act(
        "browser.get_text",
        "Get text",
        "The element's visible text (a field's value for inputs) into `output`.",
        TARGET,
        output="string",
    ),
    _act(
        "browser.get_attribute",
        "Get attribute",
        "An attribute of the element (null when it has none) into `output`.",
        TARGET,
        Param("name", "string", required=True, description="attribute name"),
        output="string",
    ),
    _act(
        "browser.wait_for",
        "Wait for",
        "Wait until `target` is in `state`, or until the page's address matches `url` (a glob "
        "such as **/done, or a regular expression written /like this/).",
        Param("target", "target"),
        Param("state", "choice", default="visible", choices=STATES),
        Param("url", "string", description="URL pattern"),
        Param("timeout", "number", description="seconds (default: the runner setting)"),
    ),
    _act(
        "browser.screenshot",
        "Screenshot",
        "A PNG of the page (or `full_page`, or one `target` element), saved to `path` or, "
        "without one, kept as an execution artifact. Password fields are masked.",
        Param("target", "target", description="one element instead of the page"),
        Param("full_page", "boolean", default=False),
        Param("path", "string", description="file to write (default: an artifact)"),
        Param("name", "string", description="artifact name (default: <node>.png)"),
        output="object",
    ),
    _act(
        "browser.extract_table",
        "Extract table",
        "Read a table (HTML <table>, ARIA table/grid, or div rows) into a list of row objects "
        "keyed by its header. `row_selector` and `columns` ({header, selector} per column, "
        "as the extension records them) read any repeated structure; `next` pages through.",
        Param("target", "target", description="the table (default: the first on the page)"),
        Param("row_selector", "string", description="rows inside the table"),
        Param("columns", "list", description='[{"header": "Name", "selector": "td:nth-child(1)"}]'),
        Param("header", "choice", default="auto", choices=("auto", "first_row", "none")),
        Param("next", "target", description='the "next page" control'),
        Param("max_pages", "integer", default=50),
        output="list",
    ),
    _act(
        "browser.execute_js",
        "Run JavaScript",
        "Run `script` in the page as the body of an async function of `args` (and `element` "
        "when a target is given); what it returns goes into `output`.",
        Param("script", "code", required=True),
        Param("args", "any", description="a JSON value the script sees as `args`"),
        Param("target", "target", description="an element the script sees as `element`"),
        output="any",
    ),
    _act(
        "browser.switch_tab",
        "Switch tab",
        "Make another tab current: by `index`, by `title` or `url` (substring), or the newest "
        "(a popup the last click opened). Waits for it to appear.",
        Param("index", "integer"),
        Param("title", "string"),
        Param("url", "string"),
        Param("newest", "boolean", default=False),
        output="object",
    ),
    _act(
        "browser.switch_frame",
        "Switch frame",
        "Later nodes work inside the iframe `target` (relative to the current frame); "
        "`top: true` goes back to the page itself.",
        Param("target", "target", description="the <iframe> element"),
        Param("top", "boolean", default=False),
    ),
    _act(
        "browser.upload",
        "Upload files",
        "Put files into a file input.",
        TARGET,
        Param("files", "any", required=True, description="a path or a list of paths"),
    ),
    _act(
        "browser.download",
        "Download",
        "Click `target` and save the download it starts; the saved path goes into `output`.",
        TARGET,
        Param("path", "string", description="file or folder (default: the downloads folder)"),
        Param("artifact", "boolean", default=False, description="also keep it as an artifact"),
        output="string",
    ),
    _act("browser.close", "Close browser", "Close the browser session now."),
)
