"""LibreOffice headless as the tests' second, independent reader (and maker of files openpyxl
cannot make: an .ods with a Basic macro, a legacy .xls).

Every call uses the session's private profile (``-env:UserInstallation``), so parallel test
sessions never share one; convert many files in one call where you can — each start costs
about a second of CPU.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

SOFFICE = shutil.which("soffice") or "soffice"
UNO_PYTHON = "/usr/bin/python3"

_MAKE_MACRO_BOOK = r"""
import json, os, subprocess, sys, time, uuid
import uno
from com.sun.star.beans import PropertyValue

def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p

req = json.loads(sys.argv[1])
pipe = "exekra-test-" + uuid.uuid4().hex
proc = subprocess.Popen([req["soffice"], "--headless", "--invisible", "--norestore",
    "--nodefault", "-env:UserInstallation=" + req["profile"], "--accept=pipe,name=%s;urp;" % pipe],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    start_new_session=True)
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(300):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.2)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    hidden = (prop("Hidden", True),)
    doc = desktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, hidden)
    sheet = doc.Sheets.getByIndex(0)
    for r, row in enumerate(req["rows"]):
        for c, value in enumerate(row):
            cell = sheet.getCellByPosition(c, r)
            if isinstance(value, str):
                cell.String = value
            else:
                cell.Value = value
    libs = doc.BasicLibraries
    if not libs.hasByName("Standard"):
        libs.createLibrary("Standard")
    lib = libs.getByName("Standard")
    lib.insertByName(req["module"], req["source"])
    doc.storeToURL(uno.systemPathToFileUrl(req["path"]), ())
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass
finally:
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # soffice.bin too, not only oosplash
"""


def profile_url(profile: Path) -> str:
    return profile.resolve().as_uri()


def convert(files: list[Path], fmt: str, outdir: Path, profile: Path) -> list[Path]:
    """Convert files with ``soffice --headless --convert-to`` in one LibreOffice start."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile_url(profile)}",
            "--headless",
            "--norestore",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=180,
    )
    ext = fmt.split(":", 1)[0]
    out = [outdir / f"{f.stem}.{ext}" for f in files]
    missing = [p for p in out if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}"
    return out


def make_macro_book(
    path: Path, rows: list[list[object]], module: str, source: str, profile: Path
) -> Path:
    """An .ods spreadsheet with ``rows`` and a Basic module in its Standard library."""
    request = {
        "soffice": SOFFICE,
        "profile": profile_url(profile),
        "path": str(path.resolve()),
        "rows": rows,
        "module": module,
        "source": source,
    }
    subprocess.run(
        [UNO_PYTHON, "-c", _MAKE_MACRO_BOOK, json.dumps(request)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=180,
    )
    assert path.exists()
    return path


def pdftotext(pdf: Path, *args: str) -> str:
    """Text of a PDF as poppler's pdftotext reads it (``-layout`` keeps the reading order)."""
    out = subprocess.run(
        ["pdftotext", *args, str(pdf), "-"], check=True, capture_output=True, timeout=60
    )
    return out.stdout.decode("utf-8")
