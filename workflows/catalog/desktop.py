"""Desktop automation: mouse, keyboard, screen images, clipboard and applications (pyautogui)."""

from __future__ import annotations

from . import Activity, Param, category, register

category("desktop", "Desktop")

BUTTONS = ("left", "right", "middle")
IMAGE_STATES = ("appear", "vanish")
TYPE_METHODS = ("keys", "paste")

_TARGET = (
    Param("x", "number", description="screen x (with y); or give image"),
    Param("y", "number", description="screen y"),
    Param("image", "string", description="PNG of what to click, found on the screen"),
    Param(
        "confidence", "number", default=0.9, description="0–1: how exact the image match must be"
    ),
    Param("grayscale", "boolean", default=False, description="match ignoring colour (faster)"),
    Param("region", "any", description="search only [left, top, width, height]"),
    Param("timeout", "number", default=10, description="seconds to wait for the image"),
    Param("offset_x", "number", default=0, description="from the image's centre"),
    Param("offset_y", "number", default=0),
)

_LOCATION = "object"


def _click(type_: str, title: str, description: str, *extra: Param) -> Activity:
    return Activity(
        type=type_,
        title=title,
        description=description
        + " Give a point (`x`, `y`) or an `image` to find on the screen; the output is the "
        "point clicked {x, y}.",
        params=(*_TARGET, *extra, Param("output", "variable", description="the point clicked")),
        output=_LOCATION,
    )


register(
    _click(
        "desktop.click",
        "Click",
        "Click with a mouse button.",
        Param("button", "choice", default="left", choices=BUTTONS),
        Param("clicks", "integer", default=1),
    ),
    _click("desktop.double_click", "Double-click", "Double-click with the left button."),
    _click("desktop.right_click", "Right-click", "Click with the right button."),
    Activity(
        type="desktop.move",
        title="Move the mouse",
        description="Move the pointer to a point or onto an image found on the screen.",
        params=(
            *_TARGET,
            Param("duration", "number", default=0, description="seconds the move takes"),
            Param("output", "variable", description="the point"),
        ),
        output=_LOCATION,
    ),
    Activity(
        type="desktop.drag",
        title="Drag",
        description="Press a button at one point, move to another and release.",
        params=(
            Param("x", "number", required=True),
            Param("y", "number", required=True),
            Param("to_x", "number", required=True),
            Param("to_y", "number", required=True),
            Param("button", "choice", default="left", choices=BUTTONS),
            Param("duration", "number", default=0.3, description="seconds"),
        ),
    ),
    Activity(
        type="desktop.type",
        title="Type text",
        description=(
            "Type text into the focused window. `keys` types it key by key (characters on "
            "the keyboard layout); `paste` puts it on the clipboard and presses Ctrl+V "
            "(any text, e.g. accents or other scripts; the clipboard is restored, but a "
            "clipboard manager may keep what passed through it). Use "
            "`{{credential}}` with a `credential` to type a password: it never reaches the "
            "log."
        ),
        params=(
            Param("text", "text", required=True),
            Param("method", "choice", default="keys", choices=TYPE_METHODS),
            Param("interval", "number", default=0, description="seconds between keys"),
            Param("credential", "string", description="vault credential for {{credential}}"),
        ),
    ),
    Activity(
        type="desktop.press",
        title="Press keys",
        description=(
            "Press keys one after the other: one key name or a list (`enter`, `tab`, `esc`, "
            "`f5`, `a`, ...), each `presses` times."
        ),
        params=(
            Param("keys", "any", required=True),
            Param("presses", "integer", default=1),
            Param("interval", "number", default=0, description="seconds between presses"),
        ),
    ),
    Activity(
        type="desktop.hotkey",
        title="Hotkey",
        description="Hold keys down together and release them: `ctrl+s` or a list.",
        params=(Param("keys", "any", required=True),),
    ),
    Activity(
        type="desktop.screenshot",
        title="Screenshot",
        description=(
            "Take a PNG of the screen or a `region`: saved to `path` and/or kept as an "
            "artifact of the execution. The output is {path, width, height, artifact}."
        ),
        params=(
            Param("path", "string", description="PNG file to write"),
            Param("region", "any", description="[left, top, width, height]"),
            Param("artifact", "boolean", default=True, description="keep it with the execution"),
            Param("name", "string", default="screenshot.png", description="artifact name"),
            Param("output", "variable"),
        ),
        output="object",
    ),
    Activity(
        type="desktop.locate",
        title="Find an image",
        description=(
            "Find an image on the screen: {x, y (centre), left, top, width, height}, or null "
            "when it is not there (within `timeout` seconds; 0 looks once)."
        ),
        params=(
            Param("image", "string", required=True),
            Param("confidence", "number", default=0.9),
            Param("grayscale", "boolean", default=False),
            Param("region", "any", description="[left, top, width, height]"),
            Param("timeout", "number", default=0, description="seconds to keep looking"),
            Param("output", "variable"),
        ),
        output="object",
    ),
    Activity(
        type="desktop.wait_image",
        title="Wait for an image",
        description=(
            "Wait until an image appears on the screen (output: where) or vanishes from it "
            "(output: null); fails after `timeout` seconds."
        ),
        params=(
            Param("image", "string", required=True),
            Param("state", "choice", default="appear", choices=IMAGE_STATES),
            Param("timeout", "number", default=30),
            Param("confidence", "number", default=0.9),
            Param("grayscale", "boolean", default=False),
            Param("region", "any", description="[left, top, width, height]"),
            Param("output", "variable"),
        ),
        output="object",
    ),
    Activity(
        type="desktop.get_clipboard",
        title="Read the clipboard",
        description="The clipboard's text (xclip or xsel on Linux).",
        params=(Param("output", "variable", description="variable for the text"),),
        output="string",
    ),
    Activity(
        type="desktop.set_clipboard",
        title="Write the clipboard",
        description="Put text on the clipboard.",
        params=(Param("text", "text", required=True),),
    ),
    Activity(
        type="desktop.launch",
        title="Launch an application",
        description=(
            "Start a program (a command line, or a list: program and arguments; no shell) "
            "and, with `window`, wait until a window whose title contains it is shown. The "
            "program is closed when the execution ends unless `keep_running`. The output is "
            "{pid, window: {title, left, top, width, height} or null}."
        ),
        params=(
            Param("command", "any", required=True),
            Param("working_folder", "string"),
            Param("window", "string", description="title (part) of the window to wait for"),
            Param("timeout", "number", default=30, description="seconds to wait for it"),
            Param("keep_running", "boolean", default=False),
            Param("output", "variable"),
        ),
        output="object",
    ),
)
