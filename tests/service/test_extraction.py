"""Text extraction and chunking (no stack needed)."""

from __future__ import annotations

import pytest
from fpdf import FPDF

from app.contracts import document_type
from workers.extraction import ExtractionError, chunk_text, extract_text


def test_chunks_cover_the_text_with_overlap_and_respect_the_size() -> None:
    text = " ".join(f"w{n}" for n in range(2000))
    chunks = chunk_text(text, 200, 50)
    assert all(len(chunk) <= 200 for chunk in chunks)
    words = text.split()
    # Every word is in some chunk, in order, and consecutive chunks share words.
    assert set(" ".join(chunks).split()) == set(words)
    for first, second in zip(chunks, chunks[1:], strict=False):
        assert set(first.split()) & set(second.split())
        assert words.index(second.split()[0]) > words.index(first.split()[0])
    assert chunk_text(text, 200, 50) == chunks  # deterministic


def test_short_text_is_one_chunk_and_blank_lines_collapse() -> None:
    assert chunk_text("  hello\r\n\r\n\r\n\r\nworld  ", 100, 10) == ["hello\n\nworld"]


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("abc", 10, 10)


def test_pdf_text_is_extracted_page_by_page() -> None:
    pdf = FPDF()
    for page in range(3):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.cell(0, 10, f"page {page} talks about lighthouses")
    pages = []
    text = extract_text("application/pdf", bytes(pdf.output()), pages.append)
    assert pages == [1, 2, 3]
    assert all(f"page {page} talks about lighthouses" in text for page in range(3))


@pytest.mark.parametrize(
    ("content_type", "data", "message"),
    [
        ("application/pdf", b"%PDF-1.7 nonsense", "PDF"),
        ("text/plain", b"\xff\xfe", "UTF-8"),
        ("text/markdown", b" \n\t ", "no text"),
        ("image/png", b"x", "unsupported"),
    ],
)
def test_extraction_errors_say_why(content_type: str, data: bytes, message: str) -> None:
    with pytest.raises(ExtractionError, match=message):
        extract_text(content_type, data)


@pytest.mark.parametrize(
    ("header", "filename", "expected"),
    [
        ("text/plain; charset=utf-8", None, "text/plain"),
        ("TEXT/MARKDOWN", None, "text/markdown"),
        ("text/x-markdown", None, "text/markdown"),
        ("application/pdf", "x.txt", "application/pdf"),
        ("application/octet-stream", "Notes.MD", "text/markdown"),
        (None, "a.pdf", "application/pdf"),
        ("application/octet-stream", "a.exe", None),
        ("image/png", "a.txt", None),
        ("", None, None),
    ],
)
def test_document_type(header: str | None, filename: str | None, expected: str | None) -> None:
    assert document_type(header, filename) == expected
