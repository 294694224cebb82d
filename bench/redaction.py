"""Redaction and taint benchmark: what keeping secrets out of logs costs on the hot path.

Run from the repository root:

    .venv/bin/python bench/redaction.py [--lines 20000]

It measures, per log line of a typical length, the old exact-only redactor's cost beside the
current one (exact forms plus one RE2 pass for case, separators, reversal, URL and hex forms)
with no secret, one credential, and five credentials plus 200 derived values; and the engine's
per-node cost of a run of 200 ``log.write`` nodes with and without a tainted variable.

It prints figures; it never fails on them (not a test).
"""

from __future__ import annotations

import argparse
import time

from runner.engine import Engine
from runner.redact import Redactor

LINE = "2026-12-01T10:00:00Z info node 'fetch': GET https://erp.acme.local/api/orders 200 (14 ms)"


class ExactOnly:
    """The redactor before issue 17: exact text and its unicode escape."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def add(self, secret: str) -> None:
        self.secrets += [secret, secret.encode("unicode_escape").decode("ascii")]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


def per_line(redact: object, lines: int) -> float:
    t0 = time.perf_counter()
    for _ in range(lines):
        redact(LINE)  # type: ignore[operator]
    return (time.perf_counter() - t0) / lines * 1e6


def engine_run(tainted: bool) -> float:
    text = "{{credential}}" if tainted else "plain"
    first = {"text": text, "case": "upper", "output": "t", "credential": "c"}
    nodes: list[dict] = [{"id": "n0", "type": "text.case", "params": first}]
    for i in range(1, 201):
        nodes.append({"id": f"n{i}", "type": "log.write", "params": {"message": f"v={{t}} {i}"}})
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(200)]
    graph = {"format": 1, "variables": {}, "nodes": nodes, "edges": edges}
    creds = {"c": {"username": "u", "secret": "correct-horse-battery"}}
    t0 = time.perf_counter()
    Engine(graph, credentials=creds, log_sink=lambda line: None, metrics_interval=60).run()
    return (time.perf_counter() - t0) / 201 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    args = parser.parse_args()
    print(f"log line of {len(LINE)} characters, {args.lines} lines per figure")
    for label, secrets, derived in (("no secret", 0, 0), ("1 credential", 1, 0),
                                    ("5 credentials + 200 derived", 5, 200)):  # fmt: skip
        old, new = ExactOnly(), Redactor()
        for i in range(secrets):
            old.add(f"vault-secret-{i}-Xy9!")
            new.add(f"vault-secret-{i}-Xy9!")
        for i in range(derived):
            new.add_derived(f"derived-value-{i}-of-a-secret")
        print(
            f"  {label:30} exact-only {per_line(old, args.lines):6.2f} us/line   "
            f"current {per_line(new, args.lines):6.2f} us/line"
        )
    engine_run(False)  # warm up imports and caches
    print(
        f"engine, 200 log.write nodes: untainted {engine_run(False):6.1f} us/node   "
        f"reading a tainted variable {engine_run(True):6.1f} us/node"
    )


if __name__ == "__main__":
    main()
