"""A static host page server for browser tests: ``python -m tests.support.static_host PORT
DIR``. Serves DIR like ``http.server``; a page NAME with a sidecar ``NAME.headers`` (one
``Header: value`` per line) is served with those headers, e.g. a Content-Security-Policy."""

from __future__ import annotations

import functools
import http.server
import sys
from pathlib import Path


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        name = self.path.split("?", 1)[0].lstrip("/")
        sidecar = Path(self.directory) / f"{name}.headers"
        if name and "/" not in name and sidecar.is_file():
            for line in sidecar.read_text().splitlines():
                key, _, value = line.partition(":")
                self.send_header(key.strip(), value.strip())
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    port, root = int(sys.argv[1]), sys.argv[2]
    handler = functools.partial(Handler, directory=root)
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
