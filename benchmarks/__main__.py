"""Run the benchmarks and print their tables: ``python -m benchmarks [--quick] [NAME ...]``.

Exits 1 when a target is not met, 2 when a benchmark could not run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from .common import Report, load_average, machine_info, table

#: Benchmark modules, in the order they run.
NAMES = ("client", "overhead", "sign_in", "store", "naive", "connections", "hung", "session")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny counts: checks that everything runs; figures mean nothing",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    names = args.names or list(NAMES)

    started = time.perf_counter()
    print(
        "Flask-Capture-Link benchmarks"
        + (" (--quick: figures mean nothing)" if args.quick else "")
    )
    for line in machine_info():
        print(f"   {line}")
    print(flush=True)

    reports: list[Report] = []
    broken: list[str] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        began, load = time.perf_counter(), load_average()
        try:
            report = module.run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            broken.append(name)
            print(f"== {name}: could not run\n", flush=True)
            continue
        reports.append(report)
        print(report.render(), end="")
        took = time.perf_counter() - began
        print(
            f"   ({took:.1f} s; load average {load} before, {load_average()} after)\n", flush=True
        )

    rows = [[r.key, t.name, t.figure, t.goal, t.verdict] for r in reports for t in r.targets]
    rows += [[name, "benchmark ran", "no", "yes", "NOT MET"] for name in broken]
    print("== summary")
    print("\n".join(table(["benchmark", "target", "measured", "goal", "verdict"], rows)))
    missed = sum(not t.met for r in reports for t in r.targets)
    print(
        f"\n{missed} target(s) not met, {len(broken)} benchmark(s) broken; "
        f"total {time.perf_counter() - started:.0f} s"
    )
    if broken:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
