"""The workflow engine: runs one graph (WORKFLOW_FORMAT.md) to a :class:`Result`.

``Engine(graph, inputs, credentials, log_sink, stop_event).run()`` starts at the node without
incoming edges and follows edges: control-flow activities answer with a :class:`Branch` (a port)
or a :class:`Loop` (rounds of the ``body`` chain, then ``done``); other activities' values go
into their ``output`` variable. Node failures are retried (``retry``), then take the node's
``error`` port when it has one, otherwise fail the execution naming the node.

Control flow is by exception and decided in two places only: :meth:`Engine._node_failed` maps a
node's exception to retry / error port / failure, and :meth:`Engine.run` maps what escapes the
graph (failure, stop request, execution timeout) to the final status.

Activities other than quick in-memory ones run on a worker thread, so a node ``timeout``, the
execution timeout and a stop request end the wait even when the activity does not cooperate;
cooperative activities (delay, scripts, HTTP, copies) notice ``ctx.cancel`` and stop, scripts'
processes are killed.

Every log line goes through the redactor (credential secrets, ``secret`` params, passwords in
database URLs) before it reaches ``log_sink``; so do error messages in the result.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

from workflows import catalog
from workflows.expressions import ExpressionError, references, render, uses_credential
from workflows.graph import Graph, Node
from workflows.inputs import InputsRejected, check_inputs
from workflows.params import CREDENTIAL_PARAM, RAW_PARAM_TYPES, resolve_params
from workflows.problems import InvalidGraph
from workflows.statuses import ExecutionStatus

from . import activities
from .activities import (
    ActivityError,
    Branch,
    Context,
    Credential,
    ExecutionScope,
    Loop,
    LoopSignal,
    StopRequested,
    Timeout,
    UnknownActivity,
)
from .activities.base import RunnerPolicy
from .redact import REDACTED, Redactor

__all__ = ["REDACTED", "Engine", "GraphError", "LogLine", "Redactor", "Result", "Status"]

log = logging.getLogger(__name__)

LEVELS = ("debug", "info", "warning", "error")
#: how long an abandoned activity gets to notice ``ctx.cancel`` before it is left behind
CANCEL_GRACE = 1.0
#: how often the engine checks stop requests and deadlines while an activity runs
POLL = 0.05
#: variable that receives ``{"node", "type", "message"}`` when a node takes its error port
ERROR_VARIABLE = "last_error"
#: activities that send a credential to a service: their output is the service's answer, not
#: a transformation of the secret, so it is not tainted (an answer that echoes the secret is
#: still caught by the redactor, which knows the secret itself)
UNTAINTED_OUTPUTS = ("http.", "database.", "email.", "ftp.", "sftp.")


#: how an execution can end on the runner (the final states of the platform's lifecycle)
Status = ExecutionStatus


@dataclass(frozen=True)
class LogLine:
    seq: int
    at: str  # ISO 8601, UTC
    level: str
    node_id: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "level": self.level,
            "node_id": self.node_id,
            "message": self.message,
        }


@dataclass
class Result:
    status: Status
    error: str | None = None
    failed_node: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    #: cpu_avg, cpu_peak (% of the machine), mem_avg_mb, mem_peak_mb (API.md's shape)
    metrics: dict[str, float] = field(default_factory=dict)
    #: how many samples the metrics are computed from
    samples: int = 0
    started_at: str = ""
    finished_at: str = ""
    duration: float = 0.0
    #: :attr:`variables` with every secret and value derived from one replaced by ``***``:
    #: what may leave the engine (reports, displays); ``variables`` is for the process itself
    redacted_variables: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "error": self.error,
            "failed_node": self.failed_node,
            "variables": self.redacted_variables,
            "metrics": dict(self.metrics),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": self.duration,
        }


LogSink = Callable[[LogLine], None]
StopSignal = threading.Event | Callable[[], bool]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NodeFailed(Exception):  # noqa: N818 - the outcome, carried to run()
    """A node failed for good (after retries, without an error port)."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class ProcessSampler:
    """Samples CPU% and RSS of this process and its children every ``interval`` seconds.

    CPU is a share of the whole machine (0-100, like the agent's heartbeat); memory is the sum of
    resident set sizes in MiB. A sample is also taken when the sampler stops, so short runs
    report figures too.
    """

    def __init__(self, interval: float = 5.0, pid: int | None = None) -> None:
        self.interval = interval
        self._root = psutil.Process(pid or os.getpid())
        self._procs: dict[int, psutil.Process] = {}
        self._cpu: list[float] = []
        self._mem: list[float] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._cores = psutil.cpu_count() or 1

    def _tree(self) -> list[tuple[psutil.Process, bool]]:
        """The process tree now, each with whether it is new since the last sample."""
        try:
            found = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            found = [self._root]
        alive: dict[int, psutil.Process] = {}
        out = []
        for proc in found:
            known = self._procs.get(proc.pid)
            alive[proc.pid] = known or proc
            out.append((known or proc, known is None))
        self._procs = alive
        return out

    @staticmethod
    def _cpu_percent(proc: psutil.Process, new: bool) -> float:
        percent = proc.cpu_percent(interval=None)
        if new:  # psutil's first reading is 0: use the CPU time since the process started
            times = proc.cpu_times()
            age = max(time.time() - proc.create_time(), 1e-3)
            percent = 100.0 * (times.user + times.system) / age
        return percent

    def sample(self, *, record: bool = True) -> None:
        cpu = 0.0
        rss = 0
        for proc, new in self._tree():
            try:
                cpu += self._cpu_percent(proc, new and proc is not self._root)
                rss += proc.memory_info().rss
            except psutil.Error:
                continue
        if record:
            self._cpu.append(cpu / self._cores)
            self._mem.append(rss / (1024 * 1024))

    def _loop(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def start(self) -> None:
        self.sample(record=False)  # primes cpu_percent
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="exekra-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        return self.summary()

    def summary(self) -> dict[str, float]:
        if not self._cpu:
            return {"cpu_avg": 0.0, "cpu_peak": 0.0, "mem_avg_mb": 0.0, "mem_peak_mb": 0.0}
        return {
            "cpu_avg": round(sum(self._cpu) / len(self._cpu), 2),
            "cpu_peak": round(max(self._cpu), 2),
            "mem_avg_mb": round(sum(self._mem) / len(self._mem), 2),
            "mem_peak_mb": round(max(self._mem), 2),
        }

    @property
    def samples(self) -> int:
        return len(self._cpu)


class Engine:
    """Runs one workflow graph. Create one per execution; :meth:`run` once."""

    def __init__(
        self,
        graph: Graph | Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        credentials: Mapping[str, Mapping[str, str]] | None = None,
        log_sink: LogSink | None = None,
        stop_event: StopSignal | None = None,
        *,
        timeout: float | None = None,
        metrics_interval: float = 5.0,
        log_level: str = "info",
        scope: ExecutionScope | None = None,
        policy: RunnerPolicy | None = None,
    ) -> None:
        if log_level not in LEVELS:
            raise ValueError(f"log_level must be one of {LEVELS}")
        self._graph_source = graph
        self._inputs = dict(inputs or {})
        self._credentials = {
            str(name): Credential(
                str(c.get("username") or ""),
                str(c.get("secret") or ""),
                name=str(name),
                allowed_hosts=tuple(str(h) for h in (c.get("allowed_hosts") or ())),
            )
            for name, c in (credentials or {}).items()
        }
        self._sink = log_sink
        self._external_stop = stop_event
        self._stop = threading.Event()
        self._timeout = timeout
        self._metrics_interval = metrics_interval
        self._min_level = LEVELS.index(log_level)
        self._redact = Redactor()
        #: resources, artifacts and repairs of this execution; closed when :meth:`run` ends
        self.scope = scope if scope is not None else ExecutionScope()
        #: limits and isolation from the runner's settings, handed to every activity
        self.policy = policy if policy is not None else RunnerPolicy()
        for cred in self._credentials.values():
            self._redact.add(cred.secret)
        self._seq = 0
        self._log_lock = threading.Lock()
        self._deadline: float | None = None
        self._loops: list[str] = []
        #: variables holding a value derived from a secret, and the nodes that computed one
        self._tainted: set[str] = set()
        self._tainted_nodes: set[str] = set()
        self._current: Node | None = None
        self.variables: dict[str, Any] = {}
        self._nodes: dict[str, Node] = {}
        self._edges: dict[str, dict[str | None, str]] = {}
        self._ran = False
        self._finished = False

    # -- public ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the execution to stop (thread-safe); it ends as STOPPED."""
        self._stop.set()

    def run(self) -> Result:
        if self._ran:
            raise RuntimeError("an Engine runs once; create a new one for the next execution")
        self._ran = True
        started_at, t0 = utc_now(), time.monotonic()
        if self._timeout is not None:
            self._deadline = t0 + self._timeout
        sampler = ProcessSampler(self._metrics_interval)
        sampler.start()
        status, error, failed = Status.COMPLETED, None, None
        self._log("info", "execution started", None)
        try:
            start = self._prepare()
            self._run_chain(start)
        except NodeFailed as exc:
            status, error, failed = Status.FAILED, exc.message, exc.node.id
        except StopRequested:
            status = Status.STOPPED
            failed = self._current.id if self._current else None
            error = "stopped on request" + (f" at node {failed!r}" if failed else "")
        except Timeout as exc:
            status, error = Status.FAILED, str(exc)
            failed = self._current.id if self._current else None
        except (InvalidGraph, GraphError) as exc:
            status, error = Status.FAILED, str(exc)
            failed = getattr(exc, "node_id", None)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the execution cleanly
            # the runner's own log file is read by operators too: no secret in the traceback
            log.error("engine failure: %s", self._redact(traceback.format_exc()))
            status, error = Status.FAILED, f"internal error: {type(exc).__name__}: {exc}"
            failed = self._current.id if self._current else None
        for problem in self.scope.close_all():
            self._log("warning", problem, None)
        metrics = sampler.stop()
        duration = round(time.monotonic() - t0, 3)
        error = self._redact(error) if error else None
        if status is Status.COMPLETED:
            self._log("info", f"execution completed in {duration:g} s", None)
        elif status is Status.STOPPED:
            self._log("warning", f"execution {error}", None)
        else:
            self._log("error", f"execution failed: {error}", failed)
        self._finished = True  # lines from abandoned activity threads are dropped from now on
        return Result(
            status=status,
            error=error,
            failed_node=failed,
            variables=self.variables,
            metrics=metrics,
            samples=sampler.samples,
            started_at=started_at,
            finished_at=utc_now(),
            duration=duration,
            redacted_variables=self._redact.value(self.variables),
        )

    # -- graph ----------------------------------------------------------------------------

    def _prepare(self) -> str:
        source = self._graph_source
        graph = source if isinstance(source, Graph) else Graph.from_dict(source)
        if graph.inputs is not None:
            # the hub only passes declared inputs; refusing others here too means a graph's
            # declaration holds however the execution was started
            try:
                check_inputs(graph.inputs, self._inputs)
            except InputsRejected as exc:
                raise GraphError(str(exc)) from None
        self.variables = copy.deepcopy(graph.variables)
        self.variables.update(graph.input_defaults())
        self.variables.update(copy.deepcopy(self._inputs))
        if not graph.nodes:
            raise GraphError("the workflow has no nodes")
        for node in graph.nodes:
            if node.id in self._nodes:
                raise GraphError(f"two nodes have the id {node.id!r}", node.id)
            self._nodes[node.id] = node
            try:
                activities.get(node.type)
            except UnknownActivity as exc:
                raise GraphError(f"node {node.id!r}: {exc}", node.id) from None
        incoming: set[str] = set()
        for edge in graph.edges:
            for end in (edge.source, edge.target):
                if end not in self._nodes:
                    raise GraphError(f"an edge refers to the unknown node {end!r}")
            ports = self._edges.setdefault(edge.source, {})
            if edge.port in ports:
                port = "the default port" if edge.port is None else f"port {edge.port!r}"
                raise GraphError(
                    f"node {edge.source!r} has several outgoing edges on {port}", edge.source
                )
            ports[edge.port] = edge.target
            incoming.add(edge.target)
        starts = [n.id for n in graph.nodes if n.id not in incoming]
        if len(starts) != 1:
            detail = "none" if not starts else ", ".join(repr(s) for s in starts)
            raise GraphError(
                f"a workflow needs exactly one start node (a node without incoming edges); "
                f"found {detail}"
            )
        return starts[0]

    def _next(self, node: Node, port: str | None, fallback: str | None = None) -> str | None:
        ports = self._edges.get(node.id, {})
        if port in ports:
            return ports[port]
        if fallback is not None and fallback in ports:
            return ports[fallback]
        return None

    # -- execution ------------------------------------------------------------------------

    def _run_chain(self, node_id: str | None) -> None:
        """Run nodes from ``node_id`` until the chain ends (or reaches a running loop)."""
        while node_id is not None:
            if node_id in self._loops:
                return  # an edge back to a running loop ends the round
            node_id = self._run_node(self._nodes[node_id])

    def _run_node(self, node: Node) -> str | None:
        """Run one node (with retries); return the id of the node to run next."""
        attempts = node.retry.attempts if node.retry else 1
        attempt = 1
        while True:
            self._check_between(node)
            self._current = node
            try:
                value = self._attempt(node)
            except Exception as exc:  # noqa: BLE001 - classified in _node_failed
                decision = self._node_failed(node, exc, attempt, attempts)
                if decision == "retry":
                    attempt += 1
                    continue
                return self._next(node, "error")
            break
        if isinstance(value, Branch):
            nxt = self._next(node, value.port, value.fallback)
            self._log("debug", f"took port {value.port!r}", node.id)
            return nxt
        if isinstance(value, Loop):
            return self._run_loop(node, value)
        return self._next(node, None)

    def _run_loop(self, node: Node, loop: Loop) -> str | None:
        body = self._next(node, "body")
        self._loops.append(node.id)
        rounds = 0
        try:
            while True:
                self._check_between(node)
                self._current = node
                try:
                    before = self._taint_snapshot(node)
                    more = loop.next_round(self.variables)
                    self._taint_changes(before)
                    if not more:
                        break
                except Exception as exc:  # noqa: BLE001 - classified in _node_failed
                    self._node_failed(node, exc, 1, 1)
                    return self._next(node, "error")
                rounds += 1
                try:
                    self._run_chain(body)
                except activities.BreakLoop:
                    break
                except activities.ContinueLoop:
                    continue
        finally:
            self._loops.pop()
        self._log("debug", f"loop ended after {rounds} round(s)", node.id)
        done = self._next(node, "done")
        # an unnamed edge out of a loop also means "after the loop"
        return done if done is not None else self._next(node, None)

    def _node_failed(self, node: Node, exc: Exception, attempt: int, attempts: int) -> str:
        """The one place a node's exception becomes an outcome: ``"retry"``, ``"error"`` (take
        the error port) or an exception that ends the execution."""
        if isinstance(exc, StopRequested):
            raise exc
        if isinstance(exc, Timeout) and exc.execution:
            raise exc
        if isinstance(exc, LoopSignal):
            if self._loops:
                raise exc
            message = f"{node.type} outside a loop"
        elif isinstance(exc, ActivityError | Timeout | ExpressionError):
            message = str(exc)
        else:
            self._log("debug", traceback.format_exc(), node.id)
            message = f"{type(exc).__name__}: {exc}"
        message = self._redact(message)
        if attempt < attempts:
            delay = node.retry.delay if node.retry else 0
            self._log(
                "warning",
                f"attempt {attempt} of {attempts} failed: {message}; retrying in {delay:g} s",
                node.id,
            )
            self._sleep(delay, node)
            return "retry"
        if self._next(node, "error") is not None:
            self._log("error", f"failed: {message} (taking the error port)", node.id)
            self.variables[ERROR_VARIABLE] = {
                "node": node.id,
                "type": node.type,
                "message": message,
            }
            return "error"
        raise NodeFailed(node, f"node {node.id!r} ({node.type}) failed: {message}")

    def _attempt(self, node: Node) -> Any:
        impl = activities.get(node.type)
        spec = catalog.CATALOG.get(node.type)
        credential = self._credential(node)
        params = self._params(node, spec, credential)
        node_deadline = time.monotonic() + node.timeout if node.timeout else None
        deadlines = [d for d in (node_deadline, self._deadline) if d is not None]
        live = threading.Event()
        live.set()

        def node_log(level: str, message: str) -> None:
            # an activity the engine gave up on (timeout, stop) may still be winding down on
            # its thread; its late lines would land in another node's or run's log
            if live.is_set():
                self._log(level, message, node.id)

        ctx = Context(
            node_id=node.id,
            variables=self.variables,
            log=node_log,
            deadline=min(deadlines) if deadlines else None,
            stop_requested=self._stop_requested,
            credential=credential,
            add_secret=self._redact.add,
            scope=self.scope,
            policy=self.policy,
        )
        self._log("debug", f"{node.type} started", node.id)
        self._taint_node(node, spec, params)
        before = self._taint_snapshot(node)
        try:
            if impl.inline:
                value = impl.func(params, ctx)
            else:
                value = self._call(impl, params, ctx, node, node_deadline)
        finally:
            live.clear()
        output = params.get("output")
        if output and not isinstance(value, Branch | Loop):
            if not isinstance(output, str):
                raise ActivityError(f"param 'output' must be a variable name, got {output!r}")
            self.variables[output] = value
            if before is None:
                self._tainted.discard(output)  # overwritten by a value not derived from a secret
        self._taint_changes(before)
        return value

    # -- secret taint -----------------------------------------------------------------------

    def _taint_node(
        self, node: Node, spec: catalog.Activity | None, params: dict[str, Any]
    ) -> None:
        """Mark ``node`` tainted when its params carry a secret: the ``{{credential}}`` token, a
        tainted variable, or rendered text holding a known secret. A ``secret`` param (a PDF's
        password) is what the activity unlocks or signs in with, not what it computes its
        output from, so it taints nothing, like the credential's name. Cheap when nothing is
        secret: no secrets and no tainted variables means two empty checks."""
        self._tainted_nodes.discard(node.id)  # a node in a loop is judged on each run
        if node.type.startswith(UNTAINTED_OUTPUTS):
            return
        for name, raw in node.params.items():
            pspec = spec.param(name) if spec else None
            if name == CREDENTIAL_PARAM or (pspec is not None and pspec.secret):
                continue
            kind = pspec.type if pspec is not None else None
            if kind in RAW_PARAM_TYPES and kind != "condition":
                continue  # code and variable names are not rendered
            condition = kind == "condition"
            if (
                (not condition and _uses_credential(raw))
                or (self._tainted and references(raw, condition=condition) & self._tainted)
                or (
                    not condition
                    and not self._redact.empty
                    and self._holds_secret(params.get(name))
                )
            ):
                self._tainted_nodes.add(node.id)
                return

    def _holds_secret(self, value: Any) -> bool:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if self._redact.contains(item):
                    return True
            elif isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
        return False

    def _taint_snapshot(self, node: Node) -> dict[str, Any] | None:
        """The variables before a tainted node runs (references only), else None."""
        return dict(self.variables) if node.id in self._tainted_nodes else None

    def _taint_changes(self, before: dict[str, Any] | None) -> None:
        """Every variable a tainted node set is tainted, and its texts are redacted."""
        if before is None:
            return
        for name, value in self.variables.items():
            if name not in before or before[name] is not value:
                self._tainted.add(name)
                self._redact.add_derived(value)

    def _call(
        self,
        impl: activities.Implementation,
        params: dict[str, Any],
        ctx: Context,
        node: Node,
        node_deadline: float | None,
    ) -> Any:
        """Run the activity on a worker thread; stop waiting on stop requests and deadlines."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = impl.func(params, ctx)
            except BaseException as exc:  # noqa: BLE001 - handed to the engine's thread
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=work, name=f"exekra-node-{node.id}", daemon=True)
        worker.start()
        while not done.wait(POLL):
            stop = self._stop_requested()
            late = ctx.deadline is not None and time.monotonic() >= ctx.deadline
            if stop or late:
                ctx.cancel.set()
                ctx.kill_processes()
                if not done.wait(CANCEL_GRACE):
                    self._log("warning", f"{node.type} did not stop; left behind", node.id)
                if stop:
                    raise StopRequested("stop requested")
                self._raise_timeout(node, node_deadline)
        if "error" in box:
            error = box["error"]
            if isinstance(error, Timeout):
                self._raise_timeout(node, node_deadline)
            raise error
        return box.get("value")

    def _raise_timeout(self, node: Node, node_deadline: float | None) -> None:
        if self._deadline is not None and (
            node_deadline is None or self._deadline <= node_deadline
        ):
            raise Timeout(f"execution timed out after {self._timeout:g} s", execution=True)
        raise Timeout(f"timed out after {node.timeout:g} s")

    def _credential(self, node: Node) -> Credential | None:
        name = node.params.get(CREDENTIAL_PARAM)
        if name in (None, ""):
            return None
        name = render(name, self.variables)
        if not isinstance(name, str) or name not in self._credentials:
            raise ActivityError(f"credential {name!r} is not available to this execution")
        return self._credentials[name]

    def _params(
        self, node: Node, spec: catalog.Activity | None, credential: Credential | None
    ) -> dict[str, Any]:
        """The node's params as the activity receives them (:func:`resolve_params`); the
        rendered values of ``secret`` params join the redactor."""
        secret = credential.secret if credential else None
        params = resolve_params(spec, node.params, self.variables, credential=secret)
        if spec is not None:
            for name in node.params:
                pspec = spec.param(name)
                if pspec is None or not pspec.secret or name == CREDENTIAL_PARAM:
                    continue
                if pspec.type not in RAW_PARAM_TYPES:  # a raw param is not a rendered value
                    self._redact.add(params[name])
        return params

    # -- stop, deadlines, logs ------------------------------------------------------------

    def _stop_requested(self) -> bool:
        if self._stop.is_set():
            return True
        ext = self._external_stop
        if ext is None:
            return False
        stopped = ext.is_set() if isinstance(ext, threading.Event) else bool(ext())
        if stopped:
            self._stop.set()
        return stopped

    def _check_between(self, node: Node) -> None:
        if self._stop_requested():
            raise StopRequested("stop requested")
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise Timeout(f"execution timed out after {self._timeout:g} s", execution=True)

    def _sleep(self, seconds: float, node: Node) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._check_between(node)
            self._stop.wait(min(left, POLL * 2))
        self._check_between(node)

    def _log(self, level: str, message: str, node_id: str | None) -> None:
        if LEVELS.index(level) < self._min_level or self._sink is None or self._finished:
            return
        message = self._redact(message)
        with self._log_lock:
            self._seq += 1
            line = LogLine(self._seq, utc_now(), level, node_id, message)
            try:
                self._sink(line)
            except Exception:  # noqa: BLE001 - a broken sink must not break the execution
                log.exception("log sink failed")


def _uses_credential(raw: Any) -> bool:
    """True if a param value (text, or objects and lists of it) holds ``{{credential}}``."""
    if isinstance(raw, str):
        return uses_credential(raw)
    if isinstance(raw, Mapping):
        return any(_uses_credential(v) for v in raw.values())
    if isinstance(raw, list | tuple):
        return any(_uses_credential(v) for v in raw)
    return False


class GraphError(ValueError):
    """The graph cannot be executed (no start node, unknown activity, ...)."""

    def __init__(self, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id
