"""A web server that answers 503 to everything: a release whose new image never gets healthy."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Unhealthy(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = json.dumps({"status": "unavailable", "failing": ["database"]}).encode()
        self.send_response(503)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr
        pass


class UnhealthyServer:
    """Context manager: `url` answers 503 until the block ends."""

    def __enter__(self) -> UnhealthyServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Unhealthy)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
