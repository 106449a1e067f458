"""``nsp serve`` as an operator starts it: a process of its own on a free loopback port.

    proc, root = start(env, "--workers", "2")
    try:
        wait_until_answers(proc, root + "/healthz")
        ...
    finally:
        stop(proc)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests


def free_port() -> int:
    """A port the system has free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(env: dict[str, str], *args: str, port: int | None = None, stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL, cwd=None) -> tuple[subprocess.Popen, str]:
    """``nsp serve --host 127.0.0.1 --port PORT ARGS`` with ``env``; the process and its base URL."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nsp.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             *args], env=env, stdout=stdout, stderr=stderr, cwd=cwd)
    return proc, f"http://127.0.0.1:{port}"


def wait_until_answers(proc: subprocess.Popen, url: str, timeout: float = 120,
                       accept: Callable[[requests.Response], bool] = lambda r: r.status_code < 500,
                       log: Path | None = None) -> requests.Response:
    """The first answer from ``url`` that ``accept`` takes (gunicorn's workers import the app
    first); fails when the process exits (quoting the end of ``log``, its stderr's file) or
    ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = requests.get(url, timeout=30)
            if accept(r):
                return r
        except (requests.ConnectionError, requests.Timeout):
            pass
        if proc.poll() is not None:
            err = log.read_text(errors="replace")[-2000:] if log else ""
            raise AssertionError(f"nsp serve exited with {proc.returncode} before {url} answered: {err!r}")
        assert time.monotonic() < deadline, f"nsp serve did not answer {url} in {timeout:.0f} s"
        time.sleep(0.5)


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, as a supervisor stops it; SIGKILL if it is still there after ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# A second centre on this machine (tests of partner shares): the settings its server and its
# commands share, and a command run as its liaison officer on its own database.
CENTRE_ENV = {"NSP_AUTH_COOKIE_SECURE": "false", "NSP_AUTH_SECRET_KEY": "t" * 64}


def as_centre(url: str, *args: str, actor: str = "b-liaison") -> str:
    """``nsp ARGS`` in a process of its own on database ``url``, by ``actor``; its output."""
    env = {**os.environ, **CENTRE_ENV, "DATABASE_URL": url, "NSP_ACTOR": actor}
    done = subprocess.run([sys.executable, "-m", "nsp.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout
