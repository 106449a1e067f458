"""Throw-away PostgreSQL servers for the tests, from the local binaries (``initdb``,
``pg_ctl``), run as the ``postgres`` user (PostgreSQL refuses root; ``nsp.db.run_as_postgres``),
in a folder of their own. The system server's configuration is never touched. Used by the
outage tests (a server to stop under running processes), the standby tests (a primary and its
streaming standby, tests/support/standby.py) and the suite's own cluster (tests/support/cluster.py).

A port of ``PORTS`` is reserved for its server by a lock held on
``/tmp/nsp_test_pg_port_<port>.lock`` until it is released (or its process ends): a port seen
free is not yet listened on while ``initdb`` runs, and two test processes had both taken the
first port and one server's start failed."""

from __future__ import annotations

import fcntl
import os
import pwd
import socket
import tempfile
from pathlib import Path

from nsp import db

PORTS = range(19600, 19700)
# A throw-away server's data need not survive a crash (PostgreSQL's "Non-Durable Settings").
SERVER_OPTIONS = "-c fsync=off -c full_page_writes=off -c listen_addresses=127.0.0.1"


_reserved: dict[int, int] = {}  # port -> the open lock file that reserves it for this process


def free_port() -> int:
    """A port of ``PORTS`` that nothing listens on and no other process has reserved; reserved
    for this process until :func:`release`."""
    for port in PORTS:
        if port in _reserved:
            continue
        fd = os.open(f"/tmp/nsp_test_pg_port_{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:  # reserved by another process, or in use
            os.close(fd)
            continue
        _reserved[port] = fd
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def release(port: int) -> None:
    fd = _reserved.pop(port, None)
    if fd is not None:
        os.close(fd)


def owned_folder(home: Path | None = None, prefix: str = "nsp_pg_") -> Path:
    """``home`` (made if missing), else a new temporary folder, owned by ``postgres`` when run as root."""
    if home is None:
        home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    home.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(home, pw.pw_uid, pw.pw_gid)
    return home


class Server:
    """A server whose data folder is ``root/name`` and whose log is ``root/name.log``, on
    ``port``, its socket in ``root``; ``options`` are the server's ``-c`` settings."""

    def __init__(self, root: Path, name: str, port: int, options: str = SERVER_OPTIONS):
        self.root, self.data, self.port, self.options = root, root / name, port, options
        self.log = root / f"{name}.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def initdb(self, *extra: str) -> None:
        db.run_as_postgres([db.pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                            "-E", "UTF8", *extra])

    def start(self) -> None:
        db.run_as_postgres([db.pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                            "start", "-o", f"-p {self.port} -k {self.root} {self.options}"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            db.run_as_postgres([db.pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
