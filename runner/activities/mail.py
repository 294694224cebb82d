"""``email.*``: send with :mod:`smtplib`, read and file with IMAPClient, parse with :mod:`email`.

IMAP nodes of one execution naming the same server and login share one session (see
:func:`_remote.lease`); ``email.send`` connects per node. TLS is always verified: against the
system's CA store, or against the node's ``ca_file`` for an internal server; there is no switch
to turn it off.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import fnmatch
import mimetypes
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import formatdate, getaddresses, make_msgid, parsedate_to_datetime
from pathlib import Path
from typing import Any

from workflows.catalog.mail import IMAP_SECURITY, SMTP_SECURITY

from . import _fs as fs
from . import _remote as remote
from ._filenames import safe_name
from ._filenames import unique_path as _unique
from .base import ActivityError, Context, activity, boolean, integer, text

POLICY = email.policy.default
#: the largest message email.get / save_attachments fetch (bigger ones are skipped with a note)
MAX_MESSAGE = 50 * 1024 * 1024

# ---------------------------------------------------------------------------------------------
# email.send


def _addresses(params: dict[str, Any], name: str) -> list[str]:
    """Addresses from one text ("a@x, B <b@y>") or a list; each must look like an address."""
    out = []
    for value in remote.texts(params.get(name), name):
        for display, addr in getaddresses([value]):
            if not addr or "@" not in addr or any(c.isspace() for c in addr):
                raise ActivityError(f"param {name!r}: {value!r} is not an email address")
            out.append(f"{display} <{addr}>" if display else addr)
    return out


def _bare(address: str) -> str:
    return getaddresses([address])[0][1]


def _attach(msg: EmailMessage, paths: list[str]) -> None:
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ActivityError(f"attachment does not exist: {path}")
        ctype, encoding = mimetypes.guess_type(path.name)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ActivityError(f"cannot read attachment {path}: {exc.strerror}") from None
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)


def _compose(params: dict[str, Any], sender: str) -> tuple[EmailMessage, list[str]]:
    to, cc, bcc = (_addresses(params, n) for n in ("to", "cc", "bcc"))
    if not to and not cc and not bcc:
        raise ActivityError("param 'to' needs at least one address")
    body = params.get("body")
    html = params.get("html")
    msg = EmailMessage(policy=POLICY)
    try:
        msg["From"] = sender
        if to:
            msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        if params.get("reply_to"):
            msg["Reply-To"] = text(params, "reply_to")
        msg["Subject"] = text(params, "subject", "")
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=_bare(sender).rpartition("@")[2] or None)
    except ValueError as exc:  # a header with a line break: refused, not injected
        raise ActivityError(f"invalid header value: {exc}") from None
    if body not in (None, "") and html not in (None, ""):
        msg.set_content(text(params, "body"))
        msg.add_alternative(text(params, "html"), subtype="html")
    elif html not in (None, ""):
        msg.set_content(text(params, "html"), subtype="html")
    else:
        msg.set_content(text(params, "body", ""))
    _attach(msg, remote.texts(params.get("attachments"), "attachments"))
    return msg, [_bare(a) for a in to + cc + bcc]


def _smtp_security(params: dict[str, Any]) -> tuple[str, int]:
    security = text(params, "security", "starttls") or "starttls"
    if security not in SMTP_SECURITY:
        raise ActivityError(f"param 'security' must be one of {', '.join(SMTP_SECURITY)}")
    return security, remote.port(params, {"starttls": 587, "ssl": 465, "none": 25}[security])


def _smtp(params: dict[str, Any], ctx: Context, host: str) -> tuple[smtplib.SMTP, str]:
    """A connected SMTP session (TLS set up as asked) and ``host:port`` for messages."""
    security, port = _smtp_security(params)
    timeout = remote.timeout(params, ctx)
    tls = remote.tls_context(params) if security != "none" else None
    where = f"{host}:{port}"
    try:
        if security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            smtp.ehlo()
            if security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ActivityError(
                        f"{where} does not offer STARTTLS; use security 'ssl' (port 465) or "
                        "check the port"
                    )
                smtp.starttls(context=tls)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
    except (OSError, smtplib.SMTPException) as exc:
        raise _smtp_error("cannot connect", where, exc) from None
    return smtp, where


def _reply(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


def _smtp_error(what: str, where: str, exc: BaseException) -> ActivityError:
    if isinstance(exc, smtplib.SMTPResponseException):
        return ActivityError(f"{what}: {where} answered {exc.smtp_code} {_reply(exc)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ActivityError(f"{what}: {where} closed the connection ({exc})")
    return remote.network_error(what, where, exc)


def _smtp_login(smtp: smtplib.SMTP, login: remote.Login, where: str, ctx: Context) -> None:
    if not login.username:
        return
    if not login.password:
        raise ActivityError(f"logging in to {where} as {login.username} needs a password")
    if not isinstance(smtp, smtplib.SMTP_SSL) and getattr(smtp, "sock", None) is not None:
        if not isinstance(smtp.sock, ssl.SSLSocket):
            ctx.log("warning", f"sending the password to {where} without encryption")
    try:
        smtp.login(login.username, login.password)
    except smtplib.SMTPAuthenticationError as exc:
        raise ActivityError(
            f"{where} refused the login of {login.username!r} (wrong username or password?): "
            f"{exc.smtp_code} {_reply(exc)}"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise ActivityError(f"{where} offers no login (AUTH) on this connection") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise _smtp_error("login failed", where, exc) from None


@activity("email.send")
def send(params: dict[str, Any], ctx: Context) -> str:
    host = remote.host(params)
    login = remote.login_for(
        params, ctx, host, port=_smtp_security(params)[1], what="SMTP", required=False
    )
    sender = text(params, "from", "") or login.username
    if not sender or "@" not in sender:
        raise ActivityError("param 'from' is required (an address) when the username is not one")
    msg, recipients = _compose(params, sender)
    ctx.check()
    smtp, where = _smtp(params, ctx, host)
    try:
        _smtp_login(smtp, login, where, ctx)
        try:
            refused = smtp.send_message(msg, from_addr=_bare(sender), to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            names = ", ".join(sorted(exc.recipients))
            raise ActivityError(f"{where} refused every recipient: {names}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _smtp_error("sending failed", where, exc) from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    if refused:
        ctx.log("warning", f"{where} refused {', '.join(sorted(refused))}; sent to the others")
    ctx.log("info", f"sent {msg['Subject']!r} to {len(recipients) - len(refused)} recipient(s)")
    return str(msg["Message-ID"])


# ---------------------------------------------------------------------------------------------
# IMAP


def _imap(params: dict[str, Any], ctx: Context, host: str) -> Any:
    """A logged-in IMAPClient (the caller logs out)."""
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError, LoginError

    security = text(params, "security", "ssl") or "ssl"
    if security not in IMAP_SECURITY:
        raise ActivityError(f"param 'security' must be one of {', '.join(IMAP_SECURITY)}")
    port = remote.port(params, 993 if security == "ssl" else 143)
    tls = remote.tls_context(params) if security != "none" else None
    where = f"{host}:{port}"
    login = remote.login_for(params, ctx, host, port=port, what="IMAP")
    if not login.password:
        raise ActivityError(f"logging in to {where} as {login.username} needs a password")
    try:
        client = IMAPClient(
            host,
            port=port,
            ssl=security == "ssl",
            ssl_context=tls,
            timeout=remote.timeout(params, ctx),
        )
    except (OSError, IMAPClientError) as exc:
        raise remote.network_error("cannot connect", where, exc) from None
    try:
        if security == "starttls":
            try:
                client.starttls(tls)
            except (OSError, IMAPClientError) as exc:
                raise remote.network_error("STARTTLS failed", where, exc) from None
        elif security == "none":
            ctx.log("warning", f"sending the password to {where} without encryption")
        try:
            client.login(login.username, login.password)
        except LoginError as exc:
            reason = _imap_text(exc)
            raise ActivityError(
                f"{where} refused the login of {login.username!r} (wrong username or "
                f"password?): {reason}"
            ) from None
        except (OSError, IMAPClientError) as exc:
            raise remote.network_error("login failed", where, exc) from None
    except BaseException:
        _logout(client)
        raise
    return client


#: the params naming the IMAP server and login (nodes naming the same share a session)
IMAP_SERVER_PARAMS = ("host", "port", "security", "username", "password", "ca_file")


@contextmanager
def _session(params: dict[str, Any], ctx: Context, host: str) -> Iterator[Any]:
    """A logged-in IMAP client for one node: the execution's open session for this server and
    login, or a new one kept for later nodes (closed when the execution ends). A dropped
    connection or a server error during the work becomes a node error naming the server."""
    from imapclient.exceptions import IMAPClientError

    held = remote.lease(
        ctx,
        remote.session_key("imap", params, IMAP_SERVER_PARAMS, ctx),
        lambda: _imap(params, ctx, host),
        _answers,
        _logout,
    )
    client = held.session
    try:
        yield client
    except (OSError, EOFError, IMAPClientError) as exc:
        where = f"{host}:{client.port}"
        if isinstance(exc, IMAPClientError) and not isinstance(exc, client.AbortError):
            raise ActivityError(f"{where} answered an error: {_imap_text(exc)}") from None
        held.drop()
        ctx.check()
        raise remote.network_error("IMAP failed", where, exc) from None
    finally:
        held.release()


def _answers(client: Any) -> bool:
    try:
        client.noop()
    except Exception:  # noqa: BLE001 - whatever a dead connection raises
        return False
    return True


def _imap_text(exc: BaseException) -> str:
    message = str(exc)
    match = re.search(r"b['\"](.*)['\"]", message)
    return match.group(1) if match else message


def _logout(client: Any) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may be gone already
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001, S110 - nothing left to close
            pass


def _select(client: Any, folder: str, *, readonly: bool) -> int:
    """Select ``folder``; its UIDVALIDITY."""
    from imapclient.exceptions import IMAPClientError

    try:
        info = client.select_folder(folder, readonly=readonly)
    except IMAPClientError as exc:
        raise ActivityError(f"cannot open folder {folder!r}: {_imap_text(exc)}") from None
    return int(info.get(b"UIDVALIDITY", 0))


def _criteria(params: dict[str, Any]) -> list[Any]:
    criteria: list[Any] = []
    if boolean(params, "unread_only"):
        criteria.append("UNSEEN")
    if params.get("from"):
        criteria += ["FROM", text(params, "from")]
    if params.get("subject"):
        criteria += ["SUBJECT", text(params, "subject")]
    if params.get("since"):
        raw = text(params, "since")
        try:
            since = dt.date.fromisoformat(raw[:10])
        except ValueError:
            raise ActivityError(f"param 'since' must be a date YYYY-MM-DD, got {raw!r}") from None
        criteria += ["SINCE", since]
    return criteria or ["ALL"]


def _decoded(value: str) -> str:
    """A header or file name with RFC 2047 encoded words decoded (some mailers put them where
    RFC 2231 is meant)."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value


def _bodies(msg: EmailMessage) -> tuple[Message | None, Message | None]:
    return msg.get_body(("plain",)), msg.get_body(("html",))


def _parts(msg: Message, skip: set[int]) -> Iterator[Message]:
    """The attachment parts of ``msg``: named parts, non-text leaves (an unnamed
    application/octet-stream too) and attached messages (not descended into)."""
    if msg.get_content_type() == "message/rfc822":
        yield msg
        return
    if msg.is_multipart():
        for sub in msg.get_payload():  # type: ignore[union-attr]
            if isinstance(sub, Message):
                yield from _parts(sub, skip)
        return
    if id(msg) in skip:
        return
    named = msg.get_filename() is not None
    if named or msg.get_content_disposition() == "attachment":
        yield msg
    elif msg.get_content_maintype() != "text":  # an unnamed binary part (octet-stream, image)
        yield msg


def _attachment_parts(msg: EmailMessage) -> list[Message]:
    skip = {id(p) for p in _bodies(msg) if p is not None}
    if msg.is_multipart():
        return list(_parts(msg, skip))
    if msg.get_filename() is not None or msg.get_content_disposition() == "attachment":
        return [msg]
    return []


def _inner(part: Message) -> EmailMessage | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], EmailMessage):
        return payload[0]
    if isinstance(payload, EmailMessage):
        return payload
    return None


def _part_name(part: Message, index: int) -> str:
    """A part's file name as the sender meant it (decoded), or a made-up one."""
    raw = part.get_filename()
    if raw:
        return _decoded(str(raw))
    if part.get_content_type() == "message/rfc822":
        inner = _inner(part)
        subject = str(inner.get("Subject", "") or "") if inner is not None else ""
        return f"{subject or f'message-{index}'}.eml"
    ext = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"attachment-{index}{ext}"


def _summary(uid: int, folder: str, validity: int, raw: bytes, flags: Any) -> dict[str, Any]:
    msg = email.message_from_bytes(raw, policy=POLICY)
    assert isinstance(msg, EmailMessage)
    plain, html = _bodies(msg)
    headers: dict[str, str] = {}
    for name, value in msg.items():
        value = str(value)
        headers[name] = f"{headers[name]}\n{value}" if name in headers else value
    date = None
    if msg.get("Date"):
        try:
            date = parsedate_to_datetime(str(msg["Date"])).isoformat()
        except (TypeError, ValueError):
            date = None
    return {
        "uid": uid,
        "folder": folder,
        "uidvalidity": validity,
        "message_id": str(msg.get("Message-ID", "") or ""),
        "from": str(msg.get("From", "") or ""),
        "to": str(msg.get("To", "") or ""),
        "cc": str(msg.get("Cc", "") or ""),
        "subject": str(msg.get("Subject", "") or ""),
        "date": date,
        "unread": b"\\Seen" not in (flags or ()),
        "size": len(raw),
        "headers": headers,
        "text": _content(plain),
        "html": _content(html),
        "attachments": [_part_name(p, i) for i, p in enumerate(_attachment_parts(msg), 1)],
    }


def _content(part: Message | None) -> str:
    if part is None:
        return ""
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _fetch(client: Any, uids: list[int], ctx: Context) -> dict[int, tuple[bytes, Any]]:
    """Full messages by uid (read without setting \\Seen), skipping too large ones."""
    out: dict[int, tuple[bytes, Any]] = {}
    sizes = client.fetch(uids, ["RFC822.SIZE"]) if uids else {}
    wanted = []
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if size > MAX_MESSAGE:
            ctx.log("warning", f"message {uid} is {size} bytes, larger than {MAX_MESSAGE}; skipped")
        else:
            wanted.append(uid)
    for start in range(0, len(wanted), 20):
        ctx.check()
        batch = wanted[start : start + 20]
        for uid, data in client.fetch(batch, ["BODY.PEEK[]", "FLAGS"]).items():
            out[uid] = (data.get(b"BODY[]", b""), data.get(b"FLAGS", ()))
    return out


def _move(client: Any, uids: list[int], destination: str, *, create: bool) -> None:
    from imapclient.exceptions import IMAPClientError

    try:
        if not client.folder_exists(destination):
            if not create:
                raise ActivityError(f"folder {destination!r} does not exist")
            client.create_folder(destination)
        if client.has_capability("MOVE"):
            client.move(uids, destination)
        else:
            client.copy(uids, destination)
            _expunge(client, uids)
    except IMAPClientError as exc:
        raise ActivityError(f"cannot move to {destination!r}: {_imap_text(exc)}") from None


def _expunge(client: Any, uids: list[int]) -> None:
    """Delete these messages for good: flag them deleted and expunge only them where the
    server can (UIDPLUS), else the folder's deleted messages."""
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


@activity("email.get")
def get(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    host = remote.host(params)
    folder = text(params, "folder", "INBOX") or "INBOX"
    limit = integer(params, "limit", 50)
    if limit < 1:
        raise ActivityError("param 'limit' must be at least 1")
    criteria = _criteria(params)
    mark_read = boolean(params, "mark_read")
    move_to = text(params, "move_to", "")
    with _session(params, ctx, host) as client:
        validity = _select(client, folder, readonly=not (mark_read or move_to))
        charset = None if all(str(c).isascii() for c in criteria) else "UTF-8"
        uids = sorted(client.search(criteria, charset=charset), reverse=True)[:limit]
        messages = _fetch(client, uids, ctx)
        found = [_summary(uid, folder, validity, *messages[uid]) for uid in uids if uid in messages]
        if mark_read and found:
            client.add_flags([m["uid"] for m in found], [b"\\Seen"])
            for m in found:
                m["unread"] = False
        if move_to and found:
            _move(client, [m["uid"] for m in found], move_to, create=True)
            _relocate(client, found, move_to)
    ctx.log("info", f"{len(found)} message(s) from {folder}")
    return found


def _relocate(client: Any, messages: list[dict[str, Any]], folder: str) -> None:
    """Point moved messages at their new folder and uid (found by Message-ID), so later
    nodes can act on them there; uid is null where the server cannot tell."""
    validity = _select(client, folder, readonly=True)
    for m in messages:
        m.update(folder=folder, uidvalidity=validity, uid=None)
        if m["message_id"]:
            found = client.search(["HEADER", "Message-ID", m["message_id"]])
            m["uid"] = max(found) if found else None


def _uids(params: dict[str, Any], folder: str, validity: int) -> list[int]:
    value = params.get("messages")
    items = value if isinstance(value, list) else [value]
    uids = []
    for item in items:
        if isinstance(item, dict):
            if item.get("folder") not in (None, folder):
                raise ActivityError(
                    f"message {item.get('uid')} is in folder {item.get('folder')!r}, not {folder!r}"
                )
            if item.get("uidvalidity") not in (None, 0, validity):
                raise ActivityError(
                    f"folder {folder!r} was rebuilt on the server since the messages were read "
                    "(UIDVALIDITY changed): get them again"
                )
            item = item.get("uid")
        if isinstance(item, bool) or item in (None, ""):
            raise ActivityError(f"param 'messages': {item!r} is not a message or uid")
        try:
            uids.append(int(item))
        except (TypeError, ValueError):
            raise ActivityError(f"param 'messages': {item!r} is not a message or uid") from None
    if not uids:
        raise ActivityError("param 'messages' names no message")
    return uids


def _existing(client: Any, uids: list[int], folder: str, ctx: Context) -> list[int]:
    """The uids that still exist in the selected folder (a retried node finds some gone)."""
    found = sorted(client.fetch(uids, ["UID"]).keys()) if uids else []
    if len(found) < len(set(uids)):
        ctx.log("warning", f"{len(set(uids)) - len(found)} message(s) no longer in {folder}")
    return found


@activity("email.move")
def move(params: dict[str, Any], ctx: Context) -> int:
    host = remote.host(params)
    folder = text(params, "folder", "INBOX") or "INBOX"
    destination = text(params, "destination")
    if not destination.strip():
        raise ActivityError("param 'destination' must not be empty")
    with _session(params, ctx, host) as client:
        validity = _select(client, folder, readonly=False)
        uids = _existing(client, _uids(params, folder, validity), folder, ctx)
        if uids:
            _move(client, uids, destination, create=boolean(params, "create", True))
    ctx.log("info", f"moved {len(uids)} message(s) from {folder} to {destination}")
    return len(uids)


@activity("email.delete")
def delete(params: dict[str, Any], ctx: Context) -> int:
    from imapclient.exceptions import IMAPClientError

    host = remote.host(params)
    folder = text(params, "folder", "INBOX") or "INBOX"
    with _session(params, ctx, host) as client:
        validity = _select(client, folder, readonly=False)
        uids = _existing(client, _uids(params, folder, validity), folder, ctx)
        if uids:
            try:
                _expunge(client, uids)
            except IMAPClientError as exc:
                raise ActivityError(f"cannot delete: {_imap_text(exc)}") from None
    ctx.log("info", f"deleted {len(uids)} message(s) from {folder}")
    return len(uids)


# ---------------------------------------------------------------------------------------------
# email.save_attachments


def _save_parts(
    msg: EmailMessage,
    destination: Path,
    pattern: str,
    overwrite: bool,
    saved: list[Path],
    ctx: Context,
    depth: int = 0,
) -> None:
    for index, part in enumerate(_attachment_parts(msg), 1):
        ctx.check()
        name = safe_name(_part_name(part, index), f"attachment-{index}")
        inner = _inner(part) if part.get_content_type() == "message/rfc822" else None
        if inner is not None:
            data = inner.as_bytes(policy=POLICY)
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        if fnmatch.fnmatch(name.lower(), pattern.lower()):
            target = _unique(destination, name, overwrite, set(saved))
            try:
                target.write_bytes(data)
            except OSError as exc:
                raise ActivityError(f"cannot save {target}: {exc.strerror}") from None
            saved.append(target)
        if inner is not None and depth < 5:  # the attached message's own attachments
            _save_parts(inner, destination, pattern, overwrite, saved, ctx, depth + 1)


@activity("email.save_attachments")
def save_attachments(params: dict[str, Any], ctx: Context) -> list[str]:
    destination = fs.path(params, "destination")
    pattern = text(params, "pattern", "*") or "*"
    overwrite = boolean(params, "overwrite")
    sources: list[EmailMessage] = []
    if params.get("eml_file"):
        path = fs.path(params, "eml_file")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ActivityError(f"cannot read {path}: {exc.strerror}") from None
        sources.append(_parse(raw))
    elif params.get("messages") not in (None, "", []):
        host = remote.host(params)
        folder = text(params, "folder", "INBOX") or "INBOX"
        with _session(params, ctx, host) as client:
            uids = _uids(params, folder, _select(client, folder, readonly=True))
            fetched = _fetch(client, uids, ctx)
        missing = [u for u in uids if u not in fetched]
        if missing:
            raise ActivityError(f"no message with uid {missing[0]} in {folder!r}")
        sources += [_parse(fetched[u][0]) for u in uids]
    else:
        raise ActivityError("give 'messages' (from email.get, or uids) or an 'eml_file'")
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ActivityError(f"cannot create folder {destination}: {exc.strerror}") from None
    saved: list[Path] = []
    for msg in sources:
        _save_parts(msg, destination, pattern, overwrite, saved, ctx)
    ctx.log("info", f"saved {len(saved)} attachment(s) to {destination}")
    return [str(p) for p in saved]


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=POLICY)
    assert isinstance(msg, EmailMessage)
    return msg
