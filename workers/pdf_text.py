"""PDF text extraction in a child process: `python -m workers.pdf_text MAX_PAGES MAX_CHARS MEMORY_MB`
reads the PDF on stdin and writes {"text", "truncated"} or {"error"} as JSON on stdout.

The parent (workers/extraction.py) kills it at its time limit; the address-space limit set here
turns a decompression bomb into a MemoryError instead of a worker that swells."""

from __future__ import annotations

import json
import resource
import sys


def main() -> None:
    max_pages, max_chars, memory_mb = (int(value) for value in sys.argv[1:4])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from workers.extraction import ExtractionError, pdf_pages  # after the limit: pypdf counts too

    try:
        text, truncated = pdf_pages(sys.stdin.buffer.read(), lambda _page: None, max_pages, max_chars)
    except ExtractionError as error:
        json.dump({"error": str(error)}, sys.stdout)
        return
    except MemoryError:
        json.dump({"error": f"PDF text extraction ran out of memory (limit {memory_mb} MB)"}, sys.stdout)
        return
    json.dump({"text": text[:max_chars], "truncated": truncated or len(text) > max_chars}, sys.stdout)


if __name__ == "__main__":
    main()
