"""A real HTTP server on loopback that serves fixture files, and misbehaves on request.

Paths: ``/files/<name>`` serves tests/fixtures/<name> (a ``<name>.gz`` fixture is served decompressed);
``/status/<code>[/<tag>]`` answers that status (the tag keeps each test's hit count its own);
``/flaky/<n>/<name>`` answers 503 n times, then the file; ``/short/<name>`` announces more bytes
than it sends; ``/slow/<seconds>/<name>`` waits before answering; ``/drip/<seconds>/<name>`` sends the
file a line at a time, waiting that long between lines.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from support import FIXTURES, fixture_bytes


class _Handler(BaseHTTPRequestHandler):
    server: FixtureServer

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        kind, _, rest = self.path.lstrip("/").partition("/")
        if kind == "status":
            self._send(int(rest.split("/")[0]), b"error page\n")
        elif kind == "flaky":
            failures, _, name = rest.partition("/")
            if self.server.hits[self.path] <= int(failures):
                self._send(503, b"busy\n")
            else:
                self._send(200, self.server.file(name))
        elif kind == "short":
            body = self.server.file(rest)
            self._send(200, body[: len(body) // 2], length=len(body))
            self.close_connection = True
        elif kind == "slow":
            seconds, _, name = rest.partition("/")
            time.sleep(float(seconds))
            self._send(200, self.server.file(name))
        elif kind == "drip":
            seconds, _, name = rest.partition("/")
            body = self.server.file(name)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for line in body.splitlines(keepends=True):
                self.wfile.write(line)
                self.wfile.flush()
                time.sleep(float(seconds))
        elif kind == "files" and self.server.has(rest):
            self._send(200, self.server.file(rest))
        else:
            self._send(404, b"not found\n")


class FixtureServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path = FIXTURES) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.hits: Counter[str] = Counter()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def has(self, name: str) -> bool:
        path = self.root / name
        return path.is_file() or path.with_name(path.name + ".gz").is_file()

    def file(self, name: str) -> bytes:
        return fixture_bytes(name, self.root)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{path}"
