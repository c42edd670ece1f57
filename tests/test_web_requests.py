"""Requests of a web cycle and the check of each response (no framework needed)."""

from __future__ import annotations

import re
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from leakharness.errors import LeakHarnessError
from leakharness.integrations.web_requests import (
    Request,
    RequestSource,
    ResponseError,
    app_name,
    check_concurrency,
    check_response,
    require,
)


def test_tuples_become_requests() -> None:
    assert Request.of(("get", "/items")) == Request("GET", "/items")
    assert Request.of(("POST", "/raw", b"\x00\x01")).body == b"\x00\x01"
    assert Request.of(("POST", "/text", "hello")).body == "hello"
    made = Request.of(("PUT", "/orders/1", {"qty": 2}))
    assert (made.json, made.body) == ({"qty": 2}, None)
    same = Request("GET", "/")
    assert Request.of(same) is same


def test_headers_are_frozen_pairs() -> None:
    request = Request("GET", "/", headers={"X-Trace": "1", "Accept": "text/plain"})
    assert request.headers == (("X-Trace", "1"), ("Accept", "text/plain"))
    assert Request("GET", "/", headers=[("A", "b")]).headers == (("A", "b"),)
    hash(request)  # frozen and hashable


def test_repr_is_method_and_path() -> None:
    assert repr(Request("delete", "/items/3?force=1")) == "DELETE /items/3?force=1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "", "path": "/"}, "request method must be a word"),
        ({"method": "GET /", "path": "/"}, "request method must be a word"),
        ({"method": "GET", "path": "items"}, "request path must start with '/' (got 'items')"),
        ({"method": "GET", "path": "http://example.com/"}, "request path must start with '/'"),
        ({"method": "POST", "path": "/", "body": 3}, "request body must be bytes or str (got int)"),
        ({"method": "POST", "path": "/", "body": b"x", "json": {}}, "POST /: give a body or json, not both"),
        ({"method": "GET", "path": "/", "headers": {"A": 1}}, "request headers must be pairs of strings"),
        ({"method": "GET", "path": "/", "headers": "A: b"}, "request headers must be a mapping or"),
    ],
)
def test_bad_requests_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LeakHarnessError, match="^" + re.escape(message)):
        Request(**kwargs)


@pytest.mark.parametrize("value", [("GET",), ("GET", "/", b"", "extra"), "GET /", ["GET", "/"]])
def test_other_shapes_are_refused(value: Any) -> None:
    with pytest.raises(LeakHarnessError, match="a request must be a Request, \\(method, path\\)"):
        Request.of(value)


def test_a_fixed_list_is_checked_once() -> None:
    source = RequestSource([("GET", "/a"), ("POST", "/b", {"n": 1})])
    assert source() is source()
    assert [repr(r) for r in source()] == ["GET /a", "POST /b"]
    assert source.first == "GET /a +1"


def test_a_callable_is_asked_every_cycle() -> None:
    calls = []

    def make() -> list[tuple[str, str]]:
        calls.append(1)
        return [("GET", f"/page/{len(calls)}")]

    source = RequestSource(make)
    assert [repr(source()[0]) for _ in range(3)] == ["GET /page/1", "GET /page/2", "GET /page/3"]
    assert source.first == "make"


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "requests must hold at least one request (got none)"),
        ("/items", "requests must be a list of requests or a callable"),
        (42, "requests must be a list of requests or a callable"),
    ],
)
def test_bad_request_lists(requests: Any, message: str) -> None:
    with pytest.raises(LeakHarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RequestSource(requests)


def test_a_callable_returning_nothing_fails_at_its_cycle() -> None:
    source = RequestSource(lambda: [])
    with pytest.raises(LeakHarnessError, match="at least one request"):
        source()


def test_server_errors_raise_and_other_statuses_pass() -> None:
    request = Request("GET", "/boom")
    with pytest.raises(ResponseError, match=r"^GET /boom answered 503: down for maintenance$"):
        check_response(request, 503, lambda: "down  for\nmaintenance", None, None)
    for status in (200, 301, 404, 499):
        check_response(request, status, lambda: "", None, None)
    assert issubclass(ResponseError, LeakHarnessError)


def test_expect_makes_the_check_stricter() -> None:
    request = Request("GET", "/items")
    response = SimpleNamespace(status_code=404)
    with pytest.raises(ResponseError, match="GET /items answered 404, which expect\\(\\) refused: not found"):
        check_response(request, 404, lambda: "not found", response, lambda r: r.status_code == 200)
    check_response(request, 200, lambda: "", SimpleNamespace(status_code=200), lambda r: r.status_code == 200)


def test_long_bodies_are_cut() -> None:
    with pytest.raises(ResponseError) as caught:
        check_response(Request("GET", "/"), 500, lambda: "x" * 1000, None, None)
    assert str(caught.value).endswith("x…") and len(str(caught.value)) < 240


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "4"])
def test_concurrency_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(LeakHarnessError, match=f"concurrency must be an integer >= 1 \\(got {value!r}\\)"):
        check_concurrency(value)


def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "werkzeug.test", None)  # an import of it now fails
    with pytest.raises(
        LeakHarnessError, match=r"^wsgi_cycle needs werkzeug: pip install 'leakharness\[web\]'$"
    ):
        require("werkzeug.test", "wsgi_cycle")


def test_cycles_are_named_after_the_app_and_requests() -> None:
    def shop(environ: Any, start_response: Any) -> Any:
        return []

    source = RequestSource([("GET", "/items"), ("GET", "/cart")])
    assert (
        app_name(shop, source, "wsgi_cycle")
        == "wsgi_cycle(test_cycles_are_named_after_the_app_and_requests.<locals>.shop: GET /items +1)"
    )
    assert app_name(SimpleNamespace(name="store"), source, "asgi_cycle").startswith("asgi_cycle(store: ")
