"""``desktop.*`` under a real X server (Xvfb on a free display, started for this module)
against a real tkinter application (tests/runner/apps/form.py) that writes what happened to
it into a state file. DISPLAY/XAUTHORITY are set for this module only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from runner.engine import Status
from tests.servers import Xvfb, run_until, start_xvfb
from tests.support import REPO

from .enginekit import chain, graph, node, run

APP = REPO / "tests" / "runner" / "apps" / "form.py"
TITLE = "Exekra Test App"


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Xvfb]:
    server = start_xvfb()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in server.env.items():
            mp.setenv(key, value)
        yield server
    server.stop()


class App:
    def __init__(self, state: Path, proc: subprocess.Popen[bytes]) -> None:
        self.path = state
        self.proc = proc

    def state(self) -> dict[str, Any]:
        return json.loads(self.path.read_text(encoding="utf-8"))

    def widget(self, name: str) -> dict[str, int]:
        return self.state()["widgets"][name]

    def centre(self, name: str) -> tuple[int, int]:
        w = self.widget(name)
        return w["left"] + w["width"] // 2, w["top"] + w["height"] // 2

    def wait(self, check: Any, timeout: float = 10) -> dict[str, Any]:
        assert run_until(lambda: self.path.exists() and check(self.state()), timeout), self.state()
        return self.state()


@pytest.fixture
def app(xvfb: Xvfb, tmp_path: Path) -> Iterator[App]:
    state = tmp_path / "state.json"
    proc = subprocess.Popen([sys.executable, str(APP), str(state)], env={**os.environ, **xvfb.env})
    try:
        a = App(state, proc)
        a.wait(lambda s: s["widgets"])
        yield a
    finally:
        proc.terminate()
        proc.wait(10)


def ok(*nodes: dict[str, Any], **kw: Any) -> Any:
    result, r = run(chain(*nodes), **kw)
    assert result.status == Status.COMPLETED, (result.error, r.text())
    return result, r


def fail(type_: str, **params: Any) -> str:
    result, r = run(graph([node("n", type_, **params)]))
    assert result.status == Status.FAILED, r.text()
    assert "Traceback" not in (result.error or "") and "Traceback" not in r.text()
    return result.error or ""


def _button_image(app: App, tmp_path: Path) -> Path:
    """A picture of the app's Submit button, cut from a real screenshot."""
    b = app.widget("button")
    path = tmp_path / "button.png"
    region = [b["left"] + 2, b["top"] + 2, b["width"] - 4, b["height"] - 4]
    ok(node("shot", "desktop.screenshot", path=str(path), region=region, artifact=False))
    return path


def test_type_click_keys_and_image_click(app: App, tmp_path: Path) -> None:
    ex, ey = app.centre("entry")
    result, r = ok(
        node("focus", "desktop.click", x=ex, y=ey),
        node("type", "desktop.type", text="Hello Exekra 42"),
        node("enter", "desktop.press", keys="enter"),
    )
    state = app.wait(lambda s: s["submits"] == 1)
    assert state["text"] == "Hello Exekra 42"

    button = _button_image(app, tmp_path)
    result, r = ok(node("c", "desktop.click", image=str(button), confidence=0.95, output="at"))
    state = app.wait(lambda s: s["submits"] == 2)
    b = app.widget("button")
    at = result.variables["at"]
    assert b["left"] <= at["x"] < b["left"] + b["width"]
    assert b["top"] <= at["y"] < b["top"] + b["height"]

    ok(node("r", "desktop.right_click", image=str(button)))
    app.wait(lambda s: s["right_clicks"] == 1)
    ok(node("d", "desktop.double_click", x=ex, y=ey))
    app.wait(lambda s: s["doubles"] >= 1)
    ok(node("h", "desktop.hotkey", keys="ctrl+s"))
    app.wait(lambda s: s["saves"] == 1)
    ok(node("h", "desktop.hotkey", keys=["ctrl", "s"]))
    app.wait(lambda s: s["saves"] == 2)

    # select all, type over it with repeated presses
    ok(
        node("focus", "desktop.click", x=ex, y=ey),
        node("end", "desktop.press", keys="end"),
        node("back", "desktop.press", keys="backspace", presses=15),
        node("type", "desktop.type", text="ok", interval=0.01),
        node("enter", "desktop.press", keys=["enter"]),
    )
    assert app.wait(lambda s: s["submits"] == 3)["text"] == "ok"


def test_drag_and_move(app: App) -> None:
    c = app.widget("canvas")
    x, y = c["left"] + 20, c["top"] + 20
    ok(node("d", "desktop.drag", x=x, y=y, to_x=x + 150, to_y=y + 60, duration=0.2))
    state = app.wait(lambda s: s["drag"] is not None)
    assert state["drag"] == [[20, 20], [170, 80]]
    result, _ = ok(node("m", "desktop.move", x=300, y=200, output="p"))
    assert result.variables["p"] == {"x": 300, "y": 200}
    import pyautogui

    assert tuple(pyautogui.position()) == (300, 200)


def test_clipboard_and_paste(app: App) -> None:
    text = "Grüße, 東京 ✓"
    result, _ = ok(
        node("set", "desktop.set_clipboard", text=text),
        node("get", "desktop.get_clipboard", output="clip"),
    )
    assert result.variables["clip"] == text
    ex, ey = app.centre("entry")
    ok(
        node("set", "desktop.set_clipboard", text="kept"),
        node("focus", "desktop.click", x=ex, y=ey),
        node("paste", "desktop.type", text=text, method="paste"),
        node("enter", "desktop.press", keys="enter"),
        node("get", "desktop.get_clipboard", output="clip"),
    )
    assert app.wait(lambda s: s["submits"] == 1)["text"] == text
    error = fail("desktop.type", text="Grüße")
    assert "character 3 of the text cannot be typed key by key" in error
    assert "method 'paste'" in error and "ü" not in error  # the text may be a password


def test_password_typed_from_the_vault_stays_out_of_the_log(app: App) -> None:
    ex, ey = app.centre("entry")
    secret = "Sup3r-Secret-Pw"
    result, r = ok(
        node("focus", "desktop.click", x=ex, y=ey),
        node("type", "desktop.type", text="{{credential}}", credential="app"),
        node("enter", "desktop.press", keys="enter"),
        credentials={"app": {"username": "u", "secret": secret}},
    )
    assert app.wait(lambda s: s["submits"] == 1)["text"] == secret
    assert secret not in r.text()


def test_screenshot_locate_and_wait(app: App, tmp_path: Path) -> None:
    button = _button_image(app, tmp_path)
    shot = tmp_path / "full.png"
    result, r = ok(node("s", "desktop.screenshot", path=str(shot), name="screen.png", output="o"))
    out = result.variables["o"]
    assert (out["width"], out["height"]) == (1024, 768)
    with Image.open(shot) as img:
        assert img.size == (1024, 768)
    (artifact,) = r.engine.scope.artifacts
    assert artifact["name"] == "screen.png" and artifact["kind"] == "screenshot"
    assert artifact["content_type"] == "image/png" and artifact["data"][:8] == b"\x89PNG\r\n\x1a\n"
    assert out["artifact"]["size"] == len(artifact["data"])

    result, _ = ok(node("l", "desktop.locate", image=str(button), output="where"))
    b, where = app.widget("button"), result.variables["where"]
    assert abs(where["left"] - (b["left"] + 2)) <= 1 and abs(where["top"] - (b["top"] + 2)) <= 1
    region = [b["left"] - 10, b["top"] - 10, b["width"] + 20, b["height"] + 20]
    result, _ = ok(node("l", "desktop.locate", image=str(button), region=region, output="w"))
    assert result.variables["w"]["left"] == where["left"]

    noise = tmp_path / "noise.png"
    Image.effect_noise((60, 40), 90).convert("RGB").save(noise)
    result, _ = ok(node("l", "desktop.locate", image=str(noise), output="none"))
    assert result.variables["none"] is None

    # the button vanishes (F2 hides it) and appears again
    ok(
        node("hide", "desktop.press", keys="f2"),
        node("gone", "desktop.wait_image", image=str(button), state="vanish", timeout=5),
    )
    assert app.state()["button_hidden"] is True
    result, _ = ok(
        node("show", "desktop.press", keys="f2"),
        node("back", "desktop.wait_image", image=str(button), timeout=5, output="back"),
    )
    assert result.variables["back"]["width"] == where["width"]
    error = fail("desktop.wait_image", image=str(noise), timeout=0.3)
    assert "did not appear within 0.3 s" in error
    error = fail("desktop.wait_image", image=str(button), state="vanish", timeout=0.3)
    assert "still on the screen after 0.3 s" in error
    error = fail("desktop.click", image=str(noise), timeout=0.2)
    assert "not found on the screen within 0.2 s" in error


def test_bad_input_fails_clearly(
    xvfb: Xvfb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a blank path would have written
    assert "give a point (x and y) or an image" in fail("desktop.click")
    assert "outside the screen (1024×768)" in fail("desktop.click", x=5000, y=10)
    assert "image does not exist" in fail("desktop.click", image=str(tmp_path / "none.png"))
    (tmp_path / "bad.png").write_text("not a picture")
    assert "cannot read image" in fail("desktop.locate", image=str(tmp_path / "bad.png"))
    assert "unknown key 'enterr'" in fail("desktop.press", keys="enterr")
    assert "param 'region' must be" in fail("desktop.screenshot", region=[1, 2])
    assert "'confidence' must be above 0" in fail(
        "desktop.locate", image=str(tmp_path / "bad.png"), confidence=3
    )
    assert "param 'image' must not be empty" in fail("desktop.locate", image="")
    assert "param 'path' must not be empty" in fail("desktop.screenshot", path=" ", artifact=False)
    assert "param 'working_folder' must not be empty" in fail(
        "desktop.launch", command="true", working_folder=" "
    )


def test_launch_waits_for_the_window_and_closes_it_at_the_end(xvfb: Xvfb, tmp_path: Path):
    state = tmp_path / "state.json"
    result, r = ok(
        node(
            "open",
            "desktop.launch",
            command=[sys.executable, str(APP), str(state)],
            window="exekra test",
            output="app",
        )
    )
    launched = result.variables["app"]
    assert launched["window"]["title"] == TITLE and launched["window"]["width"] > 100
    assert not _alive(launched["pid"])  # closed when the execution ended

    kept, _ = ok(
        node(
            "open",
            "desktop.launch",
            command=f"{sys.executable} {APP} {state}",
            window=TITLE,
            keep_running=True,
            output="app",
        )
    )
    pid = kept.variables["app"]["pid"]
    try:
        assert _alive(pid)
    finally:
        os.kill(pid, 15)

    assert "program not found: no-such-program-x" in fail(
        "desktop.launch", command="no-such-program-x --flag"
    )
    crash = [sys.executable, "-c", "import sys; sys.exit('boom: no licence')"]
    error = fail("desktop.launch", command=crash, window="Anything")
    assert "exited with code 1 before showing a window 'Anything': boom: no licence" in error
    error = fail("desktop.launch", command=["sleep", "30"], window="Never", timeout=0.5)
    assert "no window 'Never' appeared within 0.5 s" in error


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is not alive
        return fh.read().split()[2] != "Z"


def test_without_a_display_every_activity_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    calls = [
        ("desktop.click", {"x": 1, "y": 1}),
        ("desktop.type", {"text": "x"}),
        ("desktop.press", {"keys": "enter"}),
        ("desktop.screenshot", {}),
        ("desktop.locate", {"image": str(APP)}),
        ("desktop.get_clipboard", {}),
        ("desktop.set_clipboard", {"text": "x"}),
        ("desktop.launch", {"command": ["true"], "window": "x"}),
    ]
    for type_, params in calls:
        error = fail(type_, **params)
        assert "no display: desktop activities need a graphical session" in error, type_
        assert "DISPLAY is not set" in error


def test_an_unreachable_display_is_named(tmp_path: Path) -> None:
    """In a fresh process (pyautogui binds to a display when first imported)."""
    script = textwrap.dedent(
        """
        from runner.engine import Engine
        g = {"format": 1, "variables": {}, "edges": [],
             "nodes": [{"id": "n", "type": "desktop.click", "params": {"x": 1, "y": 1}}]}
        print(Engine(g).run().error)
        """
    )
    env = {**os.environ, "DISPLAY": ":987", "XAUTHORITY": str(tmp_path / "none")}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert "cannot open the display :987" in out.stdout, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_a_wayland_session_without_xwayland_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    error = fail("desktop.click", x=1, y=1)
    assert "Wayland session without XWayland" in error
