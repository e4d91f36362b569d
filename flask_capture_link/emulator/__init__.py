"""An offline stand-in for Identity Cloud Capture and Social Login, for tests and demos.

It answers the Capture endpoints the extension calls as the vendor specification shows, serves
Social Login sign-in pages, records the calls it gets (parameter names only) and can be made to
fail on purpose. It shares no code with the extension: it stands for another system.

Example::

    from flask_capture_link.emulator import CaptureEmulator, EmulatorServer

    with EmulatorServer(CaptureEmulator()) as server:
        app.config.update(server.settings())
        ...

From a shell: ``python -m flask_capture_link.emulator --port 8765 [--tls]``.
"""

from .calls import Call
from .emulator import CaptureEmulator
from .server import EmulatorServer

__all__ = ["Call", "CaptureEmulator", "EmulatorServer"]
