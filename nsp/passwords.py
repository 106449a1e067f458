"""The password policy of ``nsp users`` (and of anything else that sets a password).

A password is refused when it is shorter than ``NSP_AUTH_PASSWORD_MIN_LENGTH`` (10), is the
user name, or scores under ``NSP_AUTH_PASSWORD_MIN_SCORE`` (3 of 4) with zxcvbn
(https://github.com/dwolfhub/zxcvbn-python, MIT): its frequency lists of leaked passwords,
English words, names and keyboard patterns, plus repeats, sequences and dates, put a common
password (``password123``, ``qwertyuiop``, ``aaaaaaaaaa``) at score 0. The user name and
the product's own words count as known words.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from argon2 import PasswordHasher
from zxcvbn import zxcvbn

from nsp.auth_settings import AuthSettings, auth_settings

# zxcvbn's matching grows faster than linearly with the length, so it refuses to score more
# than 72 characters; the first 72 are scored (a longer password only gets stronger).
SCORED_LENGTH = 72
CONTEXT_WORDS = ("nsp", "eurosur", "border", "situational", "picture")


def password_problem(name: str, password: str, settings: AuthSettings | None = None) -> str | None:
    """Why ``password`` may not be ``name``'s ("is too short: …"), or None when it is acceptable."""
    s = settings or auth_settings()
    if len(password) < s.password_min_length:
        return f"is too short: at least {s.password_min_length} characters"
    if password.strip().lower() == name.lower():
        return "must not be the user name"
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[name, *CONTEXT_WORDS], max_length=SCORED_LENGTH)
    if result["score"] < s.password_min_score:
        feedback = result.get("feedback") or {}
        hints = " ".join(filter(None, [feedback.get("warning"), *(feedback.get("suggestions") or [])]))
        return (f"is too easy to guess (strength {result['score']} of 4, at least {s.password_min_score} needed)"
                + (f": {hints}" if hints else ""))
    return None


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher(settings: AuthSettings | None = None) -> PasswordHasher:
    """argon2id at the cost of ``NSP_AUTH_HASH_TIME_COST``, ``_MEMORY_KIB`` and ``_PARALLELISM``
    (argon2-cffi's defaults: 3 passes over 64 MiB in 4 lanes). A hash carries its own cost, so
    one made at another cost is verified as it was made."""
    s = settings or auth_settings()
    return _hasher(s.hash_time_cost, s.hash_memory_kib, s.hash_parallelism)


def hash_password(password: str) -> str:
    """The password's argon2 hash, as app_user.password_hash keeps it."""
    return hasher().hash(password)


def token_sha256(token: str) -> str:
    """How a kiosk or access token is stored: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
