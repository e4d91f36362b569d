"""D. Connections to Capture after 1,000 links, against the site's server threads.

The site (gunicorn, gthread) makes 1,000 real links through its token URL, driven by more
clients than it has threads. Each thread calls Capture through the extension's one pooled
session, so the emulator should accept no more TCP connections than there are threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from .capture_process import CaptureProcess
from .common import (
    LinkFactory,
    Report,
    SiteServer,
    Target,
    http_worker,
    run_threads,
    site_config,
)

TITLE = "TCP connections Capture accepted from the site after 1,000 links"


@dataclass(frozen=True)
class Counts:
    server_threads: int = 4
    clients: int = 8
    links: int = 1000
    seconds: float = 60.0  # at most


FULL = Counts()
QUICK = Counts(links=20, seconds=10.0)


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    with CaptureProcess(tls=True) as capture:
        config = site_config(capture)
        factory = LinkFactory(capture, config)
        jobs = [link.extension() for link in factory.links(counts.links)]
        before = capture.connections_accepted
        with SiteServer(config, counts.server_threads) as site:
            result = run_threads(
                counts.clients, counts.links, counts.seconds, http_worker(site.port, jobs)
            )
            opened = capture.connections_accepted - before
            linked = factory.linked()
    report = Report(
        "connections",
        TITLE,
        notes=[
            f"site: gunicorn, 1 worker, gthread {counts.server_threads} threads; load: "
            f"{counts.clients} keep-alive clients, {counts.links} link requests (at most "
            f"{counts.seconds:g} s); Capture: the emulator over TLS, own process",
            "connections: TCP connections the emulator accepted from the site's start to the "
            "end of the last link",
        ],
        headers=[
            "links requested",
            "answered",
            "linked at Capture",
            "requests/s",
            "server threads",
            "connections to Capture",
        ],
        rows=[
            [
                str(counts.links),
                str(result.done),
                str(linked),
                f"{result.rate:.0f}",
                str(counts.server_threads),
                str(opened),
            ]
        ],
    )
    report.targets += [
        Target(
            "connections to Capture",
            str(opened),
            f"<= {counts.server_threads} (threads)",
            opened <= counts.server_threads,
        ),
        Target("links made", f"{linked}/{counts.links}", "all", linked == counts.links),
    ]
    return report
