"""The runner's HTTP client for the hub's runner-side API (API.md, "Runner side")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from . import __version__


class HubError(Exception):
    """Base of the client's errors."""


class HubUnavailable(HubError):
    """The hub could not be reached or answered 5xx: retry later."""


class AuthRejected(HubError):
    """401: wrong machine key/secret, or the token is no longer valid."""


class WriteRefused(HubError):
    """403/404/409 on an execution write: the attempt is stale or the runner does not hold it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ArtifactTooLarge(HubError):
    """413: the artifact is above the hub's ``artifact_max_bytes``."""


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        return str(body.get("description") or body.get("title") or resp.text)
    except ValueError:
        return resp.text[:200] or resp.reason_phrase


class HubClient:
    def __init__(self, hub_url: str, *, timeout: float = 30.0) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.hub_url,
            timeout=timeout,
            headers={"User-Agent": f"exekra-runner/{__version__}"},
        )
        self.token: str | None = None
        self.token_expires: dt.datetime | None = None
        self.runner_id: int | None = None
        #: whether final reports ask for the next execution (off once a hub refuses that)
        self.chaining = True

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise HubUnavailable(f"{self.hub_url} unreachable: {exc}") from None
        if resp.status_code >= 500:
            raise HubUnavailable(f"hub answered {resp.status_code}: {_message(resp)}")
        if resp.status_code == 401:
            raise AuthRejected(_message(resp))
        return resp

    def health(self) -> dict[str, Any]:
        resp = self._request("GET", "/api/health")
        return resp.json()

    def authenticate(
        self,
        machine_key: str,
        machine_secret: str,
        *,
        session: str | None = None,
        pending: list[int] | None = None,
    ) -> dict[str, Any]:
        """``session``: the agent process's id (a new one makes the hub settle what the
        previous process held); ``pending``: executions whose final report is still to be
        delivered from the outbox (the hub leaves them to that report)."""
        self.token = None
        body: dict[str, Any] = {"machine_key": machine_key, "machine_secret": machine_secret}
        if session is not None:
            body["session"] = session
            body["pending"] = pending or []
        resp = self._request("POST", "/api/runner/authenticate", json=body)
        if resp.status_code == 400 and session is not None and "session" in resp.text:
            # a hub older than this agent does not know the field: sign in without it
            body = {"machine_key": machine_key, "machine_secret": machine_secret}
            resp = self._request("POST", "/api/runner/authenticate", json=body)
        if resp.status_code == 429:
            raise HubUnavailable(f"authentication rate-limited: {_message(resp)}")
        if resp.status_code != 200:
            raise AuthRejected(_message(resp))
        body = resp.json()
        self.token = body["token"]
        self.runner_id = body.get("runner_id")
        expires = body.get("expires_at")
        self.token_expires = (
            dt.datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None
        )
        return body

    def token_due(self, margin: dt.timedelta = dt.timedelta(hours=1)) -> bool:
        if self.token is None:
            return True
        if self.token_expires is None:
            return False
        return dt.datetime.now(dt.UTC) + margin >= self.token_expires

    def heartbeat(self, metrics: dict[str, Any]) -> dict[str, Any]:
        resp = self._request("POST", "/api/runner/heartbeat", json=metrics)
        if resp.status_code != 200:
            raise HubError(f"heartbeat refused ({resp.status_code}): {_message(resp)}")
        return resp.json()

    def poll(self) -> dict[str, Any] | None:
        resp = self._request("GET", "/api/runner/poll")
        if resp.status_code == 204:
            return None
        if resp.status_code != 200:
            raise HubError(f"poll refused ({resp.status_code}): {_message(resp)}")
        return resp.json()["execution"]

    def _write(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._answer(path, self._request("POST", path, json=body))

    def _answer(self, path: str, resp: httpx.Response) -> dict[str, Any]:
        if resp.status_code in (403, 404, 409):
            raise WriteRefused(resp.status_code, _message(resp))
        if resp.status_code >= 400:
            raise HubError(f"{path} refused ({resp.status_code}): {_message(resp)}")
        try:
            return resp.json()
        except ValueError:
            return {}

    def status(self, execution_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self._write(f"/api/runner/executions/{execution_id}/status", body)

    def finish(
        self, execution_id: int, body: dict[str, Any], *, claim_next: bool = False
    ) -> dict[str, Any]:
        """A final report; with ``claim_next`` the answer's ``next`` is the runner's next
        execution (or None), so it need not wait for a poll. A hub older than the runner
        refuses the field (400): then the report goes as before and chaining stays off."""
        path = f"/api/runner/executions/{execution_id}/status"
        if claim_next and self.chaining:
            resp = self._request("POST", path, json={**body, "next": True})
            if resp.status_code != 400:
                return self._answer(path, resp)
            self.chaining = False
        return self._write(path, body)

    def logs(self, execution_id: int, attempt: int, logs: list[dict[str, Any]]) -> dict[str, Any]:
        return self._write(
            f"/api/runner/executions/{execution_id}/logs", {"attempt": attempt, "logs": logs}
        )

    def upload_artifact(
        self,
        execution_id: int,
        attempt: int,
        name: str,
        data: bytes,
        *,
        kind: str,
        content_type: str = "application/octet-stream",
        node_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Upload one artifact of the execution this runner holds; returns the hub's record.
        Raises :class:`ArtifactTooLarge` (413), :class:`WriteRefused` (not ours / stale)."""
        path = f"/api/runner/executions/{execution_id}/artifacts"
        params: dict[str, Any] = {"attempt": attempt, "name": name, "kind": kind}
        if node_id:
            params["node_id"] = node_id
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        resp = self._request(
            "POST",
            path,
            params=params,
            content=data,
            headers={"Content-Type": content_type},
            **extra,
        )
        if resp.status_code == 413:
            raise ArtifactTooLarge(_message(resp))
        return self._answer(path, resp)

    def report_repair(
        self,
        execution_id: int,
        attempt: int,
        node_id: str,
        param: str,
        old: Any,
        new: dict[str, Any],
        score: float,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Record a selector repair (a target found by its fingerprint) with the hub."""
        path = f"/api/runner/executions/{execution_id}/repairs"
        body = {
            "attempt": attempt,
            "node_id": node_id,
            "param": param,
            "old": old,
            "new": new,
            "score": min(1.0, max(0.0, float(score))),
        }
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        return self._answer(path, self._request("POST", path, json=body, **extra))
