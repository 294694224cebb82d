"""Workflows and their versions: save, publish, restore, diff, export/import, archive.

The rules (spec "Versioning and Environments", API.md "Workflows and versions"):

- every save creates a version with the next number; two concurrent saves never get the same
  one (the number comes from one conditional ``UPDATE workflows SET latest_version =
  latest_version + 1``, which serialises savers on the workflow's row, and the unique index on
  ``(workflow, number)`` backs it up);
- only the latest version can be published, and only while it is a draft; publishing is a
  conditional update (``... WHERE published_at IS NULL`` and ``... WHERE latest_version = n``), so
  of two developers publishing at once exactly one wins and the other gets 409;
- one published version per workflow (``Workflow.published_version``); versions that were
  published before stay, immutable: every write path refuses a version that was ever published;
- all versions are retained; rollback = :meth:`WorkflowService.restore` (an old graph saved as
  a new draft) then :meth:`WorkflowService.publish`;
- graphs are checked by :func:`workflows.validate` (400 ``invalid_graph`` with every problem) and
  stored in their canonical form so versions and exports diff well;
- deleting a workflow that has executions archives it (hidden from lists, cannot be run) so its
  history stays; without executions it is removed with its versions.

Publish, restore, import, create, change, delete and archive are written to the audit log in the
same transaction as the change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import peewee as pw

import workflows
from workflows.diff import diff as graph_diff
from workflows.diff import format_diff, is_empty
from workflows.inputs import accepted_inputs

from .. import errors
from ..db import database_proxy
from ..models import Execution, Trigger, User, Workflow, WorkflowVersion, iso, utcnow
from . import audit

NAME_MAX = 200
COMMENT_MAX = 2000
#: what ``GET /api/workflows/{id}/export`` produces and ``POST /api/workflows/import`` accepts
EXPORT_KEYS = ("name", "description", "graph", "exported_from_version")


# --------------------------------------------------------------------------- serialisation


def version_status(workflow: Workflow, version: WorkflowVersion) -> str:
    """``published`` (the one that runs), ``draft`` (never published) or ``retired`` (was
    published, since superseded — kept, immutable)."""
    if workflow.published_version == version.number:
        return "published"
    return "draft" if version.published_at is None else "retired"


def to_dict(workflow: Workflow) -> dict[str, Any]:
    latest, published = workflow.latest_version, workflow.published_version
    return {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "latest_version": latest or None,
        "published_version": published,
        # the latest version is either the published one or a draft (only it can be published)
        "has_draft": bool(latest) and latest != published,
        "archived": workflow.archived,
        "created_by": workflow.created_by,
        "created_at": iso(workflow.created_at),
        "updated_at": iso(workflow.updated_at),
        "legacy_inputs": workflow.legacy_inputs,
    }


def author_emails(user_ids: list[int | None]) -> dict[int, str]:
    """The emails of the users who wrote versions, in one query (the console and web view show
    who, not a user id)."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.email for u in User.select(User.id, User.email).where(User.id.in_(ids))}


def inputs_view(graph: Any, legacy: list[str] | None) -> dict[str, Any]:
    """Who may set what from outside, as the API and the web view show it: the graph's
    declaration, or for a graph without one the names its workflow passed before."""
    doc = graph if isinstance(graph, dict) else {}
    return {
        "inputs_declared": isinstance(doc.get("inputs"), list),
        "inputs": [d.describe() for d in accepted_inputs(doc, legacy)],
    }


def version_to_dict(
    workflow: Workflow,
    version: WorkflowVersion,
    *,
    graph: bool = True,
    emails: dict[int, str] | None = None,
) -> dict[str, Any]:
    status = version_status(workflow, version)
    if emails is None:
        emails = author_emails([version.created_by])
    out: dict[str, Any] = {
        "workflow_id": workflow.id,
        "number": version.number,
        "status": status,
        "published": status == "published",
        "latest": version.number == workflow.latest_version,
        "comment": version.comment,
        "created_by": version.created_by,
        "created_by_email": emails.get(version.created_by) if version.created_by else None,
        "created_at": iso(version.created_at),
        "published_at": iso(version.published_at),
        "published_by": version.published_by,
    }
    out.update(inputs_view(version.graph, workflow.legacy_inputs))
    if graph:
        out["graph"] = version.graph
    return out


def export_text(document: dict[str, Any]) -> str:
    """Canonical export text: sorted keys, two-space indent, trailing newline (diffs well)."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- helpers


def check_graph(graph: Any) -> dict[str, Any]:
    """Validate a graph document; return its canonical form or raise 400 ``invalid_graph``."""
    problems = workflows.validate(graph)
    if problems:
        raise errors.InvalidGraphError([p.to_dict() for p in problems])
    return workflows.canonical(graph)


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise errors.ValidationFailed("name must not be empty")
    if len(name) > NAME_MAX:
        raise errors.ValidationFailed(f"name is longer than {NAME_MAX} characters")
    if any(ord(c) < 32 for c in name):
        raise errors.ValidationFailed("name must not contain control characters")
    return name


def check_comment(comment: str) -> str:
    if len(comment) > COMMENT_MAX:
        raise errors.ValidationFailed(f"comment is longer than {COMMENT_MAX} characters")
    return comment


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that writes. On SQLite it takes the write lock up front (``BEGIN
    IMMEDIATE``): a deferred transaction that reads first and writes later can fail with
    "database is locked" when another writer got in between, whatever the busy timeout."""
    db = database_proxy.obj
    ctx = db.atomic("IMMEDIATE") if isinstance(db, pw.SqliteDatabase) else db.atomic()
    with ctx:
        yield


def _actor_id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


class WorkflowService:
    """Every state change of workflows and versions goes through here."""

    # ----------------------------------------------------------------------- reading

    def get(self, workflow_id: int) -> Workflow:
        wf = Workflow.get_or_none(Workflow.id == workflow_id)
        if wf is None:
            raise errors.NotFound(f"workflow {workflow_id} does not exist")
        return wf

    def find(
        self,
        *,
        q: str | None = None,
        archived: bool = False,
        published: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Workflow], int]:
        """Workflows by name. Archived ones only with ``archived=True`` (then alongside the
        others); ``q`` searches name and description; ``published`` filters on having a
        published version."""
        query = Workflow.select()
        if not archived:
            query = query.where(Workflow.archived == False)  # noqa: E712 - SQL, not Python
        if q:
            needle = q.strip().lower()
            query = query.where(
                pw.fn.LOWER(Workflow.name).contains(needle)
                | pw.fn.LOWER(Workflow.description).contains(needle)
            )
        if published is True:
            query = query.where(Workflow.published_version.is_null(False))
        elif published is False:
            query = query.where(Workflow.published_version.is_null(True))
        total = query.count()
        rows = list(query.order_by(Workflow.name, Workflow.id).limit(limit).offset(offset))
        return rows, total

    def versions(
        self, workflow_id: int, *, limit: int = 50, offset: int = 0
    ) -> tuple[Workflow, list[WorkflowVersion], int]:
        """All versions of a workflow, newest first."""
        wf = self.get(workflow_id)
        query = WorkflowVersion.select().where(WorkflowVersion.workflow == wf.id)
        total = query.count()
        rows = list(query.order_by(WorkflowVersion.number.desc()).limit(limit).offset(offset))
        return wf, rows, total

    def version(self, workflow_id: int, number: int) -> tuple[Workflow, WorkflowVersion]:
        wf = self.get(workflow_id)
        v = WorkflowVersion.get_or_none(
            (WorkflowVersion.workflow == wf.id) & (WorkflowVersion.number == number)
        )
        if v is None:
            raise errors.NotFound(f"workflow {workflow_id} has no version {number}")
        return wf, v

    def diff(self, workflow_id: int, a: int, b: int) -> dict[str, Any]:
        """What changed from version ``a`` to version ``b``: the structured diff of
        :func:`workflows.diff.diff` and its lines for people."""
        _, old = self.version(workflow_id, a)
        _, new = self.version(workflow_id, b)
        result = graph_diff(old.graph, new.graph)
        return {
            "workflow_id": workflow_id,
            "from": a,
            "to": b,
            "identical": is_empty(result),
            "diff": result,
            "lines": format_diff(result),
        }

    def export(self, workflow_id: int, version: int | None = None) -> dict[str, Any]:
        """The portable document ``{name, description, graph, exported_from_version}``: of
        ``version`` if given, else of the published version, else of the latest."""
        wf = self.get(workflow_id)
        number = version or wf.published_version or wf.latest_version
        if not number:
            raise errors.IllegalTransition(
                f"workflow {wf.name!r} has no version to export yet", code="no_versions"
            )
        _, v = self.version(workflow_id, number)
        return {
            "name": wf.name,
            "description": wf.description,
            "graph": workflows.canonical(v.graph),
            "exported_from_version": v.number,
        }

    # ----------------------------------------------------------------------- writing

    def create(
        self,
        actor: User | None,
        *,
        name: str,
        description: str = "",
        graph: Any = None,
        comment: str = "",
        ip: str | None = None,
    ) -> tuple[Workflow, WorkflowVersion | None]:
        """A new workflow, with version 1 (a draft) when a graph is given."""
        name = check_name(name)
        comment = check_comment(comment)
        doc = check_graph(graph) if graph is not None else None
        try:
            with write_transaction():
                wf, v = self._create(actor, name, description, doc, comment)
                audit.record(
                    actor,
                    "workflow.create",
                    f"workflow:{wf.id}",
                    ip=ip,
                    details={"name": name, "version": v.number if v else None},
                )
        except pw.IntegrityError:
            raise self._name_taken(name) from None
        return wf, v

    def _create(
        self,
        actor: User | None,
        name: str,
        description: str,
        doc: dict[str, Any] | None,
        comment: str,
    ) -> tuple[Workflow, WorkflowVersion | None]:
        now = utcnow()
        wf = Workflow.create(
            name=name,
            description=description,
            latest_version=1 if doc is not None else 0,
            created_by=_actor_id(actor),
            created_at=now,
            updated_at=now,
        )
        v = None
        if doc is not None:
            v = WorkflowVersion.create(
                workflow=wf.id,
                number=1,
                graph=doc,
                comment=comment,
                created_by=_actor_id(actor),
                created_at=now,
            )
        return wf, v

    @staticmethod
    def _name_taken(name: str) -> errors.Conflict:
        return errors.Conflict(f"a workflow named {name!r} exists", code="name_taken")

    def update(
        self,
        actor: User | None,
        workflow_id: int,
        changes: dict[str, Any],
        *,
        ip: str | None = None,
    ) -> Workflow:
        """Rename, describe, archive or bring back from the archive (``archived``)."""
        fields: dict[str, Any] = {}
        if "name" in changes:
            fields["name"] = check_name(changes["name"])
        if "description" in changes:
            fields["description"] = changes["description"]
        if "archived" in changes:
            fields["archived"] = bool(changes["archived"])
        try:
            with write_transaction():
                wf = self.get(workflow_id)
                if not fields:
                    return wf
                fields["updated_at"] = utcnow()
                Workflow.update(**fields).where(Workflow.id == wf.id).execute()
                if fields.get("archived") and not wf.archived:
                    self._disable_triggers(wf.id)
                action = "workflow.update"
                if "archived" in fields and fields["archived"] != wf.archived:
                    action = "workflow.archive" if fields["archived"] else "workflow.unarchive"
                audit.record(
                    actor,
                    action,
                    f"workflow:{wf.id}",
                    ip=ip,
                    details={k: v for k, v in fields.items() if k != "updated_at"},
                )
        except pw.IntegrityError:
            raise self._name_taken(fields.get("name", "")) from None
        return self.get(workflow_id)

    def delete(
        self, actor: User | None, workflow_id: int, *, ip: str | None = None
    ) -> Workflow | None:
        """Remove a workflow and its versions — or, if it has executions, archive it so their
        history stays. Returns the archived workflow, or None when it was removed."""
        with write_transaction():
            wf = self.get(workflow_id)
            if not self._has_executions(wf.id):
                try:
                    with database_proxy.obj.atomic():  # a savepoint: RESTRICT may still refuse
                        WorkflowVersion.delete().where(WorkflowVersion.workflow == wf.id).execute()
                        Trigger.delete().where(Trigger.workflow == wf.id).execute()
                        Workflow.delete().where(Workflow.id == wf.id).execute()
                except pw.IntegrityError:
                    pass  # an execution appeared meanwhile: archive instead
                else:
                    audit.record(
                        actor,
                        "workflow.delete",
                        f"workflow:{wf.id}",
                        ip=ip,
                        details={"name": wf.name, "versions": wf.latest_version},
                    )
                    return None
            Workflow.update(archived=True, updated_at=utcnow()).where(
                Workflow.id == wf.id
            ).execute()
            self._disable_triggers(wf.id)
            audit.record(
                actor,
                "workflow.archive",
                f"workflow:{wf.id}",
                ip=ip,
                details={"name": wf.name, "reason": "deleted with executions"},
            )
        return self.get(workflow_id)

    @staticmethod
    def _has_executions(workflow_id: int) -> bool:
        return Execution.select().where(Execution.workflow == workflow_id).exists()

    @staticmethod
    def _disable_triggers(workflow_id: int) -> None:
        """An archived workflow cannot be run: its triggers stop firing."""
        Trigger.update(enabled=False, updated_at=utcnow()).where(
            Trigger.workflow == workflow_id
        ).execute()

    def save_version(
        self,
        actor: User | None,
        workflow_id: int,
        graph: Any,
        *,
        comment: str = "",
        ip: str | None = None,
    ) -> tuple[Workflow, WorkflowVersion]:
        """Save a graph as a new draft with the next version number."""
        doc = check_graph(graph)
        comment = check_comment(comment)
        with write_transaction():
            v = self._next_version(actor, workflow_id, doc, comment)
        return self.get(workflow_id), v

    def _next_version(
        self, actor: User | None, workflow_id: int, doc: dict[str, Any], comment: str
    ) -> WorkflowVersion:
        """Inside a write transaction: claim the next number on the workflow's row (the update
        locks the row, so concurrent savers queue here), then insert the version."""
        now = utcnow()
        claimed = (
            Workflow.update(latest_version=Workflow.latest_version + 1, updated_at=now)
            .where((Workflow.id == workflow_id) & (Workflow.archived == False))  # noqa: E712
            .execute()
        )
        if not claimed:
            wf = self.get(workflow_id)  # 404 if it does not exist
            raise errors.IllegalTransition(
                f"workflow {wf.name!r} is archived; bring it back (PATCH archived=false) first",
                code="archived",
            )
        number = Workflow.get_by_id(workflow_id).latest_version
        return WorkflowVersion.create(
            workflow=workflow_id,
            number=number,
            graph=doc,
            comment=comment,
            created_by=_actor_id(actor),
            created_at=now,
        )

    def update_version(
        self,
        actor: User | None,
        workflow_id: int,
        number: int,
        *,
        comment: str,
    ) -> tuple[Workflow, WorkflowVersion]:
        """Change the comment of the latest draft. A version that was ever published is
        immutable (409 ``immutable``); an older draft is no longer editable (409
        ``not_latest``) — save a new version instead."""
        comment = check_comment(comment)
        with write_transaction():
            wf, v = self.version(workflow_id, number)
            self._ensure_writable(wf, v)
            changed = (
                WorkflowVersion.update(comment=comment)
                .where((WorkflowVersion.id == v.id) & WorkflowVersion.published_at.is_null())
                .execute()
            )
            if not changed:
                raise self._immutable(v)
        return self.version(workflow_id, number)

    @staticmethod
    def _immutable(v: WorkflowVersion) -> errors.IllegalTransition:
        return errors.IllegalTransition(
            f"version {v.number} was published and is immutable; save a new version instead",
            code="immutable",
        )

    def _ensure_writable(self, wf: Workflow, v: WorkflowVersion) -> None:
        if v.published_at is not None:
            raise self._immutable(v)
        if v.number != wf.latest_version:
            raise errors.IllegalTransition(
                f"version {v.number} is not the latest ({wf.latest_version}); only the latest "
                "draft is editable",
                code="not_latest",
            )

    def publish(
        self,
        actor: User | None,
        workflow_id: int,
        *,
        version: int | None = None,
        ip: str | None = None,
    ) -> tuple[Workflow, WorkflowVersion]:
        """Publish the latest version if it is a draft. ``version``, when given, must be the
        latest (so a publish never takes a version the caller has not seen)."""
        with write_transaction():
            wf = self.get(workflow_id)
            if wf.archived:
                raise errors.IllegalTransition(
                    f"workflow {wf.name!r} is archived; it cannot be published", code="archived"
                )
            latest = wf.latest_version
            if not latest:
                raise errors.IllegalTransition(
                    f"workflow {wf.name!r} has no version to publish; save one first",
                    code="no_versions",
                )
            if version is not None and version != latest:
                raise errors.IllegalTransition(
                    f"only the latest version ({latest}) can be published, not {version}",
                    code="not_latest",
                )
            _, v = self.version(wf.id, latest)
            if v.published_at is not None:
                raise errors.IllegalTransition(
                    f"version {latest} is already published; save a new draft to publish again",
                    code="already_published",
                )
            now = utcnow()
            # Both updates are conditional: of two publishers, the second finds published_at
            # set (PostgreSQL re-checks the row after the first commits) and changes nothing.
            won = (
                WorkflowVersion.update(published_at=now, published_by=_actor_id(actor))
                .where((WorkflowVersion.id == v.id) & WorkflowVersion.published_at.is_null())
                .execute()
            )
            if not won:
                raise errors.IllegalTransition(
                    f"version {latest} was published by someone else just now",
                    code="already_published",
                )
            moved = (
                Workflow.update(published_version=latest, updated_at=now)
                .where(
                    (Workflow.id == wf.id)
                    & (Workflow.latest_version == latest)
                    & (Workflow.archived == False)  # noqa: E712
                )
                .execute()
            )
            if not moved:
                # a newer version was saved (or the workflow archived) meanwhile; the
                # transaction rolls back the version's published_at too
                raise errors.IllegalTransition(
                    f"workflow {wf.name!r} changed while publishing version {latest}; try again",
                    code="not_latest",
                )
            audit.record(
                actor,
                "workflow.publish",
                f"workflow:{wf.id}",
                ip=ip,
                details={"name": wf.name, "version": latest, "previous": wf.published_version},
            )
        return self.version(workflow_id, latest)

    def restore(
        self,
        actor: User | None,
        workflow_id: int,
        number: int,
        *,
        ip: str | None = None,
    ) -> tuple[Workflow, WorkflowVersion]:
        """Rollback, first two steps: load version ``number``'s graph and save it as a new
        draft (then publish it). The graph is validated again against today's catalog."""
        _, old = self.version(workflow_id, number)
        doc = check_graph(old.graph)
        with write_transaction():
            v = self._next_version(actor, workflow_id, doc, f"restored from version {number}")
            audit.record(
                actor,
                "workflow.restore",
                f"workflow:{workflow_id}",
                ip=ip,
                details={"from_version": number, "version": v.number},
            )
        return self.get(workflow_id), v

    def import_(
        self,
        actor: User | None,
        *,
        name: str,
        graph: Any,
        description: str | None = None,
        exported_from_version: int | None = None,
        ip: str | None = None,
    ) -> tuple[Workflow, WorkflowVersion, bool]:
        """An exported document → a new workflow (version 1), or a new draft of the workflow
        with the same name. Returns ``(workflow, version, created)``."""
        name = check_name(name)
        doc = check_graph(graph)
        comment = "imported" + (
            f" (exported from version {exported_from_version})" if exported_from_version else ""
        )
        for _ in range(3):  # a concurrent import of the same new name: retry as "existing"
            try:
                with write_transaction():
                    existing = Workflow.get_or_none(Workflow.name == name)
                    created = existing is None
                    if existing is None:
                        wf, v = self._create(actor, name, description or "", doc, comment)
                        assert v is not None
                    else:
                        # a new draft only: the live workflow's name and description stay
                        v = self._next_version(actor, existing.id, doc, comment)
                        wf = existing
                    audit.record(
                        actor,
                        "workflow.import",
                        f"workflow:{wf.id}",
                        ip=ip,
                        details={
                            "name": name,
                            "version": v.number,
                            "created": created,
                            "exported_from_version": exported_from_version,
                        },
                    )
                return self.get(wf.id), v, created
            except pw.IntegrityError:
                continue
        raise self._name_taken(name)
