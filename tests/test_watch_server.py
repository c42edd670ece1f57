"""--start: a real server process started, waited for, and stopped with its workers."""

from __future__ import annotations

import shlex
import socket
import sys
import time

import psutil
import pytest

from leakharness.errors import LeakHarnessError
from leakharness.integrations import watch_server
from leakharness.integrations.watch_server import started_server
from tests.helpers import free_port

# Listens on the port given, after forking a worker that sleeps; SIGTERM may be ignored.
SERVER = """
import signal, socket, subprocess, sys, time
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
time.sleep(120)
"""


def command(port: int, mode: str = "polite") -> str:
    return shlex.join([sys.executable, "-c", SERVER, str(port), mode])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["polite", "stubborn"])
def test_the_server_and_its_workers_are_stopped(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_server, "STOP_SECONDS", 0.5)  # the stubborn one is killed after this
    port = free_port()
    with started_server(command(port, mode), "127.0.0.1", port, timeout=30) as server:
        assert listening(port)
        for _ in range(200):  # the worker starts just before the port opens
            workers = psutil.Process(server.pid).children(recursive=True)
            if workers:
                break
            time.sleep(0.01)
        assert len(workers) == 1
    assert server.returncode is not None
    assert not listening(port)
    worker = workers[0]
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE


def test_a_server_that_exits_before_its_port_opens() -> None:
    port = free_port()
    failing = shlex.join([sys.executable, "-c", "import sys; sys.exit(3)"])
    with pytest.raises(
        LeakHarnessError, match=f"the server exited with status 3 before 127.0.0.1:{port} opened"
    ):
        with started_server(failing, "127.0.0.1", port, timeout=30):
            pass


def test_a_port_that_never_opens_times_out() -> None:
    port = free_port()
    silent = shlex.join([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(LeakHarnessError, match=f"127.0.0.1:{port} did not open within 0.3 s"):
        with started_server(silent, "127.0.0.1", port, timeout=0.3):
            pass


def test_a_port_in_use_is_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(LeakHarnessError, match=f"something already listens on 127.0.0.1:{port}"):
            with started_server("true", "127.0.0.1", port, timeout=1):
                pass


def test_a_missing_program_is_a_usage_error() -> None:
    with pytest.raises(LeakHarnessError, match="cannot run 'no-such-server-program'"):
        with started_server("no-such-server-program --port 1", "127.0.0.1", free_port(), timeout=1):
            pass
