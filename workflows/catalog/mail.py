"""Email: send by SMTP, read and file messages by IMAP."""

from __future__ import annotations

from dataclasses import replace

from . import Activity, Param, category, register

category("email", "Email")

SMTP_SECURITY = ("starttls", "ssl", "none")
IMAP_SECURITY = ("ssl", "starttls", "none")


def _server(security: tuple[str, ...], default_port: str) -> tuple[Param, ...]:
    return (
        Param("host", "string", required=True, description="server name or address"),
        Param("port", "integer", description=f"default: {default_port}"),
        Param(
            "security",
            "choice",
            default=security[0],
            choices=security,
            description="ssl: TLS from the start; starttls: upgrade; none: no encryption",
        ),
        Param("username", "string", description="default: the credential's username"),
        Param("password", "string", secret=True, description="default: the credential's secret"),
        Param("credential", "string", description="vault credential name"),
        Param("ca_file", "string", description="CA certificate (PEM) to trust for this server"),
        Param("timeout", "number", default=30, description="seconds"),
    )


_IMAP = _server(IMAP_SECURITY, "993 for ssl, 143 otherwise")

_MESSAGES = Param(
    "messages",
    "any",
    required=True,
    description="a message from email.get, its uid, or a list of either",
)

register(
    Activity(
        type="email.send",
        title="Send email",
        description=(
            "Send a message by SMTP (STARTTLS on 587 by default, `ssl` for port 465). Office "
            "365: host smtp.office365.com, port 587, starttls; Outlook.com: "
            "smtp-mail.outlook.com, 587, starttls (SMTP AUTH must be allowed for the mailbox). "
            "Give `body` (plain text), `html` or both; `to`, `cc`, `bcc` take one address, "
            "several separated by commas, or a list. The TLS certificate is always verified. "
            "The output is the Message-ID."
        ),
        params=(
            *_server(SMTP_SECURITY, "587 for starttls, 465 for ssl, 25 for none"),
            Param("from", "string", description="sender address; default: the username"),
            Param("to", "any", required=True),
            Param("cc", "any"),
            Param("bcc", "any", description="blind copies: not in the headers"),
            Param("reply_to", "string"),
            Param("subject", "string", default=""),
            Param("body", "text", description="plain-text body"),
            Param("html", "text", description="HTML body"),
            Param("attachments", "any", description="a file path or a list of paths"),
            Param("output", "variable", description="variable for the Message-ID"),
        ),
        output="string",
    ),
    Activity(
        type="email.get",
        title="Get emails",
        description=(
            "Read messages from an IMAP folder, newest first. Each message is an object "
            "{uid, folder, message_id, from, to, cc, subject, date, unread, headers, text, "
            "html, attachments} (attachments: file names). Filters: `unread_only`, `from`, "
            "`subject` (contains), `since` (YYYY-MM-DD). `mark_read` flags them as read, "
            "`move_to` files them into another folder after reading (the messages then name "
            "their new folder and uid)."
        ),
        params=(
            *_IMAP,
            Param("folder", "string", default="INBOX"),
            Param("unread_only", "boolean", default=False),
            Param("from", "string", description="sender contains"),
            Param("subject", "string", description="subject contains"),
            Param("since", "string", description="received on or after, YYYY-MM-DD"),
            Param("limit", "integer", default=50, description="at most this many, newest first"),
            Param("mark_read", "boolean", default=False),
            Param("move_to", "string", description="folder to move the messages to"),
            Param("output", "variable", description="variable for the list of messages"),
        ),
        output="list",
    ),
    Activity(
        type="email.save_attachments",
        title="Save attachments",
        description=(
            "Save the attachments of messages (from email.get, by uid, or an .eml file in "
            "`eml_file`) into `destination`. Encoded file names are decoded, unnamed binary "
            "parts get a name, an attached email is saved as .eml and its own attachments are "
            "saved too; names are made safe (no folders, no '..'), and an existing file gets "
            "a numbered name unless `overwrite`. The output is the list of saved paths."
        ),
        params=(
            *(replace(p, required=False) if p.name == "host" else p for p in _IMAP),
            Param("folder", "string", default="INBOX"),
            Param(
                "messages",
                "any",
                description="a message from email.get, its uid, or a list of either",
            ),
            Param("eml_file", "string", description="a saved .eml file instead of the server"),
            Param("destination", "string", required=True, description="folder"),
            Param("pattern", "string", default="*", description="file names to save (glob)"),
            Param("overwrite", "boolean", default=False),
            Param("output", "variable", description="variable for the saved paths"),
        ),
        output="list",
    ),
    Activity(
        type="email.move",
        title="Move emails",
        description="Move messages to another IMAP folder (created when missing).",
        params=(
            *_IMAP,
            Param("folder", "string", default="INBOX", description="where the messages are"),
            _MESSAGES,
            Param("destination", "string", required=True, description="target folder"),
            Param("create", "boolean", default=True, description="create a missing folder"),
            Param("output", "variable", description="variable for the number moved"),
        ),
        output="integer",
    ),
    Activity(
        type="email.delete",
        title="Delete emails",
        description=(
            "Delete messages from an IMAP folder (flagged \\Deleted and expunged at once)."
        ),
        params=(
            *_IMAP,
            Param("folder", "string", default="INBOX", description="where the messages are"),
            _MESSAGES,
            Param("output", "variable", description="variable for the number deleted"),
        ),
        output="integer",
    ),
)
