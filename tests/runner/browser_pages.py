"""Fixture pages for the browser tests, served on 127.0.0.1 by a thread of the test process.

Dynamic ids (new on every load), duplicated buttons, nested iframes, an open shadow root, a
popup, an upload and a download, an element that appears late, the four table kinds (one of
them paged) and a page whose button changed in a later "release" (for selector repairs).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def _rid() -> str:
    return f"f{random.randint(100000, 999999)}"


def form() -> str:
    return f"""<!doctype html><html><head><title>Order form</title></head><body>
<h1>Order</h1>
<form id="{_rid()}" onsubmit="event.preventDefault(); done()">
  <label for="{(a := _rid())}">First name</label><input id="{a}" name="first">
  <label for="{(b := _rid())}">Password</label><input id="{b}" type="password" name="pw">
  <label for="{(c := _rid())}">Notes</label><input id="{c}" name="notes" value="pre">
  <label for="{(d := _rid())}">Country</label>
  <select id="{d}" name="country"><option value="de">Germany</option>
    <option value="fr">France</option><option value="it">Italy</option></select>
  <label><input type="checkbox" name="terms"> I agree</label>
  <div id="hover-me" onmouseover="this.textContent='hovered'">hover me</div>
  <a id="link" href="#" data-kind="plain" onclick="event.preventDefault();
     document.getElementById('out').textContent = event.shiftKey ? 'shift-click'
       : event.detail === 2 ? 'double' : 'click'">act</a>
  <div ondblclick="document.getElementById('out').textContent='dbl'" id="dbl">dbl</div>
  <section><h2>Billing</h2><button type="button" class="save"
    onclick="document.getElementById('out').textContent='billing saved'">Save</button></section>
  <section><h2>Shipping</h2><button type="button" class="save"
    onclick="document.getElementById('out').textContent='shipping saved'">Save</button></section>
  <button type="submit" id="{_rid()}">Send</button>
</form>
<div id="out"></div>
<script>
  console.error("form loaded with a console error");
  function done() {{
    const f = document.forms[0];
    document.getElementById('out').textContent =
      `sent ${{f.first.value}} ${{f.country.value}} ${{f.terms.checked}} ${{f.pw.value.length}}`;
  }}
</script></body></html>"""


SLOW = """<!doctype html><html><head><title>Slow</title></head><body>
<div id="box"></div><div id="gone">loading…</div>
<script>
setTimeout(() => {
  document.getElementById('box').innerHTML =
    '<button id="late" onclick="this.textContent=\\'ok\\'">late</button>';
  document.getElementById('gone').remove();
}, 700);
</script></body></html>"""

FRAMES = """<!doctype html><html><head><title>Frames</title></head><body>
<p>top</p><iframe id="outer" src="/frame-outer"></iframe></body></html>"""
FRAME_OUTER = """<!doctype html><html><body><p>outer</p>
<iframe name="inner" id="inner" src="/frame-inner"></iframe></body></html>"""
FRAME_INNER = """<!doctype html><html><body>
<input id="deep" placeholder="deep"><button id="deep-btn"
 onclick="this.textContent='pressed '+document.getElementById('deep').value">go</button>
</body></html>"""

SHADOW = """<!doctype html><html><head><title>Shadow</title></head><body>
<my-widget id="widget"></my-widget>
<script>
customElements.define('my-widget', class extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({mode: 'open'});
    root.innerHTML = '<input class="inside" placeholder="inside">' +
      '<button class="inside-btn" onclick="this.textContent=\\'shadow ok\\'">press</button>';
  }
});
</script></body></html>"""

POPUP = """<!doctype html><html><head><title>Opener</title></head><body>
<a id="open" href="/popup-target" target="_blank">open popup</a></body></html>"""
POPUP_TARGET = """<!doctype html><html><head><title>Popup page</title></head><body>
<p id="msg">inside the popup</p></body></html>"""

UPLOAD = """<!doctype html><html><head><title>Upload</title></head><body>
<input type="file" id="files" multiple onchange="document.getElementById('names').textContent =
  Array.from(this.files).map(f => f.name + ':' + f.size).join(',')">
<div id="names"></div></body></html>"""

DOWNLOAD = """<!doctype html><html><head><title>Download</title></head><body>
<a id="get" href="/report.csv">report</a><a id="nothing" href="#">nothing</a></body></html>"""
CSV = b"name,total\nAda,17.5\n"

TABLES = """<!doctype html><html><head><title>Tables</title></head><body>
<table id="html"><thead><tr><th>Name</th><th>Total</th></tr></thead>
<tbody><tr><td>Ada</td><td>17.5</td></tr><tr><td>Alan</td><td>3</td></tr></tbody></table>
<div id="aria" role="grid">
  <div role="row"><span role="columnheader">City</span><span role="columnheader">Zip</span></div>
  <div role="row"><span role="gridcell">Berlin</span><span role="gridcell">10115</span></div>
  <div role="row"><span role="gridcell">Paris</span><span role="gridcell">75001</span></div>
</div>
<div id="divs">
  <div class="row header"><div>Item</div><div>Qty</div></div>
  <div class="row"><div>Bolt</div><div>12</div></div>
  <div class="row"><div>Nut</div><div>40</div></div>
</div>
<ul id="cards">
  <li class="card"><b class="n">Grace</b><i class="r">Admiral</i></li>
  <li class="card"><b class="n">Linus</b><i class="r">Kernel</i></li>
</ul>
<table id="paged"><thead><tr><th>N</th></tr></thead><tbody id="pbody"></tbody></table>
<button id="next" onclick="show(page + 1)">next</button>
<script>
let page = 0;
function show(p) {
  page = p;
  const rows = [[1, 2], [3, 4], [5]][p];
  document.getElementById('pbody').innerHTML = rows.map(n => `<tr><td>${n}</td></tr>`).join('');
  document.getElementById('next').disabled = p >= 2;
}
show(0);
</script></body></html>"""

EMPTY = """<!doctype html><html><head><title>Empty</title></head>
<body><p>nothing</p></body></html>"""


def repair(variant: str) -> str:
    """The "release 2" of a page: the Save button's id, test id and classes all changed.

    ``close``: the same text and type (its fingerprint still scores above the threshold);
    ``far``: a different text and tag as well (it scores below it).
    """
    if variant == "far":
        button = '<a href="#" id="x-9f81" onclick="done(event)">Store draft</a>'
    else:
        button = (
            '<button type="button" id="save-2291" class="btn btn-main" '
            'onclick="done(event)">Save</button>'
        )
    return f"""<!doctype html><html><head><title>Repair</title></head><body>
<p>Settings</p><button type="button" class="cancel">Cancel</button>{button}
<div id="out"></div>
<script>function done(e) {{
  e.preventDefault(); document.getElementById('out').textContent = 'saved'; }}</script>
</body></html>"""


HANG = """<!doctype html><html><head><title>Hang</title></head><body>
<button id="freeze" onclick="while (true) {}">freeze</button></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, body: bytes, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        query = parse_qs(url.query)
        pages = {
            "/form": form,
            "/slow": lambda: SLOW,
            "/frames": lambda: FRAMES,
            "/frame-outer": lambda: FRAME_OUTER,
            "/frame-inner": lambda: FRAME_INNER,
            "/shadow": lambda: SHADOW,
            "/popup": lambda: POPUP,
            "/popup-target": lambda: POPUP_TARGET,
            "/upload": lambda: UPLOAD,
            "/download": lambda: DOWNLOAD,
            "/tables": lambda: TABLES,
            "/empty": lambda: EMPTY,
            "/hang": lambda: HANG,
            "/repair": lambda: repair(query.get("variant", ["close"])[0]),
        }
        if url.path == "/report.csv":
            self._send(
                CSV, "text/csv", Content_Disposition='attachment; filename="../report 1.csv"'
            )
            return
        page = pages.get(url.path)
        if page is None:
            self.send_error(404)
            return
        self._send(page().encode())


@contextmanager
def serve() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
