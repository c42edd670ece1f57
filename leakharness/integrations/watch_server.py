"""``--start CMD``: run the server for the watch, wait for its port, and stop it afterwards.

The server gets a process group (a session) of its own, so stopping it
reaches the workers it forked too: SIGTERM to the group, then SIGKILL to
what is left after ``STOP_SECONDS``. No process it started outlives the watch.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from leakharness.errors import LeakHarnessError

STOP_SECONDS = 5.0
POLL_SECONDS = 0.05


@contextmanager
def started_server(command: str, host: str, port: int, timeout: float) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``; yield once ``host:port`` accepts connections; stop it on the way out."""
    argv = shlex.split(command)
    if not argv:
        raise LeakHarnessError("--start needs a command")
    if _accepts(host, port):
        raise LeakHarnessError(f"--start: something already listens on {host}:{port}")
    try:
        server = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=sys.platform != "win32")
    except OSError as err:
        raise LeakHarnessError(f"--start: cannot run {argv[0]!r}: {err}") from err
    try:
        _wait_for_port(server, host, port, timeout)
        yield server
    finally:
        stop(server)


def _wait_for_port(server: subprocess.Popen[bytes], host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _accepts(host, port):
        code = server.poll()
        if code is not None:
            raise LeakHarnessError(
                f"--start: the server exited with status {code} before {host}:{port} opened"
            )
        if time.monotonic() > deadline:
            raise LeakHarnessError(f"--start: {host}:{port} did not open within {timeout:g} s")
        time.sleep(POLL_SECONDS)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def stop(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server and its process group; kill what has not ended in time."""
    deadline = time.monotonic() + STOP_SECONDS
    _signal(server, signal.SIGTERM)
    try:
        server.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    while _group_alive(server) and time.monotonic() < deadline:  # workers finishing their requests
        time.sleep(POLL_SECONDS)
    if server.poll() is None or _group_alive(server):
        _signal(server, getattr(signal, "SIGKILL", signal.SIGTERM))
    server.wait()
    deadline = time.monotonic() + STOP_SECONDS
    while _group_alive(server) and time.monotonic() < deadline:  # killed workers still being reaped
        time.sleep(POLL_SECONDS)


def _group_alive(server: subprocess.Popen[bytes]) -> bool:
    if sys.platform == "win32":
        return server.poll() is None
    try:
        os.killpg(server.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal(server: subprocess.Popen[bytes], number: int) -> None:
    if sys.platform == "win32":  # no process groups to signal: the server alone
        if server.poll() is None:
            server.terminate()
        return
    try:
        os.killpg(server.pid, number)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already
