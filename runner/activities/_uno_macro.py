"""Run one macro of a document in a headless LibreOffice, through UNO.

Started by ``excel.run_macro`` as ``<python with uno> _uno_macro.py <request.json>`` (a
file in a private folder: the request's args may be secrets, and a command line is public): the
Python that has LibreOffice's ``uno`` module (Debian's python3-uno) is usually not the
runner's, so this file imports nothing from Exekra. It starts its own ``soffice`` with a
private profile (parallel runs never share one), loads the document with macros allowed,
invokes ``vnd.sun.star.script:<library>.<module>.<macro>``, stores the document when asked and
prints one JSON line: ``{"result": ...}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ALWAYS_EXECUTE_NO_WARN = 4


def _prop(name: str, value: Any) -> Any:
    from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]

    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def _connect(pipe: str, proc: subprocess.Popen[bytes], deadline: float) -> Any:
    import uno  # type: ignore[import-not-found]

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:  # noqa: BLE001 - NoConnectException until soffice listens
            if proc.poll() is not None:
                raise RuntimeError(f"LibreOffice exited with status {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError("LibreOffice did not start in time") from None
            time.sleep(0.2)


def _script_url(doc: Any, macro: str) -> str:
    parts = macro.split(".")
    libraries = doc.BasicLibraries
    if len(parts) == 3:
        library, module, name = parts
        candidates = [library]
    else:
        module, name = parts
        candidates = ["Standard", "VBAProject", *libraries.getElementNames()]
    modules: list[str] = []
    for library in dict.fromkeys(candidates):
        if not libraries.hasByName(library):
            continue
        libraries.loadLibrary(library)
        lib = libraries.getByName(library)
        modules += [f"{library}.{m}" for m in lib.getElementNames()]
        if lib.hasByName(module):
            return f"vnd.sun.star.script:{library}.{module}.{name}?language=Basic&location=document"
    found = ", ".join(modules) or "none"
    raise LookupError(f"the document has no macro module for {macro!r} (modules: {found})")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return str(value)


def run(request: dict[str, Any]) -> Any:
    import uno

    deadline = time.monotonic() + float(request.get("timeout") or 120)
    profile = Path(tempfile.mkdtemp(prefix="exekra-lo-"))
    pipe = f"exekra-{uuid.uuid4().hex}"
    proc = subprocess.Popen(
        [
            request["soffice"],
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    desktop = None
    try:
        ctx = _connect(pipe, proc, deadline)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        url = uno.systemPathToFileUrl(os.path.abspath(request["path"]))
        doc = desktop.loadComponentFromURL(
            url,
            "_blank",
            0,
            (_prop("Hidden", True), _prop("MacroExecutionMode", ALWAYS_EXECUTE_NO_WARN)),
        )
        if doc is None:
            raise RuntimeError("LibreOffice could not open the document")
        try:
            script = doc.getScriptProvider().getScript(_script_url(doc, request["macro"]))
            result = script.invoke(tuple(request.get("args") or ()), (), ())[0]
            if request.get("save"):
                doc.store()
        finally:
            doc.close(True)
        return _plain(result)
    finally:
        if desktop is not None:  # also after a failed macro: soffice must not outlive us
            try:
                desktop.terminate()
            except Exception:  # noqa: BLE001, S110 - the bridge drops as soffice exits
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    try:
        result = run(request)
    except Exception as exc:  # noqa: BLE001 - every failure goes back as one message
        message = getattr(exc, "Message", "") or str(exc) or type(exc).__name__
        message = " ".join(re.sub(r"\s+at \./\S+", "", message).split())
        print(json.dumps({"error": f"{type(exc).__name__}: {message}"}), flush=True)
        return 1
    print(json.dumps({"result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
