"""wsgi_cycle: real WSGI apps examined in-process, clean and leaky, at concurrency 1 and 4."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness.errors import LeakHarnessError
from leakharness.integrations.web import run_in_threads
from leakharness.integrations.web_requests import Request, ResponseError
from leakharness.judge.verdict import Verdict
from leakharness.resources import Resource
from tests.helpers import marked_lines

HERE = Path(__file__).resolve()
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_kept: list[bytes] = []
_files: list[Any] = []


def answer(start_response: StartResponse, status: str = "200 OK", body: bytes = b"ok") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def clean_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    return answer(start_response, body=body.upper() or environ["PATH_INFO"].encode())


def hoarding_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    _kept.append(bytes(2000) + environ["PATH_INFO"].encode())  # LEAK: kept for good
    return answer(start_response)


def file_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    _files.append(open(os.devnull, "rb"))  # LEAK: never closed
    return answer(start_response)


def failing_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/boom":
        return answer(start_response, "500 INTERNAL SERVER ERROR", b"Traceback: KeyError 'user'")
    return answer(start_response)


@pytest.fixture(autouse=True)
def _release() -> Iterable[None]:
    yield
    _kept.clear()
    for handle in _files:
        handle.close()
    _files.clear()


def examine(cycle: Any, **settings: Any) -> leakharness.TestReport:
    return leakharness.check(cycle, max_cycles=200, **settings).tests[0]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_clean_app_is_clean_and_its_threads_do_not_count(concurrency: int) -> None:
    requests = [("GET", "/a"), ("POST", "/echo", b"abc"), ("PUT", "/json", {"n": 1})] * 2
    report = examine(leakharness.wsgi_cycle(clean_app, requests, concurrency=concurrency))
    assert report.verdict is Verdict.CLEAN, report
    for resource in (Resource.THREADS, Resource.NATIVE_THREADS, Resource.HEAP, Resource.FDS):
        assert report.result(resource).verdict is Verdict.CLEAN, report


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_hoarding_app_leaks_at_its_line(concurrency: int) -> None:
    cycle = leakharness.wsgi_cycle(hoarding_app, [("GET", "/x"), ("GET", "/y")], concurrency=concurrency)
    report = examine(cycle)
    assert report.verdict is Verdict.LEAK, report
    assert report.result(Resource.HEAP).verdict is Verdict.LEAK
    assert report.result(Resource.THREADS).verdict is Verdict.CLEAN
    top = [(Path(line.file), line.line) for line in report.lines[:3]]
    assert any(file == HERE and line in marked_lines(HERE) for file, line in top), top


def test_a_descriptor_per_request_leaks_one_fd_per_request() -> None:
    report = examine(leakharness.wsgi_cycle(file_app, [("GET", "/")] * 3))
    fds = report.result(Resource.FDS)
    # three a cycle (3.12 once, in the whole suite: other tests' descriptors come and go meanwhile)
    assert (report.verdict, fds.verdict, round(fds.growth_per_cycle)) == (Verdict.LEAK, Verdict.LEAK, 3)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_server_error_is_an_error_not_a_verdict(concurrency: int) -> None:
    cycle = leakharness.wsgi_cycle(failing_app, [("GET", "/fine"), ("GET", "/boom")], concurrency=concurrency)
    with pytest.raises(ResponseError, match=r"^GET /boom answered 500: Traceback: KeyError 'user'$"):
        leakharness.check(cycle)


def test_expect_refuses_a_response() -> None:
    cycle = leakharness.wsgi_cycle(clean_app, [("GET", "/a")], expect=lambda r: r.get_data() == b"/b")
    with pytest.raises(ResponseError, match="GET /a answered 200, which expect\\(\\) refused: /a"):
        cycle()
    assert leakharness.wsgi_cycle(clean_app, [("GET", "/a")], expect=lambda r: r.status_code == 200)() is None


def test_requests_reach_the_app_as_given() -> None:
    seen: list[tuple[str, str, bytes, str]] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body, environ.get("HTTP_X_TRACE", "")))
        return answer(start_response)

    requests = [
        Request("POST", "/orders", json={"qty": 2}, headers={"X-Trace": "t1"}),
        ("PATCH", "/orders/1", "qty=3"),
    ]
    leakharness.wsgi_cycle(app, requests)()
    assert seen == [("POST", "/orders", b'{"qty": 2}', "t1"), ("PATCH", "/orders/1", b"qty=3", "")]


def test_a_callable_makes_each_cycles_requests() -> None:
    pages = iter(range(100))
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        seen.append(environ["PATH_INFO"])
        return answer(start_response)

    cycle = leakharness.wsgi_cycle(app, lambda: [("GET", f"/page/{next(pages)}")])
    for _ in range(3):
        cycle()
    assert seen == ["/page/0", "/page/1", "/page/2"]


def test_threads_really_run_together_and_are_joined() -> None:
    barrier = threading.Barrier(4, timeout=30)  # four requests wait for each other: only concurrency 4 passes
    before = threading.active_count()
    run_in_threads(lambda request: barrier.wait(), (Request("GET", "/"),) * 8, 4)
    assert threading.active_count() == before


def test_the_first_error_of_a_thread_is_raised_and_the_rest_stop() -> None:
    sent: list[str] = []

    def send(request: Request) -> None:
        sent.append(request.path)
        if request.path == "/2":
            raise ResponseError("GET /2 answered 500")

    requests = tuple(Request("GET", f"/{n}") for n in range(100))
    with pytest.raises(ResponseError, match="GET /2 answered 500"):
        run_in_threads(send, requests, 2)
    assert len(sent) < 100


def test_the_report_is_named_after_the_app() -> None:
    report = leakharness.check(leakharness.wsgi_cycle(clean_app, [("GET", "/a")]), max_cycles=60)
    assert report.tests[0].id == "wsgi_cycle(clean_app: GET /a)"
    named = leakharness.check(
        leakharness.wsgi_cycle(clean_app, [("GET", "/a")], name="home page"), max_cycles=60
    )
    assert named.tests[0].id == "home page"


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(LeakHarnessError, match="wsgi_cycle needs an application callable \\(got 'app'\\)"):
        leakharness.wsgi_cycle("app", [("GET", "/")])
    with pytest.raises(LeakHarnessError, match="concurrency must be an integer >= 1 \\(got 0\\)"):
        leakharness.wsgi_cycle(clean_app, [("GET", "/")], concurrency=0)
    with pytest.raises(LeakHarnessError, match="expect must be a callable"):
        leakharness.wsgi_cycle(clean_app, [("GET", "/")], expect=200)  # type: ignore[arg-type]


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "werkzeug.test", None)
    with pytest.raises(LeakHarnessError, match=r"pip install 'leakharness\[web\]'"):
        leakharness.wsgi_cycle(clean_app, [("GET", "/")])


def test_importing_leakharness_imports_no_web_stack() -> None:
    code = (
        "import sys, leakharness; leakharness.wsgi_cycle, leakharness.asgi_cycle; "
        "print(sorted(m for m in ('werkzeug', 'httpx', 'flask', 'starlette', 'asyncio') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
