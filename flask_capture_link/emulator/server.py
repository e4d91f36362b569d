"""EmulatorServer: the emulator on a real loopback port, in a background thread, HTTP or HTTPS.

Tests and the example site reach it over the network exactly as they would reach Capture, so
connection pooling, timeouts and TLS verification are exercised too.
"""

from __future__ import annotations

import ipaddress
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from .emulator import CaptureEmulator
from .http_server import KeepAliveWSGIServer

# serve_forever checks for stop() this often.
_POLL_INTERVAL = 0.05


class EmulatorServer:
    """Serves a :class:`CaptureEmulator` on ``host:port`` (0 picks a free port).

    Example::

        with EmulatorServer(CaptureEmulator(), tls=True) as server:
            app.config.update(server.settings())
            requests.post(server.url + "/entity", data=..., verify=server.ca_bundle)

    ``url`` is what a site's server side calls (``CAPTURE_LINK_DOMAIN``); ``social_login_url``
    is the same server under the name ``localhost``, a different site for browsers, so the
    Social Login token POST to the site is cross-site as in production.

    With ``tls``, the CA and the server certificate are made in a temporary directory removed
    at :meth:`stop`; with ``tls_dir`` (which implies ``tls``) they are kept in that directory
    and used again at the next start, so ``CAPTURE_LINK_CA_BUNDLE`` stays the same.
    """

    def __init__(
        self,
        emulator: CaptureEmulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        tls_dir: str | Path | None = None,
    ) -> None:
        #: The emulator this server serves.
        self.emulator = emulator
        self.host = host
        self.port = port
        self.tls = tls or tls_dir is not None
        #: Where the CA and certificate are kept, absolute (``CAPTURE_LINK_CA_BUNDLE`` is used
        #: by a site that may run elsewhere).
        self.tls_dir = Path(tls_dir).resolve() if tls_dir is not None else None
        self._server: KeepAliveWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self._ca_bundle: str | None = None

    def start(self) -> None:
        """Bind the port (making the certificate first, with ``tls``) and start serving."""
        if self._server is not None:
            raise RuntimeError("the emulator server was already started")
        context = None
        if self.tls:
            from .tls import kept_tls_files, make_tls_files  # cryptography: only for TLS

            if self.tls_dir is not None:
                files = kept_tls_files(self.tls_dir)
            else:
                self._tls_dir = tempfile.TemporaryDirectory(prefix="capture-emulator-")
                files = make_tls_files(Path(self._tls_dir.name))
            self._ca_bundle = str(files.ca_bundle)
            context = files.server_context()
        try:
            self._server = KeepAliveWSGIServer((self.host, self.port), self.emulator, context)
        except BaseException:
            self._remove_tls_files()
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"capture-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every connection, also those a ``hang`` fault holds."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._thread = None
        server.shutdown()
        self.emulator.release_waiting()
        server.close_connections()
        server.server_close()  # joins the connection threads, all of them woken above
        thread.join()
        self._remove_tls_files()

    def _remove_tls_files(self) -> None:
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL Capture calls go to, e.g. ``http://127.0.0.1:8765``."""
        return self._base_url(_url_host(self.host))

    @property
    def social_login_url(self) -> str:
        """The base URL of the Social Login pages: host ``localhost`` when serving loopback."""
        host = "localhost" if _is_loopback_or_any(self.host) else _url_host(self.host)
        return self._base_url(host)

    @property
    def ca_bundle(self) -> str | None:
        """The PEM file of the CA a client must trust, with ``tls``; else ``None``."""
        return self._ca_bundle

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start (keep-alive makes this grow slowly)."""
        return 0 if self._server is None else self._server.connections_accepted

    def settings(self) -> dict[str, str]:
        """The settings a site needs to use this emulator, by config key.

        ``CAPTURE_LINK_*`` keys go to the Flask config as they are; ``DEMO_EMAIL`` and
        ``DEMO_PASSWORD`` sign in the seeded user; ``UNPRIVILEGED_CLIENT_ID`` is a client
        without the ``login_client`` feature (to see Capture's 403).
        """
        emulator = self.emulator
        settings = {
            "CAPTURE_LINK_DOMAIN": self.url,
            "CAPTURE_LINK_CLIENT_ID": emulator.client_id,
            "CAPTURE_LINK_CLIENT_SECRET": emulator.client_secret,
            "CAPTURE_LINK_FLOW": emulator.flow,
            "CAPTURE_LINK_FLOW_VERSION": emulator.flow_version,
            "CAPTURE_LINK_LOCALE": emulator.locales[0],
            "CAPTURE_LINK_FLOW_LOCALES": ",".join(emulator.locales),
            "CAPTURE_LINK_SOCIAL_LOGIN_URL": self.social_login_url,
            "CAPTURE_LINK_REDIRECT_URI": self.url + "/",
        }
        if self._ca_bundle is not None:
            settings["CAPTURE_LINK_CA_BUNDLE"] = self._ca_bundle
        settings["DEMO_EMAIL"] = emulator.demo_email
        settings["DEMO_PASSWORD"] = emulator.demo_password
        settings["UNPRIVILEGED_CLIENT_ID"] = emulator.unprivileged_client_id
        return settings

    def _base_url(self, host: str) -> str:
        if self._server is None:
            raise RuntimeError("start the emulator server first: its port is not known yet")
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback_or_any(host: str) -> bool:
    address = _ip(host)
    if address is None:
        return host == "localhost"
    return address.is_loopback or address.is_unspecified


def _url_host(host: str) -> str:
    """The host to put in URLs: a loopback address for an any-address bind, IPv6 in brackets."""
    address = _ip(host)
    if address is None:
        return host
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{address}]" if address.version == 6 else str(address)
