"""asgi_cycle: raw ASGI apps examined in-process on a loop that outlives each cycle."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness.errors import LeakHarnessError
from leakharness.integrations.web_requests import ResponseError
from leakharness.judge.verdict import Verdict
from leakharness.resources import Resource
from tests.helpers import marked_lines

HERE = Path(__file__).resolve()
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
_tasks: list[asyncio.Task[None]] = []


async def answer(send: Send, status: int = 200, body: bytes = b"ok") -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def clean_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    await asyncio.sleep(0)
    await answer(send, body=body or scope["path"].encode())


async def forever() -> None:
    while True:
        await asyncio.sleep(60)


async def task_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    _tasks.append(asyncio.create_task(forever()))  # LEAK: a task per request that never ends
    await answer(send)


async def failing_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["path"] == "/boom":
        await answer(send, 502, b"upstream timed out")
    else:
        await answer(send)


@pytest.fixture(autouse=True)
def _release() -> Iterable[None]:
    yield
    _tasks.clear()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_clean_app_is_clean_and_its_tasks_do_not_count(concurrency: int) -> None:
    requests = [("GET", "/a"), ("POST", "/echo", b"abc"), ("PUT", "/j", {"n": 1})] * 2
    cycle = leakharness.asgi_cycle(clean_app, requests, concurrency=concurrency)
    report = leakharness.check(cycle, max_cycles=200).tests[0]
    assert report.verdict is Verdict.CLEAN, report
    for resource in (Resource.TASKS, Resource.THREADS, Resource.HEAP, Resource.FDS):
        assert report.result(resource).verdict is Verdict.CLEAN, report


def test_a_task_per_request_leaks_at_its_line() -> None:
    cycle = leakharness.asgi_cycle(task_app, [("GET", "/")] * 2, concurrency=2)
    report = leakharness.check(cycle, max_cycles=100).tests[0]
    assert report.verdict is Verdict.LEAK, report
    tasks = report.result(Resource.TASKS)
    assert (tasks.verdict, round(tasks.growth_per_cycle)) == (Verdict.LEAK, 2)  # two requests a cycle
    top = [(Path(line.file), line.line) for line in report.lines[:3]]
    assert any(file == HERE and line in marked_lines(HERE) for file, line in top), top
    created = [group.example.created[0] for group in report.diagnosis.tasks]
    assert any(Path(frame.file) == HERE and frame.line in marked_lines(HERE) for frame in created), created
    assert all(task.cancelled() for task in _tasks)  # the examination's loop is closed


def test_requests_run_concurrently_as_tasks() -> None:
    in_flight: list[int] = [0, 0]  # now, most

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        for _ in range(200):  # wait (at most 2 s) for the others to come in
            if in_flight[1] >= 3:
                break
            await asyncio.sleep(0.01)
        in_flight[0] -= 1
        await answer(send)

    asyncio.run(leakharness.asgi_cycle(app, [("GET", f"/{n}") for n in range(6)], concurrency=3)())
    assert in_flight == [0, 3]


def test_requests_reach_the_app_as_given() -> None:
    seen: list[tuple[str, str, bytes, dict[bytes, bytes]]] = []

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        seen.append((scope["method"], scope["path"], await read_body(receive), dict(scope["headers"])))
        await answer(send)

    request = leakharness.Request("POST", "/orders", json={"qty": 2}, headers={"X-Trace": "t1"})
    asyncio.run(leakharness.asgi_cycle(app, [request])())
    method, path, body, headers = seen[0]
    assert (method, path, json.loads(body), headers[b"x-trace"]) == ("POST", "/orders", {"qty": 2}, b"t1")


@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_server_error_is_an_error_not_a_verdict(concurrency: int) -> None:
    cycle = leakharness.asgi_cycle(failing_app, [("GET", "/ok"), ("GET", "/boom")], concurrency=concurrency)
    with pytest.raises(ResponseError, match=r"^GET /boom answered 502: upstream timed out$"):
        leakharness.check(cycle)


def test_an_exception_in_the_app_propagates() -> None:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        raise KeyError("user")

    with pytest.raises(KeyError, match="user"):
        asyncio.run(leakharness.asgi_cycle(app, [("GET", "/")])())


def test_expect_refuses_a_response() -> None:
    cycle = leakharness.asgi_cycle(clean_app, [("GET", "/a")], expect=lambda r: r.text == "/b")
    with pytest.raises(ResponseError, match="GET /a answered 200, which expect\\(\\) refused: /a"):
        asyncio.run(cycle())


def test_an_async_test_awaits_the_cycle_on_its_own_loop() -> None:
    async def main() -> Verdict:
        report = await leakharness.check_async(
            leakharness.asgi_cycle(clean_app, [("GET", "/a")]), max_cycles=60
        )
        return report.tests[0].verdict

    assert asyncio.run(main()) is Verdict.CLEAN


def test_the_report_is_named_after_the_app() -> None:
    cycle = leakharness.asgi_cycle(clean_app, [("GET", "/a")])
    assert leakharness.check(cycle, max_cycles=60).tests[0].id == "asgi_cycle(clean_app: GET /a)"


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "httpx", None)
    with pytest.raises(LeakHarnessError, match=r"^asgi_cycle needs httpx: pip install 'leakharness\[web\]'$"):
        leakharness.asgi_cycle(clean_app, [("GET", "/")])
