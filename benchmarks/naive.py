"""C. The token URL against the same flow written as public sample code writes it.

The sample-code view (``/naive/token`` in :mod:`benchmarks.site_app`) reads the token and the
session's access token, calls ``requests.post(url, data=...)`` (a new connection and TLS
handshake per call, no timeout), flashes and redirects. The extension's token URL does more
(state, single use, signals) but keeps its connections. Both run in one gunicorn process with
the same threads and clients, over TLS: first on bare loopback, then through
:mod:`benchmarks.latency_proxy`, a Capture 20 ms away.
"""

from __future__ import annotations

from dataclasses import dataclass

from .capture_process import CaptureProcess
from .common import (
    Job,
    LinkFactory,
    Report,
    Run,
    SiteServer,
    Target,
    http_worker,
    interleave,
    median,
    ms,
    paired_ratio,
    percentile,
    rates,
    run_threads,
    site_config,
)
from .latency_proxy import ProxyProcess

TITLE = "token URL (extension) vs sample-code flow (requests.post per call), TLS"


@dataclass(frozen=True)
class Counts:
    server_threads: int = 4
    clients: int = 4
    rounds: int = 7
    requests: int = 400  # per round and variant, at most
    seconds: float = 0.8  # per round and variant, at most
    warmup: int = 30
    delay: float = 0.010  # the proxy's hold, each way


FULL = Counts()
QUICK = Counts(rounds=1, requests=8, seconds=1.0, warmup=2)

#: Target: extension / sample-code throughput through the latency proxy.
PROXY_RATIO = 1.8

VARIANTS = {"extension": "extension token URL", "naive": "sample code: requests.post/call"}


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    result = Report(
        "naive",
        TITLE,
        notes=[
            f"site: gunicorn, 1 worker, gthread {counts.server_threads} threads; load: "
            f"{counts.clients} keep-alive clients (same concurrency for both); Capture: the "
            "emulator over TLS, own process",
            f"{counts.rounds} rounds per variant and path, each up to {counts.requests} "
            f"requests or {counts.seconds:g} s, after {counts.warmup} warm-up requests; every "
            "request a real link",
            f"proxy: benchmarks/latency_proxy.py, own process, holds each chunk "
            f"{counts.delay * 1000:g} ms each way (Capture 20 ms away); TLS end to end, the site "
            "verifies Capture's certificate through it; the TCP handshake with the proxy is "
            "not delayed, which spares the sample code one round trip per call",
        ],
        headers=[
            "path to Capture",
            "variant",
            "requests/s per round",
            "median",
            "linked",
            "p50",
            "p95",
            "site CPU/request",
        ],
    )
    with CaptureProcess(tls=True) as capture:
        direct = _measure(capture, None, counts, result)
        with ProxyProcess(capture.port, delay=counts.delay) as proxy:
            proxied = _measure(capture, proxy, counts, result)
    result.findings.append(f"loopback: extension / sample code throughput = {direct:.2f}x")
    result.targets += [
        Target(
            "20 ms proxy: extension / sample code throughput",
            f"{proxied:.2f}x",
            f">= {PROXY_RATIO}x",
            proxied >= PROXY_RATIO,
        ),
    ]
    return result


def _measure(
    capture: CaptureProcess, proxy: ProxyProcess | None, counts: Counts, result: Report
) -> float:
    domain = None if proxy is None else f"https://127.0.0.1:{proxy.port}"
    config = site_config(capture, domain)
    factory = LinkFactory(capture, config)
    linked = dict.fromkeys(VARIANTS, 0)
    with SiteServer(config, counts.server_threads) as site:

        def jobs(variant: str, count: int) -> list[Job]:
            links = factory.links(count)
            return [link.extension() if variant == "extension" else link.naive() for link in links]

        def timed(variant: str, count: int, seconds: float) -> Run:
            prepared = jobs(variant, count)
            before, cpu = factory.linked(), site.cpu_seconds()
            run = run_threads(counts.clients, count, seconds, http_worker(site.port, prepared))
            run.cpu = site.cpu_seconds() - cpu
            linked[variant] += factory.linked() - before
            return run

        for variant in VARIANTS:
            timed(variant, counts.warmup, 30)
            linked[variant] = 0
        runs = interleave(
            counts.rounds, VARIANTS, lambda v: timed(v, counts.requests, counts.seconds)
        )
    path = "loopback" if proxy is None else f"proxy +{counts.delay * 2000:g} ms RTT"
    for variant, label in VARIANTS.items():
        latencies = sorted(x for r in runs[variant] for x in r.latencies)
        done = sum(r.done for r in runs[variant])
        result.rows.append(
            [
                path,
                label,
                rates(runs[variant]),
                f"{median([r.rate for r in runs[variant]]):.0f}",
                f"{linked[variant]}/{done}",
                ms(percentile(latencies, 0.50), 1),
                ms(percentile(latencies, 0.95), 1),
                ms(median([r.cpu_per_op for r in runs[variant]]), 2),
            ]
        )
    return paired_ratio(runs["extension"], runs["naive"])
