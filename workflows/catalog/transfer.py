"""File transfer: FTP / explicit FTPS (``ftp.*``) and SFTP over SSH (``sftp.*``), same verbs."""

from __future__ import annotations

from . import Activity, Param, category, register

category("ftp", "FTP")
category("sftp", "SFTP")

FTP_SECURITY = ("tls", "none")

_COMMON = (
    Param("host", "string", required=True, description="server name or address"),
    Param("username", "string", description="default: the credential's username"),
    Param("password", "string", secret=True, description="default: the credential's secret"),
    Param("credential", "string", description="vault credential name"),
    Param("timeout", "number", default=30, description="seconds per network operation"),
)

_FTP = (
    *_COMMON,
    Param("port", "integer", default=21),
    Param(
        "security",
        "choice",
        default="tls",
        choices=FTP_SECURITY,
        description="tls: explicit FTPS (AUTH TLS, protected data); none: plain FTP",
    ),
    Param("ca_file", "string", description="CA certificate (PEM) to trust for this server"),
    Param("passive", "boolean", default=True),
)

_SFTP = (
    *_COMMON,
    Param("port", "integer", default=22),
    Param(
        "private_key",
        "string",
        description="private key file (OpenSSH/PEM); a credential whose secret is a "
        "private key works too",
    ),
    Param("passphrase", "string", secret=True, description="of an encrypted private key"),
    Param(
        "known_hosts",
        "string",
        default="~/.ssh/known_hosts",
        description="known_hosts file the server's host key is checked against",
    ),
    Param(
        "host_key",
        "string",
        description="or the expected host key fingerprint (SHA256:...)",
    ),
)

_DESCRIPTIONS = {
    "list": (
        "List a folder",
        "List a remote folder: entries {name, path, type (file/folder), size, modified}, "
        "sorted by name.",
        (
            Param("path", "string", default=".", description="remote folder"),
            Param("pattern", "string", default="*", description="names to keep (glob)"),
            Param("output", "variable", description="variable for the entries"),
        ),
        "list",
    ),
    "upload": (
        "Upload a file",
        "Upload a local file. A remote path that is a folder (or ends with /) receives the "
        "file under its own name. The output is the remote path.",
        (
            Param("source", "string", required=True, description="local file"),
            Param("destination", "string", required=True, description="remote path or folder"),
            Param("overwrite", "boolean", default=True),
            Param("output", "variable", description="variable for the remote path"),
        ),
        "string",
    ),
    "download": (
        "Download a file",
        "Download a remote file; a local folder receives it under its own name. The file "
        "appears complete or not at all. The output is the local path.",
        (
            Param("source", "string", required=True, description="remote file"),
            Param("destination", "string", required=True, description="local path or folder"),
            Param("overwrite", "boolean", default=True),
            Param("output", "variable", description="variable for the local path"),
        ),
        "string",
    ),
    "delete": (
        "Delete a file",
        "Delete a remote file.",
        (
            Param("path", "string", required=True, description="remote file"),
            Param("missing_ok", "boolean", default=False),
        ),
        None,
    ),
    "rename": (
        "Rename or move",
        "Rename or move a remote file or folder.",
        (
            Param("source", "string", required=True),
            Param("destination", "string", required=True),
            Param("overwrite", "boolean", default=False, description="replace a file there"),
        ),
        None,
    ),
    "create_folder": (
        "Create a folder",
        "Create a remote folder with its missing parents (an existing one is fine).",
        (Param("path", "string", required=True),),
        None,
    ),
    "delete_folder": (
        "Delete a folder",
        "Delete a remote folder; `recursive` deletes what it holds too.",
        (
            Param("path", "string", required=True),
            Param("recursive", "boolean", default=False),
            Param("missing_ok", "boolean", default=False),
        ),
        None,
    ),
}

VERBS = tuple(_DESCRIPTIONS)
#: the params that say which server and login a node uses (its session is shared by them)
SERVER_PARAMS = {
    "ftp": tuple(p.name for p in _FTP if p.name != "timeout"),
    "sftp": tuple(p.name for p in _SFTP if p.name != "timeout"),
}


_NOTES = {
    "ftp": " The TLS certificate is always verified (`ca_file` for an internal server's CA).",
    "sftp": (
        " The server's host key must be in `known_hosts` or match `host_key`: an unknown or "
        "changed key fails, showing the fingerprint offered. Log in with a password or a "
        "private key."
    ),
}


def _activities(prefix: str, what: str, server: tuple[Param, ...]) -> list[Activity]:
    out = []
    for verb, (title, description, params, output) in _DESCRIPTIONS.items():
        out.append(
            Activity(
                type=f"{prefix}.{verb}",
                title=f"{what}: {title.lower()}",
                description=description + _NOTES[prefix],
                params=(*server, *params),
                output=output,
            )
        )
    return out


register(
    *_activities("ftp", "FTP", _FTP),
    *_activities("sftp", "SFTP", _SFTP),
)
