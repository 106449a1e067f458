"""What slows password guessing down, without telling who exists or locking anyone out.

- **Per name** (``login_throttle``): after ``NSP_AUTH_MAX_FAILED_LOGINS`` failures of a name
  as typed (lower case; a user of that name need not exist), each further attempt of that
  name is *held* until ``NSP_AUTH_LOGIN_DELAY_SECONDS`` × 2^(failures − max) after the last
  failure, at most ``NSP_AUTH_LOGIN_DELAY_MAX_SECONDS``, and then checked as usual: the right
  password still gets in, so nobody can lock a wall's or a colleague's account.
- **Per client** (``login_client``): at most ``NSP_AUTH_CLIENT_MAX_ATTEMPTS`` attempts per
  address in ``NSP_AUTH_CLIENT_WINDOW_SECONDS`` (a successful sign-in gives its attempt
  back, so an operations room behind one address is not stopped at a shift change); over
  it, ``429`` before any password is checked.
- **The client's address** (:func:`client_address`): the peer, or, when the peer is one of
  ``NSP_AUTH_TRUSTED_PROXIES``, the address the first trusted proxy saw, read from
  ``NSP_AUTH_CLIENT_ADDRESS_HEADER`` (``X-Forwarded-For``) right to left.

Both tables are shared by every web worker and kept short (rows idle for a day are removed).
"""

from __future__ import annotations

from ipaddress import ip_address

from nsp.auth_settings import AuthSettings

NAME_KEY_LENGTH = 64  # as app_user.name's CHECK
FORGET_AFTER = "1 day"


def client_address(remote_addr: str | None, headers, s: AuthSettings) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy that says whom it serves."""
    if not s.client_address_header or not s.is_trusted_proxy(remote_addr):
        return remote_addr
    hops = [h.strip() for value in headers.getlist(s.client_address_header) for h in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        if s.is_trusted_proxy(hop):
            continue
        try:
            return str(ip_address(hop))
        except ValueError:
            return remote_addr  # not an address: the proxy chain is misconfigured; count the proxy
    return remote_addr


def name_key(name: str) -> str:
    return name.strip().lower()[:NAME_KEY_LENGTH]


def delay_for(failures: int, s: AuthSettings) -> float:
    """Seconds a name with ``failures`` failures in a row must wait after its last one."""
    over = failures - s.max_failed_logins
    if over < 0:
        return 0.0
    return min(s.login_delay_seconds * 2.0 ** min(over, 62), s.login_delay_max_seconds)


def wait_before_check(conn, name: str, s: AuthSettings) -> float:
    """Seconds from now until ``name`` may be checked (0 when it is not slowed)."""
    row = conn.execute(
        "SELECT failures, extract(epoch FROM now() - last_failure_at) AS ago "
        "FROM login_throttle WHERE name_key = %s", (name_key(name),)).fetchone()
    if row is None:
        return 0.0
    return max(0.0, delay_for(row["failures"], s) - float(row["ago"]))


def record_failure(conn, name: str) -> int:
    """Count a failed sign-in of ``name``; returns its failures in a row."""
    conn.execute(f"DELETE FROM login_throttle WHERE last_failure_at < now() - interval '{FORGET_AFTER}'")
    return conn.execute(
        "INSERT INTO login_throttle AS t (name_key, failures, last_failure_at) VALUES (%s, 1, now()) "
        "ON CONFLICT (name_key) DO UPDATE SET failures = t.failures + 1, last_failure_at = now() "
        "RETURNING failures", (name_key(name),)).fetchone()["failures"]


def clear(conn, name: str) -> None:
    """A successful sign-in (or an administrator) ends the slow-down of ``name``."""
    conn.execute("DELETE FROM login_throttle WHERE name_key = %s", (name_key(name),))


def client_attempt(conn, addr: str | None, s: AuthSettings) -> tuple[int, float]:
    """Count an attempt from ``addr``: (attempts in the window, seconds until it ends)."""
    conn.execute(f"DELETE FROM login_client WHERE window_start < now() - interval '{FORGET_AFTER}'")
    row = conn.execute(
        """INSERT INTO login_client AS c (addr, window_start, attempts) VALUES (%(a)s, now(), 1)
           ON CONFLICT (addr) DO UPDATE SET
             attempts = CASE WHEN c.window_start <= now() - make_interval(secs => %(w)s) THEN 1
                             ELSE c.attempts + 1 END,
             window_start = CASE WHEN c.window_start <= now() - make_interval(secs => %(w)s) THEN now()
                                 ELSE c.window_start END
           RETURNING attempts,
                     extract(epoch FROM c.window_start + make_interval(secs => %(w)s) - now()) AS left_s""",
        {"a": addr or "-", "w": s.client_window_seconds}).fetchone()
    return row["attempts"], max(0.0, float(row["left_s"]))


def client_refund(conn, addr: str | None) -> None:
    """A successful sign-in does not count against its client."""
    conn.execute("UPDATE login_client SET attempts = greatest(attempts - 1, 0) WHERE addr = %s", (addr or "-",))
