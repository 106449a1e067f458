"""``nsp demo``: scenario history + live feed through the real watch + worker pipeline."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ingest.scenario import Scenario


def nsp_command(*args: str) -> list[str]:
    """The argv that runs ``nsp ARGS`` with this interpreter (works without the script)."""
    return [sys.executable, "-m", "nsp.cli", *args]


class Demo:
    def __init__(self, directory: Path, days: int = 7, speed: float = 1.0, port: int = 8050,
                 serve: bool = True, seed: int = 1, concurrency: int = 2):
        self.dir = Path(directory)
        self.inbox = self.dir / "inbox"
        self.days, self.speed, self.port, self.serve = days, speed, port, serve
        self.seed, self.concurrency = seed, concurrency
        self.children: dict[str, subprocess.Popen] = {}

    def commands(self) -> dict[str, list[str]]:
        cmds = {
            "watch": nsp_command("watch", str(self.inbox)),
            "worker": nsp_command("worker", "--concurrency", str(self.concurrency)),
            "live": nsp_command("scenario", "--live", str(self.inbox), "--speed", str(self.speed),
                                "--seed", str(self.seed)),
        }
        if self.serve and self.dashboard_available():
            cmds["serve"] = nsp_command("serve", "--port", str(self.port))
        return cmds

    @staticmethod
    def dashboard_available() -> bool:
        try:
            return importlib.util.find_spec("dashboard.cli") is not None
        except ModuleNotFoundError:
            return False

    def start(self, echo: Callable[[str], None] = print) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        counts = Scenario(seed=self.seed, days=self.days).write(self.inbox)
        echo(f"scenario: {sum(counts.values())} files of {self.days} days of history in {self.inbox}")
        for name, argv in self.commands().items():
            # Own process group: a Ctrl-C reaches the children through us, in order.
            self.children[name] = subprocess.Popen(argv, start_new_session=True, env=os.environ.copy())
            echo(f"started {name:<7} pid {self.children[name].pid}: nsp {' '.join(argv[3:])}")
        if "serve" in self.children:
            echo(f"\nmain view  http://127.0.0.1:{self.port}/")
            echo(f"wall       http://127.0.0.1:{self.port}/wall\n")
        elif self.serve:
            echo("the dashboard (dashboard.cli) is not installed yet: running without `nsp serve`")
        echo("Ctrl-C stops the demo.")

    def stop(self, timeout: float = 30.0) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.children.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def run(self, stop: threading.Event, echo: Callable[[str], None] = print) -> int:
        """Start everything; stop all children on ``stop`` or when one of them dies."""
        try:
            self.start(echo)
            while not stop.wait(1.0):
                dead = [n for n, p in self.children.items() if p.poll() is not None]
                if dead:
                    echo(f"{', '.join(dead)} exited (status "
                         f"{', '.join(str(self.children[n].returncode) for n in dead)}); stopping the demo")
                    return 1
            return 0
        finally:
            echo("stopping the demo ...")
            self.stop()
