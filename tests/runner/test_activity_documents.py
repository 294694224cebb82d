"""PDF, Word and PowerPoint activities on real files. What they write is opened by a second,
independent reader: poppler's pdftotext for PDFs, LibreOffice headless (converting to text or
PDF) for Word and PowerPoint files — not only by the library that wrote them."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import docx
import pptx
import pytest
from docx.shared import Pt
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from runner.engine import Engine
from tests.office import convert, pdftotext

from .enginekit import failure, graph, node, one, value


@pytest.fixture(scope="module")
def lo_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lo-profile")


def _pdf(path: Path, pages: list[str]) -> Path:
    one("pdf.from_text", output=None, text="\n".join(pages[:1]), destination=str(path))
    from pypdf import PdfWriter

    writer = PdfWriter()
    for i, body in enumerate(pages):
        part = path.with_name(f"{path.stem}-p{i}.pdf")
        one("pdf.from_text", output=None, text=body, destination=str(part))
        writer.append(str(part))
        part.unlink()
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def _form(path: Path) -> Path:
    c = canvas.Canvas(str(path))
    c.drawString(50, 800, "Name:")
    c.acroForm.textfield(name="name", x=100, y=785, width=200, height=20)
    c.drawString(50, 750, "Agree:")
    c.acroForm.checkbox(name="agree", x=100, y=740, size=15)
    c.save()
    return path


def _png(path: Path) -> Path:
    """A tiny real PNG (4×4, red), written by hand so no image library is needed."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


# ---------------------------------------------------------------------------------------------
# PDF


def test_from_text_read_pages_and_count(tmp_path: Path) -> None:
    path = tmp_path / "out" / "letter.pdf"
    one(
        "pdf.from_text",
        output=None,
        text="Grüße aus Köln — ünïcödé\nSecond line",
        title="Invoice 42",
        destination=str(path),
    )
    seen = pdftotext(path)
    assert "Invoice 42" in seen and "Grüße aus Köln — ünïcödé" in seen and "Second line" in seen
    assert value("pdf.page_count", path=str(path)) == 1
    assert "Grüße aus Köln" in value("pdf.read_text", path=str(path))

    three = _pdf(tmp_path / "three.pdf", ["alpha page", "beta page", "gamma page"])
    assert value("pdf.page_count", path=str(three)) == 3
    text = value("pdf.read_text", path=str(three), pages="2-3")
    assert "beta page" in text and "gamma page" in text and "alpha" not in text
    assert text.index("beta") < text.index("gamma")
    assert "page 4 does not exist: the PDF has 3 page(s)" in failure(
        "pdf.read_text", path=str(three), pages=[4]
    )
    assert "not a page number" in failure("pdf.read_text", path=str(three), pages="x")
    assert "does not exist" in failure("pdf.page_count", path=str(tmp_path / "none.pdf"))
    (tmp_path / "bad.pdf").write_text("not a pdf")
    assert "not a readable PDF" in failure("pdf.page_count", path=str(tmp_path / "bad.pdf"))


def test_merge_split_extract_rotate(tmp_path: Path) -> None:
    a = _pdf(tmp_path / "a.pdf", ["one", "two"])
    b = _pdf(tmp_path / "b.pdf", ["three"])
    merged = tmp_path / "merged.pdf"
    one("pdf.merge", output=None, sources=[str(a), str(b)], destination=str(merged))
    seen = pdftotext(merged)
    assert seen.index("one") < seen.index("two") < seen.index("three")
    parts = value("pdf.split", path=str(merged), destination=str(tmp_path / "parts"))
    assert [Path(p).name for p in parts] == ["merged_1.pdf", "merged_2.pdf", "merged_3.pdf"]
    assert pdftotext(Path(parts[1])).strip() == "two"
    one(
        "pdf.extract_pages",
        output=None,
        path=str(merged),
        pages=[3, 1],
        destination=str(tmp_path / "x.pdf"),
    )
    assert pdftotext(tmp_path / "x.pdf").split() == ["three", "one"]
    one("pdf.rotate", output=None, path=str(merged), degrees="90", pages="2")
    assert [p.rotation for p in PdfReader(merged).pages] == [0, 90, 0]
    assert "sources[1]" in failure(
        "pdf.merge",
        output=None,
        sources=[str(a), str(tmp_path / "no.pdf")],
        destination=str(tmp_path / "m2.pdf"),
    )
    assert not (tmp_path / "m2.pdf").exists()
    assert "must be one of 90, 180, 270" in failure(
        "pdf.rotate", output=None, path=str(merged), degrees="45"
    )


def test_encrypt_decrypt_with_a_vault_password(tmp_path: Path) -> None:
    src = _pdf(tmp_path / "secret.pdf", ["top secret figures"])
    locked = tmp_path / "locked.pdf"
    creds = {"pdfpw": {"username": "", "secret": "s3cr3t-Pa55"}}

    def run_one(type_: str, **params: object) -> tuple[object, list[str]]:
        lines: list[str] = []
        g = graph([node("n", type_, credential="pdfpw", **params)])
        result = Engine(
            g, credentials=creds, log_sink=lambda ln: lines.append(ln.message), log_level="debug"
        ).run()
        return result, lines

    result, lines = run_one(
        "pdf.encrypt", path=str(src), destination=str(locked), password="{{credential}}"
    )
    assert result.status == "COMPLETED", result.error
    reader = PdfReader(locked)
    assert reader.is_encrypted
    assert "Incorrect password" in _pdftotext_error(locked)  # poppler refuses it too
    assert "is encrypted: give its password" in failure("pdf.read_text", path=str(locked))
    error = failure("pdf.read_text", path=str(locked), password="not-it-123")
    assert "wrong password for locked.pdf" in error
    result, lines = run_one(
        "pdf.read_text", path=str(locked), password="{{credential}}", output="out"
    )
    assert result.status == "COMPLETED" and "top secret figures" in result.variables["out"]
    open_copy = tmp_path / "open.pdf"
    result, lines = run_one(
        "pdf.decrypt", path=str(locked), destination=str(open_copy), password="{{credential}}"
    )
    assert result.status == "COMPLETED", result.error
    assert "top secret figures" in pdftotext(open_copy)
    result, lines = run_one(
        "pdf.decrypt", path=str(locked), destination=str(open_copy), password="nope{{credential}}"
    )
    assert result.status == "FAILED" and "wrong password" in (result.error or "")
    assert all("s3cr3t-Pa55" not in line for line in lines)
    assert "s3cr3t-Pa55" not in (result.error or "")


def _pdftotext_error(pdf: Path) -> str:
    import subprocess

    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, timeout=60)
    assert out.returncode != 0
    return out.stderr.decode()


def test_fill_form(tmp_path: Path) -> None:
    form = _form(tmp_path / "form.pdf")
    assert value("pdf.form_fields", path=str(form)) == {"name": "", "agree": "Off"}
    filled = tmp_path / "filled.pdf"
    one(
        "pdf.fill_form",
        output=None,
        path=str(form),
        destination=str(filled),
        fields={"name": "Ada Lovelace", "agree": True},
    )
    assert value("pdf.form_fields", path=str(filled)) == {"name": "Ada Lovelace", "agree": "Yes"}
    assert "Ada Lovelace" in pdftotext(filled)  # poppler renders the field's value
    assert "has no field 'nmae' (fields: agree, name)" in failure(
        "pdf.fill_form",
        output=None,
        path=str(form),
        destination=str(filled),
        fields={"nmae": "x"},
    )
    plain = _pdf(tmp_path / "plain.pdf", ["no form here"])
    assert "has no form fields" in failure(
        "pdf.fill_form", output=None, path=str(plain), destination=str(filled), fields={"a": 1}
    )


def test_from_html_with_libreoffice(tmp_path: Path) -> None:
    pdf = tmp_path / "page.pdf"
    html = (
        "<html><body><h1>Quarterly report</h1><table><tr><td>North</td><td>125.5</td>"
        "</tr></table><p>Prepared by Exekra</p></body></html>"
    )
    one("pdf.from_html", output=None, html=html, destination=str(pdf))
    seen = pdftotext(pdf)
    assert "Quarterly report" in seen and "North" in seen and "Prepared by Exekra" in seen
    assert "either 'html' or 'source'" in failure(
        "pdf.from_html", output=None, destination=str(pdf)
    )


# ---------------------------------------------------------------------------------------------
# Word


def _template(path: Path) -> Path:
    doc = docx.Document()
    p = doc.add_paragraph("Dear ")
    bold = p.add_run("{first")  # a placeholder split across runs, as Word saves them
    bold.bold = True
    p.add_run("_name}, your order {order} ships on {date}.")
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Total"
    table.cell(0, 1).text = "{total} EUR"
    doc.sections[0].header.paragraphs[0].text = "Ref {order}"
    doc.add_paragraph('Literal {{not a placeholder}} and JSON {"a": 1}')
    doc.save(str(path))
    return path


def test_fill_template_keeps_formatting_and_pdf(tmp_path: Path, lo_profile: Path) -> None:
    template = _template(tmp_path / "letter.docx")
    out = tmp_path / "out" / "ada.docx"
    filled = value(
        "word.fill_template",
        path=str(template),
        destination=str(out),
        values={"first_name": "Ada", "order": "A-17", "date": "2024-02-01", "total": 125.5},
    )
    assert filled == ["date", "first_name", "order", "total"]
    doc = docx.Document(str(out))
    first = doc.paragraphs[0]
    assert first.text == "Dear Ada, your order A-17 ships on 2024-02-01."
    assert [r.text for r in first.runs if r.bold] == ["Ada"]  # formatting of '{' kept
    assert value("word.read_tables", path=str(out)) == [[]]  # one table, header row only
    assert value("word.read_tables", path=str(out), header=False) == [[["Total", "125.5 EUR"]]]
    assert "Dear Ada" in value("word.read_text", path=str(out))
    (txt,) = convert([out], "txt:Text", tmp_path / "lo", lo_profile)
    seen = txt.read_text(encoding="utf-8-sig")
    assert "Dear Ada, your order A-17 ships on 2024-02-01." in seen and "125.5 EUR" in seen
    pdf = tmp_path / "ada.pdf"
    one("word.to_pdf", output=None, path=str(out), destination=str(pdf))
    seen = pdftotext(pdf)
    assert "Ref A-17" in seen and "Dear Ada" in seen and "125.5 EUR" in seen

    error = failure(
        "word.fill_template",
        path=str(template),
        destination=str(tmp_path / "x.docx"),
        values={"order": 1},
    )
    assert "no value for placeholder(s) date, first_name, total" in error
    assert not (tmp_path / "x.docx").exists()
    kept = tmp_path / "kept.docx"
    value(
        "word.fill_template", path=str(template), destination=str(kept), values={}, missing="keep"
    )
    assert "{first_name}" in docx.Document(str(kept)).paragraphs[0].text
    assert "not a Word .docx" in failure(
        "word.read_text", path=str(_pdf(tmp_path / "n.docx", ["x"]))
    )


def test_append_paragraphs_and_tables(tmp_path: Path, lo_profile: Path) -> None:
    path = tmp_path / "report.docx"
    one("word.append", output=None, path=str(path), paragraphs=["Report"], style="Heading 1")
    one(
        "word.append",
        output=None,
        path=str(path),
        paragraphs=["Totals by region:"],
        table=[{"region": "North", "total": 125.5}, {"region": "South", "total": 50}],
    )
    doc = docx.Document(str(path))
    assert [p.text for p in doc.paragraphs] == ["Report", "Totals by region:"]
    assert doc.paragraphs[0].style.name == "Heading 1"
    assert value("word.read_tables", path=str(path)) == [
        [{"region": "North", "total": "125.5"}, {"region": "South", "total": "50"}]
    ]
    (txt,) = convert([path], "txt:Text", tmp_path / "lo", lo_profile)
    seen = txt.read_text(encoding="utf-8-sig")
    assert "Report" in seen and "North" in seen and "125.5" in seen
    assert "no paragraph style 'Nope'" in failure(
        "word.append", output=None, path=str(path), paragraphs=["x"], style="Nope"
    )
    assert "no table style 'Fancy'" in failure(  # the style asked for, not the table's own
        "word.append", output=None, path=str(path), table=[["a"]], table_style="Fancy"
    )
    assert "give 'paragraphs' and/or 'table'" in failure("word.append", output=None, path=str(path))


# ---------------------------------------------------------------------------------------------
# PowerPoint


def test_powerpoint_template_and_slides(tmp_path: Path, lo_profile: Path) -> None:
    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Offer for {customer}"
    body = slide.placeholders[1].text_frame
    body.text = "Total: "
    run = body.paragraphs[0].add_run()
    run.text = "{total}"
    run.font.size = Pt(40)
    template = tmp_path / "offer.pptx"
    prs.save(str(template))

    out = tmp_path / "acme.pptx"
    assert value(
        "powerpoint.fill_template",
        path=str(template),
        destination=str(out),
        values={"customer": "ACME", "total": "1,200 EUR"},
    ) == ["customer", "total"]
    big = [
        r
        for p in pptx.Presentation(str(out)).slides[0].placeholders[1].text_frame.paragraphs
        for r in p.runs
        if r.font.size == Pt(40)
    ]
    assert [r.text for r in big] == ["1,200 EUR"]
    image = _png(tmp_path / "chart.png")
    one("powerpoint.add_slide", output=None, path=str(out), title="Next steps", text="Sign\nShip")
    one("powerpoint.add_slide", output=None, path=str(out), title="Chart", image=str(image))
    slides = value("powerpoint.read_text", path=str(out))
    assert [(s["slide"], s["title"]) for s in slides] == [
        (1, "Offer for ACME"),
        (2, "Next steps"),
        (3, "Chart"),
    ]
    assert "Total: 1,200 EUR" in slides[0]["text"] and "Sign\nShip" in slides[1]["text"]
    pictures = [s for s in pptx.Presentation(str(out)).slides[2].shapes if s.shape_type == 13]
    assert len(pictures) == 1
    (pdf,) = convert([out], "pdf", tmp_path / "lo", lo_profile)
    seen = pdftotext(pdf)
    assert "Offer for ACME" in seen and "1,200 EUR" in seen and "Next steps" in seen
    assert "Ship" in seen

    assert "file does not exist" in failure(
        "powerpoint.add_slide", output=None, path=str(out), image=str(tmp_path / "none.png")
    )
    assert "no value for placeholder(s) total" in failure(
        "powerpoint.fill_template",
        path=str(template),
        destination=str(tmp_path / "y.pptx"),
        values={"customer": "x"},
    )
    assert "layout' must be 0 to" in failure(
        "powerpoint.add_slide", output=None, path=str(out), title="x", layout=99
    )


def test_a_presentation_without_a_slide_size(tmp_path: Path) -> None:
    """p:sldSz is optional in a .pptx: slides whose placeholders hold everything are still
    added; a text box or picture, placed by the slide size, is a clear node error."""
    prs = pptx.Presentation()
    size = prs.part._element.sldSz
    size.getparent().remove(size)
    path = tmp_path / "no-size.pptx"
    prs.save(str(path))
    assert pptx.Presentation(str(path)).slide_height is None

    result, _ = one(
        "powerpoint.add_slide", output=None, path=str(path), title="Agenda", text="One\nTwo"
    )
    assert result.status == "COMPLETED", result.error
    slides = value("powerpoint.read_text", path=str(path))
    assert [s["title"] for s in slides] == ["Agenda"] and "One\nTwo" in slides[0]["text"]
    image = _png(tmp_path / "chart.png")
    for params in ({"image": str(image)}, {"text": "x", "layout": 6}):
        error = failure("powerpoint.add_slide", output=None, path=str(path), **params)
        assert "no-size.pptx declares no slide size" in error, error
        assert "TypeError" not in error
    assert len(pptx.Presentation(str(path)).slides) == 1  # a failed node leaves the file


def test_without_libreoffice_the_error_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "a.docx"
    one("word.append", output=None, path=str(doc), paragraphs=["x"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # a runner without soffice
    error = failure("word.to_pdf", output=None, path=str(doc), destination=str(tmp_path / "a.pdf"))
    assert "LibreOffice is not installed on this runner" in error
    assert "LibreOffice is not installed" in failure(
        "pdf.from_html", output=None, html="<p>x</p>", destination=str(tmp_path / "b.pdf")
    )
    assert not list(tmp_path.glob("*.pdf"))


def test_a_failed_conversion_shows_what_libreoffice_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "a.docx"
    one("word.append", output=None, path=str(doc), paragraphs=["x"])
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "soffice"  # a LibreOffice that fails the way a broken install does
    fake.write_text(
        "#!/bin/sh\necho 'noise' >&2\necho 'Error: source file could not be loaded' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    error = failure("word.to_pdf", output=None, path=str(doc), destination=str(tmp_path / "a.pdf"))
    assert "LibreOffice could not convert a.docx to pdf" in error
    assert error.endswith("Error: source file could not be loaded")
