"""The shipped examples, hunted by the real command line.

Every ``test_leaky_*`` example must come out as a leak located at its
``# leak:`` line, every ``test_fixed_*`` one as clean.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MARK = re.compile(r"#\s*leak\b")
TOP = 3

EXPECTED: dict[str, dict[str, str]] = {
    "video_writer.py": {
        "VideoWriterTest.test_leaky_writer_not_released": "leak",
        "VideoWriterTest.test_fixed_writer_released": "clean",
    },
    "frame_history.py": {
        "FrameHistoryTest.test_leaky_unbounded_history": "leak",
        "FrameHistoryTest.test_fixed_ring_buffer": "clean",
    },
    "worker_pool.py": {
        "WorkerPoolTest.test_leaky_stop": "leak",
        "WorkerPoolTest.test_fixed_stop": "clean",
        "WorkerPoolTest.test_leaky_rapid_start_stop": "leak",
        "WorkerPoolTest.test_fixed_rapid_start_stop": "clean",
    },
    "sqlite_pool.py": {
        "SqliteConnectionTest.test_leaky_connection_left_open": "leak",
        "SqliteConnectionTest.test_fixed_connection_closed": "clean",
        "SqlitePoolTest.test_leaky_pool_new_connection_per_checkout": "leak",
        "SqlitePoolTest.test_fixed_pool_reuses_connections": "clean",
    },
    "caches.py": {
        "CacheTest.test_leaky_unbounded_cache": "leak",
        "CacheTest.test_fixed_bounded_cache": "clean",
    },
    "files.py": {
        "FilesTest.test_leaky_file_never_closed": "leak",
        "FilesTest.test_fixed_with_open": "clean",
    },
    "logging_handlers.py": {
        "LoggingHandlersTest.test_leaky_handler_per_call": "leak",
        "LoggingHandlersTest.test_fixed_handler_once": "clean",
    },
    "listeners.py": {
        "ListenersTest.test_leaky_strong_listener": "leak",
        "ListenersTest.test_fixed_weak_listener": "clean",
    },
    "flask_app.py": {
        "FlaskAppTest.test_leaky_connection_per_request": "leak",
        "FlaskAppTest.test_fixed_connection_closed": "clean",
        "FlaskAppTest.test_leaky_file_per_request": "leak",
        "FlaskAppTest.test_fixed_file_closed": "clean",
        "FlaskAppTest.test_leaky_unbounded_cache": "leak",
        "FlaskAppTest.test_fixed_bounded_cache": "clean",
    },
    "starlette_app.py": {
        "StarletteAppTest.test_leaky_task_per_request": "leak",
        "StarletteAppTest.test_fixed_one_task_per_order": "clean",
    },
    "asyncio_service.py": {
        "NotifyTest.test_leaky_tasks_kept_forever": "leak",
        "NotifyTest.test_fixed_tasks_discarded_when_done": "clean",
        "SubscriptionTest.test_leaky_heartbeat_never_cancelled": "leak",
        "SubscriptionTest.test_fixed_heartbeat_cancelled": "clean",
    },
    "http_client.py": {
        "HttpClientTest.test_leaky_session_never_closed": "leak",
        "HttpClientTest.test_fixed_session_closed": "clean",
    },
}

NEEDS = {
    "video_writer.py": "cv2",
    "flask_app.py": "flask",
    "starlette_app.py": "starlette",
    "http_client.py": "aiohttp",
}

# What the report must name as keeping the leaked objects alive, or, for
# thread and descriptor leaks, the line that started or opened them.
HOLDERS = {
    "asyncio_service.NotifyTest.test_leaky_tasks_kept_forever": (
        "module asyncio_service → set _background → Task"
    ),
    "sqlite_pool.SqliteConnectionTest.test_leaky_connection_left_open": (
        "module sqlite_pool → list _recent → Connection"
    ),
    "sqlite_pool.SqlitePoolTest.test_leaky_pool_new_connection_per_checkout": (
        "module sqlite_pool → LeakyPool _leaky_pool → list ._all → Connection"
    ),
    "files.FilesTest.test_leaky_file_never_closed": "module files → list _handles → TextIOWrapper",
    "listeners.ListenersTest.test_leaky_strong_listener": (
        "module listeners → EventBus _bus → list ._listeners → method Overlay.on_detection → Overlay"
    ),
    "logging_handlers.LoggingHandlersTest.test_leaky_handler_per_call": "dict .loggerDict → Logger",
    "flask_app.FlaskAppTest.test_leaky_connection_per_request": (
        "module flask_app → list _connections → Connection"
    ),
    "flask_app.FlaskAppTest.test_leaky_file_per_request": (
        "module flask_app → list _templates → TextIOWrapper"
    ),
}
# What a library prints of each object left unclosed, through its event loop's
# handler: once at most, for the run as written (before the harness caught
# those reports, 43 times a run of http_client.py).
PRINTED_ONCE = {"http_client.py": "Unclosed client session"}
STARTED_AT = {
    "worker_pool.WorkerPoolTest.test_leaky_stop": "thread.start()",
    "worker_pool.WorkerPoolTest.test_leaky_rapid_start_stop": "thread.start()",
}


def marked_lines(path: Path) -> set[int]:
    return {n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if MARK.search(text)}


def made_at(diagnosis: dict[str, Any]) -> list[tuple[Path, int]]:
    """Where the leaked tasks and the objects left unclosed were created."""
    groups = [*diagnosis["tasks"], *diagnosis["unclosed"]]
    return [
        (Path(frame["file"]).resolve(), frame["line"])
        for g in groups
        for frame in g["example"]["created"][:1]
    ]


def run_example(example: Path, json_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    command = [sys.executable, "-m", "leakharness", str(example.relative_to(ROOT)), "--json", str(json_path)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert json_path.exists(), f"no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads(json_path.read_text(encoding="utf-8"))


def test_every_example_is_covered_and_documented() -> None:
    shipped = {path.name for path in EXAMPLES.glob("*.py") if path.name != "__init__.py"}
    assert shipped == set(EXPECTED)
    for name in shipped:
        path = EXAMPLES / name
        assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), f"{name} has no docstring"
        assert marked_lines(path), f"{name} marks no line with '# leak:'"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_example_verdicts_and_lines(name: str, tmp_path: Path) -> None:
    if name in NEEDS:
        try:
            importlib.import_module(NEEDS[name])
        except ImportError:
            pytest.skip(f"{NEEDS[name]} is not importable")
    example = EXAMPLES / name
    proc, report = run_example(example, tmp_path / "r.json")
    module = example.stem
    expected = {f"{module}.{test}": verdict for test, verdict in EXPECTED[name].items()}
    tests = {test["id"]: test for test in report["tests"]}
    found = {test_id: test["verdict"] for test_id, test in tests.items()}
    assert found == expected, proc.stdout

    marks = marked_lines(example)
    for test_id, verdict in expected.items():
        if verdict != "leak":
            continue
        top = [(Path(line["file"]).resolve(), line["line"]) for line in tests[test_id]["lines"][:TOP]]
        top += made_at(tests[test_id]["diagnosis"])  # an unclosed object leaves no growing line
        assert any(file == example.resolve() and line in marks for file, line in top), (
            f"{test_id}: no '# leak' line (lines {sorted(marks)}) in the top {TOP}: {top}"
        )
    for test_id in expected:
        diagnosis = tests[test_id]["diagnosis"]
        if test_id in HOLDERS:
            paths = [holder["path"] for holder in diagnosis["holders"]]
            assert any(HOLDERS[test_id] in path for path in paths), (test_id, paths)
        if test_id in STARTED_AT:
            sites = [group["example"]["start_stack"][0]["source"] for group in diagnosis["threads"]]
            assert STARTED_AT[test_id] in sites, (test_id, sites)
    assert proc.returncode == (1 if "leak" in expected.values() else 0), proc.stderr
    if name in PRINTED_ONCE:
        assert proc.stderr.count(PRINTED_ONCE[name]) <= 1, proc.stderr[-3000:]
