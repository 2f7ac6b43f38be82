"""Users, API tokens, browser sessions and uploads of the web app, in one small SQLite file.

The file is ``<store>/_web/web.sqlite`` (`db_path`): beside the store's tables, so that a backup
of the store folder keeps the accounts too, and outside every table folder, so that the store's
listings never see it. Only a local store has one (SQLite needs a local file system).

Secrets are stored only as hashes: passwords with argon2id (argon2-cffi's defaults, rehashed
on login when those change), API tokens and session ids as SHA-256 (they are 256-bit random
values, so a fast hash is enough and lets a request find its row by the hash). Each call opens
its own short connection, so the app's threads never share one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("coach", "admin")
TOKEN_PREFIX = "pc_"
SESSION_TTL_S = 12 * 3600  # a coach's training day; then log in again
#: How long a browser that logged in stays a known device of that user for the login throttle.
DEVICE_TTL_S = 180 * 24 * 3600
MIN_PASSWORD_CHARS = 8
# Letters, digits and ._@- : a user name appears in URLs, logs and the CLI, never needs quoting.
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  token_id TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
  session_hash TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY,
  video_id TEXT NOT NULL,
  rel_path TEXT NOT NULL,
  athlete TEXT NOT NULL,
  exercise TEXT NOT NULL,
  user TEXT NOT NULL,
  created_at TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS uploads_video ON uploads(video_id);
CREATE TABLE IF NOT EXISTS devices (
  device_hash TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at REAL NOT NULL
);
"""

#: The file's layout version (``PRAGMA user_version``), for the migrations of later tables.
#: (A table added beside the others, as ``devices`` was, needs none: older code ignores it.)
DB_VERSION = 1

#: Upload states kept here; once ``done`` the store's ``videos`` row tells the outcome.
UPLOAD_STATES = ("queued", "running", "done", "failed")


class AccountError(ValueError):
    """A user or token operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


@dataclass(frozen=True)
class Upload:
    upload_id: str
    video_id: str
    rel_path: str
    athlete: str
    exercise: str
    user: str
    created_at: str
    status: str
    error: str | None


def db_path(store: str | os.PathLike[str]) -> Path:
    """Where the web app's SQLite file lives for a store folder."""
    text = os.fspath(store)
    if "://" in text and not text.startswith("file://"):
        raise AccountError(
            f"{text}: the web app keeps its users in a SQLite file beside the store, so the "
            "store must be a local folder"
        )
    return Path(text.removeprefix("file://")).resolve() / "_web" / "web.sqlite"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now(timespec: str = "seconds") -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec=timespec)


class Accounts:
    """The web app's SQLite file: users, tokens, sessions and uploads."""

    def __init__(self, path: str | os.PathLike[str], hasher: PasswordHasher | None = None):
        self.path = Path(path)
        self.hasher = hasher or PasswordHasher()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the upload writer
            db.executescript(_SCHEMA)
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > DB_VERSION:
                raise AccountError(
                    f"{self.path} was written by a newer PoseCoach (layout {version} > "
                    f"{DB_VERSION}); upgrade this one"
                )
            db.execute(f"PRAGMA user_version = {DB_VERSION}")
        # A hash to verify against for unknown names, so that a login takes as long whether the
        # user exists or not (no user enumeration by timing).
        self._dummy_hash = self.hasher.hash(secrets.token_hex(16))

    @classmethod
    def for_store(cls, store: str | os.PathLike[str]) -> Accounts:
        return cls(db_path(store))

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    # -- users ------------------------------------------------------------------------------------
    def add_user(self, name: str, password: str, role: str = "coach") -> User:
        if not _USER_NAME.match(name):
            raise AccountError(
                f"user name {name!r}: 1-64 letters, digits or . _ @ -, starting with a letter "
                "or digit"
            )
        if role not in ROLES:
            raise AccountError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
        user = User(name=name, role=role, created_at=_now())
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?)",
                    (name, role, self.hasher.hash(password), user.created_at),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"user {name!r} exists already") from None
        return user

    def users(self) -> list[User]:
        with self._db() as db:
            rows = db.execute("SELECT name, role, created_at FROM users ORDER BY name").fetchall()
        return [User(**dict(r)) for r in rows]

    def user(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute(
                "SELECT name, role, created_at FROM users WHERE name = ?", (name,)
            ).fetchone()
        return User(**dict(row)) if row else None

    def remove_user(self, name: str) -> None:
        """Remove a user with their tokens and sessions (the foreign keys cascade)."""
        with self._db() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"no user {name!r}")

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs, else None (as slow either way)."""
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        stored = row["password_hash"] if row else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self._db() as db:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ?",
                    (self.hasher.hash(password), name),
                )
        return User(name=row["name"], role=row["role"], created_at=row["created_at"])

    # -- API tokens -------------------------------------------------------------------------------
    def create_token(self, name: str) -> tuple[str, str]:
        """A new API token for a user: ``(token_id, token)``; only its hash is kept."""
        if self.user(name) is None:
            raise AccountError(f"no user {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, NULL)",
                (token_id, name, _sha256(token), _now()),
            )
        return token_id, token

    def tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        """Token ids, users and dates (never the tokens themselves)."""
        sql = "SELECT token_id, user, created_at, revoked_at FROM tokens"
        args: tuple[str, ...] = ()
        if name is not None:
            sql, args = sql + " WHERE user = ?", (name,)
        with self._db() as db:
            return [dict(r) for r in db.execute(sql + " ORDER BY created_at, token_id", args)]

    def revoke_tokens(self, name: str, token_id: str | None = None) -> int:
        """Revoke a user's token (``token_id``) or all their tokens; returns how many."""
        sql = "UPDATE tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL"
        args: tuple[str, ...] = (_now(), name)
        if token_id is not None:
            sql, args = sql + " AND token_id = ?", (*args, token_id)
        with self._db() as db:
            return db.execute(sql, args).rowcount

    def token_user(self, token: str) -> User | None:
        """The user of a valid (not revoked) API token, else None."""
        with self._db() as db:
            row = db.execute(
                "SELECT u.name, u.role, u.created_at FROM tokens t JOIN users u ON u.name = t.user"
                " WHERE t.token_hash = ? AND t.revoked_at IS NULL",
                (_sha256(token),),
            ).fetchone()
        return User(**dict(row)) if row else None

    # -- sessions ---------------------------------------------------------------------------------
    def create_session(self, user: User, ttl_s: float = SESSION_TTL_S) -> tuple[str, Session]:
        """A new session: ``(session id for the cookie, Session)``."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (_sha256(session_id), user.name, csrf, time.time() + ttl_s),
            )
        return session_id, Session(user=user, csrf_token=csrf)

    def session(self, session_id: str) -> Session | None:
        with self._db() as db:
            row = db.execute(
                "SELECT u.name, u.role, u.created_at, s.csrf_token FROM sessions s"
                " JOIN users u ON u.name = s.user WHERE s.session_hash = ? AND s.expires_at > ?",
                (_sha256(session_id), time.time()),
            ).fetchone()
        if row is None:
            return None
        user = User(name=row["name"], role=row["role"], created_at=row["created_at"])
        return Session(user=user, csrf_token=row["csrf_token"])

    def end_session(self, session_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE session_hash = ?", (_sha256(session_id),))

    # -- known devices (the login throttle's device cookies) ---------------------------------------
    def add_device(self, user: User, ttl_s: float = DEVICE_TTL_S) -> str:
        """Remember a browser that logged in as ``user``: the token for its device cookie."""
        token = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM devices WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT INTO devices VALUES (?, ?, ?, ?)",
                (_sha256(token), user.name, _now(), time.time() + ttl_s),
            )
        return token

    def known_device(self, token: str | None, name: str) -> str | None:
        """The device's id (its token's hash) when ``token`` is a live device of user ``name``."""
        if not token:
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT device_hash FROM devices WHERE device_hash = ? AND user = ?"
                " AND expires_at > ?",
                (_sha256(token), name, time.time()),
            ).fetchone()
        return str(row["device_hash"]) if row else None

    # -- uploads ----------------------------------------------------------------------------------
    def add_upload(
        self, video_id: str, rel_path: str, athlete: str, exercise: str, user: str
    ) -> Upload:
        upload = Upload(
            upload_id=secrets.token_hex(8),
            video_id=video_id,
            rel_path=rel_path,
            athlete=athlete,
            exercise=exercise,
            user=user,
            created_at=_now("microseconds"),  # compared with the videos row's processed_at
            status="queued",
            error=None,
        )
        with self._db() as db:
            db.execute(
                "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(upload.__dict__.values()),
            )
        return upload

    def set_upload_status(
        self, upload_ids: list[str], status: str, error: str | None = None
    ) -> None:
        if status not in UPLOAD_STATES:
            raise ValueError(f"upload status {status!r}: expected one of {UPLOAD_STATES}")
        with self._db() as db:
            db.executemany(
                "UPDATE uploads SET status = ?, error = ? WHERE upload_id = ?",
                [(status, error, u) for u in upload_ids],
            )

    def uploads(
        self, *, video_id: str | None = None, limit: int = 50, pending: bool = False
    ) -> list[Upload]:
        """Uploads, newest first; of one video, or only those still queued or running."""
        where, args = [], []
        if video_id is not None:
            where.append("video_id = ?")
            args.append(video_id)
        if pending:
            where.append("status IN ('queued', 'running')")
        sql = "SELECT * FROM uploads" + (" WHERE " + " AND ".join(where) if where else "")
        with self._db() as db:
            rows = db.execute(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", (*args, limit))
            return [Upload(**dict(r)) for r in rows]
