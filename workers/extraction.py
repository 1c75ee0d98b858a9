"""Text extraction (plain text, Markdown, PDF) and chunking with overlap.

Limits: a PDF is read in a child process with a time and address-space limit (a decompression
bomb costs the worker neither memory nor minutes), at most `max_pages` pages; the text is cut at
`max_chars` characters. Cut text is reported as truncated. NUL characters, which PostgreSQL
cannot store and which carry no text, are removed."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PyPdfError

# A page whose content stream decompresses past this is not a text page but a bomb.
MAX_PAGE_CONTENT_BYTES = 16 * 1024 * 1024


class ExtractionError(Exception):
    """The document cannot be turned into text; retrying will not help."""


@dataclass(frozen=True)
class ExtractionLimits:
    max_pages: int = 500
    max_chars: int = 2_000_000
    timeout_seconds: float = 30.0
    memory_mb: int = 512


@dataclass(frozen=True)
class Extracted:
    text: str
    truncated: bool


def extract(content_type: str, data: bytes, limits: ExtractionLimits) -> Extracted:
    """The document's text within the limits; PDFs in a bounded child process."""
    if content_type == "application/pdf":
        text, truncated = _pdf_in_child(data, limits)
    else:
        text, truncated = extract_text(content_type, data), False
    text = text.replace("\x00", "")
    if len(text) > limits.max_chars:
        text, truncated = text[: limits.max_chars], True
    if not text.strip():
        raise ExtractionError("the document contains no text")
    return Extracted(text, truncated)


def extract_text(
    content_type: str,
    data: bytes,
    on_page: Callable[[int], None] | None = None,
    max_pages: int | None = None,
    max_chars: int | None = None,
) -> str:
    if content_type == "application/pdf":
        text = _pdf_text(data, on_page or (lambda _page: None), max_pages, max_chars)
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


def _pdf_text(
    data: bytes, on_page: Callable[[int], None], max_pages: int | None = None, max_chars: int | None = None
) -> str:
    text, _truncated = pdf_pages(data, on_page, max_pages, max_chars)
    if not text.strip():
        raise ExtractionError("the PDF has no extractable text (scanned pages are not OCR'd)")
    return text


def pdf_pages(
    data: bytes, on_page: Callable[[int], None], max_pages: int | None = None, max_chars: int | None = None
) -> tuple[str, bool]:
    """(text, truncated): the text of the first pages, up to max_pages pages or max_chars."""
    truncated = False
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("the PDF is encrypted with a password")
        pages: list[str] = []
        chars = 0
        total = len(reader.pages)
        for number, page in enumerate(reader.pages, start=1):
            if max_pages is not None and number > max_pages:
                truncated = True
                break
            contents = page.get_contents()
            size = len(contents.get_data()) if contents is not None else 0
            if size > MAX_PAGE_CONTENT_BYTES:
                raise ExtractionError(
                    f"page {number} decompresses to {size} bytes of content, over the limit of"
                    f" {MAX_PAGE_CONTENT_BYTES} (a decompression bomb?)"
                )
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            on_page(number)
            if max_chars is not None and chars >= max_chars:
                truncated = chars > max_chars or number < total
                break
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ExtractionError(f"not a readable PDF: {error}") from None
    return "\n\n".join(pages), truncated


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


def _pdf_in_child(data: bytes, limits: ExtractionLimits) -> tuple[str, bool]:
    """Run `python -m workers.pdf_text` on the bytes; (text, truncated)."""
    command = [sys.executable, "-m", "workers.pdf_text", str(limits.max_pages), str(limits.max_chars),
               str(limits.memory_mb)]  # fmt: skip
    try:
        finished = subprocess.run(command, input=data, capture_output=True, timeout=limits.timeout_seconds)
    except subprocess.TimeoutExpired:
        raise ExtractionError(
            f"PDF text extraction took longer than {limits.timeout_seconds:g} s"
            " (PAPR_EXTRACTION_TIMEOUT_SECONDS)"
        ) from None
    try:
        result = json.loads(finished.stdout)
    except ValueError:
        reason = "ran out of memory" if b"MemoryError" in finished.stderr else f"exit {finished.returncode}"
        raise ExtractionError(
            f"PDF text extraction failed ({reason}; limit {limits.memory_mb} MB, PAPR_EXTRACTION_MEMORY_MB)"
        ) from None
    if "error" in result:
        raise ExtractionError(result["error"])
    return result["text"], result["truncated"]
