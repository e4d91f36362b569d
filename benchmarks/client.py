"""A. ``CaptureClient.link_account`` (one pooled session) against ``requests.post`` per call.

Public sample code calls Capture with ``requests.post(url, data=...)``: every call opens a new
TCP connection and, over TLS, makes a new handshake (and loads the CA file again). The client
keeps its connections. Both make real links (a fresh Social Login token per call) against the
emulator, in its own process, from the same number of threads, over TLS and over plain HTTP.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from flask_capture_link.client import CaptureClient

from .capture_process import CaptureProcess
from .common import (
    LINK_PATH,
    MakeWorker,
    Report,
    Run,
    Target,
    Work,
    interleave,
    median,
    ms,
    paired_ratio,
    rates,
    run_threads,
)

TITLE = "CaptureClient (pooled) vs requests.post per call: link calls against the emulator"


@dataclass(frozen=True)
class Counts:
    threads: int = 4
    rounds: int = 7
    calls: int = 1000  # per round and variant, at most
    seconds: float = 0.7  # per round and variant, at most
    warmup: int = 40


FULL = Counts()
QUICK = Counts(rounds=1, calls=12, seconds=1.0, warmup=2)

#: Targets: pooled/naive calls per second over TLS and over plain HTTP.
TLS_RATIO = 3.0
PLAIN_RATIO = 1.25

LABELS = {
    "pooled": "CaptureClient (pooled)",
    "naive": "requests.post per call",
}


def run(quick: bool = False) -> Report:
    counts = QUICK if quick else FULL
    report = Report(
        "client",
        TITLE,
        notes=[
            f"{counts.threads} client threads in the benchmark process; the emulator in its own "
            f"process; {counts.rounds} rounds per variant, each up to {counts.calls} calls or "
            f"{counts.seconds:g} s, after {counts.warmup} warm-up calls",
            "a call: link_account with a fresh Social Login token (a full link at the "
            "emulator); connections: TCP connections the emulator accepted, warm-up included; "
            "client CPU/call: the benchmark process's CPU time per call (median of rounds)",
        ],
        headers=[
            "transport",
            "variant",
            "calls/s per round",
            "median",
            "vs naive",
            "calls",
            "errors",
            "connections",
            "client CPU/call",
        ],
    )
    for tls in (True, False):
        with CaptureProcess(tls=tls) as capture:
            _measure(capture, counts, report)
    return report


def _measure(capture: CaptureProcess, counts: Counts, report: Report) -> None:
    transport = "TLS" if capture.tls else "HTTP"
    settings = capture.settings()
    verify: str | bool = capture.ca_bundle or True
    redirect_uri = settings["CAPTURE_LINK_REDIRECT_URI"]
    fixed = {
        "client_id": settings["CAPTURE_LINK_CLIENT_ID"],
        "flow": settings["CAPTURE_LINK_FLOW"],
        "flow_version": settings["CAPTURE_LINK_FLOW_VERSION"],
        "locale": settings["CAPTURE_LINK_LOCALE"],
        "redirect_uri": redirect_uri,
    }
    url = capture.url + LINK_PATH
    _, access_tokens, _ = capture.sign_in_users(8)

    def new_client() -> CaptureClient:
        return CaptureClient(
            capture.url,
            fixed["client_id"],
            flow_version=fixed["flow_version"],
            redirect_uri=redirect_uri,
            verify=verify,
        )

    def pooled(client: CaptureClient) -> Callable[[list[str]], MakeWorker]:
        def for_tokens(tokens: list[str]) -> MakeWorker:
            def make(stack: contextlib.ExitStack) -> Work:
                def work(i: int) -> int:
                    client.link_account(tokens[i], access_tokens[i % len(access_tokens)])
                    return 0

                return work

            return make

        return for_tokens

    def naive(tokens: list[str]) -> MakeWorker:
        def make(stack: contextlib.ExitStack) -> Work:
            def work(i: int) -> int:
                access_token = access_tokens[i % len(access_tokens)]
                data = {**fixed, "token": tokens[i], "access_token": access_token}
                answer = requests.post(url, data=data, verify=verify)
                if answer.json().get("stat") != "ok":
                    raise RuntimeError("Capture refused the link")
                return 0

            return work

        return make

    with new_client() as client:
        makers = {"pooled": pooled(client), "naive": naive}
        connections = dict.fromkeys(makers, 0)

        def timed(name: str, count: int, seconds: float) -> Run:
            tokens = capture.social_tokens(count)
            before, cpu = capture.connections_accepted, time.process_time()
            result = run_threads(counts.threads, count, seconds, makers[name](tokens))
            result.cpu = time.process_time() - cpu
            connections[name] += capture.connections_accepted - before
            return result

        for name in makers:
            timed(name, counts.warmup, 30)
        runs = interleave(
            counts.rounds, makers, lambda name: timed(name, counts.calls, counts.seconds)
        )
    for name, results in runs.items():
        vs_naive = "" if name == "naive" else f"{paired_ratio(results, runs['naive']):.2f}x"
        report.rows.append(
            [
                transport,
                LABELS[name],
                rates(results),
                f"{median([r.rate for r in results]):.0f}",
                vs_naive,
                str(sum(r.done for r in results)),
                str(sum(r.errors for r in results)),
                str(connections[name]),
                ms(median([r.cpu_per_op for r in results]), 2),
            ]
        )
    ratio = paired_ratio(runs["pooled"], runs["naive"])
    goal = TLS_RATIO if capture.tls else PLAIN_RATIO
    errors = sum(r.errors for results in runs.values() for r in results)
    report.targets += [
        Target(
            f"{transport}: pooled / naive calls per second",
            f"{ratio:.2f}x",
            f">= {goal}x",
            ratio >= goal,
        ),
        Target(
            f"{transport}: connections the pooled client opened",
            str(connections["pooled"]),
            f"<= {counts.threads} (threads)",
            connections["pooled"] <= counts.threads,
        ),
        Target(f"{transport}: failed calls", str(errors), "0", errors == 0),
    ]
