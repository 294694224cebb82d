"""Files, folders and ZIP archives on the runner's machine.

Paths are the runner's own (absolute, or relative to the runner's working folder). Writing
creates missing parent folders. ``zip.extract`` refuses archives whose entries would land
outside the destination folder (zip-slip).
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("file", "Files")
category("folder", "Folders")
category("zip", "ZIP archives")

LIST_KINDS = ("all", "files", "folders")
#: what an execution artifact is (the hub's kinds)
ARTIFACT_KINDS = ("file", "download", "screenshot", "html", "trace", "console")


def _path(name: str = "path", description: str = "") -> Param:
    return Param(name, "string", required=True, description=description)


def _encoding() -> Param:
    return Param("encoding", "string", default="utf-8")


def _overwrite() -> Param:
    return Param("overwrite", "boolean", default=True, description="replace an existing target")


register(
    Activity(
        type="file.read",
        title="Read file",
        description="Read a text file into a variable.",
        params=(
            _path(),
            _encoding(),
            Param("output", "variable", required=True, description="variable for the text"),
        ),
        output="string",
    ),
    Activity(
        type="file.write",
        title="Write file",
        description="Write text to a file (creating missing folders).",
        params=(
            _path(),
            Param("content", "text", required=True),
            _encoding(),
            _overwrite(),
        ),
    ),
    Activity(
        type="file.append",
        title="Append to file",
        description="Add text to the end of a file (creating it when missing).",
        params=(_path(), Param("content", "text", required=True), _encoding()),
    ),
    Activity(
        type="file.copy",
        title="Copy file",
        description="Copy a file; a destination that is an existing folder receives the copy.",
        params=(_path("source"), _path("destination"), _overwrite()),
    ),
    Activity(
        type="file.move",
        title="Move file",
        description="Move or rename a file; a destination that is an existing folder receives it.",
        params=(_path("source"), _path("destination"), _overwrite()),
    ),
    Activity(
        type="file.delete",
        title="Delete file",
        description="Delete a file.",
        params=(
            _path(),
            Param("missing_ok", "boolean", default=False, description="no error when absent"),
        ),
    ),
    Activity(
        type="file.exists",
        title="File exists",
        description="Whether a file (or, with `folders`, also a folder) exists: true or false.",
        params=(
            _path(),
            Param("folders", "boolean", default=False, description="a folder counts too"),
            Param("output", "variable", required=True, description="variable for true/false"),
        ),
        output="boolean",
    ),
    Activity(
        type="file.attach",
        title="Attach file to the execution",
        description=(
            "Attach a file (a report, an export) to the execution as an artifact: the hub "
            "keeps it with the execution, where operators list and download it. An upload the "
            "hub refuses (too large) is a warning, not an error; the output is then null."
        ),
        params=(
            _path(),
            Param("name", "string", description="name shown for it (default: the file's name)"),
            Param("kind", "choice", default="file", choices=ARTIFACT_KINDS),
            Param("content_type", "string", description="MIME type (default: from the name)"),
            Param(
                "output",
                "variable",
                description="variable for the artifact record (id, name, size), null if refused",
            ),
        ),
        output="object",
    ),
    Activity(
        type="folder.create",
        title="Create folder",
        description="Create a folder and its missing parents (no error if it exists).",
        params=(_path(),),
    ),
    Activity(
        type="folder.list",
        title="List folder",
        description=(
            "List the entries of a folder matching a glob pattern (`*.csv`; `**/*.csv` with "
            "`recursive`), as a sorted list of full paths."
        ),
        params=(
            _path(),
            Param("pattern", "string", default="*"),
            Param("recursive", "boolean", default=False),
            Param("kind", "choice", default="all", choices=LIST_KINDS),
            Param("output", "variable", required=True, description="variable for the list"),
        ),
        output="list",
    ),
    Activity(
        type="folder.delete",
        title="Delete folder",
        description="Delete a folder; a folder that is not empty needs `recursive`.",
        params=(
            _path(),
            Param("recursive", "boolean", default=False),
            Param("missing_ok", "boolean", default=False),
        ),
    ),
    Activity(
        type="zip.compress",
        title="Compress to ZIP",
        description="Pack a file or a folder (with its contents) into a ZIP archive.",
        params=(
            _path("source", "a file or a folder"),
            _path("destination", "the .zip file to write"),
            _overwrite(),
        ),
    ),
    Activity(
        type="zip.extract",
        title="Extract ZIP",
        description=(
            "Unpack a ZIP archive into a folder. Archives with entries that would escape the "
            "folder (zip-slip) are refused before anything is written."
        ),
        params=(
            _path("source", "the .zip file"),
            _path("destination", "the folder to unpack into"),
            _overwrite(),
            Param("output", "variable", description="variable for the list of extracted files"),
        ),
        output="list",
    ),
)
