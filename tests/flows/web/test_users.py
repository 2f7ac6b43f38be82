"""Users, tokens and sessions (flows.web.users) and the ``posecoach user|token`` commands."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from flows.cli import user as user_cli
from flows.cli.main import main
from flows.web.users import AccountError, Accounts, db_path


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    return Accounts.for_store(tmp_path / "store")


def _db_bytes(accounts: Accounts) -> bytes:
    # every byte the database holds, the write-ahead log included
    return b"".join(p.read_bytes() for p in accounts.path.parent.iterdir())


def test_passwords_are_argon2_hashes_and_checked(accounts: Accounts) -> None:
    accounts.add_user("ana", "correct horse", "admin")
    with sqlite3.connect(accounts.path) as db:
        (stored,) = db.execute("SELECT password_hash FROM users").fetchone()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    user = accounts.check_password("ana", "correct horse")
    assert user is not None and user.is_admin
    assert accounts.check_password("ana", "correct hors") is None
    assert accounts.check_password("nobody", "correct horse") is None


@pytest.mark.parametrize(
    ("name", "password", "role", "reason"),
    [
        ("../etc", "long enough", "coach", "user name"),
        ("<b>x</b>", "long enough", "coach", "user name"),
        ("ana", "short", "coach", "at least 8"),
        ("ana", "long enough", "root", "role"),
    ],
)
def test_bad_users_are_refused(accounts: Accounts, name, password, role, reason) -> None:
    with pytest.raises(AccountError, match=reason):
        accounts.add_user(name, password, role)
    assert accounts.users() == []


def test_tokens_are_stored_as_hashes_and_revocable(accounts: Accounts) -> None:
    accounts.add_user("ana", "correct horse")
    first_id, first = accounts.create_token("ana")
    _, second = accounts.create_token("ana")
    assert first != second and first.startswith("pc_") and len(first) > 40
    assert first.encode() not in _db_bytes(accounts)
    assert accounts.token_user(first).name == "ana"  # type: ignore[union-attr]
    assert accounts.token_user(first + "x") is None
    assert accounts.revoke_tokens("ana", first_id) == 1
    assert accounts.token_user(first) is None
    assert accounts.token_user(second) is not None  # only that one
    assert accounts.revoke_tokens("ana") == 1
    assert accounts.token_user(second) is None
    with pytest.raises(AccountError, match="no user"):
        accounts.create_token("bob")


def test_sessions_expire_and_end_with_their_user(accounts: Accounts) -> None:
    user = accounts.add_user("ana", "correct horse")
    sid, session = accounts.create_session(user)
    assert sid.encode() not in _db_bytes(accounts)
    assert accounts.session(sid) == session
    old_sid, _ = accounts.create_session(user, ttl_s=-1)
    assert accounts.session(old_sid) is None
    accounts.end_session(sid)
    assert accounts.session(sid) is None
    sid, _ = accounts.create_session(user)
    _, token = accounts.create_token("ana")
    accounts.remove_user("ana")
    assert accounts.session(sid) is None and accounts.token_user(token) is None


def test_known_devices_are_a_users_own_expire_and_go_with_the_user(accounts: Accounts) -> None:
    ana = accounts.add_user("ana", "correct horse")
    accounts.add_user("bob", "battery staple")
    token = accounts.add_device(ana)
    assert token.encode() not in _db_bytes(accounts)
    device = accounts.known_device(token, "ana")
    assert device is not None and device != token
    assert accounts.known_device(token, "bob") is None  # ana's browser, not bob's
    assert accounts.known_device(token + "x", "ana") is None
    assert accounts.known_device(None, "ana") is None
    assert accounts.known_device(accounts.add_device(ana, ttl_s=-1), "ana") is None
    accounts.remove_user("ana")
    assert accounts.known_device(token, "ana") is None


def test_an_object_store_has_no_user_file() -> None:
    with pytest.raises(AccountError, match="local folder"):
        db_path("s3://bucket/store")


def test_user_and_token_commands(tmp_path: Path, monkeypatch, capsys) -> None:
    store = tmp_path / "store"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    assert main(["user", "add", "ana", "--role", "admin", "--store", str(store)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("battery staple\n"))
    assert main(["user", "add", "bob", "--store", str(store)]) == 0
    assert main(["user", "list", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "ana\tadmin" in out and "bob\tcoach" in out
    accounts = Accounts.for_store(store)
    assert accounts.check_password("bob", "battery staple") is not None

    assert main(["token", "create", "bob", "--store", str(store)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert accounts.token_user(token).name == "bob"  # type: ignore[union-attr]
    assert main(["token", "revoke", "bob", "--store", str(store)]) == 0
    assert accounts.token_user(token) is None
    assert main(["token", "revoke", "bob", "--store", str(store)]) == 1
    assert "no active token" in capsys.readouterr().err
    assert main(["token", "create", "bob", "--store", str(store)]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["token", "revoke", "bob", "--id", "deadbeef", "--store", str(store)]) == 1
    assert "no active token 'deadbeef'" in capsys.readouterr().err
    assert accounts.token_user(second).name == "bob"  # type: ignore[union-attr]  # still works
    for action in (["list", "nobody"], ["revoke", "nobody"]):
        assert main(["token", *action, "--store", str(store)]) == 1
        assert "no user 'nobody'" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert main(["user", "add", "cy", "--store", str(store)]) == 1
    assert "at least 8" in capsys.readouterr().err
    assert main(["user", "remove", "bob", "--store", str(store)]) == 0
    assert [u.name for u in accounts.users()] == ["ana"]


def test_a_terminal_is_asked_twice_without_echo(monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["secret one", "secret one", "secret one", "secret two"])
    monkeypatch.setattr(user_cli.getpass, "getpass", lambda prompt: next(answers))
    assert user_cli.read_password(Tty()) == "secret one"
    with pytest.raises(AccountError, match="differ"):
        user_cli.read_password(Tty())


def test_a_file_from_a_newer_posecoach_is_not_touched(accounts: Accounts) -> None:
    with sqlite3.connect(accounts.path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(AccountError, match="newer PoseCoach"):
        Accounts(accounts.path)
