"""Anchoring the audit trail outside the database.

The hash chain (audit.py) shows that entries were changed, removed or reordered, unless the
person changing them also re-computes every later hash, which anyone who can write the database
can do, and unless the newest entries were removed together with the rows they describe. Two
anchors that live outside the database close those gaps:

- **The audit key** (a file, or ``CORDTRIAL_AUDIT_KEY_FILE``): every entry carries an
  HMAC-SHA256 of its hash under this key. Without the key, a rewritten and re-hashed chain
  cannot be given valid MACs. The key file also records the first entry written under it, so
  MACs cannot simply be removed. Keep it away from the database (another disk, owner or secrets
  store): whoever holds both can forge anything.
- **Checkpoints** (an append-only file, or ``CORDTRIAL_AUDIT_CHECKPOINTS``): the chain's head
  (sequence number and hash) with its own MAC, written a few seconds after writes, by
  ``cordtrial backup`` and ``cordtrial audit checkpoint``; the report and the backup print it
  too. ``audit verify`` checks that every checkpointed entry is still in the chain with the same
  hash, so removing the newest entries (and their rows) is detected once a checkpoint covers
  them.

Default places: beside an SQLite database file (``<file>.audit-key``,
``<file>.audit-checkpoints``), else in ``CORDTRIAL_STATE_DIR`` (default
``~/.local/state/cordtrial``) under the database's host and name. Recommendations and what each
anchor protects against: docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from .types import utcnow

KEY_ENV = "CORDTRIAL_AUDIT_KEY_FILE"
CHECKPOINTS_ENV = "CORDTRIAL_AUDIT_CHECKPOINTS"
STATE_DIR_ENV = "CORDTRIAL_STATE_DIR"
CHECKPOINT_INTERVAL = 5.0  # seconds: the longest a new head waits for its checkpoint


class AnchorError(RuntimeError):
    """The audit key cannot be used (missing while the trail needs it, unreadable)."""


@dataclass(frozen=True)
class AuditKey:
    key: bytes
    since_seq: int  # the first entry written under this key; every later one has a MAC
    path: Path

    def mac(self, entry_hash: str) -> str:
        return hmac.new(self.key, f"entry\0{entry_hash}".encode(), hashlib.sha256).hexdigest()

    def checkpoint_mac(self, seq: int, entry_hash: str) -> str:
        msg = f"checkpoint\0{seq}\0{entry_hash}".encode()
        return hmac.new(self.key, msg, hashlib.sha256).hexdigest()


def _store_name(url: str) -> str:
    u = make_url(url)
    parts = [u.host or "local", str(u.port or ""), u.database or "db"]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(p for p in parts if p))


def _default(url: str, suffix: str) -> Path:
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        return Path(u.database).with_name(Path(u.database).name + suffix)
    base = Path(os.environ.get(STATE_DIR_ENV) or Path.home() / ".local" / "state" / "cordtrial")
    return base / f"{_store_name(url)}{suffix}"


def key_path(url: str) -> Path:
    return Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else _default(url, ".audit-key")


def checkpoints_path(url: str) -> Path:
    if os.environ.get(CHECKPOINTS_ENV):
        return Path(os.environ[CHECKPOINTS_ENV])
    return _default(url, ".audit-checkpoints")


_cache: dict[Path, AuditKey] = {}
_cache_lock = threading.Lock()


def load_key(url: str) -> AuditKey | None:
    """The store's audit key, or None when its file does not exist."""
    path = key_path(url)
    with _cache_lock:
        cached = _cache.get(path)
    if cached is not None and path.exists():
        return cached
    try:
        data = json.loads(path.read_text())
        key = AuditKey(base64.b64decode(data["key"]), int(data["since_seq"]), path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"audit key file {path} is unreadable: {exc}") from None
    with _cache_lock:
        _cache[path] = key
    return key


def create_key(url: str, since_seq: int) -> AuditKey:
    """Create the key file (owner-only); if another process just created it, use theirs."""
    path = key_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(
        {
            "format": "cordtrial-audit-key/1",
            "key": base64.b64encode(secrets.token_bytes(32)).decode(),
            "since_seq": since_seq,
            "created_at": utcnow().isoformat(),
        }
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(body + "\n")
            f.flush()
            os.fsync(f.fileno())
    key = load_key(url)
    assert key is not None
    return key


def forget_keys() -> None:
    """Drop cached keys and remembered heads (tests; after key files were moved)."""
    with _cache_lock:
        _cache.clear()
    with _heads_lock:
        _heads.clear()
        _written.clear()


# -- checkpoints -------------------------------------------------------------------------------

_heads: dict[str, tuple[int, str]] = {}  # url -> newest committed head
_written: dict[str, tuple[int, float]] = {}  # url -> (seq checkpointed, when)
_heads_lock = threading.Lock()


def note_head(url: str, seq: int, entry_hash: str) -> None:
    """A transaction that appended entries committed; checkpoint it unless one was written
    in the last CHECKPOINT_INTERVAL seconds (then :func:`flush_checkpoints` writes it)."""
    with _heads_lock:
        if _heads.get(url, (0, ""))[0] < seq:
            _heads[url] = (seq, entry_hash)
        last = _written.get(url)
    if last is None or time.monotonic() - last[1] >= CHECKPOINT_INTERVAL:
        flush_checkpoints(url)


def flush_checkpoints(url: str | None = None) -> None:
    """Write a checkpoint for every store (or ``url``) whose head moved since its last one."""
    with _heads_lock:
        todo = [(u, h) for u, h in _heads.items() if url is None or u == url]
        todo = [(u, h) for u, h in todo if _written.get(u, (0, 0.0))[0] < h[0]]
        for u, h in todo:
            _written[u] = (h[0], time.monotonic())
    for u, (seq, entry_hash) in todo:
        write_checkpoint(u, seq, entry_hash)


def write_checkpoint(url: str, seq: int, entry_hash: str) -> dict | None:
    """Append one checkpoint line; None when the store has no audit key yet."""
    key = load_key(url)
    if key is None:
        return None
    line = {
        "seq": seq,
        "hash": entry_hash,
        "at": utcnow().isoformat(),
        "mac": key.checkpoint_mac(seq, entry_hash),
    }
    path = checkpoints_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    # One short write with O_APPEND: lines from several workers never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
    finally:
        os.close(fd)
    return line


def read_checkpoints(url: str) -> tuple[list[dict], list[str]]:
    """(checkpoints, problems reading them) from the store's checkpoint file."""
    path = checkpoints_path(url)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return [], []
    out, problems = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            out.append(
                {
                    "line": n,
                    "seq": int(item["seq"]),
                    "hash": str(item["hash"]),
                    "at": str(item.get("at", "")),
                    "mac": str(item["mac"]),
                }
            )
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint file {path} line {n}: unreadable (altered?)")
    return out, problems


def retire_files(url: str) -> None:
    """Move the key and checkpoint files aside (the store was reset: a new trail begins)."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    for path in (key_path(url), checkpoints_path(url)):
        if path.exists():
            path.rename(path.with_name(f"{path.name}.retired-{stamp}"))
    forget_keys()
