"""Artifact benchmark: upload and download throughput of execution artifacts over HTTP.

Run from the repository root:

    .venv/bin/python bench/artifacts.py [--mib 25] [--rounds 5]

It starts a real hub (``exekra hub serve``, SQLite, a throw-away data folder), puts one
execution in RUNNING through the runner protocol, then uploads ``--rounds`` artifacts of
``--mib`` MiB (the default ``artifact_max_bytes``) with the runner client the agent uses and
downloads each one back, printing the time per artifact and MiB/s. It prints figures; it
never fails on them (not a test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.client import HubClient  # noqa: E402
from tests.support import ADMIN_EMAIL, PASSWORD, HubProcess, make_license  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=25, help="size of each artifact in MiB")
    parser.add_argument("--rounds", type=int, default=5, help="artifacts to upload")
    args = parser.parse_args()
    from hub.services.license import keygen

    with tempfile.TemporaryDirectory(prefix="exekra-bench-art-") as tmp_name:
        tmp = Path(tmp_name)
        private, public = keygen(tmp / "keys")
        env = {
            "EXEKRA_LICENSE_PUBLIC_KEY": str(public),
            "EXEKRA_BCRYPT_ROUNDS": "4",
            "EXEKRA_LOG_LEVEL": "WARNING",
            "EXEKRA_ARTIFACT_MAX_BYTES": str(args.mib * 1024 * 1024),
        }
        hub = HubProcess(tmp / "data", env, tmp / "hub.log").start()
        try:
            run(hub.url, private, args.mib, args.rounds)
        finally:
            hub.stop()


def run(url: str, private: Path, mib: int, rounds: int) -> None:
    http = httpx.Client(base_url=url, timeout=60)
    http.post("/api/license", content=make_license(private))
    http.post("/api/setup/admin", json={"email": ADMIN_EMAIL, "password": PASSWORD, "name": "A"})
    token = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    http.headers["Authorization"] = "Bearer " + token.json()["token"]
    graph = {"format": 1, "nodes": [{"id": "n", "type": "log.write", "params": {"message": "x"}}]}
    wf = http.post("/api/workflows", json={"name": "bench", "graph": {**graph, "edges": []}})
    http.post(f"/api/workflows/{wf.json()['id']}/publish")
    runner = http.post("/api/runners", json={"name": "bench"}).json()
    client = HubClient(url, timeout=120)
    client.authenticate(runner["machine_key"], runner["machine_secret"])
    client.heartbeat({})
    http.post("/api/executions", json={"workflow_id": wf.json()["id"]})
    payload = client.poll()
    assert payload is not None
    ex_id, attempt = payload["id"], payload["attempt"]
    client.status(ex_id, {"attempt": attempt, "status": "RUNNING"})
    data = os.urandom(mib * 1024 * 1024)
    up, down = [], []
    for i in range(rounds):
        started = time.perf_counter()
        record = client.upload_artifact(
            ex_id, attempt, f"blob-{i}.bin", data, kind="file", timeout=120
        )
        up.append(time.perf_counter() - started)
        started = time.perf_counter()
        got = http.get(f"/api/executions/{ex_id}/artifacts/{record['id']}")
        down.append(time.perf_counter() - started)
        assert got.content == data
    client.close()
    for what, times in (("upload", up), ("download", down)):
        median = statistics.median(times)
        print(
            f"{what:>8}: {mib} MiB in {median * 1000:.0f} ms median "
            f"(min {min(times) * 1000:.0f} ms) = {mib / median:.0f} MiB/s over {rounds} rounds"
        )


if __name__ == "__main__":
    main()
