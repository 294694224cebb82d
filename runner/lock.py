"""One runner agent per data folder.

Two agents on one data folder (a service plus a manual start, two services set up from one
account's defaults) share the credential file and the outbox: one delivers the other's final
reports, one deletes an outbox file the other is reading, and work runs twice. ``start`` holds
an OS file lock on ``runner.lock`` in the data folder for as long as the agent runs, and
``connect`` takes it while it rewrites the credentials, so neither can happen beside a running
agent.

The lock is the operating system's (``fcntl.flock`` on Linux/macOS, ``msvcrt.locking`` on
Windows, through the ``filelock`` library): the kernel releases it when the process ends,
however it ends, so an agent killed with ``kill -9`` or a power cut leaves nothing to clean up.
``runner.pid`` beside it only names the holder in the error message; it is never trusted.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

LOCK_FILE = "runner.lock"
PID_FILE = "runner.pid"


class DataFolderBusy(Exception):
    """Another process holds the data folder's lock."""


class DataFolderLock:
    """The data folder's lock: :meth:`acquire` (never waits) / :meth:`release`, or ``with``."""

    def __init__(self, data_dir: Path, purpose: str = "runner agent") -> None:
        self.data_dir = data_dir
        self.purpose = purpose
        self._lock = FileLock(str(data_dir / LOCK_FILE), timeout=0, thread_local=False)

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)

    def acquire(self) -> DataFolderLock:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise DataFolderBusy(self._busy_message()) from None
        self._write_pid()
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            (self.data_dir / PID_FILE).unlink(missing_ok=True)
            self._lock.release(force=True)

    def __enter__(self) -> DataFolderLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _write_pid(self) -> None:
        path = self.data_dir / PID_FILE
        tmp = path.with_name(f"{PID_FILE}.{os.getpid()}.tmp")
        try:
            tmp.write_text(f"{os.getpid()} {self.purpose}\n")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)  # the pid is only for messages; the lock is what counts

    def _busy_message(self) -> str:
        holder = "another process"
        try:
            pid, _, purpose = (self.data_dir / PID_FILE).read_text().strip().partition(" ")
            holder = f"{purpose or 'a process'} (pid {int(pid)})"
        except (OSError, ValueError):
            pass
        return (
            f"the runner data folder {self.data_dir} is in use by {holder}. Only one runner "
            "agent may use a data folder: stop the other one first (for the service: "
            "`systemctl stop exekra-runner`), or give this one its own folder with --data-dir "
            "or EXEKRA_RUNNER_DATA_DIR."
        )
