"""A Flask service with three request leaks, beside its fixed twin.

Both twins answer the same three routes from an SQLite file database:

- ``/events/<kind>`` counts events. The leaky twin connects per request and
  keeps the connection in ``_connections`` for a teardown handler that was
  never registered: every request costs a file descriptor and SQLite's page
  cache. The fixed twin closes it with ``contextlib.closing``.
- ``/report/<kind>`` fills a text template. The leaky twin opens the
  template per request and keeps the file object in ``_templates`` "to
  reread later": a descriptor per request. The fixed twin reads it in a
  ``with open(...)`` block.
- ``/search?q=...`` caches its JSON answers by query. The leaky twin's dict never
  evicts, so every new query string adds an entry for good; the fixed twin's
  ``OrderedDict`` keeps the ``MAX_ENTRIES`` most recently used.

The tests send requests in-process through ``leakharness.wsgi_cycle``. To
watch a twin from outside, serve it and point ``leakharness watch`` at it::

    python examples/flask_app.py serve leaky 8123
    leakharness watch --pid PID --url http://127.0.0.1:8123/events/person
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import unittest
from collections import OrderedDict
from typing import IO, Any

import flask

import leakharness

MAX_ENTRIES = 16
KINDS = ("motion", "person", "vehicle")

_paths: dict[str, str] = {}
_connections: list[sqlite3.Connection] = []  # for a teardown that was never registered
_templates: list[IO[str]] = []  # "to reread later"; never closed
_results: dict[str, str] = {}
_recent_results: OrderedDict[str, str] = OrderedDict()


def prepare(folder: str) -> None:
    """The database and the report template, in ``folder``."""
    _paths["database"] = os.path.join(folder, "events.db")
    _paths["template"] = os.path.join(folder, "report.txt")
    with contextlib.closing(sqlite3.connect(_paths["database"])) as connection, connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
        connection.executemany("INSERT INTO events (kind) VALUES (?)", [(k,) for k in KINDS] * 40)
    with open(_paths["template"], "w", encoding="utf-8") as out:
        out.write("{kind}: {count} events\n")


def release() -> None:
    for resource in (*_connections, *_templates):
        resource.close()
    _connections.clear()
    _templates.clear()
    _results.clear()
    _recent_results.clear()


def count(connection: sqlite3.Connection, kind: str) -> int:
    return int(connection.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])


def search(connection: sqlite3.Connection, query: str) -> list[int]:
    rows = connection.execute("SELECT id FROM events WHERE kind LIKE ? LIMIT 20", (f"%{query[:3]}%",))
    return [int(row[0]) for row in rows]


def create_leaky_app() -> flask.Flask:
    app = flask.Flask("flask_leaky")

    @app.get("/events/<kind>")
    def events(kind: str) -> dict[str, Any]:
        connection = sqlite3.connect(_paths["database"])  # leak: one per request, never closed
        _connections.append(connection)
        return {"kind": kind, "count": count(connection, kind)}

    @app.get("/report/<kind>")
    def report(kind: str) -> str:
        template = open(_paths["template"], encoding="utf-8")  # leak: one per request, never closed
        _templates.append(template)
        with contextlib.closing(sqlite3.connect(_paths["database"])) as connection:
            return template.read().format(kind=kind, count=count(connection, kind))

    @app.get("/search")
    def find() -> flask.Response:
        query = flask.request.args.get("q", "")
        if query not in _results:
            with contextlib.closing(sqlite3.connect(_paths["database"])) as connection:
                ids = search(connection, query)
            _results[query] = json.dumps({"query": query, "ids": ids})  # leak: every new query stays
        return app.response_class(_results[query], mimetype="application/json")

    return app


def create_fixed_app() -> flask.Flask:
    app = flask.Flask("flask_fixed")

    @app.get("/events/<kind>")
    def events(kind: str) -> dict[str, Any]:
        with contextlib.closing(sqlite3.connect(_paths["database"])) as connection:
            return {"kind": kind, "count": count(connection, kind)}

    @app.get("/report/<kind>")
    def report(kind: str) -> str:
        with open(_paths["template"], encoding="utf-8") as template:
            text = template.read()
        with contextlib.closing(sqlite3.connect(_paths["database"])) as connection:
            return text.format(kind=kind, count=count(connection, kind))

    @app.get("/search")
    def find() -> flask.Response:
        query = flask.request.args.get("q", "")
        if query in _recent_results:
            _recent_results.move_to_end(query)
        else:
            with contextlib.closing(sqlite3.connect(_paths["database"])) as connection:
                ids = search(connection, query)
            _recent_results[query] = json.dumps({"query": query, "ids": ids})
            if len(_recent_results) > MAX_ENTRIES:
                _recent_results.popitem(last=False)
        return app.response_class(_recent_results[query], mimetype="application/json")

    return app


_folder = ""
_queries = itertools.count()
leaky_app = create_leaky_app()
fixed_app = create_fixed_app()


def setUpModule() -> None:
    global _folder
    _folder = tempfile.mkdtemp(prefix="leakharness-flask-")
    prepare(_folder)


def tearDownModule() -> None:
    release()
    shutil.rmtree(_folder, ignore_errors=True)


def new_queries() -> list[tuple[str, str]]:
    """A query string never asked before, as a search box sees them."""
    return [("GET", f"/search?q=person-{next(_queries)}")]


def answered(response: Any) -> bool:
    return bool(response.status_code == 200)


class FlaskAppTest(leakharness.LeakTestCase):
    def test_leaky_connection_per_request(self) -> None:
        self.assertNoLeaks(leakharness.wsgi_cycle(leaky_app, [("GET", "/events/person")], expect=answered))

    def test_fixed_connection_closed(self) -> None:
        self.assertNoLeaks(leakharness.wsgi_cycle(fixed_app, [("GET", "/events/person")], expect=answered))

    def test_leaky_file_per_request(self) -> None:
        self.assertNoLeaks(leakharness.wsgi_cycle(leaky_app, [("GET", "/report/motion")], expect=answered))

    def test_fixed_file_closed(self) -> None:
        self.assertNoLeaks(leakharness.wsgi_cycle(fixed_app, [("GET", "/report/motion")], expect=answered))

    def test_leaky_unbounded_cache(self) -> None:
        self.assertNoLeaks(leakharness.wsgi_cycle(leaky_app, new_queries, expect=answered))

    def test_fixed_bounded_cache(self) -> None:
        self.assertNoLeaks(leakharness.wsgi_cycle(fixed_app, new_queries, expect=answered))


def serve(twin: str, port: int) -> None:
    """Serve the ``leaky`` or ``fixed`` twin on 127.0.0.1 until interrupted."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: clean up as on Ctrl-C
    folder = tempfile.mkdtemp(prefix="leakharness-flask-")
    prepare(folder)
    app = leaky_app if twin == "leaky" else fixed_app
    try:
        with make_server("127.0.0.1", port, app, handler_class=QuietHandler) as server:
            print(f"serving the {twin} twin on http://127.0.0.1:{server.server_port}", flush=True)
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        release()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"] and len(sys.argv) == 4 and sys.argv[2] in ("leaky", "fixed"):
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        unittest.main()
