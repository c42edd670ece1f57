"""Requests per second through ``wsgi_cycle`` during detection, against the bare werkzeug test client.

Both send the same requests to the same Flask app in the same process. The
bare loop is ``Client.open`` and ``get_data`` per request; the harness runs
``leakharness.check(wsgi_cycle(...))`` for a fixed number of cycles (warm-up,
sampling, ``gc.collect()`` and cache clearing after every cycle included).
The overhead is the bare rate divided by the harness rate. Runs alternate
and the median of each side is kept, so a machine busy with other work
slows both alike.

    python scripts/bench_web.py [--repeats 5] [--cycles 200] [--out table.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples"), str(Path(__file__).resolve().parent)]

import flask  # noqa: E402
import flask_app  # noqa: E402
from benchlib import machine_line, publish, text_table  # noqa: E402
from werkzeug.test import Client  # noqa: E402

import leakharness  # noqa: E402


def hello_app() -> flask.Flask:
    app = flask.Flask("hello")

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


def bare_rate(app: Any, requests: list[tuple[str, str]], total: int) -> float:
    client = Client(app, use_cookies=False)
    started = perf_counter()
    for index in range(total):
        method, path = requests[index % len(requests)]
        response = client.open(path, method=method)
        response.get_data()
        response.close()
    return total / (perf_counter() - started)


def cycle_rate(app: Any, requests: list[tuple[str, str]], total: int, concurrency: int) -> float:
    """The cycle called in a plain loop: what wsgi_cycle itself costs, without the harness."""
    cycle = leakharness.wsgi_cycle(app, requests, concurrency=concurrency)
    calls = max(1, total // len(requests))
    started = perf_counter()
    for _ in range(calls):
        cycle()
    return calls * len(requests) / (perf_counter() - started)


def harness_rate(app: Any, requests: list[tuple[str, str]], cycles: int, concurrency: int) -> float:
    settings = leakharness.Settings(warmup=5, min_cycles=cycles, max_cycles=cycles, time_budget=600)
    cycle = leakharness.wsgi_cycle(app, requests, concurrency=concurrency)
    started = perf_counter()
    report = leakharness.check(cycle, settings=settings)
    seconds = perf_counter() - started
    test = report.tests[0]
    if test.verdict is not leakharness.Verdict.CLEAN:
        raise SystemExit(f"{test.id} is not clean: {test.reason}")
    sent = (settings.warmup + 1 + test.cycles) * len(
        requests
    )  # warm-up, the settling cycle, the sampled ones
    return sent / seconds


def measure(
    name: str, app: Any, requests: list[tuple[str, str]], args: argparse.Namespace, concurrency: int
) -> list[str]:
    bare: list[float] = []
    alone: list[float] = []
    harness: list[float] = []
    total = (args.cycles + 6) * len(requests)
    runs: list[Callable[[], None]] = [
        lambda: bare.append(bare_rate(app, requests, total)),
        lambda: alone.append(cycle_rate(app, requests, total, concurrency)),
        lambda: harness.append(harness_rate(app, requests, args.cycles, concurrency)),
    ]
    bare_rate(app, requests, 50)  # imports and first-request set-up, untimed
    for _ in range(args.repeats):
        for run in runs:
            run()
    bare_median, harness_median = statistics.median(bare), statistics.median(harness)
    alone_median = statistics.median(alone)
    return [
        name,
        str(len(requests)),
        str(concurrency),
        f"{bare_median:,.0f}",
        f"{alone_median:,.0f}",
        f"{harness_median:,.0f}",
        f"{bare_median / harness_median:.2f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--out", help="write the Markdown table here")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="leakharness-bench-web-")
    flask_app.prepare(folder)
    hello = hello_app()
    events = [("GET", "/events/person")]
    cases = [
        ("hello (JSON, no I/O)", hello, [("GET", "/hello")], 1),
        ("hello (JSON, no I/O)", hello, [("GET", "/hello")] * 10, 1),
        ("hello (JSON, no I/O)", hello, [("GET", "/hello")] * 10, 4),
        ("flask_app fixed /events (SQLite)", flask_app.fixed_app, events, 1),
        ("flask_app fixed /events (SQLite)", flask_app.fixed_app, events * 10, 1),
    ]
    header = [
        "app",
        "requests/cycle",
        "concurrency",
        "bare client req/s",
        "cycle alone req/s",
        "during detection req/s",
        "overhead",
    ]
    rows = [measure(name, app, requests, args, concurrency) for name, app, requests, concurrency in cases]
    flask_app.release()
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    os.rmdir(folder)
    command = "python scripts/bench_web.py " + " ".join(sys.argv[1:])
    markdown = "\n".join(
        [
            machine_line(command.strip()),
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows),
        ]
    )
    publish(text_table(header, rows), markdown, args.out)


if __name__ == "__main__":
    main()
