"""sqlite3 connections that are never closed, and a pool that never reuses.

A ``sqlite3.Connection`` holds an open file descriptor on the database file,
SQLite's page cache and its prepared statements until ``close()`` is called.

Connections: ``count_events_leaky`` opens a connection per query and keeps it
in a module-level list of "recent connections" that nobody closes, so every
query costs a file descriptor and the memory behind it. ``count_events``
uses ``contextlib.closing`` so the connection is closed when the query is done
(``with sqlite3.connect(...)`` alone only commits or rolls back: it does not
close the connection).

Pools: ``LeakyPool.checkout`` creates a new connection for every checkout
and ``checkin`` forgets to give it back, so the pool's list of connections
grows without bound. ``Pool`` hands out idle connections first, creates one
only when none is idle and the pool is below ``max_size``, and takes every
connection back on ``checkin``: a steady workload reuses the same few.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import unittest

_folder = ""
_database = ""
_recent: list[sqlite3.Connection] = []  # "for debugging"; never closed


def setUpModule() -> None:
    global _folder, _database
    _folder = tempfile.mkdtemp(prefix="leakharness-sqlite-")
    _database = os.path.join(_folder, "events.db")
    with contextlib.closing(sqlite3.connect(_database)) as connection, connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)")
        connection.executemany("INSERT INTO events (kind) VALUES (?)", [("motion",), ("person",)] * 50)


def tearDownModule() -> None:
    for connection in _recent:
        connection.close()
    _recent.clear()
    for pool in (_leaky_pool, _pool):
        pool.close()
    shutil.rmtree(_folder, ignore_errors=True)


def count_events_leaky(kind: str) -> int:
    connection = sqlite3.connect(_database)  # leak: kept in _recent and never closed
    _recent.append(connection)
    return int(connection.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])


def count_events(kind: str) -> int:
    with contextlib.closing(sqlite3.connect(_database)) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])


class LeakyPool:
    """Leaky: a new connection per checkout, never handed back for reuse."""

    def __init__(self) -> None:
        self._all: list[sqlite3.Connection] = []

    def checkout(self) -> sqlite3.Connection:
        connection = sqlite3.connect(_database, check_same_thread=False)  # leak: one more per checkout
        self._all.append(connection)
        return connection

    def checkin(self, connection: sqlite3.Connection) -> None:
        pass  # forgets to return it: the next checkout connects again

    def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._all.clear()


class Pool:
    """Fixed: at most ``max_size`` connections, idle ones reused first."""

    def __init__(self, max_size: int = 4) -> None:
        self.max_size = max_size
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []

    def checkout(self) -> sqlite3.Connection:
        if self._idle:
            return self._idle.pop()
        if len(self._all) >= self.max_size:
            raise RuntimeError(f"pool exhausted: {self.max_size} connections checked out")
        connection = sqlite3.connect(_database, check_same_thread=False)
        self._all.append(connection)
        return connection

    def checkin(self, connection: sqlite3.Connection) -> None:
        self._idle.append(connection)

    def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._all.clear()
        self._idle.clear()


_leaky_pool = LeakyPool()
_pool = Pool(max_size=4)


def latest_event(pool: LeakyPool | Pool) -> str:
    connection = pool.checkout()
    try:
        return str(connection.execute("SELECT kind FROM events ORDER BY id DESC LIMIT 1").fetchone()[0])
    finally:
        pool.checkin(connection)


class SqliteConnectionTest(unittest.TestCase):
    def test_leaky_connection_left_open(self) -> None:
        self.assertEqual(count_events_leaky("person"), 50)

    def test_fixed_connection_closed(self) -> None:
        self.assertEqual(count_events("person"), 50)


class SqlitePoolTest(unittest.TestCase):
    def test_leaky_pool_new_connection_per_checkout(self) -> None:
        self.assertEqual(latest_event(_leaky_pool), "person")

    def test_fixed_pool_reuses_connections(self) -> None:
        self.assertEqual(latest_event(_pool), "person")


if __name__ == "__main__":
    unittest.main()
