"""E. The site while Capture hangs: the token URL's latency, and the other pages' throughput.

Capture's link endpoint hangs (the emulator holds each call 60 s and answers nothing); the site
has ``CAPTURE_LINK_TIMEOUT = (1, 1)`` and the default ``CAPTURE_LINK_RECHECK_DELAY = 1``. Some
clients keep sending link requests, each of which holds a server thread until the read timeout,
then for the recheck (Capture may have acted on a call whose answer never came: after the delay
the extension lists the identities once, and that call answers); other clients load an ordinary
page of the site. Rounds with and without the hung link requests alternate.

The site must have more threads than it will have link requests in flight at once: a thread
waiting on Capture serves nobody else until the timeout. Here the server has
``server_threads``, more than the hung link clients and the page clients together.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .capture_process import CaptureProcess
from .common import (
    LINK_PATH,
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

TITLE = "the site while Capture hangs (CAPTURE_LINK_TIMEOUT = (1, 1))"

#: The read timeout configured, the recheck's wait after it, and how late the token URL may
#: answer after both.
TIMEOUT = (1.0, 1.0)
RECHECK_DELAY = 1.0
GRACE = 0.5

#: Target: other pages keep this share of their throughput while link requests hang.
SHARE = 0.80


@dataclass(frozen=True)
class Counts:
    server_threads: int = 8
    hung_clients: int = 3
    page_clients: int = 3
    rounds: int = 5
    pages: int = 3000  # per round, at most
    seconds: float = 1.2  # page load per round
    warmup: int = 50


FULL = Counts()
QUICK = Counts(rounds=1, pages=20, seconds=1.0, warmup=2)


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    with CaptureProcess(tls=True) as capture:
        config = site_config(
            capture, CAPTURE_LINK_TIMEOUT=list(TIMEOUT), CAPTURE_LINK_RECHECK_DELAY=RECHECK_DELAY
        )
        factory = LinkFactory(capture, config)
        page = Job("GET", "/", headers={"Cookie": factory.cookie(factory.access_tokens[0])})
        pages = [page] * counts.pages
        capture.set_fault(LINK_PATH, "hang", 60)
        link_runs: list[Run] = []
        with SiteServer(config, counts.server_threads) as site:
            run_threads(counts.page_clients, counts.warmup, 30, http_worker(site.port, pages))

            def quiet() -> Run:
                return run_threads(
                    counts.page_clients,
                    counts.pages,
                    counts.seconds,
                    http_worker(site.port, pages),
                )

            def hung() -> Run:
                # Links start first and run past the page load, so they hang all through it.
                links = [link.extension() for link in factory.links(counts.hung_clients * 8)]
                link_seconds = counts.seconds + 0.5
                holder: list[Run] = []
                driver = threading.Thread(
                    target=lambda: holder.append(
                        run_threads(
                            counts.hung_clients,
                            len(links),
                            link_seconds,
                            http_worker(site.port, links),
                        )
                    ),
                    daemon=True,
                )
                driver.start()
                time.sleep(0.3)
                result = run_threads(
                    counts.page_clients,
                    counts.pages,
                    counts.seconds,
                    http_worker(site.port, pages),
                )
                driver.join(link_seconds + 30)
                link_runs.extend(holder)
                return result

            variants = {"quiet": quiet, "hung": hung}
            runs = interleave(counts.rounds, variants, lambda name: variants[name]())
        capture.clear_faults()
        calls_linked = factory.linked()
    return _report(counts, runs, link_runs, calls_linked)


def _report(
    counts: Counts, runs: dict[str, list[Run]], link_runs: list[Run], linked: int
) -> Report:
    latencies = sorted(x for r in link_runs for x in r.latencies)
    answered = sum(r.done for r in link_runs)
    redirected = sum(r.statuses.get(303, 0) for r in link_runs)
    failed = sum(r.errors for r in link_runs)
    worst = latencies[-1] if latencies else float("inf")
    share = paired_ratio(runs["hung"], runs["quiet"])
    limit = TIMEOUT[1] + RECHECK_DELAY + GRACE
    report = Report(
        "hung",
        TITLE,
        notes=[
            f"site: gunicorn, 1 worker, gthread {counts.server_threads} threads; "
            f"{counts.hung_clients} clients keep link requests hanging, {counts.page_clients} "
            "clients load / (a page with three link buttons); Capture: the emulator over TLS, "
            "own process, link endpoint fault 'hang' (60 s)",
            f"{counts.rounds} rounds each, alternating; page load {counts.seconds:g} s per round "
            f"(at most {counts.pages} pages)",
            f"sizing: {counts.server_threads} threads > {counts.hung_clients} hung link "
            f"requests + {counts.page_clients} page clients; a site needs more threads than "
            "link requests in flight, or pages queue behind the timeout",
        ],
        headers=["other pages", "pages/s per round", "median", "p50", "p95"],
    )
    for name, label in (("quiet", "no link requests"), ("hung", "with hung link requests")):
        page_latencies = sorted(x for r in runs[name] for x in r.latencies)
        report.rows.append(
            [
                label,
                rates(runs[name]),
                f"{median([r.rate for r in runs[name]]):.0f}",
                ms(percentile(page_latencies, 0.50), 1),
                ms(percentile(page_latencies, 0.95), 1),
            ]
        )
    report.findings.append(
        f"token URL while Capture hangs: {answered} answered ({redirected} redirects, "
        f"{failed} failed), latency p50 {ms(percentile(latencies, 0.5))}, max {ms(worst)}; "
        f"links made: {linked}"
    )
    report.targets += [
        Target(
            "token URL latency (max)",
            ms(worst),
            f"<= {ms(limit)} (timeout + recheck delay + {GRACE:g} s)",
            bool(latencies) and worst <= limit and redirected == answered and not failed,
        ),
        Target("other pages: throughput kept", f"{share:.2f}", f">= {SHARE:.2f}", share >= SHARE),
    ]
    return report
