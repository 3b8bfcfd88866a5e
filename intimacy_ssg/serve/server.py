"""The preview server: the built site over HTTP, live reload over Server-Sent Events.

Files in the output folder are never changed for the preview: the reload script is added to
HTML responses as they are served. Only regular files inside the site folder are served:
`..`, encoded traversal, absolute paths and symlinks that leave the folder get a 404, and
folders are never listed.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..diagnostics import Diagnostic

EVENTS_PATH = "/__livereload"
SCRIPT_PATH = "/__livereload.js"

RELOAD_SCRIPT = """(function () {
  "use strict";
  var overlay = null;
  function clear() { if (overlay) { overlay.remove(); overlay = null; } }
  function show(problems) {
    clear();
    overlay = document.createElement("div");
    overlay.id = "intimacy-ssg-errors";
    overlay.setAttribute("role", "alert");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
      "background:rgba(20,20,24,.94);color:#fff;font:14px/1.5 ui-monospace,monospace;padding:2rem";
    var title = document.createElement("h2");
    title.textContent = "The last save broke the build: the page below is the last good one";
    overlay.appendChild(title);
    problems.forEach(function (p) {
      var line = document.createElement("pre");
      line.style.whiteSpace = "pre-wrap";
      line.textContent = p.where + ": " + p.severity + "[" + p.code + "]: " + p.message +
        (p.hint ? "\\n    hint: " + p.hint : "");
      overlay.appendChild(line);
    });
    document.body.appendChild(overlay);
  }
  var source = new EventSource("/__livereload");
  var version = null;
  source.addEventListener("state", function (event) {
    var state = JSON.parse(event.data);
    if (version !== null && state.version !== version && !state.problems.length) {
      location.reload();
      return;
    }
    version = state.version;
    if (state.problems.length) { show(state.problems); } else { clear(); }
  });
})();
"""


class LiveState:
    """The latest build: a version that changes on every good build, and current errors."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = 0
        self.problems: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.stopping = threading.Event()

    def published(self, problems: tuple[Diagnostic, ...] | None) -> None:
        """A good build (None) bumps the version; a failed one shows its diagnostics."""
        with self.changed:
            if problems is None:
                self.version += 1
                self.problems = []
            else:
                self.problems = [
                    {
                        "where": str(d.location),
                        "severity": d.severity.value,
                        "code": d.code,
                        "message": d.message,
                        "hint": d.hint,
                    }
                    for d in problems
                ]
            self.changed.notify_all()

    def snapshot(self) -> str:
        return json.dumps({"version": self.version, "problems": self.problems})

    def stop(self) -> None:
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()


def make_handler(state: LiveState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "intimacy-ssg"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal is for builds
            return

        def do_HEAD(self) -> None:
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:
            path = urlsplit(self.path).path
            if path == EVENTS_PATH:
                self._events()
            elif path == SCRIPT_PATH:
                self._send(HTTPStatus.OK, RELOAD_SCRIPT.encode(), "text/javascript", head)
            else:
                self._file(path, head)

        def _send(self, status: HTTPStatus, body: bytes, kind: str, head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _file(self, path: str, head: bool) -> None:
            target = resolve(state.root, path)
            status = HTTPStatus.OK
            if target is None:
                status, target = HTTPStatus.NOT_FOUND, state.root / "404.html"
                if not target.is_file():
                    self._send(status, b"404 Not Found\n", "text/plain; charset=utf-8", head)
                    return
            body = target.read_bytes()
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if kind == "text/html":
                body = inject(body)
                kind = "text/html; charset=utf-8"
            self._send(status, body, kind, head)

        def _events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            sent = None
            try:
                while not state.stopping.is_set():
                    with state.changed:
                        current = state.snapshot()
                        if current == sent:
                            state.changed.wait(timeout=15)
                            current = state.snapshot()
                    if state.stopping.is_set():
                        return
                    message = (
                        f"event: state\ndata: {current}\n\n"
                        if current != sent
                        else ": keep-alive\n\n"
                    )
                    self.wfile.write(message.encode())
                    self.wfile.flush()
                    sent = current
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def resolve(root: Path, url_path: str) -> Path | None:
    """The file a URL path names inside root, or None (traversal, symlink out, no file)."""
    decoded = unquote(url_path)
    if "\x00" in decoded or "\\" in decoded or not decoded.startswith("/"):
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    normal = posixpath.normpath("/" + "/".join(parts))
    real_root = root.resolve()
    candidate = (real_root / normal.lstrip("/")).resolve()
    if not candidate.is_relative_to(real_root):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
        if not decoded.endswith("/") and candidate.is_file():
            return candidate  # /about serves /about/index.html, as static hosts do
    return candidate if candidate.is_file() else None


def inject(html: bytes) -> bytes:
    tag = f'<script src="{SCRIPT_PATH}"></script>'.encode()
    at = html.rfind(b"</body>")
    return html[:at] + tag + html[at:] if at >= 0 else html + tag


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_server(state: LiveState, host: str, port: int) -> PreviewServer:
    server = PreviewServer((host, port), make_handler(state))
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
