"""``desktop.*`` with pyautogui (mouse, keyboard), Pillow's ImageGrab (screenshots, straight
from X11 on Linux — no scrot needed), pyscreeze + OpenCV (finding an image with a
confidence), pyperclip (clipboard; xclip/xsel on Linux) and python-xlib / pygetwindow
(windows).

pyautogui connects to the display when it is imported, so it is imported on first use, and a
runner without a display gets a clear node error instead of an import traceback. The GUI is one
shared thing: actions hold one lock.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from workflows.catalog.desktop import BUTTONS, IMAGE_STATES, TYPE_METHODS

from . import _fs as fs
from .base import ActivityError, Context, activity, boolean, integer, number, text

_LOCK = threading.RLock()
_STATE: dict[str, Any] = {}


def _no_display() -> str | None:
    """Why there is no usable display, or None."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DISPLAY"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return (
            "no X display: this is a Wayland session without XWayland's DISPLAY; desktop "
            "activities need an X11 session (or XWayland)"
        )
    return (
        "no display: desktop activities need a graphical session and DISPLAY is not set "
        "(run the runner inside the user's desktop session, or under Xvfb)"
    )


def gui() -> Any:
    """The pyautogui module, imported on first use for the current display."""
    reason = _no_display()
    if reason:
        raise ActivityError(reason)
    display = os.environ.get("DISPLAY", "")
    with _LOCK:
        if "pyautogui" in _STATE:
            if _STATE["display"] != display:
                raise ActivityError(
                    f"the display changed from {_STATE['display']} to {display} since the "
                    "first desktop activity; restart the runner"
                )
            return _STATE["pyautogui"]
        try:
            import pyautogui
        except Exception as exc:  # noqa: BLE001 - Xlib raises its own tree at import time
            raise ActivityError(_display_error(display, exc)) from None
        pyautogui.PAUSE = 0.05
        pyautogui.FAILSAFE = True
        _STATE.update(pyautogui=pyautogui, display=display)
        return pyautogui


def _display_error(display: str, exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "XauthError":
        return (
            f"cannot open the display {display}: no X authority file (set XAUTHORITY to the "
            "session's .Xauthority)"
        )
    if name in ("DisplayConnectionError", "DisplayNameError", "ConnectionRefusedError"):
        return f"cannot open the display {display}: {exc}"
    return f"cannot start desktop automation on display {display}: {name}: {exc}"


@contextmanager
def _acting(what: str) -> Iterator[Any]:
    """pyautogui, with its exceptions turned into node errors."""
    pg = gui()
    with _LOCK:
        try:
            yield pg
        except pg.FailSafeException:
            raise ActivityError(
                f"{what} stopped by the fail-safe: the mouse is in a corner of the screen "
                "(moving it there aborts desktop automation)"
            ) from None


# ---------------------------------------------------------------------------------------------
# Screen images


def _region(params: dict[str, Any]) -> tuple[int, int, int, int] | None:
    value = params.get("region")
    if value in (None, "", []):
        return None
    if isinstance(value, dict):
        value = [value.get(k) for k in ("left", "top", "width", "height")]
    if (
        not isinstance(value, list | tuple)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ActivityError(
            f"param 'region' must be [left, top, width, height] (numbers), got {value!r}"
        )
    left, top, width, height = (int(v) for v in value)
    if width <= 0 or height <= 0:
        raise ActivityError("param 'region' needs a positive width and height")
    return left, top, width, height


def grab(region: tuple[int, int, int, int] | None = None) -> Any:
    """A screenshot (PIL image) of the screen or a region."""
    gui()  # a clear error without a display
    from PIL import ImageGrab

    bbox = None
    if region is not None:
        left, top, width, height = region
        bbox = (left, top, left + width, top + height)
    try:
        return ImageGrab.grab(bbox=bbox, all_screens=sys.platform == "win32")
    except OSError as exc:
        raise ActivityError(f"cannot take a screenshot: {exc}") from None


def _needle(params: dict[str, Any]) -> Any:
    from PIL import Image, UnidentifiedImageError

    path = fs.path(params, "image")
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise ActivityError(f"image does not exist: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ActivityError(f"cannot read image {path}: {exc}") from None


def _confidence(params: dict[str, Any]) -> float:
    value = number(params, "confidence", 0.9)
    if not 0 < value <= 1:
        raise ActivityError(f"param 'confidence' must be above 0 and at most 1, got {value:g}")
    return value


def _find_once(
    needle: Any, region: tuple[int, int, int, int] | None, confidence: float, grayscale: bool
) -> dict[str, int] | None:
    import pyscreeze

    haystack = grab(region)
    if needle.width > haystack.width or needle.height > haystack.height:
        raise ActivityError(
            f"the image ({needle.width}×{needle.height}) is larger than the area searched "
            f"({haystack.width}×{haystack.height})"
        )
    try:
        box = pyscreeze.locate(needle, haystack, confidence=confidence, grayscale=grayscale)
    except pyscreeze.ImageNotFoundException:
        return None
    if box is None:
        return None
    left = int(box.left) + (region[0] if region else 0)
    top = int(box.top) + (region[1] if region else 0)
    width, height = int(box.width), int(box.height)
    return {
        "x": left + width // 2,
        "y": top + height // 2,
        "left": left,
        "top": top,
        "width": width,
        "height": height,
    }


def _find(params: dict[str, Any], ctx: Context, timeout: float) -> dict[str, int] | None:
    """Look for the image until it is found or ``timeout`` seconds passed (0: once)."""
    gui()
    confidence = _confidence(params)
    region = _region(params)
    grayscale = boolean(params, "grayscale")
    needle = _needle(params)
    end = time.monotonic() + timeout
    while True:
        ctx.check()
        found = _find_once(needle, region, confidence, grayscale)
        if found is not None or time.monotonic() >= end:
            return found
        ctx.sleep(min(0.25, max(0.0, end - time.monotonic())))


def _timeout(params: dict[str, Any], default: float) -> float:
    value = number(params, "timeout", default)
    if value < 0:
        raise ActivityError("param 'timeout' must not be negative")
    return value


def _point(params: dict[str, Any], ctx: Context) -> tuple[int, int]:
    """The point to act on: ``x``/``y``, or the centre of ``image`` (plus offsets)."""
    if params.get("image"):
        timeout = _timeout(params, 10)
        found = _find(params, ctx, timeout)
        if found is None:
            raise ActivityError(
                f"image {text(params, 'image')} not found on the screen within {timeout:g} s "
                f"(confidence {_confidence(params):g})"
            )
        return (
            found["x"] + int(number(params, "offset_x", 0)),
            found["y"] + int(number(params, "offset_y", 0)),
        )
    if params.get("x") in (None, "") or params.get("y") in (None, ""):
        raise ActivityError("give a point (x and y) or an image to find")
    x, y = int(number(params, "x")), int(number(params, "y"))
    with _acting("checking the screen") as pg:
        width, height = pg.size()
    if not (0 <= x < width and 0 <= y < height):
        raise ActivityError(f"point ({x}, {y}) is outside the screen ({width}×{height})")
    return x, y


# ---------------------------------------------------------------------------------------------
# Mouse


def _button(params: dict[str, Any]) -> str:
    button = text(params, "button", "left") or "left"
    if button not in BUTTONS:
        raise ActivityError(f"param 'button' must be one of {', '.join(BUTTONS)}")
    return button


def _clicker(button: str | None, clicks: int | None) -> Callable[[dict[str, Any], Context], Any]:
    def click(params: dict[str, Any], ctx: Context) -> dict[str, int]:
        which = button or _button(params)
        count = clicks if clicks is not None else integer(params, "clicks", 1)
        if not 1 <= count <= 10:
            raise ActivityError("param 'clicks' must be between 1 and 10")
        x, y = _point(params, ctx)
        with _acting("click") as pg:
            pg.click(x, y, clicks=count, interval=0.05, button=which)
        ctx.log("debug", f"{which} click ×{count} at ({x}, {y})")
        return {"x": x, "y": y}

    return click


activity("desktop.click")(_clicker(None, None))
activity("desktop.double_click")(_clicker("left", 2))
activity("desktop.right_click")(_clicker("right", 1))


@activity("desktop.move")
def move(params: dict[str, Any], ctx: Context) -> dict[str, int]:
    x, y = _point(params, ctx)
    with _acting("move") as pg:
        pg.moveTo(x, y, duration=max(0.0, number(params, "duration", 0)))
    return {"x": x, "y": y}


@activity("desktop.drag")
def drag(params: dict[str, Any], ctx: Context) -> None:
    start = {"x": params.get("x"), "y": params.get("y")}
    end = {"x": params.get("to_x"), "y": params.get("to_y")}
    x, y = _point(start, ctx)
    to_x, to_y = _point(end, ctx)
    button = _button(params)
    with _acting("drag") as pg:
        pg.moveTo(x, y)
        pg.dragTo(to_x, to_y, duration=max(0.05, number(params, "duration", 0.3)), button=button)
    ctx.log("debug", f"dragged from ({x}, {y}) to ({to_x}, {to_y})")


# ---------------------------------------------------------------------------------------------
# Keyboard


def _keys(params: dict[str, Any], *, plus: bool) -> list[str]:
    value = params.get("keys")
    if isinstance(value, str):
        keys = [k.strip() for k in value.split("+")] if plus and len(value) > 1 else [value]
    elif isinstance(value, list) and all(isinstance(k, str) for k in value):
        keys = list(value)
    else:
        raise ActivityError(f"param 'keys' must be a key name or a list of them, got {value!r}")
    keys = [k if len(k) == 1 else k.lower() for k in keys if k != ""]
    if not keys:
        raise ActivityError("param 'keys' names no key")
    valid = set(gui().KEYBOARD_KEYS)
    unknown = [k for k in keys if k not in valid]
    if unknown:
        raise ActivityError(
            f"unknown key {unknown[0]!r} (names like enter, tab, esc, space, backspace, "
            "ctrl, alt, shift, win, f1-f12, up, down, left, right, home, end, pageup)"
        )
    return keys


@activity("desktop.press")
def press(params: dict[str, Any], ctx: Context) -> None:
    keys = _keys(params, plus=False)
    presses = integer(params, "presses", 1)
    if not 1 <= presses <= 1000:
        raise ActivityError("param 'presses' must be between 1 and 1000")
    interval = max(0.0, number(params, "interval", 0))
    for _ in range(presses):
        for key in keys:
            ctx.check()
            with _acting("key press") as pg:
                pg.press(key)
            if interval:
                ctx.sleep(interval)


@activity("desktop.hotkey")
def hotkey(params: dict[str, Any], ctx: Context) -> None:
    keys = _keys(params, plus=True)
    with _acting("hotkey") as pg:
        pg.hotkey(*keys, interval=0.02)


def _untypeable(pg: Any, value: str) -> int | None:
    """The position (1-based) of the first character key-by-key typing cannot produce."""
    for index, char in enumerate(value, 1):
        if char not in pg.KEYBOARD_KEYS and not pg.isShiftCharacter(char) and char not in "\n\t":
            return index
    return None


@activity("desktop.type")
def type_text(params: dict[str, Any], ctx: Context) -> None:
    value = text(params, "text")
    method = text(params, "method", "keys") or "keys"
    if method not in TYPE_METHODS:
        raise ActivityError(f"param 'method' must be one of {', '.join(TYPE_METHODS)}")
    interval = max(0.0, number(params, "interval", 0))
    pg = gui()
    if method == "paste":
        _paste(pg, value)
        ctx.log("debug", f"pasted {len(value)} character(s)")
        return
    bad = _untypeable(pg, value)
    if bad is not None:  # the position only: the text may be a password
        raise ActivityError(
            f"character {bad} of the text cannot be typed key by key on this keyboard; use "
            "method 'paste' for such text"
        )
    for start in range(0, len(value), 20):  # in slices, so a stop request is noticed
        ctx.check()
        with _acting("typing") as pg:
            pg.write(value[start : start + 20], interval=interval)
    ctx.log("debug", f"typed {len(value)} character(s)")


def _paste(pg: Any, value: str) -> None:
    clip = _clipboard()
    try:
        before = clip.paste()
    except clip.PyperclipException:
        before = None
    _copy(clip, value)
    try:
        with _acting("paste") as pg:
            pg.hotkey("command" if sys.platform == "darwin" else "ctrl", "v", interval=0.02)
            time.sleep(0.2)  # the application reads the clipboard after the key press
    finally:
        if before is not None:
            _copy(clip, before)


# ---------------------------------------------------------------------------------------------
# Clipboard


def _clipboard() -> Any:
    reason = _no_display()
    if reason:
        raise ActivityError(reason)
    import pyperclip

    return pyperclip


def _copy(clip: Any, value: str) -> None:
    try:
        clip.copy(value)
    except clip.PyperclipException as exc:
        raise ActivityError(f"cannot write the clipboard: {_clip_reason(exc)}") from None


def _clip_reason(exc: BaseException) -> str:
    if sys.platform.startswith("linux"):
        return f"{exc} (install xclip or xsel)"
    return str(exc)


@activity("desktop.get_clipboard")
def get_clipboard(params: dict[str, Any], ctx: Context) -> str:
    clip = _clipboard()
    try:
        return str(clip.paste() or "")
    except clip.PyperclipException as exc:
        raise ActivityError(f"cannot read the clipboard: {_clip_reason(exc)}") from None


@activity("desktop.set_clipboard")
def set_clipboard(params: dict[str, Any], ctx: Context) -> None:
    _copy(_clipboard(), text(params, "text"))


# ---------------------------------------------------------------------------------------------
# Screenshots and images


@activity("desktop.screenshot")
def screenshot(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    image = grab(_region(params))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    out: dict[str, Any] = {
        "path": None,
        "width": image.width,
        "height": image.height,
        "artifact": None,
    }
    if params.get("path"):
        path = fs.path(params)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise ActivityError(f"cannot write {path}: {exc.strerror}") from None
        out["path"] = str(path)
    if boolean(params, "artifact", True):
        name = text(params, "name", "screenshot.png") or "screenshot.png"
        record = ctx.scope.add_artifact(
            name, data, kind="screenshot", content_type="image/png", node_id=ctx.node_id
        )
        if record is not None:
            out["artifact"] = {k: v for k, v in record.items() if k != "data"}
    return out


@activity("desktop.locate")
def locate(params: dict[str, Any], ctx: Context) -> dict[str, int] | None:
    return _find(params, ctx, _timeout(params, 0))


@activity("desktop.wait_image")
def wait_image(params: dict[str, Any], ctx: Context) -> dict[str, int] | None:
    state = text(params, "state", "appear") or "appear"
    if state not in IMAGE_STATES:
        raise ActivityError(f"param 'state' must be one of {', '.join(IMAGE_STATES)}")
    gui()
    timeout = _timeout(params, 30)
    if state == "appear":
        found = _find(params, ctx, timeout)
        if found is None:
            raise ActivityError(
                f"image {text(params, 'image')} did not appear within {timeout:g} s"
            )
        return found
    confidence, region = _confidence(params), _region(params)
    grayscale, needle = boolean(params, "grayscale"), _needle(params)
    end = time.monotonic() + timeout
    while _find_once(needle, region, confidence, grayscale) is not None:
        if time.monotonic() >= end:
            raise ActivityError(
                f"image {text(params, 'image')} was still on the screen after {timeout:g} s"
            )
        ctx.sleep(0.25)
    return None


# ---------------------------------------------------------------------------------------------
# Applications and windows


def windows() -> list[dict[str, Any]]:
    """Visible top-level windows {title, left, top, width, height}."""
    gui()
    if sys.platform.startswith("linux"):
        return _x11_windows()
    try:
        import pygetwindow
    except ImportError:
        raise ActivityError("finding windows needs pygetwindow on this system") from None
    return [
        {"title": w.title, "left": w.left, "top": w.top, "width": w.width, "height": w.height}
        for w in pygetwindow.getAllWindows()
        if w.title and getattr(w, "visible", True)
    ]


def _x11_windows() -> list[dict[str, Any]]:
    from Xlib import X, display, error

    disp = display.Display()
    try:
        root = disp.screen().root
        net_name = disp.intern_atom("_NET_WM_NAME")
        utf8 = disp.intern_atom("UTF8_STRING")
        out = []
        stack = list(root.query_tree().children)
        while stack:
            win = stack.pop()
            try:
                attrs = win.get_attributes()
                prop = win.get_full_property(net_name, utf8)
                title = prop.value if prop else win.get_wm_name()
                if isinstance(title, bytes):
                    title = title.decode("utf-8", "replace")
                if attrs.map_state == X.IsViewable and title:
                    geo = win.get_geometry()
                    pos = root.translate_coords(win, 0, 0)
                    out.append(
                        {
                            "title": str(title),
                            "left": pos.x,
                            "top": pos.y,
                            "width": geo.width,
                            "height": geo.height,
                        }
                    )
                stack.extend(win.query_tree().children)
            except error.XError:
                continue  # the window went away meanwhile
        return out
    finally:
        disp.close()


def _command(params: dict[str, Any]) -> list[str]:
    value = params.get("command")
    if isinstance(value, str):
        try:
            argv = shlex.split(value, posix=not sys.platform.startswith("win"))
        except ValueError as exc:
            raise ActivityError(f"param 'command': {exc}") from None
    elif isinstance(value, list) and all(isinstance(a, str | int | float) for a in value):
        argv = [str(a) for a in value]
    else:
        raise ActivityError("param 'command' must be a command line or a list of arguments")
    if not argv or not argv[0].strip():
        raise ActivityError("param 'command' is empty")
    return argv


def _close_app(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@activity("desktop.launch")
def launch(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    argv = _command(params)
    title = text(params, "window", "")
    if title:
        gui()  # waiting for a window needs the display: fail before starting anything
    cwd = fs.path(params, "working_folder") if params.get("working_folder") else None
    if cwd is not None and not cwd.is_dir():
        raise ActivityError(f"working_folder does not exist: {cwd}")
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - read if the program dies early
    try:
        proc = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors
        )
    except FileNotFoundError:
        errors.close()
        raise ActivityError(f"program not found: {argv[0]}") from None
    except OSError as exc:
        errors.close()
        raise ActivityError(f"cannot start {argv[0]}: {exc.strerror}") from None
    try:
        window = _wait_window(proc, argv[0], title, params, ctx, errors) if title else None
    except BaseException:
        _close_app(proc)
        raise
    finally:
        errors.close()
    if not boolean(params, "keep_running"):
        ctx.scope.put(f"desktop.app.{proc.pid}", proc, _close_app)
    ctx.log("info", f"started {argv[0]} (pid {proc.pid})")
    return {"pid": proc.pid, "window": window}


def _wait_window(
    proc: subprocess.Popen[bytes],
    program: str,
    title: str,
    params: dict[str, Any],
    ctx: Context,
    errors: Any,
) -> dict[str, Any]:
    timeout = _timeout(params, 30)
    end = time.monotonic() + timeout
    while True:
        ctx.check()
        window = next((w for w in windows() if title.lower() in w["title"].lower()), None)
        if window is not None:
            return window
        if proc.poll() is not None:
            errors.seek(0)
            lines = errors.read()[-4000:].decode(errors="replace").strip().splitlines()
            raise ActivityError(
                f"{program} exited with code {proc.returncode} before showing a window "
                f"{title!r}" + (f": {lines[-1]}" if lines else "")
            )
        if time.monotonic() >= end:
            raise ActivityError(f"no window {title!r} appeared within {timeout:g} s")
        ctx.sleep(0.2)
