"""File-transfer benchmark: what sharing one session per server saves.

Run from the repository root as root (it starts a private sshd and pyftpdlib on free loopback
ports, like the tests do):

    .venv/bin/python bench/transfer.py [--files 40] [--size 65536]

For SFTP (key login) and explicit FTPS it uploads ``--files`` files of ``--size`` bytes
(1) in one execution, a ``loop.for_each`` over the files, so the nodes share one session, and
(2) as one execution per file, so every upload logs in. It prints uploads per second for both.
It prints figures; it never fails on them (not a test).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.engine import Engine  # noqa: E402
from tests.servers import make_certs, start_ftpd, start_sshd  # noqa: E402


def _loop(prefix: str, server: dict[str, Any], files: list[str], dest: str) -> dict[str, Any]:
    return {
        "format": 1,
        "variables": {"files": files},
        "nodes": [
            {"id": "each", "type": "loop.for_each", "params": {"items": "{files}", "item": "f"}},
            {"id": "up", "type": f"{prefix}.upload",
             "params": {**server, "source": "{f}", "destination": dest}},
        ],
        "edges": [{"from": "each", "port": "body", "to": "up"}],
    }  # fmt: skip


def _one(prefix: str, server: dict[str, Any], path: str, dest: str) -> dict[str, Any]:
    return {
        "format": 1,
        "variables": {},
        "nodes": [
            {"id": "up", "type": f"{prefix}.upload",
             "params": {**server, "source": path, "destination": dest}},
        ],
        "edges": [],
    }  # fmt: skip


def _measure(name: str, prefix: str, server: dict[str, Any], creds: Any, files: list[str],
             dest: str) -> None:  # fmt: skip
    start = time.perf_counter()
    result = Engine(_loop(prefix, server, files, dest), credentials=creds).run()
    shared = time.perf_counter() - start
    assert result.status == "COMPLETED", result.error
    start = time.perf_counter()
    for path in files:
        result = Engine(_one(prefix, server, path, dest), credentials=creds).run()
        assert result.status == "COMPLETED", result.error
    separate = time.perf_counter() - start
    n = len(files)
    print(
        f"{name:6} shared session: {n / shared:7.1f} uploads/s   a login per upload: "
        f"{n / separate:7.1f} uploads/s   (shared takes {shared / separate:.0%} of the time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--size", type=int, default=65536)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = []
        for i in range(args.files):
            path = tmp / f"f{i}.bin"
            path.write_bytes(os.urandom(args.size))
            files.append(str(path))
        certs = make_certs(tmp / "certs")
        sshd = start_sshd("bench-" + os.urandom(4).hex())
        ftpd = start_ftpd(tmp / "ftp" / "root", certs)
        try:
            known = tmp / "known_hosts"
            known.write_text(sshd.known_hosts_line())
            (sshd.folder / "home" / "in").mkdir()
            sftp = {"host": "127.0.0.1", "port": sshd.port, "username": "root",
                    "private_key": str(sshd.client_key), "known_hosts": str(known)}  # fmt: skip
            _measure("sftp", "sftp", sftp, {}, files, str(sshd.folder / "home" / "in") + "/")
            ftp = {"host": "127.0.0.1", "port": ftpd.port, "credential": "ftp",
                   "ca_file": str(certs.ca)}  # fmt: skip
            creds = {"ftp": {"username": ftpd.user, "secret": ftpd.password}}
            _measure("ftps", "ftp", ftp, creds, files, "/")
        finally:
            sshd.stop()
            ftpd.stop()


if __name__ == "__main__":
    main()
