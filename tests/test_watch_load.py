"""The load of a round: the built-in HTTP driver against a local server, and a load command."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from leakharness.errors import LeakHarnessError
from leakharness.integrations.watch_load import Address, CommandLoad, HttpLoad, LoadError
from tests.helpers import free_port


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the driver reuses its connections
    seen: ClassVar[list[tuple[str, str]]] = []
    lock = threading.Lock()

    def handle_one(self, status: int) -> None:
        with self.lock:
            self.seen.append((self.command, self.path))
        body = b"upstream timed out" if status >= 500 else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.handle_one(503 if self.path.startswith("/boom") else 200)

    def do_POST(self) -> None:
        self.handle_one(200)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.daemon_threads = False  # server_close() then joins every handler thread
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_a_round_sends_n_requests_to_the_url_only(server: str) -> None:
    load = HttpLoad(Address.parse(f"{server}/items?page=2"), "post", requests=7, concurrency=3)
    load()
    assert Recorder.seen == [("POST", "/items?page=2")] * 7
    load()
    assert len(Recorder.seen) == 14
    assert load.describe() == f"7 POST requests to {server}/items?page=2, 3 at a time"


def test_the_driver_joins_its_threads(server: str) -> None:
    HttpLoad(Address.parse(server + "/"), requests=5, concurrency=5)()
    assert len(Recorder.seen) == 5
    assert [t for t in threading.enumerate() if t.name.startswith("leakharness-load")] == []


def test_a_server_error_fails_the_round(server: str) -> None:
    load = HttpLoad(Address.parse(f"{server}/boom"), requests=3)
    with pytest.raises(
        LoadError, match=r"^GET http://127\.0\.0\.1:\d+/boom answered 503: upstream timed out$"
    ):
        load()


def test_a_refused_connection_fails_the_round() -> None:
    load = HttpLoad(Address.parse(f"http://127.0.0.1:{free_port()}/"), requests=2)
    with pytest.raises(LoadError, match="ConnectionRefusedError"):
        load()


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8000/items?q=1", Address("http", "127.0.0.1", 8000, "/items?q=1")),
        ("http://localhost", Address("http", "localhost", 80, "/")),
        ("https://[::1]/x", Address("https", "::1", 443, "/x")),
    ],
)
def test_urls_give_the_address(url: str, address: Address) -> None:
    assert Address.parse(url) == address


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://host/", "http:///path", "http://host:99999/"])
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(LeakHarnessError, match="--url"):
        Address.parse(url)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "GET /"}, "--method must be a word such as GET"),
        ({"requests": 0}, "--requests must be >= 1 (got 0)"),
        ({"concurrency": 0}, "--concurrency must be >= 1 (got 0)"),
    ],
)
def test_bad_load_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LeakHarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        HttpLoad(Address.parse("http://127.0.0.1:1/"), **kwargs)


def test_a_load_command_runs_once_a_round_and_must_succeed(tmp_path: Any) -> None:
    marks = tmp_path / "marks"
    ok = CommandLoad([sys.executable, "-c", f"open({str(marks)!r}, 'a').write('x')"])
    ok()
    ok()
    assert marks.read_text() == "xx"
    failing = CommandLoad(
        [sys.executable, "-c", "import sys; print('no route to host', file=sys.stderr); sys.exit(3)"]
    )
    with pytest.raises(LoadError, match=r"^the load command exited with status 3: no route to host$"):
        failing()
    with pytest.raises(LoadError, match="cannot run the load command"):
        CommandLoad([str(tmp_path / "missing")])()
    with pytest.raises(LeakHarnessError, match="give a load"):
        CommandLoad([])
