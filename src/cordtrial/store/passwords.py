"""Password hashing (Argon2id via argon2-cffi, library defaults per RFC 9106 guidance) and the
rules a new password must meet.

Rules (OWASP ASVS 4.0.3 V2.1; NIST SP 800-63B section 5.1.1.2): at least 12 characters
(ASVS 2.1.1), at most 256 (long passphrases allowed, ASVS 2.1.2), no composition rules
(ASVS 2.1.9), and refused when easy to guess: zxcvbn (Dropbox's estimator, with its lists of
passwords common in public breaches, English words and names) must rate it at least 3 of 4
("safely unguessable") given the user's own name and user name (ASVS 2.1.7 asks for a check
against breached passwords; cordtrial runs offline, so the check is against zxcvbn's common-
password lists, not a full breach corpus such as Have I Been Pwned).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_SCORE = 3  # zxcvbn: 0 too guessable ... 4 very unguessable
RULES = (
    f"{MIN_LENGTH}-{MAX_LENGTH} characters, not a common or easily guessed password and not "
    "based on your name or user name (a few unrelated words make a good one)"
)


def password_problems(password: str, *, context: tuple[str, ...] = ()) -> list[str]:
    """Why ``password`` is refused (empty when it may be used). ``context``: the user's names,
    which a password must not lean on."""
    if not isinstance(password, str):
        return ["a password must be text"]
    if len(password) < MIN_LENGTH:
        return [f"at least {MIN_LENGTH} characters (got {len(password)})"]
    if len(password) > MAX_LENGTH:
        return [f"at most {MAX_LENGTH} characters"]
    lowered = password.casefold()
    # NIST SP 800-63B 5.1.1.2: refuse context-specific words such as the user name
    for name in context:
        if name and len(name) >= 4 and name.casefold() in lowered:
            return ["it contains your user name or name"]
    from zxcvbn import zxcvbn

    # zxcvbn's cost grows with length; the first 100 characters decide its rating anyway.
    result = zxcvbn(password[:100], user_inputs=[c for c in context if c] + ["cordtrial"])
    if result["score"] >= MIN_SCORE:
        return []
    feedback = result["feedback"]
    reasons = [feedback.get("warning") or "too easy to guess"]
    reasons += list(feedback.get("suggestions") or [])[:2]
    return [r.rstrip(".") for r in reasons if r]


def hash_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < 8:
        raise ValueError("password: must be text of at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False for a wrong password or an unreadable hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def waste_verification(password: str) -> None:
    """Verify ``password`` against a throw-away hash made with the same parameters: as slow as
    a real check, for answers that must not reveal whether an account exists."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not a password of anyone: " + secrets.token_hex(16))
    verify_password(_DUMMY_HASH, password)


def temporary_password() -> str:
    """A random one-time password for a reset (must be changed at the next login)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
