"""The runner agent: authenticate, heartbeat, poll, execute, report.

``Agent.tick(now)`` does one round of the loop (authenticate or refresh the token when due,
heartbeat every ``heartbeat_interval``, poll every ``poll_interval`` while idle) and
``Agent.run()`` repeats it until shut down, so tests drive it with their own clock. An execution
runs in a worker thread; its log lines are shipped in batches while it runs, and its final report
is written to an outbox file before it is sent, so a report survives the hub being down and even
the runner being restarted.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflows.statuses import ExecutionStatus

from . import __version__
from .activities.base import ExecutionScope
from .background import BackgroundLoop
from .channel import WakeListener, channel_url
from .client import AuthRejected, HubClient, HubError, HubUnavailable, WriteRefused
from .metrics import prime, system_metrics
from .settings import RunnerSettings

log = logging.getLogger("exekra.runner")

Executor = Callable[[dict[str, Any], Callable[[dict[str, Any]], None], threading.Event], dict]


class FatalAuthError(Exception):
    """The hub keeps refusing the machine credentials: the operator must reconnect."""


class LogShipper:
    """Buffers an execution's log lines and sends them in batches (idempotent by ``seq``)."""

    def __init__(
        self, agent: Agent, execution_id: int, attempt: int, stop: threading.Event
    ) -> None:
        self.agent = agent
        self.execution_id = execution_id
        self.attempt = attempt
        self.stop_event = stop
        self.buffer: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.refused = False
        self._sender = BackgroundLoop(
            agent.settings.log_flush_interval, self.flush, name="log-shipper"
        )

    def start(self) -> None:
        self._sender.start()

    def add(self, line: dict[str, Any]) -> None:
        with self.lock:
            self.buffer.append(line)

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            lines, self.buffer = self.buffer, []
        return lines

    def flush(self) -> None:
        size = self.agent.settings.log_batch_size
        while not self.refused:
            with self.lock:
                batch = self.buffer[:size]
            if not batch:
                return
            try:
                answer = self.agent.client.logs(self.execution_id, self.attempt, batch)
            except WriteRefused as exc:
                log.warning("execution %s: log write refused: %s", self.execution_id, exc)
                self.refused = True
                self.stop_event.set()
                return
            except (HubError, HubUnavailable) as exc:
                log.debug("log batch not sent yet: %s", exc)
                return  # keep the lines; the next round (or the final report) sends them
            with self.lock:
                self.buffer = self.buffer[len(batch) :]
            if answer.get("stop"):
                self.stop_event.set()

    def close(self) -> list[dict[str, Any]]:
        self._sender.stop(join=5)
        return self.take()


class Agent:
    def __init__(
        self,
        settings: RunnerSettings,
        machine_secret: str,
        *,
        executor: Executor | None = None,
        client: HubClient | None = None,
    ) -> None:
        self.settings = settings
        self.secret = machine_secret
        self.client = client or HubClient(settings.hub_url, timeout=settings.request_timeout)
        if executor is None:
            from .execute import run_execution

            policy = settings.activity_policy()

            def executor(payload: dict, sink: Callable, stop: threading.Event) -> dict:
                return run_execution(
                    payload,
                    sink,
                    stop,
                    timeout=settings.execution_timeout or None,
                    metrics_interval=settings.metrics_interval,
                    policy=policy,
                    scope=self.scope_for(payload),
                )

        self.executor = executor
        self.shutdown = threading.Event()
        self.next_heartbeat = 0.0
        self.next_poll = 0.0
        self.next_auth = 0.0
        self.auth_failures = 0
        self.backoff = settings.backoff_initial
        self.current: dict[str, Any] | None = None
        self.current_stop: threading.Event | None = None
        self.worker: threading.Thread | None = None
        self.connected = False
        self.outbox = settings.data_path / "outbox"
        self.outbox.mkdir(parents=True, exist_ok=True)
        self._outbox_lock = threading.Lock()
        #: set to end the main loop's short wait early (a wake-up from the hub)
        self._wakeup = threading.Event()
        self.channel = WakeListener(
            self._woken,
            lambda: self.client.token,
            backoff_initial=settings.backoff_initial,
            backoff_max=settings.backoff_max,
        )
        #: this process's id for the hub (see ``_authenticate``)
        self.session = uuid.uuid4().hex
        prime()

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        log.info("runner %s starting; hub %s", self.settings.machine_key, self.settings.hub_url)
        if self.settings.wake_channel:
            self.channel.start()
        try:
            while not self.shutdown.is_set():
                try:
                    self.tick()
                except FatalAuthError:
                    raise
                except Exception:  # noqa: BLE001 - the daemon must outlive any one failure
                    log.exception("unexpected error in the runner loop")
                self._wakeup.wait(0.2)
                self._wakeup.clear()
            self._shutdown_execution()
        finally:
            self.channel.stop()
        log.info("runner stopped")

    def _woken(self, event: str) -> None:
        """The hub's channel says: poll now (work was assigned, or the channel just opened)."""
        log.debug("wake-up channel: %s", event)
        self.next_poll = 0.0
        self._wakeup.set()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now < self.next_auth:
            return
        try:
            if self.client.token_due():
                self._authenticate(now)
            chained = self.flush_outbox(claim_next=self.idle and not self.shutdown.is_set())
            if chained is not None:
                self.start_execution(chained)
            if now >= self.next_heartbeat:
                self._heartbeat(now)
            if self.idle and now >= self.next_poll and not self.shutdown.is_set():
                self.next_poll = now + self.settings.poll_interval
                self._poll()
            self.backoff = self.settings.backoff_initial
            if not self.connected:
                log.info("connected to %s", self.settings.hub_url)
                self.connected = True
        except HubUnavailable as exc:
            self._retry_later(now, f"hub unavailable: {exc}")
        except AuthRejected as exc:
            # the token was refused mid-flight (secret regenerated, hub re-keyed): re-authenticate
            log.warning("token refused (%s); authenticating again", exc)
            self.client.token = None
            self._retry_later(now, "re-authenticating")

    def _retry_later(self, now: float, why: str) -> None:
        if self.connected:
            log.warning("%s; retrying with back-off", why)
        self.connected = False
        delay = self.backoff * (0.8 + 0.4 * random.random())  # jitter spreads a fleet's retries
        self.next_auth = now + delay
        self.backoff = min(self.backoff * 2, self.settings.backoff_max)
        log.debug("next attempt in %.1f s", delay)

    @property
    def idle(self) -> bool:
        return self.worker is None or not self.worker.is_alive()

    def _outbox_ids(self) -> list[int]:
        """Executions whose final report waits in the outbox (``<id>-<attempt>.json``)."""
        ids = []
        for path in self.outbox.glob("*.json"):
            head = path.stem.split("-", 1)[0]
            if head.isdigit():
                ids.append(int(head))
        return sorted(set(ids))[:1000]

    def _authenticate(self, now: float) -> None:
        try:
            # the session tells the hub this is the same process (a token refresh) or a new
            # one, whose predecessor's executions the hub then settles at once
            body = self.client.authenticate(
                self.settings.machine_key,
                self.secret,
                session=self.session,
                pending=self._outbox_ids(),
            )
        except AuthRejected as exc:
            self.auth_failures += 1
            if self.auth_failures >= self.settings.auth_attempts:
                raise FatalAuthError(
                    f"the hub refused machine key {self.settings.machine_key} "
                    f"{self.auth_failures} times ({exc}). Check the key and secret, or run "
                    "`exekra runner connect` with the values from the hub (regenerate the "
                    "secret there if it was lost)."
                ) from None
            log.warning(
                "authentication refused (%s); attempt %d of %d",
                exc,
                self.auth_failures,
                self.settings.auth_attempts,
            )
            raise HubUnavailable("authentication refused") from None
        self.auth_failures = 0
        info = body.get("channel")
        self.channel.configure(
            channel_url(self.settings.hub_url, info),
            info.get("keepalive", 20.0) if isinstance(info, dict) else 20.0,
        )
        log.info(
            "authenticated as runner %s; token valid until %s",
            body.get("runner_id"),
            body.get("expires_at"),
        )

    def _heartbeat(self, now: float) -> None:
        metrics = system_metrics(self.settings.data_path)
        metrics["version"] = __version__
        answer = self.client.heartbeat(metrics)
        self.next_heartbeat = now + self.settings.heartbeat_interval
        stop_ids = set(answer.get("stop") or [])
        if self.current and self.current["id"] in stop_ids and self.current_stop is not None:
            log.info("hub asks to stop execution %s", self.current["id"])
            self.current_stop.set()

    def _poll(self) -> None:
        payload = self.client.poll()
        if payload is None:
            return
        self.start_execution(payload)

    # -- executions ----------------------------------------------------------------------
    def scope_for(self, payload: dict[str, Any]) -> ExecutionScope:
        """The execution's scope, its artifacts and selector repairs sent to the hub.

        The sinks run on the node's thread, bounded by ``artifact_timeout``; whatever goes
        wrong (hub down, 413, the execution no longer ours) is a warning in the runner's log
        and the activity goes on: evidence must never turn into a failure of its own.
        """
        exec_id, attempt = int(payload["id"]), int(payload["attempt"])
        timeout = self.settings.artifact_timeout

        def artifact_sink(
            name: str, data: bytes, kind: str, content_type: str, node_id: str | None
        ) -> dict[str, Any] | None:
            try:
                return self.client.upload_artifact(
                    exec_id,
                    attempt,
                    name,
                    data,
                    kind=kind,
                    content_type=content_type,
                    node_id=node_id,
                    timeout=timeout,
                )
            except Exception as exc:  # noqa: BLE001 - never into the activity
                log.warning(
                    "execution %s: artifact %r (%s, %d bytes, node %s) not uploaded: %s",
                    exec_id,
                    name,
                    kind,
                    len(data),
                    node_id,
                    exc,
                )
                return None

        def repair_sink(
            node_id: str, param: str, old: Any, new: dict[str, Any], score: float
        ) -> None:
            try:
                self.client.report_repair(
                    exec_id, attempt, node_id, param, old, new, score, timeout=timeout
                )
            except Exception as exc:  # noqa: BLE001 - never into the activity
                log.warning(
                    "execution %s: selector repair of node %s not recorded: %s",
                    exec_id,
                    node_id,
                    exc,
                )

        return ExecutionScope(exec_id, artifact_sink=artifact_sink, repair_sink=repair_sink)

    def start_execution(self, payload: dict[str, Any]) -> None:
        exec_id, attempt = int(payload["id"]), int(payload["attempt"])
        log.info("execution %s (attempt %s): starting", exec_id, attempt)
        stop = threading.Event()
        try:
            self.client.status(exec_id, {"attempt": attempt, "status": ExecutionStatus.RUNNING})
        except WriteRefused as exc:
            log.warning("execution %s: hub refused RUNNING (%s); skipping", exec_id, exc)
            return
        self.current, self.current_stop = payload, stop
        self.worker = threading.Thread(
            target=self._execute, args=(payload, stop), name=f"execution-{exec_id}", daemon=True
        )
        self.worker.start()

    def _execute(self, payload: dict[str, Any], stop: threading.Event) -> None:
        exec_id, attempt = int(payload["id"]), int(payload["attempt"])
        shipper = LogShipper(self, exec_id, attempt, stop)
        shipper.start()
        try:
            result = self.executor(payload, shipper.add, stop)
        except Exception as exc:  # noqa: BLE001 - an engine crash is a FAILED execution
            log.exception("execution %s: engine crashed", exec_id)
            result = {
                "status": ExecutionStatus.FAILED,
                "error": f"runner error: {exc}",
                "reason": "runner_error",
            }
        rest = shipper.close()
        if shipper.refused:
            log.warning("execution %s: no longer ours; dropping its result", exec_id)
            self.current = self.current_stop = None
            return
        report = {"attempt": attempt, **result, "logs": rest}
        try:
            self._write_outbox(exec_id, report)
        except OSError as exc:  # disk full, folder removed: deliver it directly instead
            log.error("execution %s: cannot write the outbox (%s); sending directly", exec_id, exc)
            self._deliver_directly(exec_id, report)
        self.current = self.current_stop = None
        log.info("execution %s: %s", exec_id, result.get("status"))
        try:
            chained = self.flush_outbox(claim_next=not self.shutdown.is_set())
        except HubError as exc:  # the main loop delivers it once the hub is back
            log.warning("execution %s: final report waits in the outbox (%s)", exec_id, exc)
            return
        except Exception:  # noqa: BLE001 - the thread must end cleanly; the loop flushes again
            log.exception("execution %s: delivering the outbox failed", exec_id)
            return
        if chained is not None:  # the hub handed over the next one with the report
            self.start_execution(chained)

    def _write_outbox(self, exec_id: int, report: dict[str, Any]) -> None:
        """Write the report atomically: a unique temporary file, flushed to disk, then renamed,
        so a reader never sees half a report and a crash leaves at most a stray ``.tmp``."""
        path = self.outbox / f"{exec_id}-{report['attempt']}.json"
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        self.outbox.mkdir(parents=True, exist_ok=True)  # someone may have removed it
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump({"execution_id": exec_id, "report": report}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _deliver_directly(self, exec_id: int, report: dict[str, Any]) -> None:
        try:
            self._deliver(exec_id, dict(report), claim_next=False)
        except HubError as exc:
            log.error("execution %s: final report lost (%s)", exec_id, exc)

    def _read_outbox(self, path: Path) -> tuple[int, dict[str, Any]] | None:
        """One outbox file, or None when it vanished (delivered meanwhile) or is unreadable
        (then it is moved aside as ``.bad`` so it cannot block the reports behind it)."""
        try:
            item = json.loads(path.read_text(encoding="utf-8"))
            report = dict(item["report"])
            report["attempt"] = int(report["attempt"])
            return int(item["execution_id"]), report
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("outbox file %s is unreadable (%s); moved aside", path.name, exc)
            try:
                os.replace(path, path.with_suffix(".bad"))
            except OSError:
                path.unlink(missing_ok=True)
            return None

    def _deliver(self, exec_id: int, report: dict[str, Any], *, claim_next: bool) -> Any:
        logs, size = report.pop("logs", []), self.settings.log_batch_size
        for start in range(0, len(logs), size):  # idempotent by seq: safe to resend
            self.client.logs(exec_id, report["attempt"], logs[start : start + size])
        return self.client.finish(exec_id, report, claim_next=claim_next)

    def flush_outbox(self, *, claim_next: bool = False) -> dict[str, Any] | None:
        """Deliver the final reports waiting in the outbox (oldest first). With
        ``claim_next`` (the runner is free), the first delivered report also asks the hub for
        the next execution; its payload is returned (None: nothing handed over)."""
        chained = None
        with self._outbox_lock:  # the main loop and a finishing execution may both flush
            for path in sorted(self.outbox.glob("*.json")):
                read = self._read_outbox(path)
                if read is None:
                    continue
                exec_id, report = read
                try:
                    answer = self._deliver(exec_id, report, claim_next=claim_next)
                    if claim_next and answer.get("next"):
                        chained, claim_next = answer["next"], False
                except WriteRefused as exc:
                    log.warning("final report of execution %s refused: %s", exec_id, exc)
                except (HubUnavailable, AuthRejected):
                    raise
                except HubError as exc:
                    log.error("final report of execution %s not accepted: %s", exec_id, exc)
                path.unlink(missing_ok=True)
        return chained

    def _shutdown_execution(self) -> None:
        if self.idle or self.current_stop is None:
            return
        log.info("shutting down: stopping the running execution")
        self.current_stop.set()
        if self.worker is not None:
            self.worker.join(timeout=self.settings.shutdown_grace)
        deadline = time.monotonic() + 10
        while list(self.outbox.glob("*.json")) and time.monotonic() < deadline:
            try:
                self.flush_outbox()
            except HubError:
                time.sleep(0.5)

    def stop(self) -> None:
        self.shutdown.set()
        self._wakeup.set()
