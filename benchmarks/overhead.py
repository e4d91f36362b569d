"""B. The token URL's whole request against a bare view that only makes the same Capture call.

The extension's token URL checks the state, reads the session, calls Capture, flashes and
redirects; the bare view (``/bare/token`` in :mod:`benchmarks.site_app`) does only the same
pooled POST to Capture and redirects. Both run in one gunicorn process with the same threads,
driven by the same load generator, against the emulator over TLS; every request is a real link
with its own session, state and Social Login token, all made before the clock starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

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

TITLE = "token URL (extension) vs a bare view doing only the pooled Capture POST, over TLS"


@dataclass(frozen=True)
class Counts:
    server_threads: int = 4
    clients: int = 8
    rounds: int = 15
    requests: int = 500  # per round and variant, at most
    seconds: float = 0.8  # per round and variant, at most
    warmup: int = 60


FULL = Counts()
QUICK = Counts(rounds=1, requests=12, seconds=1.0, warmup=4)

#: Target: the extension's throughput (sealed tokens, in-process store) as a share of the bare
#: view's.
SHARE = 0.95

VARIANTS = {"extension": "extension token URL", "bare": "bare view (POST only)"}


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    with CaptureProcess(tls=True) as capture:
        config = site_config(capture)
        factory = LinkFactory(capture, config)
        with SiteServer(config, counts.server_threads) as site:
            runs, linked = measure(site, factory, counts)
    return report(counts, runs, linked)


def measure(
    site: SiteServer, factory: LinkFactory, counts: Counts
) -> tuple[dict[str, list[Run]], dict[str, int]]:
    """Warm up, then interleaved rounds of both variants; also how many links Capture made."""

    def jobs(variant: str, count: int) -> list[Job]:
        links = factory.links(count)
        return [link.extension() if variant == "extension" else link.bare() for link in links]

    return side_by_side(site, counts, VARIANTS, jobs, factory.linked)


class Rounds(Protocol):
    """How a side-by-side benchmark loads the site (each benchmark's ``Counts``)."""

    @property
    def clients(self) -> int: ...
    @property
    def rounds(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def warmup(self) -> int: ...


def side_by_side(
    site: SiteServer,
    counts: Rounds,
    variants: Iterable[str],
    jobs: Callable[[str, int], list[Job]],
    made: Callable[[], int],
) -> tuple[dict[str, list[Run]], dict[str, int]]:
    """Warm up each of ``variants``, then interleaved rounds of them, each round ``jobs(variant,
    count)`` sent by the load generator; also, per variant, how much ``made()`` (a count kept
    at Capture) grew during its timed rounds."""
    names = list(variants)
    counted = dict.fromkeys(names, 0)

    def timed(variant: str, count: int, seconds: float) -> Run:
        prepared = jobs(variant, count)
        before, cpu = made(), site.cpu_seconds()
        result = run_threads(counts.clients, count, seconds, http_worker(site.port, prepared))
        result.cpu = site.cpu_seconds() - cpu
        counted[variant] += made() - before
        return result

    for variant in names:
        timed(variant, counts.warmup, 30)
    for variant in names:
        counted[variant] = 0
    runs = interleave(counts.rounds, names, lambda v: timed(v, counts.requests, counts.seconds))
    return runs, counted


def report(
    counts: Counts, runs: dict[str, list[Run]], linked: dict[str, int], share_goal: float = SHARE
) -> Report:
    result = Report(
        "overhead",
        TITLE,
        notes=[
            f"site: gunicorn, 1 worker, gthread {counts.server_threads} threads; load: "
            f"{counts.clients} keep-alive clients; Capture: the emulator over TLS, own process",
            "config: the extension reads CAPTURE_LINK_* from current_app.config on every "
            "request; its pooled CaptureClient is reused while the settings it is built from "
            "are unchanged (compared per use; rebuilt only on a change)",
            f"{counts.rounds} rounds per variant, each up to {counts.requests} requests or "
            f"{counts.seconds:g} s, after {counts.warmup} warm-up requests; every request a "
            "real link (fresh state, session and Social Login token)",
        ],
        headers=[],
    )
    compare(result, runs, VARIANTS, linked, share_goal, "linked", "requests that made a link")
    return result


def compare(
    result: Report,
    runs: dict[str, list[Run]],
    variants: dict[str, str],
    counted: dict[str, int],
    share_goal: float,
    counted_column: str,
    counted_target: str,
) -> None:
    """Fill ``result`` with the side-by-side table of the ``extension`` and ``bare`` runs
    (``counted``: what each made at Capture, under ``counted_column``) and its two targets:
    the paired throughput ratio against ``share_goal``, and every request counted."""
    result.headers = [
        "variant",
        "requests/s per round",
        "median",
        "requests",
        counted_column,
        "not 303",
        "p50",
        "p95",
        "site CPU/request",
    ]
    for variant, label in variants.items():
        results = runs[variant]
        latencies = sorted(x for r in results for x in r.latencies)
        bad = sum(r.errors for r in results) + sum(
            n for r in results for status, n in r.statuses.items() if status != 303
        )
        result.rows.append(
            [
                label,
                rates(results),
                f"{median([r.rate for r in results]):.0f}",
                str(sum(r.done for r in results)),
                str(counted[variant]),
                str(bad),
                f"{percentile(latencies, 0.50) * 1000:.1f} ms",
                f"{percentile(latencies, 0.95) * 1000:.1f} ms",
                ms(median([r.cpu_per_op for r in results]), 2),
            ]
        )
    share = paired_ratio(runs["extension"], runs["bare"])
    done = sum(r.done for results in runs.values() for r in results)
    made = sum(counted.values())
    result.targets += [
        Target(
            "extension / bare view throughput",
            f"{share:.2f}",
            f">= {share_goal:.2f}",
            share >= share_goal,
        ),
        Target(counted_target, f"{made}/{done}", "all", made == done),
    ]
