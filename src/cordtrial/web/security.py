"""Sessions, CSRF tokens and login lockout for the web application.

- Sessions are server-side (in this process's memory): the cookie carries only a random token,
  signed with the app's secret (itsdangerous) so a forged or altered cookie is rejected before
  any lookup. Logout deletes the server-side session, so a copied cookie stops working at once.
  Cookies are HttpOnly, SameSite=Strict and Secure (OWASP Session Management Cheat Sheet).
- CSRF: a per-session synchronizer token, required on every state-changing request that is
  authenticated by the session cookie (form field `csrf_token` or header `X-CSRF-Token`).
- Lockout: after `max_failures` failed logins for one user name within `window`, that name is
  refused for `lockout` (OWASP Authentication Cheat Sheet, "account lockout").
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeSerializer

SESSION_COOKIE = "cordtrial_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Session:
    token: str
    user_id: int
    csrf_token: str
    created: float
    last_seen: float
    # One-shot messages shown on the next page (post/redirect/get).
    messages: list[tuple[str, str]] = field(default_factory=list)
    # The account as last read from the store, re-read every PRINCIPAL_TTL seconds so a
    # deactivated account or changed role takes effect within that time without a database
    # round trip on every keystroke of the live worksheet.
    principal: object | None = None
    principal_read_at: float = 0.0


PRINCIPAL_TTL = 30.0


@dataclass
class SessionStore:
    """Server-side sessions with idle and absolute timeouts."""

    secret_key: str
    idle_timeout: float = 30 * 60
    absolute_timeout: float = 12 * 3600
    clock: object = time.monotonic
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._serializer = URLSafeSerializer(self.secret_key, salt="cordtrial-session")

    def create(self, user_id: int) -> tuple[Session, str]:
        """Start a session; returns it and the signed cookie value."""
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), user_id, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.token] = session
        return session, self._serializer.dumps(session.token)

    def get(self, cookie_value: str | None) -> Session | None:
        if not cookie_value:
            return None
        try:
            token = self._serializer.loads(cookie_value)
        except BadSignature:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            expired = (
                now - session.last_seen > self.idle_timeout
                or now - session.created > self.absolute_timeout
            )
            if expired:
                del self._sessions[token]
                return None
            session.last_seen = now
            return session

    def destroy(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.token, None)

    def destroy_user(self, user_id: int) -> None:
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.user_id == user_id]:
                del self._sessions[token]


def csrf_matches(session: Session, supplied: str | None) -> bool:
    """Constant-time comparison of a supplied CSRF token with the session's."""
    return bool(supplied) and hmac.compare_digest(session.csrf_token, str(supplied))


@dataclass
class LoginThrottle:
    """Counts failed logins per user name and locks the name out after too many."""

    max_failures: int = 5
    window: float = 15 * 60
    lockout: float = 15 * 60
    clock: object = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().casefold()

    def locked_for(self, username: str) -> float:
        """Seconds left on the lockout of this name (0 when not locked)."""
        with self._lock:
            until = self._locked_until.get(self._key(username), 0.0)
        return max(0.0, until - self.clock())

    def record_failure(self, username: str) -> bool:
        """Record a failure; returns True when this failure locked the name out."""
        key, now = self._key(username), self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t <= self.window]
            recent.append(now)
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now + self.lockout
                self._failures[key] = []
                return True
            self._failures[key] = recent
            return False

    def record_success(self, username: str) -> None:
        with self._lock:
            self._failures.pop(self._key(username), None)


@dataclass
class CredentialCache:
    """Remembers recently verified HTTP Basic credentials so that an API client does not pay
    for an argon2 verification (deliberately slow) on every call.

    The key is an HMAC of user name, password and the account's *stored hash*: changing the
    password (new stored hash) or a wrong password misses the cache and goes through the full
    check with lockout. Only keyed digests are kept, never passwords.
    """

    secret_key: str
    ttl: float = 300
    clock: object = time.monotonic
    _entries: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _key(self, username: str, password: str, stored_hash: str) -> str:
        msg = "\0".join((username, password, stored_hash)).encode()
        return hmac.new(self.secret_key.encode(), msg, "sha256").hexdigest()

    def hit(self, username: str, password: str, stored_hash: str) -> bool:
        key, now = self._key(username, password, stored_hash), self.clock()
        with self._lock:
            until = self._entries.get(key)
            if until is None or until < now:
                self._entries.pop(key, None)
                return False
            return True

    def remember(self, username: str, password: str, stored_hash: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._entries) > 10_000:  # bound memory: drop expired entries
                self._entries = {k: t for k, t in self._entries.items() if t >= now}
            self._entries[self._key(username, password, stored_hash)] = now + self.ttl
