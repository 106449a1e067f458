"""A small load client for tests/benchmarks/test_load_bench.py: simulated users in threads, each
with its own ``requests.Session`` (cookies, keep-alive), timing every request it sends.

Each user runs its own loop (a wall's refresh, a commander's filter change, an analyst's
download, a GIS client's paging) and waits its think time between turns; every request is
recorded with its route label, its time and whether it succeeded (2xx, its whole body read).
The threads spend nearly all their time waiting for the server or thinking, so one process
drives hundreds of users; on a small machine it still takes CPU from the server, which the
benchmark's note says.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


@dataclass
class Sample:
    route: str
    ms: float
    ok: bool
    at: float  # time.monotonic() at the end


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # "route: reason" -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, session: requests.Session, route: str, method: str, url: str, **kw) -> requests.Response | None:
        """Send one request, read the whole body, record it; None when it failed."""
        t = time.perf_counter()
        reason = None
        r = None
        try:
            r = session.request(method, url, timeout=120, **kw)  # the whole body read
            if not (200 <= r.status_code < 300):
                reason = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            reason = type(exc).__name__
        ms = (time.perf_counter() - t) * 1000
        with self.lock:
            self.samples.append(Sample(route, ms, reason is None, time.monotonic()))
            if reason:
                self.errors[f"{route}: {reason}"] = self.errors.get(f"{route}: {reason}", 0) + 1
        return r if reason is None else None


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


@dataclass
class User:
    """One simulated user: ``turn(session, recorder)`` is one round of its work, ``think`` the
    seconds it waits after each; ``setup(session)`` (log in, once) before the first."""
    kind: str
    turn: Callable[[requests.Session, Recorder], None]
    think: float
    setup: Callable[[requests.Session], None] = lambda s: None


def run(users: list[User], seconds: float, seed: int = 1, setup_parallel: int = 4) -> tuple[Recorder, float]:
    """Run every user for ``seconds``; each starts at a random point of its first think time, as
    screens opened at different moments do. The users' setups (logins: a password hash each)
    run before, ``setup_parallel`` at a time, outside the measured span: a login storm is not the
    workload. Returns the samples of the measured span and its length."""
    from concurrent.futures import ThreadPoolExecutor

    rec = Recorder()
    rng = random.Random(seed)
    stop = threading.Event()
    offsets = [rng.uniform(0, u.think) for u in users]

    def opened(user: User) -> requests.Session:
        session = requests.Session()
        user.setup(session)
        return session

    with ThreadPoolExecutor(setup_parallel) as pool:
        sessions = list(pool.map(opened, users))

    def loop(user: User, session: requests.Session, offset: float) -> None:
        if stop.wait(offset):
            return
        while not stop.is_set():
            user.turn(session, rec)
            stop.wait(user.think)
        session.close()

    threads = [threading.Thread(target=loop, args=(u, s, o), daemon=True)
               for u, s, o in zip(users, sessions, offsets, strict=True)]
    start = time.monotonic()
    for th in threads:
        th.start()
    stop.wait(seconds)
    stop.set()
    end = time.monotonic()
    for th in threads:
        th.join(timeout=180)
    with rec.lock:
        rec.samples = [s for s in rec.samples if s.at <= end]
    return rec, end - start
