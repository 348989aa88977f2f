"""Session cookies, CSRF tokens and the signing key, shared through the store.

- Sessions live in the store (cordtrial.store.services.sessions), so any number of workers and
  restarts share them: the cookie carries a random token, signed with the app's key
  (itsdangerous) so a forged or altered cookie is rejected before any lookup; the store keeps
  only the token's SHA-256. Logout, deactivation and password resets end sessions everywhere at
  once. Cookies are HttpOnly, SameSite=Strict and Secure (OWASP Session Management Cheat Sheet).
- CSRF: a per-session synchronizer token, required on every state-changing request that is
  authenticated by the session cookie (form field `csrf_token` or header `X-CSRF-Token`).
- The signing key comes from configuration (``CORDTRIAL_SECRET_KEY`` or ``create_app``), or is
  generated once and kept in the store's settings, never a fresh random per process.
- Failed logins are counted per user name in the store (cordtrial.store.services.
  login_throttle), known names and unknown ones alike.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeSerializer

SESSION_COOKIE = "cordtrial_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SECRET_ENV = "CORDTRIAL_SECRET_KEY"
_SECRET_SETTING = "session_signing_key"


@dataclass
class WebSession:
    """The request's view of its session row."""

    id: int
    user_id: int
    state: str
    csrf_token: str


class SigningKey:
    """The app's cookie-signing key: configured, or read from (and once written to) the store;
    resolved on first use so building the app needs no database."""

    def __init__(self, database_url: str, configured: str | None = None):
        self.database_url = database_url
        self._value = configured or os.environ.get(SECRET_ENV) or None
        self._lock = threading.Lock()

    @property
    def value(self) -> str:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = stored_secret(self.database_url, _SECRET_SETTING)
        return self._value

    def serializer(self, salt: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.value, salt=salt)


def stored_secret(database_url: str, name: str) -> str:
    """A random secret kept in the store's settings, created by whichever process asks first."""
    from sqlalchemy.exc import IntegrityError

    from cordtrial.store.db import session_factory
    from cordtrial.store.models import AppSetting

    factory = session_factory(database_url)
    with factory() as db:
        row = db.get(AppSetting, name)
        if row is not None:
            return row.value
        db.add(AppSetting(name=name, value=secrets.token_urlsafe(48)))
        try:
            db.commit()
        except IntegrityError:  # another worker wrote it first: use theirs
            db.rollback()
        return db.get(AppSetting, name).value


def cookie_value(key: SigningKey, token: str) -> str:
    return key.serializer("cordtrial-session").dumps(token)


def token_of(key: SigningKey, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        token = key.serializer("cordtrial-session").loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def csrf_matches(session: WebSession, supplied: str | None) -> bool:
    """Constant-time comparison of a supplied CSRF token with the session's."""
    return bool(supplied) and hmac.compare_digest(session.csrf_token, str(supplied))


@dataclass
class CredentialCache:
    """Remembers recently verified HTTP Basic credentials so that an API client does not pay
    for an argon2 verification (deliberately slow) on every call.

    The key is an HMAC of user name, password and the account's *stored hash*: changing the
    password (new stored hash) or a wrong password misses the cache and goes through the full
    check with lockout; the account's state (active, locked) is read from the store on every
    call. Only keyed digests are kept, never passwords. Per process: a cache, not shared state.
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
