"""A small threaded WSGI server that keeps HTTP/1.1 connections open, over TCP or TLS.

werkzeug's development server answers every request with ``Connection: close`` and then waits
10 ms for stray input, so a client's connection pool would never be measured. This server
reads each body by its ``Content-Length``, writes each answer with one send, and serves the
next request on the same connection. It logs no request lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import ssl
import struct
import sys
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: Seconds a connection may stay idle (or a client take to send a request) before it is closed.
IDLE_TIMEOUT = 120.0

#: The largest request body the server reads.
MAX_BODY = 10 * 1024 * 1024

_log = logging.getLogger(__name__)


class KeepAliveWSGIServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Serves a WSGI application, one thread per connection, with keep-alive and TCP_NODELAY.

    ``connections_accepted`` counts the TCP connections accepted so far.
    """

    daemon_threads = True
    allow_reuse_address = True
    #: Connections the kernel queues before they are accepted (socketserver's default, 5,
    #: drops a burst of connections, which then wait a second for TCP to try again).
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: WSGIApplication,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _WSGIRequestHandler)
        self.app = app
        self.ssl_context = ssl_context
        self.connections_accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection, switch Nagle off and count it; TLS starts in its thread."""
        sock, address = self.socket.accept()
        try:
            # Without it Nagle's algorithm and delayed ACKs add ~40 ms to keep-alive requests.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = self.ssl_context.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
        except OSError:
            sock.close()
            raise
        with self._open_lock:
            self.connections_accepted += 1
            self._open.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        """Close a finished connection: gracefully, unless it was set to reset (a ``drop``)."""
        with self._open_lock:
            self._open.discard(request)
        if not _resets_on_close(request):
            _shutdown(request, socket.SHUT_WR)
        self.close_request(request)

    def close_connections(self) -> None:
        """Shut every open connection down, waking the threads that wait on them."""
        with self._open_lock:
            connections = list(self._open)
        for sock in connections:
            _shutdown(sock, socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about network errors; show the traceback of anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _WSGIRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CaptureEmulator"
    timeout = IDLE_TIMEOUT
    server: KeepAliveWSGIServer

    def handle(self) -> None:
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()
            super().handle()
        except (OSError, ValueError):
            # The client went away, failed the TLS handshake, or the server is stopping.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: request lines carry paths and query strings."""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        environ = self._environ(body)
        status = "500 Internal Server Error"
        headers: list[tuple[str, str]] = []
        written: list[bytes] = []

        def start_response(
            new_status: str, new_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            nonlocal status, headers
            status, headers = new_status, new_headers
            return written.append

        try:
            result = self.server.app(environ, start_response)
            try:
                payload = b"".join([*written, *result])
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ConnectionError:
            # The application closed the connection on purpose (an emulated fault).
            self.close_connection = True
            return
        except Exception:
            _log.exception("the emulator failed to answer %s", environ["PATH_INFO"])
            status, headers = "500 Internal Server Error", [("Content-Type", "text/plain")]
            payload = b"emulator error"
            self.close_connection = True
        self._send(status, headers, payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        if "Transfer-Encoding" in self.headers:
            self.send_error(411, "Send a Content-Length; chunked bodies are not supported")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.send_error(400, "Bad Content-Length")
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _environ(self, body: bytes) -> WSGIEnvironment:
        target = urlsplit(self.path) if not self.path.startswith("/") else None
        path, _, query = self.path.partition("?")
        if target is not None:  # absolute-form request target, as sent to a proxy
            path, query = target.path or "/", target.query
        host, port = self.server.server_address[:2]
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http" if self.server.ssl_context is None else "https",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            # The same key werkzeug's server uses, so applications can reach the socket.
            "werkzeug.socket": self.connection,
        }
        for name, value in self.headers.items():
            if "_" in name:  # "X_Forwarded" must not pass for "X-Forwarded"
                continue
            key = name.upper().replace("-", "_")
            if key == "CONTENT_LENGTH":  # set above from the body actually read
                continue
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        names = {name.lower() for name, _ in headers}
        lines = [f"{self.protocol_version} {status}", *(f"{n}: {v}" for n, v in headers)]
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(payload)}")
        lines += [f"Server: {self.server_version}", f"Date: {formatdate(usegmt=True)}"]
        if any(n.lower() == "connection" and v.lower() == "close" for n, v in headers):
            self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + payload)


def _resets_on_close(sock: socket.socket) -> bool:
    try:
        on, seconds = struct.unpack("ii", sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
    except OSError:
        return False
    return bool(on) and seconds == 0


def _shutdown(sock: socket.socket, how: int) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the TLS object under a
    # thread that may still be reading it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, how)
