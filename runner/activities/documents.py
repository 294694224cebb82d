"""PDF (pypdf, pdfminer.six, fpdf2; LibreOffice for HTML), Word (python-docx) and PowerPoint
(python-pptx) activities. Files are written to a temporary name beside the target and
renamed, so a failure leaves no half-written document."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workflows.catalog.documents import MISSING, ROTATIONS
from workflows.expressions import format_value

from . import _fs as fs
from . import _office as office
from ._placeholders import Filler, fill_all
from .base import ActivityError, Context, activity, integer, number, text
from .tables import column_keys

if TYPE_CHECKING:
    from pptx.presentation import Presentation

D = TypeVar("D")

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
HTML_FILTER = "HTML (StarWriter)"
DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


# ---------------------------------------------------------------------------------------------
# Helpers


def _existing(params: dict[str, Any], name: str = "path", kinds: tuple[str, ...] = ()) -> Path:
    path = fs.path(params, name)
    if kinds and path.suffix.lower() not in kinds:
        raise ActivityError(f"{name}: expected a {' / '.join(kinds)} file, got {path.name}")
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ActivityError(f"file {what}: {path}")
    return path


@contextmanager
def _atomic(destination: Path) -> Iterator[Path]:
    """A temporary path beside ``destination``, renamed over it when the block succeeds."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{destination.stem}.", suffix=destination.suffix, dir=destination.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, destination)
    except OSError as exc:
        raise fs.os_error("write file", exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def _destination(params: dict[str, Any], default: Path | None = None) -> Path:
    if params.get("destination") in (None, "") and default is not None:
        return default
    return fs.path(params, "destination")


def _of_kind(destination: Path, suffix: str) -> Path:
    if destination.suffix.lower() != suffix:
        raise ActivityError(f"destination must be a {suffix} file: {destination}")
    return destination


def _open(
    load: Callable[[str], Any],
    path: Path,
    damaged: tuple[type[Exception], ...],
    what: str,
    action: str,
) -> Any:
    """``load(path)`` (python-docx, python-pptx), its errors as node errors: ``damaged`` are
    the library's for a file that is not ``what``, an OSError says ``cannot {action}``."""
    try:
        return load(str(path))
    except damaged as exc:
        raise ActivityError(f"not a {what}: {path.name} ({exc})") from None
    except OSError as exc:
        raise fs.os_error(action, exc) from None


def _to_extend(
    params: dict[str, Any], suffix: str, load: Callable[[Path], D], new: Callable[[], D]
) -> tuple[Path, D]:
    """The ``path`` param and its document: loaded when the file exists, else a new one."""
    path = fs.path(params)
    if path.suffix.lower() != suffix:
        raise ActivityError(f"expected a {suffix} file, got {path.name}")
    return path, load(path) if path.is_file() else new()


def _save(doc: Any, destination: Path) -> None:
    with _atomic(destination) as tmp:
        doc.save(str(tmp))


def page_numbers(spec: Any, count: int, *, required: bool = False) -> list[int]:
    """0-based page indexes from ``"1-3,5"``, ``[1, 2]`` or nothing (all pages)."""
    if spec in (None, "", []):
        if required:
            raise ActivityError("param 'pages' is required")
        return list(range(count))
    items: list[Any]
    if isinstance(spec, int) and not isinstance(spec, bool):
        items = [spec]
    elif isinstance(spec, str):
        items = [p.strip() for p in spec.split(",") if p.strip()]
    elif isinstance(spec, list | tuple):
        items = list(spec)
    else:
        raise ActivityError(f"param 'pages' must be like \"1-3,5\" or [1, 2], got {spec!r}")
    pages: list[int] = []
    for item in items:
        if isinstance(item, str) and re.fullmatch(r"\d+\s*-\s*\d+", item):
            first, last = (int(x) for x in item.split("-"))
            chosen = list(range(first, last + 1)) if first <= last else []
        elif isinstance(item, int | str) and str(item).strip().isdigit():
            chosen = [int(item)]
        else:
            raise ActivityError(f"param 'pages': {item!r} is not a page number or range")
        for page in chosen:
            if not 1 <= page <= count:
                raise ActivityError(f"page {page} does not exist: the PDF has {count} page(s)")
            pages.append(page - 1)
    if not pages:
        raise ActivityError(f"param 'pages' selects no page: {spec!r}")
    return pages


def _password(params: dict[str, Any], ctx: Context, name: str = "password") -> str | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    secret = text(params, name)
    ctx.add_secret(secret)
    return secret


def _required_password(params: dict[str, Any], ctx: Context) -> str:
    password = _password(params, ctx)
    if not password:
        raise ActivityError("param 'password' must not be empty")
    return password


# ---------------------------------------------------------------------------------------------
# PDF


def _reader(path: Path, password: str | None) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, WrongPasswordError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            if password is None:
                raise ActivityError(f"{path.name} is encrypted: give its password")
            if not reader.decrypt(password):
                raise ActivityError(f"wrong password for {path.name}")
        len(reader.pages)  # fails here for an encrypted file read without its password
        return reader
    except (WrongPasswordError, FileNotDecryptedError):
        raise ActivityError(f"wrong password for {path.name}") from None
    except PdfReadError as exc:
        raise ActivityError(f"not a readable PDF: {path.name} ({exc})") from None
    except OSError as exc:
        raise fs.os_error("read PDF", exc) from None


def _write_pdf(writer: Any, destination: Path) -> None:
    with _atomic(destination) as tmp:
        with tmp.open("wb") as fh:
            writer.write(fh)


@activity("pdf.page_count")
def pdf_page_count(params: dict[str, Any], ctx: Context) -> int:
    path = _existing(params)
    return len(_reader(path, _password(params, ctx)).pages)


@activity("pdf.read_text")
def pdf_read_text(params: dict[str, Any], ctx: Context) -> str:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    path = _existing(params)
    password = _password(params, ctx)
    count = len(_reader(path, password).pages)  # clear errors for password and damage
    pages = page_numbers(params.get("pages"), count)
    try:
        result: str = extract_text(str(path), password=password or "", page_numbers=pages)
    except PDFPasswordIncorrect:
        raise ActivityError(f"wrong password for {path.name}") from None
    return result.replace("\x0c", "\n").strip("\n") + "\n" if result.strip() else ""


@activity("pdf.merge")
def pdf_merge(params: dict[str, Any], ctx: Context) -> None:
    from pypdf import PdfWriter

    sources = params.get("sources")
    if not isinstance(sources, list | tuple) or not sources:
        raise ActivityError("param 'sources' must be a list of PDF files")
    writer = PdfWriter()
    for i, source in enumerate(sources):
        try:
            writer.append(_reader(_existing({"source": source}, "source"), None))
        except ActivityError as exc:
            raise ActivityError(f"sources[{i}]: {exc}") from None
        ctx.check()
    _write_pdf(writer, _destination(params))


@activity("pdf.split")
def pdf_split(params: dict[str, Any], ctx: Context) -> list[str]:
    from pypdf import PdfWriter

    path = _existing(params)
    reader = _reader(path, _password(params, ctx))
    size = integer(params, "pages_per_file", 1)
    if size < 1:
        raise ActivityError("param 'pages_per_file' must be 1 or more")
    folder = fs.path(params, "destination")
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for part, start in enumerate(range(0, len(reader.pages), size), start=1):
        writer = PdfWriter()
        for page in reader.pages[start : start + size]:
            writer.add_page(page)
        target = folder / f"{path.stem}_{part}.pdf"
        _write_pdf(writer, target)
        files.append(str(target))
        ctx.check()
    return files


@activity("pdf.extract_pages")
def pdf_extract_pages(params: dict[str, Any], ctx: Context) -> None:
    from pypdf import PdfWriter

    path = _existing(params)
    reader = _reader(path, _password(params, ctx))
    writer = PdfWriter()
    for index in page_numbers(params.get("pages"), len(reader.pages), required=True):
        writer.add_page(reader.pages[index])
    _write_pdf(writer, _destination(params))


@activity("pdf.rotate")
def pdf_rotate(params: dict[str, Any], ctx: Context) -> None:
    from pypdf import PdfWriter

    path = _existing(params)
    degrees = text(params, "degrees")
    if degrees not in ROTATIONS:
        raise ActivityError(f"param 'degrees' must be one of {', '.join(ROTATIONS)}")
    writer = PdfWriter(clone_from=_reader(path, None))
    for index in page_numbers(params.get("pages"), len(writer.pages)):
        writer.pages[index].rotate(int(degrees))
    _write_pdf(writer, _destination(params, path))


@activity("pdf.encrypt")
def pdf_encrypt(params: dict[str, Any], ctx: Context) -> None:
    from pypdf import PdfWriter

    path = _existing(params)
    password = _required_password(params, ctx)
    owner = _password(params, ctx, "owner_password") or password
    reader = _reader(path, None)
    writer = PdfWriter(clone_from=reader)
    writer.encrypt(user_password=password, owner_password=owner, algorithm="AES-256")
    _write_pdf(writer, _destination(params, path))


@activity("pdf.decrypt")
def pdf_decrypt(params: dict[str, Any], ctx: Context) -> None:
    from pypdf import PdfWriter

    path = _existing(params)
    password = _required_password(params, ctx)
    reader = _reader(path, password)
    writer = PdfWriter(clone_from=reader)
    _write_pdf(writer, _destination(params, path))


def _field_value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("/"):
        return value[1:]  # check box states: /Yes, /Off
    return value


@activity("pdf.form_fields")
def pdf_form_fields(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    path = _existing(params)
    reader = _reader(path, _password(params, ctx))
    fields = reader.get_fields() or {}
    return {name: _field_value(field.get("/V")) for name, field in fields.items()}


@activity("pdf.fill_form")
def pdf_fill_form(params: dict[str, Any], ctx: Context) -> None:
    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    path = _existing(params)
    values = params.get("fields")
    if not isinstance(values, dict) or not values:
        raise ActivityError("param 'fields' must be an object {field name: value}")
    reader = _reader(path, None)
    known = reader.get_fields() or {}
    if not known:
        raise ActivityError(f"{path.name} has no form fields")
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ActivityError(
            f"{path.name} has no field {', '.join(map(repr, unknown))} "
            f"(fields: {', '.join(sorted(known))})"
        )
    prepared: dict[str, Any] = {}
    for name, value in values.items():
        kind = known[name].get("/FT")
        if kind == "/Btn":
            states = [s for s in (known[name].get("/_States_") or []) if s != "/Off"]
            on = states[0] if states else "/Yes"
            truthy = value is True or str(value).lower() in ("true", "yes", "1", "on")
            prepared[name] = NameObject(on if truthy else "/Off")
        else:
            prepared[name] = format_value(value)
    writer = PdfWriter(clone_from=reader)
    for page in writer.pages:
        if page.get("/Annots"):
            writer.update_page_form_field_values(page, prepared, auto_regenerate=False)
    writer.set_need_appearances_writer(True)
    _write_pdf(writer, _destination(params))


@activity("pdf.from_text")
def pdf_from_text(params: dict[str, Any], ctx: Context) -> None:
    from fpdf import FPDF

    body = text(params, "text")
    size = number(params, "font_size", 11)
    if not 4 <= size <= 72:
        raise ActivityError("param 'font_size' must be between 4 and 72")
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    if DEJAVU.is_file():
        pdf.add_font("DejaVu", "", str(DEJAVU))
        pdf.add_font("DejaVu", "B", str(DEJAVU_BOLD if DEJAVU_BOLD.is_file() else DEJAVU))
        family = "DejaVu"
    else:
        family = "Helvetica"
        body = body.encode("latin-1", "replace").decode("latin-1")
    title = params.get("title")
    if title not in (None, ""):
        pdf.set_font(family, "B", size * 1.5)
        pdf.multi_cell(0, size * 0.8, text(params, "title"))
        pdf.ln(size * 0.4)
    pdf.set_font(family, "", size)
    pdf.multi_cell(0, size * 0.55, body)
    with _atomic(_destination(params)) as tmp:
        pdf.output(str(tmp))


@activity("pdf.from_html")
def pdf_from_html(params: dict[str, Any], ctx: Context) -> None:
    html, source = params.get("html"), params.get("source")
    if (html in (None, "")) == (source in (None, "")):
        raise ActivityError("give either 'html' or 'source' (an .html file)")
    destination = _destination(params)
    timeout = number(params, "timeout", 120)
    if source not in (None, ""):
        path = _existing(params, "source", (".html", ".htm", ".xhtml"))
        _to_pdf(path, destination, ctx, timeout, "pdf", HTML_FILTER)
        return
    with tempfile.TemporaryDirectory(prefix="exekra-html-") as tmp:
        page = Path(tmp) / f"{destination.stem or 'page'}.html"
        page.write_text(text(params, "html"), encoding="utf-8")
        _to_pdf(page, destination, ctx, timeout, "pdf", HTML_FILTER)


def _to_pdf(
    source: Path,
    destination: Path,
    ctx: Context,
    timeout: float,
    fmt: str,
    infilter: str | None = None,
) -> None:
    with _atomic(_of_kind(destination, ".pdf")) as tmp:
        office.convert(source, fmt, tmp, ctx, timeout, infilter)


# ---------------------------------------------------------------------------------------------
# Word


WORD = (".docx", ".docm", ".dotx")


def _docx(path: Path) -> Any:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    damaged = (PackageNotFoundError, KeyError, ValueError)
    return _open(docx.Document, path, damaged, "Word .docx document", "open document")


def _all_paragraphs(doc: Any) -> Iterator[Any]:
    """Paragraphs of the body, its tables (nested too), headers and footers."""

    def of(container: Any) -> Iterator[Any]:
        yield from container.paragraphs
        for table in getattr(container, "tables", []):
            for row in table.rows:
                for cell in row.cells:
                    yield from of(cell)

    yield from of(doc)
    for section in doc.sections:
        for part in (
            section.header,
            section.footer,
            section.first_page_header,
            section.first_page_footer,
            section.even_page_header,
            section.even_page_footer,
        ):
            if not part.is_linked_to_previous:
                yield from of(part)


def _values(params: dict[str, Any]) -> dict[str, Any]:
    values = params.get("values")
    if not isinstance(values, dict):
        raise ActivityError("param 'values' must be an object {placeholder: value}")
    return values


def _fill(params: dict[str, Any], paragraphs: Callable[[], Iterator[Any]]) -> Filler:
    mode = text(params, "missing", "error")
    if mode not in MISSING:
        raise ActivityError(f"param 'missing' must be one of {', '.join(MISSING)}")
    filler = Filler(_values(params), mode)
    fill_all(filler, paragraphs())
    if filler.missing and mode == "error":
        names = ", ".join(sorted(set(filler.missing)))
        raise ActivityError(
            f"no value for placeholder(s) {names} (add them to 'values', or set missing to "
            "keep or empty)"
        )
    return filler


@activity("word.read_text")
def word_read_text(params: dict[str, Any], ctx: Context) -> str:
    doc = _docx(_existing(params, kinds=WORD))
    return "\n".join(p.text for p in doc.paragraphs)


@activity("word.read_tables")
def word_read_tables(params: dict[str, Any], ctx: Context) -> list[Any]:
    from .base import boolean

    doc = _docx(_existing(params, kinds=WORD))
    header = boolean(params, "header", True)
    tables: list[list[Any]] = []  # of row objects with a header, else of rows
    for table in doc.tables:
        grid = [[cell.text for cell in row.cells] for row in table.rows]
        if header and grid:
            keys = column_keys(grid[0])
            tables.append([dict(zip(keys, row, strict=False)) for row in grid[1:]])
        else:
            tables.append(grid)
    return tables


@activity("word.fill_template")
def word_fill_template(params: dict[str, Any], ctx: Context) -> list[str]:
    path = _existing(params, kinds=WORD)
    doc = _docx(path)
    filler = _fill(params, lambda: _all_paragraphs(doc))
    _save(doc, _of_kind(_destination(params), ".docx"))
    return filler.result()


def _table_rows(rows: Any) -> list[list[str]]:
    if not isinstance(rows, list | tuple) or not rows:
        raise ActivityError("param 'table' must be a non-empty list of rows")
    if all(isinstance(r, dict) for r in rows):
        keys: list[str] = []
        for row in rows:
            keys.extend(str(k) for k in row if str(k) not in keys)
        return [keys] + [[format_value(r.get(k)) for k in keys] for r in rows]
    if all(isinstance(r, list | tuple) for r in rows):
        return [[format_value(c) for c in r] for r in rows]
    raise ActivityError("param 'table' must be rows that are all objects or all lists")


@activity("word.append")
def word_append(params: dict[str, Any], ctx: Context) -> None:
    import docx

    path, doc = _to_extend(params, ".docx", _docx, docx.Document)
    paragraphs = params.get("paragraphs")
    table = params.get("table")
    if paragraphs in (None, "", []) and table in (None, "", []):
        raise ActivityError("give 'paragraphs' and/or 'table'")
    if isinstance(paragraphs, str):
        paragraphs = [paragraphs]
    style = params.get("style") or None
    for item in paragraphs or []:
        try:
            doc.add_paragraph(format_value(item), style=style)
        except KeyError:
            raise ActivityError(f"the document has no paragraph style {style!r}") from None
    if table not in (None, "", []):
        grid = _table_rows(table)
        width = max(len(r) for r in grid)
        t = doc.add_table(rows=len(grid), cols=width)
        table_style = params.get("table_style") or "Table Grid"
        try:
            t.style = table_style
        except (KeyError, ValueError):
            raise ActivityError(f"the document has no table style {table_style!r}") from None
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    _save(doc, path)


@activity("word.to_pdf")
def word_to_pdf(params: dict[str, Any], ctx: Context) -> None:
    path = _existing(params, kinds=(".docx", ".doc", ".odt", ".rtf", ".docm"))
    _to_pdf(path, _destination(params), ctx, number(params, "timeout", 120), "pdf")


# ---------------------------------------------------------------------------------------------
# PowerPoint


POWERPOINT = (".pptx", ".pptm", ".potx")


def _pptx(path: Path) -> Presentation:
    import pptx
    from pptx.exc import PackageNotFoundError

    damaged = (PackageNotFoundError, KeyError, ValueError)
    prs: Presentation = _open(
        pptx.Presentation, path, damaged, "PowerPoint .pptx file", "open presentation"
    )
    return prs


def _shape_paragraphs(shapes: Any) -> Iterator[Any]:
    for shape in shapes:
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield from shape.text_frame.paragraphs
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    yield from cell.text_frame.paragraphs
        if shape.shape_type == 6:  # a group: its shapes
            yield from _shape_paragraphs(shape.shapes)


@activity("powerpoint.read_text")
def powerpoint_read_text(params: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    prs = _pptx(_existing(params, kinds=POWERPOINT))
    slides = []
    for number_, slide in enumerate(prs.slides, start=1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text if title_shape is not None else ""
        lines = [p.text for p in _shape_paragraphs(slide.shapes) if p.text]
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        slides.append({"slide": number_, "title": title, "text": "\n".join(lines), "notes": notes})
    return slides


@activity("powerpoint.fill_template")
def powerpoint_fill_template(params: dict[str, Any], ctx: Context) -> list[str]:
    path = _existing(params, kinds=POWERPOINT)
    prs = _pptx(path)

    def paragraphs() -> Iterator[Any]:
        for slide in prs.slides:
            yield from _shape_paragraphs(slide.shapes)

    filler = _fill(params, paragraphs)
    _save(prs, _of_kind(_destination(params), ".pptx"))
    return filler.result()


@activity("powerpoint.add_slide")
def powerpoint_add_slide(params: dict[str, Any], ctx: Context) -> None:
    import pptx
    from pptx.util import Emu

    path, prs = _to_extend(params, ".pptx", _pptx, pptx.Presentation)
    title = params.get("title")
    body = params.get("text")
    image = params.get("image")
    if all(v in (None, "", []) for v in (title, body, image)):
        raise ActivityError("give a 'title', 'text' and/or an 'image'")
    image_path = None
    if image not in (None, ""):
        image_path = _existing(params, "image", (".png", ".jpg", ".jpeg", ".gif", ".bmp"))
    layouts = prs.slide_layouts
    default = 5 if image_path is not None and body in (None, "", []) else 1
    index = integer(params, "layout", default)
    if not 0 <= index < len(layouts):
        raise ActivityError(f"param 'layout' must be 0 to {len(layouts) - 1}, got {index}")
    slide = prs.slides.add_slide(layouts[index])
    if title not in (None, "") and slide.shapes.title is not None:
        slide.shapes.title.text = format_value(title)
    top = 0.25  # of the slide's height: where a text box or the picture goes
    if body not in (None, "", []):
        lines = body if isinstance(body, list | tuple) else format_value(body).split("\n")
        holder = next((s for s in slide.placeholders if s.placeholder_format.idx == 1), None)
        if holder is None:
            width, height = _slide_size(prs, path, "a text box")
            holder = slide.shapes.add_textbox(
                Emu(int(width * 0.08)),
                Emu(int(height * top)),
                Emu(int(width * 0.84)),
                Emu(int(height * 0.3)),
            )
        frame = holder.text_frame
        frame.text = format_value(lines[0]) if lines else ""
        for line in lines[1:]:
            frame.add_paragraph().text = format_value(line)
        top = 0.6
    if image_path is not None:
        width, height = _slide_size(prs, path, "the picture")
        y = int(height * top)
        try:
            slide.shapes.add_picture(
                str(image_path),
                Emu(int(width * 0.08)),
                Emu(y),
                height=Emu(int(height - y - height * 0.05)),
            )
        except Exception as exc:  # noqa: BLE001 - Pillow's errors for a damaged image vary
            raise ActivityError(f"cannot add the picture {image_path.name}: {exc}") from None
    _save(prs, path)


def _slide_size(prs: Presentation, path: Path, what: str) -> tuple[int, int]:
    """The slides' width and height in EMU, to place ``what`` by; ``p:sldSz`` is optional in
    a .pptx, and without it there is nothing to place by."""
    width, height = prs.slide_width, prs.slide_height
    if width is None or height is None:
        raise ActivityError(
            f"cannot place {what}: {path.name} declares no slide size (save it once from "
            "PowerPoint or LibreOffice Impress to give it one)"
        )
    return int(width), int(height)
