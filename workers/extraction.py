"""Text extraction (plain text, Markdown, PDF) and chunking with overlap."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from pypdf import PdfReader
from pypdf.errors import PyPdfError


class ExtractionError(Exception):
    """The document cannot be turned into text; retrying will not help."""


def extract_text(content_type: str, data: bytes, on_page: Callable[[int], None] | None = None) -> str:
    if content_type == "application/pdf":
        text = _pdf_text(data, on_page or (lambda _page: None))
    elif content_type in ("text/plain", "text/markdown"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ExtractionError(f"text is not valid UTF-8 (byte {error.start})") from None
    else:
        raise ExtractionError(f"unsupported content type {content_type!r}")
    if not text.strip():
        raise ExtractionError("the document contains no text")
    return text


def _pdf_text(data: bytes, on_page: Callable[[int], None]) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("the PDF is encrypted with a password")
        pages = []
        for number, page in enumerate(reader.pages, start=1):
            pages.append(page.extract_text() or "")
            on_page(number)
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise ExtractionError(f"not a readable PDF: {error}") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise ExtractionError("the PDF has no extractable text (scanned pages are not OCR'd)")
    return text


_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)+")


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Split text into chunks of at most `size` characters; consecutive chunks share about
    `overlap` characters so a sentence cut at a boundary is still whole in one of them.
    Cuts fall on whitespace where possible. Deterministic: the same text gives the same chunks."""
    if not 0 <= overlap < size:
        raise ValueError("overlap must be >= 0 and < size")
    text = _BLANK_LINES.sub("\n\n", text.replace("\r\n", "\n")).strip()
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            cut = max(cut, text.rfind("\n", start + size // 2, end))
            if cut > start:
                end = cut
        chunk = text[start:end].strip()
        if chunk:
            chunks.append(chunk)
        if end >= len(text):
            break
        next_start = max(end - overlap, start + 1)
        # Start the next chunk at a word, not in the middle of one.
        while 0 < next_start < end and not text[next_start - 1].isspace():
            next_start += 1
        start = next_start
    return chunks
