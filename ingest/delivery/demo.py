"""``nsp demo``: scenario history + live feed through the real watch + worker pipeline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ingest.delivery.scenario import Scenario

# Demo accounts, one per role (README, "Users, roles and audit"): name, role, sections.
DEMO_USERS = (
    ("watch", "watch_officer", None),
    ("by01", "sector_commander", ["LV-BY-01"]),
    ("analyst", "analyst", None),
    ("admin", "admin", None),
)

# How often each scenario feed is expected to deliver (`nsp feeds expect`): positions (CoT,
# AIS) come every few seconds; events when they happen, some days none from a feed; patrol
# tracks once a day (2 h of slack).
DEMO_FEEDS = (
    ("tak", "10m"), ("ais", "10m"),
    ("sensors", "26h"), ("daugavpils-board", "26h"), ("ludza-board", "26h"), ("patrol-gps", "26h"),
)


def free_udp_ports(n: int) -> list[int]:
    """``n`` distinct free UDP ports on loopback (all bound at once, so none is given twice)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def nsp_command(*args: str) -> list[str]:
    """The argv that runs ``nsp ARGS`` with this interpreter (works without the script)."""
    return [sys.executable, "-m", "nsp.cli", *args]


class Demo:
    def __init__(self, directory: Path, days: int = 7, speed: float = 24.0, port: int = 8050,
                 serve: bool = True, seed: int = 1, concurrency: int = 2,
                 ais_udp: int | None = None, cot_udp: int | None = None, rid_udp: int | None = None):
        self.dir = Path(directory)
        self.inbox = self.dir / "inbox"
        self.days, self.speed, self.port, self.serve = days, speed, port, serve
        self.seed, self.concurrency = seed, concurrency
        self.children: dict[str, subprocess.Popen] = {}
        free = iter(free_udp_ports(3))
        # the live feeds' UDP ports (the listeners'): given, or free ones on loopback
        self.ais_port, self.tak_port, self.rid_port = ais_udp or next(free), cot_udp or next(free), rid_udp or next(free)
        self.history: list[Path] = []  # the history's files, until the watcher has taken them
        self.ready_text: list[str] = []
        # when the history was loaded from, and what it covers (receive_history)
        self.loaded_since: datetime | None = None
        self.history_end: datetime | None = None

    def commands(self) -> dict[str, list[str]]:
        # the live AIS, own assets' CoT and the drones' Remote ID go over UDP, as a receiver, ATAK
        # devices and a Remote ID scanner send them, through `nsp listen` into the inbox's ais/,
        # tak/ and remote-id/ folders (the history's are files)
        ais, tak, rid = f"127.0.0.1:{self.ais_port}", f"127.0.0.1:{self.tak_port}", f"127.0.0.1:{self.rid_port}"
        cmds = {
            "watch": nsp_command("watch", str(self.inbox)),
            "listen-ais": nsp_command("listen", "--format", "ais", "--udp", ais, "--out", str(self.inbox / "ais"),
                                      "--name", "live-udp", "--flush-seconds", "3"),
            "listen-tak": nsp_command("listen", "--format", "cot", "--udp", tak, "--out", str(self.inbox / "tak"),
                                      "--name", "live-udp", "--flush-seconds", "3"),
            "listen-rid": nsp_command("listen", "--format", "remoteid", "--udp", rid,
                                      "--out", str(self.inbox / "remote-id"), "--name", "live-udp",
                                      "--flush-seconds", "3"),
            "worker": nsp_command("worker", "--concurrency", str(self.concurrency)),
            "live": nsp_command("scenario", "--live", str(self.inbox), "--speed", str(self.speed),
                                "--seed", str(self.seed), "--ais-udp", ais, "--cot-udp", tak, "--rid-udp", rid),
        }
        if self.serve:
            cmds["serve"] = nsp_command("serve", "--port", str(self.port))
        return cmds

    def accounts(self) -> tuple[dict[str, str], str | None]:
        """Make sure the demo users exist; return {name: password} and a kiosk token.

        Passwords are random, made on the first run and kept in DIR/credentials.json
        (git-ignored, mode 600), so that a second run prints the same ones. The wall's
        read-only kiosk token likewise (DIR/kiosk_token): a wall display left on the kiosk
        link keeps working across restarts; a new one is made only when that one was revoked
        or has expired (only its hash is in the database, so it cannot be printed again
        from there).
        """
        import json
        import secrets

        from nsp import db, users

        cred_file = self.dir / "credentials.json"
        known = json.loads(cred_file.read_text()) if cred_file.exists() else {}
        with db.connect(autocommit=True) as conn:
            existing = {u["name"] for u in users.list_users(conn)}
            for name, role, sections in DEMO_USERS:
                if name in existing and name in known:
                    continue
                password = secrets.token_urlsafe(12)
                if name in existing:
                    users.set_password(conn, name, password, actor="nsp demo")
                else:
                    users.add_user(conn, name, role, password, sections, actor="nsp demo")
                known[name] = password
            token_file = self.dir / "kiosk_token"
            token = token_file.read_text().strip() if token_file.exists() else None
            if not (token and conn.execute(
                    "SELECT 1 FROM kiosk_token WHERE token_sha256 = %s AND revoked_at IS NULL "
                    "AND (expires_at IS NULL OR expires_at > now())", (users.token_sha256(token),)).fetchone()):
                _, token = users.create_kiosk_token(conn, "demo wall", actor="nsp demo")
        self.dir.mkdir(parents=True, exist_ok=True)
        for path, text in ((cred_file, json.dumps(known, indent=2)), (token_file, token)):
            path.write_text(text)
            path.chmod(0o600)
        return known, token

    def expect_feeds(self) -> list[str]:
        """Give the scenario's feeds their expected intervals (DEMO_FEEDS) where none is set;
        an interval an operator set is kept. Returns the sources set now."""
        from nsp import access, db
        from nsp.durations import parse_duration

        added = []
        with db.connect() as conn, conn.transaction():
            for source, every in DEMO_FEEDS:
                row = conn.execute("INSERT INTO feed_expectation (source, every, set_by) VALUES (%s, %s, 'nsp demo')"
                                   " ON CONFLICT (source) DO NOTHING RETURNING source",
                                   (source, parse_duration(every))).fetchone()
                if row:
                    access.audit(conn, "nsp demo", "feed_expect", source, {"every": every})
                    added.append(source)
        return added

    def start(self, echo: Callable[[str], None] = print) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.expect_feeds()
        self.loaded_since = datetime.now(UTC)
        scenario = Scenario(seed=self.seed, days=self.days)
        self.history_end = scenario.end
        counts = scenario.write(self.inbox)
        self.history = self.pending()
        echo(f"scenario: {sum(counts.values())} files of {self.days} days of history in {self.inbox}; "
             "loading them (the ready block follows once they are in)")
        commands = self.commands()
        env = os.environ.copy()
        # Keep the console for the URLs and for what goes wrong; NSP_LOG_LEVEL=INFO shows
        # every queued and loaded file.
        env.setdefault("NSP_LOG_LEVEL", "WARNING")
        if "serve" in commands:
            passwords, kiosk = self.accounts()
            # The demo serves plain http on loopback: the session cookie cannot be Secure.
            env.setdefault("NSP_AUTH_COOKIE_SECURE", "false")
        for name, argv in commands.items():
            # Own process group: a Ctrl-C reaches the children through us, in order.
            self.children[name] = subprocess.Popen(argv, start_new_session=True, env=env)
            echo(f"started {name:<10} pid {self.children[name].pid}: nsp {' '.join(argv[3:])}")
        text = ["", "=" * 72, f"nsp demo ready: {len(self.history)} history files loaded; the live feed runs",
                f"live AIS on udp://127.0.0.1:{self.ais_port}, CoT on udp://127.0.0.1:{self.tak_port}, "
                f"Remote ID on udp://127.0.0.1:{self.rid_port} (a drone from Belarus every 15 minutes or so)"]
        if "serve" in self.children:
            base = f"http://127.0.0.1:{self.port}"
            text += [f"main view  {base}/   (log in as one of the users below)",
                     f"wall       {base}/wall   (kiosk link, read-only: {base}/kiosk/{kiosk})",
                     f"           in Latvian: {base}/kiosk/{kiosk}?lang=lv   (main view: EN · LV in its header)"]
            for name, role, sections in DEMO_USERS:
                scope = f" {','.join(sections)}" if sections else ""
                text.append(f"  user {name:<8} password {passwords[name]:<18} {role}{scope}")
            text.append(f"(passwords are kept in {self.dir / 'credentials.json'})")
        self.ready_text = [*text, "Ctrl-C stops the demo.", "=" * 72]

    def pending(self) -> list[Path]:
        """The inbox's files not yet taken by the watcher (not in processed/ nor failed/)."""
        return [p for p in self.inbox.rglob("*") if p.is_file()
                and not {"processed", "failed"} & set(p.relative_to(self.inbox).parts)]

    def ready(self) -> bool:
        """Every history file has been taken from the inbox (loaded, or failed with its reason)."""
        self.history = [p for p in self.history if p.exists()]
        return not self.history

    def receive_history(self) -> int:
        """Once the history is in: its events and patrol tracks received as the feeds would
        have delivered them, spread over the week rather than all at the demo's start, so that
        a replay of a past time shows what was known then (ingest.delivery.history_receipt). Returns
        how many events it set."""
        from ingest.delivery.history_receipt import receive_as_reported
        from nsp import db

        if self.loaded_since is None or self.history_end is None:
            return 0
        with db.connect() as conn:
            done = receive_as_reported(conn, [source for source, _ in DEMO_FEEDS], self.loaded_since,
                                       self.history_end, until=self.loaded_since)
        return done.events

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
            announced = False
            while not stop.wait(1.0):
                if not announced and self.ready():
                    self.receive_history()
                    for line in self.ready_text:
                        echo(line)
                    announced = True
                dead = [n for n, p in self.children.items() if p.poll() is not None]
                if dead:
                    echo(f"{', '.join(dead)} exited (status "
                         f"{', '.join(str(self.children[n].returncode) for n in dead)}); stopping the demo")
                    return 1
            return 0
        finally:
            echo("stopping the demo ...")
            self.stop()
