"""Declared endpoints: one decorator validates requests and documents them in OpenAPI.

A responder declares who may call it and the msgspec ``Struct`` types of its body and query::

    class Collection:
        @endpoint("Create a user", role="ADMIN", body=UserCreate, response=UserOut, status=201)
        def on_post(self, req, resp): ...

The decorator authenticates (``auth``: public / user / runner), checks the role, decodes and
validates the body (unknown fields, wrong types and malformed JSON are 400; bodies over the
limit are 413) and the query string, and leaves them in ``req.context.body`` /
``req.context.query``. ``Routes`` records every route so ``openapi_document`` can describe every
endpoint from the same declarations: the document cannot drift from the validation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import falcon
import msgspec

from . import errors
from .models import ROLE_RANK

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Endpoint:
    summary: str
    auth: str = "user"  # public | user | runner
    role: str | None = "OPERATOR"
    body: Any = None
    query: Any = None
    response: Any = None
    status: int = 200
    description: str = ""
    body_content_type: str = "application/json"
    raw_body: bool = False  # the responder reads the (size-limited) body itself
    responses: dict[int, str] = field(default_factory=dict)
    #: counted against the per-client limit (``rate_limit_per_minute``); None: every endpoint
    #: but the runner routes (a fleet polls and heartbeats far more often than people click).
    #: Public routes with limits of their own (authenticate, webhooks) and health say False.
    rate_limited: bool | None = None


def _decode_error(exc: msgspec.ValidationError | msgspec.DecodeError) -> errors.ExekraError:
    msg = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        m = re.search(r"Object contains unknown field `([^`]+)`", msg)
        if m:
            return errors.ValidationFailed(f"unknown field {m.group(1)!r}", code="unknown_field")
        return errors.ValidationFailed(msg)
    return errors.BadRequest(f"malformed JSON: {msg}", code="malformed_json")


#: integers the databases store (SQLite INTEGER, PostgreSQL BIGINT) are 64-bit, and PostgreSQL
#: refuses text with a NUL character; such a value in a typed field or a path would otherwise
#: reach the driver and fail there (a 500)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_SUSPECT = re.compile(rb"\d{19}|\\u0000")


def _unstorable(value: Any, where: str = "$") -> str | None:
    """Why the first unstorable value in a decoded Struct is refused (naming ``$.a[0].b``).

    Dict values are free-form JSON data (e.g. workflow inputs) stored as JSON text, where any
    number and an escaped NUL are fine, so they are not looked into.
    """
    if isinstance(value, str):
        return f"text must not contain NUL characters - at `{where}`" if "\x00" in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return f"Expected `int` within the 64-bit range - at `{where}`"
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            bad = _unstorable(getattr(value, name), f"{where}.{name}")
            if bad:
                return bad
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            bad = _unstorable(item, f"{where}[{i}]")
            if bad:
                return bad
    return None


def read_body(req: falcon.Request, limit: int) -> bytes:
    """Read at most ``limit`` bytes of the body; more is 413 (Content-Length or streamed)."""
    length = req.content_length
    if length is not None and length > limit:
        raise errors.PayloadTooLarge(f"the body is {length} bytes; the limit is {limit}")
    data = req.bounded_stream.read(limit + 1)
    if len(data) > limit:
        raise errors.PayloadTooLarge(f"the body exceeds the limit of {limit} bytes")
    return data


def decode_body(req: falcon.Request, typ: Any, *, required: bool = True) -> Any:
    """The JSON body as ``typ``; an empty body is 400 ``missing_body``, or None when the body
    may be left out (``required=False``)."""
    raw = read_body(req, req.context.max_body_bytes)
    if not raw.strip():
        if not required:
            return None
        raise errors.BadRequest("a JSON body is required", code="missing_body")
    try:
        value = msgspec.json.decode(raw, type=typ)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise _decode_error(exc) from None
    except UnicodeDecodeError:  # msgspec raises this for invalid UTF-8 inside a JSON string
        raise errors.BadRequest("malformed JSON: not UTF-8", code="malformed_json") from None
    except RecursionError:  # msgspec: arrays/objects nested deeper than it decodes
        raise errors.BadRequest(
            "malformed JSON: nested too deeply", code="malformed_json"
        ) from None
    bad = _unstorable(value) if _SUSPECT.search(raw) else None
    if bad:
        raise errors.ValidationFailed(bad)
    return value


_INT_TEXT = re.compile(r"-?[0-9]+")


@functools.cache
def _int_query_fields(typ: Any) -> frozenset[str]:
    """Names of the query fields that take only an integer (or nothing)."""
    names = set()
    info = msgspec.inspect.type_info(typ)
    assert isinstance(info, msgspec.inspect.StructType)
    for f in info.fields:
        types = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
        kinds = {type(t) for t in types} - {msgspec.inspect.NoneType}
        if kinds == {msgspec.inspect.IntType}:
            names.add(f.encode_name)
    return frozenset(names)


def decode_query(req: falcon.Request, typ: Any) -> Any:
    params: dict[str, Any] = {}
    for key, val in req.params.items():
        if isinstance(val, list):  # ?a=1&a=2: which one was meant?
            raise errors.ValidationFailed(f"query parameter {key!r} is given more than once")
        params[key] = val
    known = {f.name for f in msgspec.structs.fields(typ)}
    for key in params:
        if key not in known:
            raise errors.ValidationFailed(f"unknown query parameter {key!r}", code="unknown_field")
    for key in _int_query_fields(typ) & params.keys():
        # msgspec's lax mode would also read "1e2" and "0.0" as integers
        if not _INT_TEXT.fullmatch(params[key]):
            raise errors.ValidationFailed(f"query parameter {key} must be a whole number")
    try:
        value = msgspec.convert(params, typ, strict=False)
    except msgspec.ValidationError as exc:
        raise errors.ValidationFailed(str(exc).replace("$.", "query parameter ")) from None
    bad = _unstorable(value)
    if bad:
        raise errors.ValidationFailed(bad.replace("$.", "query parameter "))
    return value


def endpoint(summary: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    spec = Endpoint(summary=summary, **kwargs)
    if spec.auth != "user":
        spec.role = None if spec.auth in ("public", "runner") else spec.role
    if spec.rate_limited is None:
        spec.rate_limited = spec.auth != "runner"

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(resource: Any, req: falcon.Request, resp: falcon.Response, **kw: Any) -> Any:
            if spec.rate_limited:
                rate_limit(req)
            authenticate(req, spec)
            if takes_json(spec):
                require_json(req)
            if spec.body is not None:
                req.context.body = decode_body(req, spec.body)
            if spec.query is not None:
                req.context.query = decode_query(req, spec.query)
            for name, value in kw.items():  # path segments no row can have
                if _unstorable(value):
                    raise errors.NotFound(f"no {name.removesuffix('_id')} {value!r}")
            return fn(resource, req, resp, **kw)

        wrapper.__endpoint__ = spec  # type: ignore[attr-defined]
        return wrapper

    return deco


def takes_json(spec: Endpoint) -> bool:
    return spec.body is not None or (spec.raw_body and spec.body_content_type == MEDIA_JSON)


MEDIA_JSON = "application/json"


def require_json(req: falcon.Request) -> None:
    """A JSON endpoint takes only JSON: a body sent as ``text/plain``, a form or multipart
    (what a cross-site page can send without a preflight) is 415. A body without any
    Content-Type is read as JSON (scripts, older clients); an empty body is not checked."""
    declared = req.content_type
    if not declared or req.content_length == 0:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media == "application/json" or re.fullmatch(r"application/[\w.+-]+\+json", media):
        return
    raise errors.UnsupportedMediaType(
        f"this endpoint takes application/json, not {media!r}", code="unsupported_media_type"
    )


def rate_limit(req: falcon.Request) -> None:
    """The per-client limit, before anything else is done for the request."""
    retry = req.context.limiter.hit("client:" + req.context.ip)
    if retry is not None:
        raise errors.RateLimited(retry)


def authenticate(req: falcon.Request, spec: Endpoint) -> None:
    auth = req.context.auth
    if spec.auth == "public":
        return
    if spec.auth == "runner":
        req.context.runner_claims = auth.runner_claims(req)
        return
    user = auth.current_user(req)
    if spec.role and ROLE_RANK[user.role] < ROLE_RANK[spec.role]:
        raise errors.Forbidden(f"this needs the {spec.role} role; you are {user.role}")


def require_role(req: falcon.Request, role: str) -> None:
    """For responders whose rule depends on the request (e.g. GET /api/license details)."""
    user = req.context.auth.current_user(req)
    if ROLE_RANK[user.role] < ROLE_RANK[role]:
        raise errors.Forbidden(f"this needs the {role} role; you are {user.role}")


def send(resp: falcon.Response, payload: Any, status: int = 200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    try:
        resp.data = msgspec.json.encode(payload)
    except UnicodeEncodeError:
        # a value stored before lone surrogates were refused: shown as U+FFFD, never a 500
        resp.data = msgspec.json.encode(printable(payload))


def printable(value: Any) -> Any:
    """``value`` with every lone surrogate in its text replaced by U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    if isinstance(value, msgspec.Struct):
        return printable(msgspec.to_builtins(value))
    return value


def page(req: falcon.Request) -> tuple[int, int]:
    q = req.context.query
    return q.limit, q.offset


class Routes:
    """Adds routes to the app and remembers them for the OpenAPI document."""

    def __init__(self, app: falcon.App) -> None:
        self.app = app
        self.table: list[tuple[str, Any, str | None]] = []

    def add(self, path: str, resource: Any, suffix: str | None = None) -> None:
        self.app.add_route(path, resource, suffix=suffix) if suffix else self.app.add_route(
            path, resource
        )
        self.table.append((path, resource, suffix))


_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")

#: an operation as ``openapi_document`` reads it: route path, method, declaration, responder
_Operation = tuple[str, str, Endpoint, Any]


def openapi_document(routes: Routes, *, version: str, title: str = "Exekra hub API") -> dict:
    """The OpenAPI 3.1 document of every declared responder of ``routes``: its paths, their
    parameters, request bodies, responses and security, and the schemas of the msgspec types
    that validate them."""
    ops = _oa_operations(routes)
    types = _oa_schema_types(ops)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    schema_of = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for path, method, spec, fn in ops:
        paths.setdefault(_oa_path(path), {})[method] = _oa_operation(
            path, method, spec, fn, schema_of, components
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The REST contract of the Exekra hub (see API.md).",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": _oa_components(components),
    }


def _oa_components(schemas: dict[str, Any]) -> dict[str, Any]:
    """The schemas of the declared types, the error body every error response has, and the
    three ways to authenticate (a user's bearer token or session cookie, a runner's token)."""
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "code": {"type": "string"},
        },
        "required": ["title", "code"],
    }
    return {
        "schemas": schemas,
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "exekra_session"},
            "runnerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        },
    }


def _oa_operations(routes: Routes) -> list[_Operation]:
    """Every declared responder, route after route, in the order of ``METHODS``."""
    ops: list[_Operation] = []
    for path, resource, suffix in routes.table:
        for method in METHODS:
            name = f"on_{method}" + (f"_{suffix}" if suffix else "")
            fn = getattr(resource, name, None)
            spec = getattr(fn, "__endpoint__", None)
            if spec is not None:
                ops.append((path, method, spec, fn))
    return ops


def _oa_schema_types(ops: list[_Operation]) -> list[Any]:
    """The body, response and query types the operations declare, each once, in first use."""
    types: list[Any] = []
    for _path, _method, spec, _fn in ops:
        for t in (spec.body, spec.response, spec.query):
            if t is not None and t not in types:
                types.append(t)
    return types


def _oa_path(path: str) -> str:
    """A route path in OpenAPI's spelling: ``{id:int}`` is ``{id}``."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def _oa_operation(
    path: str,
    method: str,
    spec: Endpoint,
    fn: Any,
    schema_of: dict[Any, Any],
    components: dict[str, Any],
) -> dict[str, Any]:
    """One operation: its summary, id and tag (the path's first segment after ``/api``), its
    responses, description, parameters, request body and security."""
    oa_path = _oa_path(path)
    op: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{method}_{oa_path.strip('/').replace('/', '_')}".replace("{", "")
        .replace("}", "")
        .replace("-", "_"),
        "tags": [oa_path.split("/")[2] if oa_path.count("/") >= 2 else "hub"],
        "responses": _oa_responses(path, spec, schema_of),
    }
    if spec.description or fn.__doc__:
        op["description"] = spec.description or (fn.__doc__ or "").strip()
    params = _oa_parameters(path, spec, components)
    if params:
        op["parameters"] = params
    body = _oa_request_body(spec, schema_of)
    if body is not None:
        op["requestBody"] = body
    if spec.auth != "public":
        op["security"] = (
            [{"runnerToken": []}] if spec.auth == "runner" else [{"bearer": []}, {"cookie": []}]
        )
    return op


def _oa_parameters(path: str, spec: Endpoint, components: dict[str, Any]) -> list[dict[str, Any]]:
    """The path segments (``{id:int}`` an integer), then the fields of the query type."""
    params: list[dict[str, Any]] = []
    for m in _PARAM.finditer(path):
        ptype = "integer" if m.group(2) == "int" else "string"
        params.append(
            {"name": m.group(1), "in": "path", "required": True, "schema": {"type": ptype}}
        )
    if spec.query is not None:
        qschema = components.get(spec.query.__name__, {})
        required = set(qschema.get("required", []))
        for pname, pschema in qschema.get("properties", {}).items():
            params.append(
                {"name": pname, "in": "query", "required": pname in required, "schema": pschema}
            )
    return params


def _oa_request_body(spec: Endpoint, schema_of: dict[Any, Any]) -> dict[str, Any] | None:
    """The declared body type; or for a responder that reads the body itself, any object
    (JSON) or text (another content type); None when it takes no body."""
    if spec.body is not None:
        return {
            "required": True,
            "content": {"application/json": {"schema": schema_of[spec.body]}},
        }
    if spec.raw_body and spec.body_content_type == "application/json":
        # responders that read JSON themselves take an optional object (a webhook's
        # payload, publish/run options); an empty body means none
        return {
            "required": False,
            "content": {spec.body_content_type: {"schema": {"type": "object"}}},
        }
    if spec.raw_body:
        return {
            "required": True,
            "content": {spec.body_content_type: {"schema": {"type": "string"}}},
        }
    return None


def _oa_responses(path: str, spec: Endpoint, schema_of: dict[Any, Any]) -> dict[str, Any]:
    """The success response (with the declared response type), the responses the endpoint
    declares, then the error responses its declaration implies."""
    ok: dict[str, Any] = {"description": "OK" if spec.status < 300 else "Success"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": schema_of[spec.response]}}
    responses: dict[str, Any] = {str(spec.status): ok}
    for code, text in spec.responses.items():
        responses[str(code)] = {"description": text}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, description in _oa_error_responses(path, spec):
        responses.setdefault(status, {"description": description, **err})
    return responses


def _oa_error_responses(path: str, spec: Endpoint) -> list[tuple[str, str]]:
    """The error statuses an endpoint can answer by its declaration, and what each means."""
    has_body = spec.body is not None or spec.raw_body
    implied: list[tuple[str, str]] = []
    if has_body or spec.query is not None:
        implied.append(("400", "Invalid input"))
    if has_body:
        implied.append(("413", "Request body too large"))
    if takes_json(spec):
        implied.append(("415", "Not a JSON body"))
    if "{" in path:
        implied.append(("404", "No such resource"))
    if spec.auth != "public":
        implied.append(("401", "Not authenticated"))
    if spec.role and spec.role != "OPERATOR":
        implied.append(("403", f"Needs {spec.role}"))
    return implied
