"""Documents: PDF (pypdf to change files, pdfminer.six to read text in reading order, fpdf2 to
write text, LibreOffice headless to turn HTML into PDF), Word (python-docx) and PowerPoint
(python-pptx); Word and PowerPoint files become PDF through LibreOffice headless.

Passwords: put ``{{credential}}`` in ``password`` and name the vault credential in
``credential``; the value never reaches a log line. Pages are numbered from 1: ``pages`` is
``"1-3,5"``, a list ``[1, 2]`` or empty for all. Templates hold ``{placeholders}`` that
``values`` fills; a placeholder split across differently formatted runs (as Word saves it
after an edit) is still found, and the text keeps the formatting of its first character.
"""

from __future__ import annotations

from . import Activity, Param, category, register

category("pdf", "PDF")
category("word", "Word")
category("powerpoint", "PowerPoint")

ROTATIONS = ("90", "180", "270")
MISSING = ("error", "keep", "empty")


def _path(name: str = "path", description: str = "") -> Param:
    return Param(name, "string", required=True, description=description)


def _destination(required: bool = True, description: str = "the file to write") -> Param:
    return Param("destination", "string", required=required, description=description)


def _password(description: str = "e.g. {{credential}}") -> Param:
    return Param("password", "string", secret=True, description=description)


def _credential() -> Param:
    return Param("credential", "string", description="vault credential for {{credential}}")


def _pages() -> Param:
    return Param("pages", "any", description='e.g. "1-3,5" or [1, 2] (default: all)')


def _output(what: str, required: bool = True) -> Param:
    return Param("output", "variable", required=required, description=f"variable for {what}")


def _values() -> Param:
    return Param("values", "object", required=True, description="e.g. {'name': '{row.Name}'}")


def _missing() -> Param:
    return Param(
        "missing",
        "choice",
        default="error",
        choices=MISSING,
        description="a placeholder without a value: fail, keep it, or remove it",
    )


register(
    Activity(
        type="pdf.read_text",
        title="Read PDF text",
        description="The text of all or some pages, in reading order (pdfminer.six).",
        params=(_path(), _pages(), _password(), _credential(), _output("the text")),
        output="string",
    ),
    Activity(
        type="pdf.page_count",
        title="PDF page count",
        description="How many pages a PDF has.",
        params=(_path(), _password(), _credential(), _output("the number")),
        output="integer",
    ),
    Activity(
        type="pdf.merge",
        title="Merge PDFs",
        description="Join PDFs, in the order given, into one.",
        params=(
            Param("sources", "list", required=True, description="PDF paths, e.g. {files}"),
            _destination(),
        ),
    ),
    Activity(
        type="pdf.split",
        title="Split PDF",
        description=(
            "Cut a PDF into files of `pages_per_file` pages each, written to a folder as "
            "<name>_1.pdf, <name>_2.pdf, ...; the list of files goes to `output`."
        ),
        params=(
            _path(),
            _destination(description="the folder for the parts"),
            Param("pages_per_file", "integer", default=1),
            _password(),
            _credential(),
            _output("the list of files", required=False),
        ),
        output="list",
    ),
    Activity(
        type="pdf.extract_pages",
        title="Extract PDF pages",
        description="Write some pages of a PDF, in the order given, to a new PDF.",
        params=(
            _path(),
            Param("pages", "any", required=True, description='e.g. "2-4" or [3, 1]'),
            _destination(),
            _password(),
            _credential(),
        ),
    ),
    Activity(
        type="pdf.rotate",
        title="Rotate PDF pages",
        description="Rotate all or some pages clockwise by 90, 180 or 270 degrees.",
        params=(
            _path(),
            Param("degrees", "choice", required=True, choices=ROTATIONS),
            _pages(),
            _destination(False, "default: replace the source"),
        ),
    ),
    Activity(
        type="pdf.encrypt",
        title="Encrypt PDF",
        description="Protect a PDF with a password (AES-256).",
        params=(
            _path(),
            _destination(False, "default: replace the source"),
            Param("password", "string", required=True, secret=True, description="{{credential}}"),
            Param("owner_password", "string", secret=True, description="default: the password"),
            _credential(),
        ),
    ),
    Activity(
        type="pdf.decrypt",
        title="Decrypt PDF",
        description="Remove the password of a PDF (the password must be right).",
        params=(
            _path(),
            _destination(False, "default: replace the source"),
            Param("password", "string", required=True, secret=True, description="{{credential}}"),
            _credential(),
        ),
    ),
    Activity(
        type="pdf.form_fields",
        title="Read PDF form fields",
        description="The fields of a PDF form as {name: value}.",
        params=(_path(), _password(), _credential(), _output("the fields")),
        output="object",
    ),
    Activity(
        type="pdf.fill_form",
        title="Fill PDF form",
        description=(
            "Fill a PDF form's fields ({name: value}; check boxes take true/false) and write "
            "the result. An unknown field name fails the node and names the known ones."
        ),
        params=(_path(), _destination(), Param("fields", "object", required=True)),
    ),
    Activity(
        type="pdf.from_text",
        title="PDF from text",
        description=(
            "Write text to a new PDF (fpdf2, DejaVu Sans when installed so any language "
            "prints; otherwise Latin-1 only), wrapping long lines and adding pages as needed."
        ),
        params=(
            Param("text", "text", required=True),
            _destination(),
            Param("title", "string", description="a heading on the first page"),
            Param("font_size", "number", default=11),
        ),
    ),
    Activity(
        type="pdf.from_html",
        title="PDF from HTML",
        description=(
            "Render HTML (`html`, or the file `source`) to PDF with LibreOffice headless. "
            "Images and styles referenced by URL are fetched by LibreOffice: strip remote "
            "references from HTML that comes from outside (e-mails, web pages) first."
        ),
        params=(
            Param("html", "text", description="the HTML"),
            Param("source", "string", description="or an .html file"),
            _destination(),
            Param("timeout", "number", default=120, description="seconds"),
        ),
    ),
    Activity(
        type="word.read_text",
        title="Read Word text",
        description="The text of a .docx: its paragraphs, one per line (tables excluded).",
        params=(_path(), _output("the text")),
        output="string",
    ),
    Activity(
        type="word.read_tables",
        title="Read Word tables",
        description=(
            "The tables of a .docx: a list of tables, each a list of row objects keyed by its "
            "first row (or, without `header`, lists of cell texts)."
        ),
        params=(_path(), Param("header", "boolean", default=True), _output("the tables")),
        output="list",
    ),
    Activity(
        type="word.fill_template",
        title="Fill Word template",
        description=(
            "Replace `{placeholders}` in a .docx (body, tables, headers and footers) with "
            "`values` and save as `destination`, keeping the template's formatting."
        ),
        params=(
            _path(description="the .docx template"),
            _destination(),
            _values(),
            _missing(),
            _output("the placeholders that were filled", required=False),
        ),
        output="list",
    ),
    Activity(
        type="word.append",
        title="Append to Word document",
        description=(
            "Add paragraphs and/or a table at the end of a .docx (created when missing). "
            "`table` is a list of row objects (keys become the header row) or of lists."
        ),
        params=(
            _path(description="the .docx file"),
            Param("paragraphs", "list", description="texts, one paragraph each"),
            Param("style", "string", description="paragraph style, e.g. Heading 1"),
            Param("table", "list", description="rows, e.g. {orders}"),
            Param("table_style", "string", default="Table Grid"),
        ),
    ),
    Activity(
        type="word.to_pdf",
        title="Word to PDF",
        description="Save a .docx (or .doc, .odt, .rtf) as PDF with LibreOffice headless.",
        params=(
            _path(),
            _destination(description="the .pdf to write"),
            Param("timeout", "number", default=120, description="seconds"),
        ),
    ),
    Activity(
        type="powerpoint.read_text",
        title="Read PowerPoint text",
        description=(
            "The text of each slide of a .pptx: a list of {slide, title, text, notes} "
            "(slide numbers from 1)."
        ),
        params=(_path(), _output("the slides")),
        output="list",
    ),
    Activity(
        type="powerpoint.fill_template",
        title="Fill PowerPoint template",
        description=(
            "Replace `{placeholders}` in every text box and table of a .pptx with `values` "
            "and save as `destination`, keeping the formatting."
        ),
        params=(
            _path(description="the .pptx template"),
            _destination(),
            _values(),
            _missing(),
            _output("the placeholders that were filled", required=False),
        ),
        output="list",
    ),
    Activity(
        type="powerpoint.add_slide",
        title="Add slide",
        description=(
            "Add a slide at the end of a .pptx (created when missing) with a title, text "
            "(one bullet per line, or a list) and/or a picture below them."
        ),
        params=(
            _path(description="the .pptx file"),
            Param("title", "string"),
            Param("text", "any", description="text (one bullet per line) or a list"),
            Param("image", "string", description="a .png/.jpg file"),
            Param(
                "layout",
                "integer",
                description="slide layout number (default: title + "
                "content, or title only with an image and no text)",
            ),
        ),
    ),
)
