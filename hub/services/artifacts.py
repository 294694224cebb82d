"""Execution artifacts (screenshots, page snapshots, traces, files) and selector repairs.

Artifacts are files under the data folder's ``artifacts/<execution_id>/``; a small row in
``execution_artifacts`` describes each. The file on disk is named by a random token, never by
the uploaded name, so no name can reach outside the folder; the uploaded name is only checked
(:func:`check_name`) and kept as metadata. An upload streams into a temporary file in the same
folder, then is renamed into place, then its row is written: a reader never sees half a file,
and a file without a row (a crash in between) is swept by :meth:`ArtifactService.retention`.

Runners write both under the same rule as logs: only the runner holding the execution, with
its current attempt, while it is not finished.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import Any, Protocol

from workflows import catalog

from .. import errors
from ..models import ExecutionArtifact, SelectorRepair, User, iso, utcnow
from .executions import TERMINAL, ExecutionService
from .workflows import WorkflowService

log = logging.getLogger(__name__)

KINDS = ("screenshot", "html", "trace", "console", "download", "file")
NAME_MAX = 200
#: artifacts and repairs one execution may hold (a runner gone wrong must not fill the disk
#: with a million small files)
MAX_ARTIFACTS_PER_EXECUTION = 500
MAX_REPAIRS_PER_EXECUTION = 500
_CHUNK = 1 << 16
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")
#: served with their own type; everything else is sent as application/octet-stream, so no
#: artifact (an HTML snapshot of an untrusted page, an SVG) is ever rendered by a browser
SAFE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "application/json",
        "application/pdf",
        "application/zip",
    }
)
#: images the web view may show inline in an <img>
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: param types a repaired target (an object) may replace
TARGET_PARAM_TYPES = frozenset({"target", "any", "object"})
#: a temporary or row-less file younger than this may belong to an upload in flight
ORPHAN_GRACE = dt.timedelta(hours=1)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def check_name(name: str) -> str:
    """The uploaded name as metadata: 1-200 printable characters, no folder part."""
    name = unicodedata.normalize("NFC", name)
    if not name or len(name) > NAME_MAX:
        raise errors.ValidationFailed(
            f"the artifact name must be 1-{NAME_MAX} characters", code="invalid_name"
        )
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise errors.ValidationFailed(
            f"the artifact name {name!r} must be a plain file name (no folders, not hidden)",
            code="invalid_name",
        )
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise errors.ValidationFailed(
            "the artifact name must not contain control characters", code="invalid_name"
        )
    return name


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise errors.ValidationFailed(
            f"the artifact kind must be one of {', '.join(KINDS)}", code="invalid_kind"
        )
    return kind


def check_content_type(value: str | None) -> str:
    """The declared type, reduced to ``type/subtype`` in lower case (bad or none: binary)."""
    base = (value or "").split(";", 1)[0].strip().lower()
    return base if _MIME.match(base) else "application/octet-stream"


def served_type(record: ExecutionArtifact) -> str:
    return record.content_type if record.content_type in SAFE_TYPES else "application/octet-stream"


def to_dict(row: ExecutionArtifact) -> dict[str, Any]:
    return {
        "id": row.id,
        "execution_id": row.execution_id,
        "name": row.name,
        "kind": row.kind,
        "content_type": row.content_type,
        "size": row.size,
        "node_id": row.node_id,
        "created_at": iso(row.created_at),
    }


def repair_to_dict(row: SelectorRepair) -> dict[str, Any]:
    return {
        "id": row.id,
        "execution_id": row.execution_id,
        "node_id": row.node_id,
        "param": row.param,
        "old": row.old,
        "new": row.new,
        "score": row.score,
        "created_at": iso(row.created_at),
    }


def primary_selector(target: Any) -> str | None:
    """A target's primary selector: the string itself, or the object's ``selector``."""
    if isinstance(target, str):
        return target or None
    if isinstance(target, dict) and isinstance(target.get("selector"), str):
        return target["selector"] or None
    return None


def _fallbacks(target: Any) -> list[Any]:
    """A target object's fallbacks when they are a list (a graph is the DEVELOPER's text)."""
    value = target.get("fallbacks") if isinstance(target, dict) else None
    return value if isinstance(value, list) else []


def repaired_target(current: Any, new: dict[str, Any]) -> dict[str, Any]:
    """``current`` (what the node has now) with ``new`` written over it: the new primary,
    the old primary first among the fallbacks (then the old fallbacks), a fresh fingerprint,
    and what ``new`` does not say (frame and shadow path, anchor) kept from ``current``."""
    merged: dict[str, Any] = copy.deepcopy(current) if isinstance(current, dict) else {}
    merged.update(copy.deepcopy(new))
    primary = merged.get("selector")
    fallbacks: list[Any] = []
    for candidate in [primary_selector(current), *_fallbacks(new), *_fallbacks(current)]:
        if isinstance(candidate, str) and candidate and candidate != primary:
            if candidate not in fallbacks:
                fallbacks.append(candidate)
    merged["fallbacks"] = fallbacks
    return merged


def takes_target(node: dict[str, Any], param: str) -> bool:
    """Whether the node's activity declares ``param`` as one a target object may fill."""
    try:
        spec = catalog.get(str(node.get("type"))).param(param)
    except catalog.UnknownActivity:
        return False
    return spec is not None and spec.type in TARGET_PARAM_TYPES


class ArtifactService:
    def __init__(
        self,
        root: Path,
        executions: ExecutionService,
        workflows: WorkflowService,
        *,
        max_bytes: int,
        retention_days: int,
    ) -> None:
        self.root = root
        self.executions = executions
        self.workflows = workflows
        self.max_bytes = max_bytes
        self.retention_days = retention_days

    # -- paths ------------------------------------------------------------------------------
    def folder(self, execution_id: int) -> Path:
        return self.root / str(int(execution_id))

    def path_of(self, row: ExecutionArtifact) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", row.stored_as):  # never trust a column as a path
            raise errors.NotFound(f"artifact {row.id} has no stored file")
        return self.folder(row.execution_id) / row.stored_as

    # -- runner writes ------------------------------------------------------------------------
    def _writable(
        self, runner_id: int, execution_id: int, attempt: int, secret_version: Any
    ) -> None:
        held = self.executions._held(runner_id, execution_id, attempt, secret_version)
        if held.status in TERMINAL:
            raise errors.Conflict(
                f"execution {execution_id} is already {held.status}",
                code="execution_finished",
                status=held.status,
            )

    def upload(
        self,
        runner_id: int,
        execution_id: int,
        attempt: int,
        *,
        name: str,
        kind: str,
        content_type: str | None,
        node_id: str | None,
        stream: Readable,
        length: int | None,
        secret_version: Any,
    ) -> dict[str, Any]:
        """Stream one artifact into place and record it; refused before a byte is read when
        the runner may not write or the declared length is over the limit."""
        name, kind = check_name(name), check_kind(kind)
        if node_id is not None and not 1 <= len(node_id) <= 200:
            raise errors.ValidationFailed("node_id must be 1-200 characters")
        self._writable(runner_id, execution_id, attempt, secret_version)
        if length is not None and length > self.max_bytes:
            raise self._too_large(f"the artifact is {length} bytes")
        count = (
            ExecutionArtifact.select().where(ExecutionArtifact.execution == execution_id).count()
        )
        if count >= MAX_ARTIFACTS_PER_EXECUTION:
            raise errors.Conflict(
                f"execution {execution_id} already has {count} artifacts, the most one may have",
                code="too_many_artifacts",
            )
        folder = self.folder(execution_id)
        folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        tmp, final = folder / f".tmp-{token}", folder / token
        digest = hashlib.sha256()
        size = 0
        try:
            try:
                fh = open(tmp, "xb")  # noqa: SIM115 - closed by the with below
            except FileNotFoundError:  # the retention sweep removed the empty folder just now
                folder.mkdir(parents=True, exist_ok=True)
                fh = open(tmp, "xb")  # noqa: SIM115
            with fh:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large("the artifact exceeds it")
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        try:
            row = ExecutionArtifact.create(
                execution=execution_id,
                name=name,
                kind=kind,
                content_type=check_content_type(content_type),
                size=size,
                node_id=node_id,
                attempt=attempt,
                stored_as=token,
                sha256=digest.hexdigest(),
                created_at=utcnow(),
            )
        except Exception:
            final.unlink(missing_ok=True)
            raise
        return to_dict(row)

    def _too_large(self, what: str) -> errors.PayloadTooLarge:
        return errors.PayloadTooLarge(
            f"{what}; artifacts may be at most {self.max_bytes} bytes (artifact_max_bytes)",
            code="artifact_too_large",
        )

    def add_repair(
        self,
        runner_id: int,
        execution_id: int,
        attempt: int,
        *,
        node_id: str,
        param: str,
        old: Any,
        new: dict[str, Any],
        score: float,
        secret_version: Any,
    ) -> dict[str, Any]:
        if not primary_selector(new):
            raise errors.ValidationFailed(
                "the new target must be an object with a non-empty 'selector'",
                code="invalid_target",
            )
        fallbacks = new.get("fallbacks", [])
        if not isinstance(fallbacks, list) or not all(isinstance(f, str) for f in fallbacks):
            raise errors.ValidationFailed(
                "the new target's 'fallbacks' must be a list of selectors", code="invalid_target"
            )
        self._writable(runner_id, execution_id, attempt, secret_version)
        count = SelectorRepair.select().where(SelectorRepair.execution == execution_id).count()
        if count >= MAX_REPAIRS_PER_EXECUTION:
            raise errors.Conflict(
                f"execution {execution_id} already has {count} selector repairs",
                code="too_many_repairs",
            )
        row = SelectorRepair.create(
            execution=execution_id,
            attempt=attempt,
            node_id=node_id,
            param=param,
            old=old,
            new=new,
            score=score,
            created_at=utcnow(),
        )
        return repair_to_dict(row)

    # -- reads --------------------------------------------------------------------------------
    def list(self, execution_id: int) -> list[dict[str, Any]]:
        rows = (
            ExecutionArtifact.select()
            .where(ExecutionArtifact.execution == execution_id)
            .order_by(ExecutionArtifact.id)
        )
        return [to_dict(r) for r in rows]

    def repairs(self, execution_id: int) -> builtins.list[dict[str, Any]]:
        rows = (
            SelectorRepair.select()
            .where(SelectorRepair.execution == execution_id)
            .order_by(SelectorRepair.id)
        )
        return [repair_to_dict(r) for r in rows]

    def get(self, execution_id: int, artifact_id: int) -> tuple[ExecutionArtifact, Path]:
        row = ExecutionArtifact.get_or_none(
            (ExecutionArtifact.id == artifact_id) & (ExecutionArtifact.execution == execution_id)
        )
        if row is None:
            self.executions.get(execution_id)  # 404 naming the execution when it is missing
            raise errors.NotFound(
                f"execution {execution_id} has no artifact {artifact_id}",
                code="artifact_not_found",
            )
        path = self.path_of(row)
        if not path.is_file():
            raise errors.NotFound(
                f"the file of artifact {artifact_id} is gone (retention?)", code="artifact_gone"
            )
        return row, path

    # -- repairs → a draft --------------------------------------------------------------------
    def apply_repairs(
        self, actor: User, execution_id: int, *, ip: str | None = None
    ) -> dict[str, Any]:
        """A new draft of the execution's workflow: the version it ran, with every repaired
        node's param replaced (the latest repair per node and param wins)."""
        execution = self.executions.get(execution_id)
        latest: dict[tuple[str, str], SelectorRepair] = {}
        for row in (
            SelectorRepair.select()
            .where(SelectorRepair.execution == execution_id)
            .order_by(SelectorRepair.id)
        ):
            latest[(row.node_id, row.param)] = row
        if not latest:
            raise errors.Conflict(
                f"execution {execution_id} has no selector repairs", code="no_repairs"
            )
        _, base = self.workflows.version(execution.workflow_id, execution.version)
        graph = copy.deepcopy(base.graph)
        nodes = {n.get("id"): n for n in graph.get("nodes", []) if isinstance(n, dict)}
        applied: list[dict[str, Any]] = []
        for (node_id, param), row in latest.items():
            node = nodes.get(node_id)
            if node is None or not takes_target(node, param):
                continue
            params = node.setdefault("params", {})
            params[param] = repaired_target(params.get(param, row.old), row.new)
            applied.append({"node_id": node_id, "param": param, "selector": row.new["selector"]})
        if not applied:
            raise errors.Conflict(
                f"none of the repairs of execution {execution_id} fits version "
                f"{execution.version} (the node is gone or its param takes no target)",
                code="no_repairs",
            )
        names = ", ".join(sorted({a["node_id"] for a in applied}))
        comment = (
            f"selector repairs from execution {execution_id} (version {execution.version}): {names}"
        )[:2000]
        wf, version = self.workflows.save_version(
            actor, execution.workflow_id, graph, comment=comment, ip=ip
        )
        return {
            "workflow": wf,
            "draft": version,
            "based_on": execution.version,
            "applied": applied,
            "comment": comment,
        }

    # -- retention ----------------------------------------------------------------------------
    def retention(self, now: dt.datetime) -> dict[str, int]:
        """Delete artifacts older than ``retention_days``, and files no row describes (their
        execution was deleted, or an upload died between rename and insert)."""
        cutoff = now - dt.timedelta(days=self.retention_days)
        old = list(
            ExecutionArtifact.select(
                ExecutionArtifact.id, ExecutionArtifact.execution, ExecutionArtifact.stored_as
            ).where(ExecutionArtifact.created_at < cutoff)
        )
        expired = 0
        for start in range(0, len(old), 500):  # rows first: a file left by a crash is swept
            chunk = old[start : start + 500]
            ids = [row.id for row in chunk]
            ExecutionArtifact.delete().where(ExecutionArtifact.id.in_(ids)).execute()
            for row in chunk:
                try:
                    self.path_of(row).unlink(missing_ok=True)
                except errors.NotFound:
                    pass
            expired += len(chunk)
        orphans = self._sweep_orphans(now)
        if expired or orphans:
            log.info("artifact retention: %d expired, %d orphan files removed", expired, orphans)
        return {"expired": expired, "orphans": orphans}

    def _sweep_orphans(self, now: dt.datetime) -> int:
        if not self.root.is_dir():
            return 0
        limit = (now - ORPHAN_GRACE).replace(tzinfo=dt.UTC).timestamp()
        removed = 0
        for folder in self.root.iterdir():
            if not folder.is_dir() or not folder.name.isdigit():
                continue
            execution_id = int(folder.name)
            known = {
                r.stored_as
                for r in ExecutionArtifact.select(ExecutionArtifact.stored_as).where(
                    ExecutionArtifact.execution == execution_id
                )
            }
            for path in folder.iterdir():
                if path.name in known or not path.is_file():
                    continue
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
                    removed += 1
            if not known and not any(folder.iterdir()):
                folder.rmdir()  # an upload in flight recreates it (mkdir exist_ok)
        return removed
