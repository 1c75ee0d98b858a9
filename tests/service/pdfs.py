"""Hand-made PDFs for the tests: a page with the exact content stream we want (NUL bytes in
the text, or a decompression bomb), which PDF writers would not produce."""

from __future__ import annotations

import zlib


def pdf_with_content(content: bytes, *, compress: bool = True) -> bytes:
    """A one-page PDF (Helvetica as F1) whose page draws `content`."""
    stream = zlib.compress(content, 9) if compress else content
    filters = b" /Filter /FlateDecode" if compress else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d%s >>\nstream\n" % (len(stream), filters) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    output += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(output)


def text_pdf(text: str) -> bytes:
    """A page showing `text` (PDF string escapes allowed, e.g. \\000 for a NUL byte)."""
    return pdf_with_content(b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET")


def bomb_pdf(decompressed_mb: int = 64) -> bytes:
    """A few dozen KB that decompress to `decompressed_mb` MB of text-drawing operators."""
    line = b"BT /F1 12 Tf 72 720 Td (bomb bomb bomb bomb) Tj ET\n"
    return pdf_with_content(line * (decompressed_mb * 1024 * 1024 // len(line)))
