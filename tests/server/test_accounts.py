"""The password side of SMTP AUTH: scrypt lines, the password file, and `--auth` specs."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import given, settings
from hypothesis import strategies as st

from postier.server import accounts
from postier.server.accounts import (
    AcceptAny,
    AccountError,
    PasswordFile,
    hash_password,
    load_accounts,
    verify_password,
)

CHEAP = 4  # log2 N for tests: microseconds instead of a tenth of a second per hash

LINE = re.compile(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


# RFC 7914 section 12, the second test vector, written in the file's shape.
RFC_7914 = (
    "$scrypt$ln=10,r=8,p=16$" + b64(b"NaCl") + "$"
    + b64(
        bytes.fromhex(
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        )
    )
)  # fmt: skip


def test_default_parameters_and_format() -> None:
    encoded = hash_password("correct horse")
    match = LINE.fullmatch(encoded)
    assert match, encoded
    assert match.group(1, 2, 3) == ("15", "8", "1")
    assert len(unb64(match[4])) == 16
    assert len(unb64(match[5])) == 32
    assert "=" not in match[4] + match[5]  # base64 without padding
    assert verify_password("correct horse", encoded)


def test_an_independent_scrypt_agrees() -> None:
    salt = bytes(range(16))
    encoded = hash_password("pässwörd", salt=salt, cost=CHEAP)
    expected = Scrypt(salt=salt, length=32, n=2**CHEAP, r=8, p=1).derive("pässwörd".encode())
    assert encoded == f"$scrypt$ln={CHEAP},r=8,p=1${b64(salt)}${b64(expected)}"


def test_rfc_7914_vector_verifies() -> None:
    assert verify_password("password", RFC_7914)
    assert not verify_password("Password", RFC_7914)


@settings(max_examples=50, deadline=None)
@given(password=st.text().filter(lambda text: "\0" not in text), other=st.text())
def test_round_trip(password: str, other: str) -> None:
    encoded = hash_password(password, cost=CHEAP)
    assert verify_password(password, encoded)
    assert verify_password(other, encoded) == (other == password)


@pytest.mark.parametrize("password", ["", "secret"])
def test_a_trailing_nul_is_not_the_same_password(password: str) -> None:
    """HMAC, under scrypt, pads its key with zero bytes: the NUL must be refused apart."""
    encoded = hash_password(password, cost=CHEAP)
    assert verify_password(password, encoded)
    assert not verify_password(password + "\0", encoded)
    assert not verify_password(password + "\0\0", encoded)
    with pytest.raises(AccountError, match="NUL"):
        hash_password(password + "\0", cost=CHEAP)


def test_fresh_salt_each_time() -> None:
    first, second = (hash_password("same", cost=CHEAP) for _ in range(2))
    assert first != second
    assert first.split("$")[3] != second.split("$")[3]


def test_parameters_are_read_back_from_the_line() -> None:
    """A line made with another cost still verifies: the cost can be raised later."""
    for cost in (1, 5, 9):
        encoded = hash_password("pw", cost=cost)
        assert encoded.startswith(f"$scrypt$ln={cost},r=8,p=1$")
        assert verify_password("pw", encoded)
    # Change the cost in the text and the same salt and hash no longer match.
    assert not verify_password("pw", hash_password("pw", cost=5).replace("ln=5", "ln=6"))


def test_passwords_are_compared_as_utf8_bytes() -> None:
    encoded = hash_password("é", cost=CHEAP)  # U+00E9
    assert not verify_password("e\u0301", encoded)  # the same letter, decomposed
    assert not verify_password("É", encoded)


MALFORMED = [
    "",
    "plain-text-password",
    "$2b$12$abcdefghijklmnopqrstuv",  # bcrypt
    "$scrypt$ln=15,r=8$c2FsdA$" + b64(bytes(32)),
    "$scrypt$r=8,ln=15,p=1$c2FsdA$" + b64(bytes(32)),
    "$scrypt$ln=15,r=8,p=1$c2FsdA==$" + b64(bytes(32)),  # padding
    "$scrypt$ln=15,r=8,p=1$c2F*dA$" + b64(bytes(32)),
    "$scrypt$ln=15,r=8,p=1$c2FsdA$" + b64(bytes(8)),  # hash too short
    "$scrypt$ln=15,r=8,p=1$c2Fsd$" + b64(bytes(32)),  # impossible base64 length
    "$scrypt$ln=0,r=8,p=1$c2FsdA$" + b64(bytes(32)),
    "$scrypt$ln=15,r=0,p=1$c2FsdA$" + b64(bytes(32)),
    "$scrypt$ln=15,r=8,p=0$c2FsdA$" + b64(bytes(32)),
    "$scrypt$ln=15,r=8,p=99$c2FsdA$" + b64(bytes(32)),
    "$scrypt$ln=25,r=8,p=1$c2FsdA$" + b64(bytes(32)),  # 4 GiB a check
    "$scrypt$ln=15,r=8,p=1$c2FsdA$" + b64(bytes(32)) + "$",
]


@pytest.mark.parametrize("encoded", MALFORMED)
def test_malformed_hashes_are_refused(encoded: str) -> None:
    with pytest.raises(AccountError) as raised:
        verify_password("pw", encoded)
    assert "\n" not in str(raised.value)
    with pytest.raises(AccountError, match=r"^f:1: "):
        PasswordFile.parse(f"alice:{encoded}", source="f")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_with_comments_and_blank_lines(tmp_path: Path) -> None:
    alice, bob = (hash_password(name * 2, cost=CHEAP) for name in ("alice", "bøb"))
    path = write(tmp_path, f"# users\n\nalice:{alice}\n   \n  # ops\r\nbøb:{bob}\r\n")
    users = PasswordFile.load(path)
    assert len(users) == 2
    assert "alice" in users and "bøb" in users and "Alice" not in users
    assert users.check("alice", "alicealice")
    assert users.check("bøb", "bøbbøb")
    assert not users.check("alice", "bøbbøb")
    assert not users.check("Alice", "alicealice")  # user names are case-sensitive
    assert not users.check("nobody", "alicealice")
    assert users.accepts_any is False


def test_empty_file_has_no_users(tmp_path: Path) -> None:
    users = PasswordFile.load(write(tmp_path, "# nobody yet\n"))
    assert len(users) == 0
    assert not users.check("alice", "")


def test_the_username_ends_at_the_first_colon() -> None:
    encoded = hash_password("pw", cost=CHEAP)
    users = PasswordFile.parse(f"alice:{encoded}")
    assert "alice" in users
    with pytest.raises(AccountError, match=r"^<string>:1: not a hash"):
        PasswordFile.parse(f"alice:x:{encoded}")


H = hash_password("pw", cost=CHEAP)

BAD_FILES = [
    (f"alice:{H}\nalice:{H}\n", 2, "user 'alice' appears again (first on line 1)"),
    (f"# c\n\nalice{H}\n", 3, "no ':' between the user name and the hash"),
    (f"alice:{H}\nbob:\n", 2, "no hash after the user name"),
    (f":{H}\n", 1, "empty user name"),
    (f"al ice:{H}\n", 1, "cannot contain spaces or control characters"),
    (f"al\x07ice:{H}\n", 1, "cannot contain spaces or control characters"),
    (f"alice:{H}\nbob:secret\n", 2, "not a hash of the form"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD_FILES)
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AccountError) as raised:
        PasswordFile.load(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert reason in message
    assert "\n" not in message
    assert H not in message and H.split("$")[-1] not in message and "secret" not in message


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_bytes(b"# one\n# two\nb\xf6b:" + H.encode() + b"\n")
    with pytest.raises(AccountError, match=r":3: not UTF-8 text$"):
        PasswordFile.load(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.txt"
    with pytest.raises(AccountError) as raised:
        PasswordFile.load(path)
    assert str(raised.value) == f"cannot read the password file {path}: No such file or directory"


def test_unknown_user_costs_one_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same work for a user who does not exist: timing must not tell them apart."""
    users = PasswordFile.parse("alice:" + hash_password("pw", cost=6))
    calls: list[dict[str, Any]] = []
    real = hashlib.scrypt

    def counting(password: bytes, **kwargs: Any) -> bytes:
        calls.append(kwargs)
        return real(password, **kwargs)

    monkeypatch.setattr(accounts.hashlib, "scrypt", counting)
    assert not users.check("mallory", "pw")
    assert not users.check("alice", "wrong")
    assert len(calls) == 2
    unknown, known = calls
    assert (unknown["n"], unknown["r"], unknown["p"]) == (known["n"], known["r"], known["p"])
    assert unknown["n"] == 2**6 and unknown["dklen"] == known["dklen"] == 32


def test_password_file_is_immutable() -> None:
    users = PasswordFile.parse("alice:" + H)
    with pytest.raises(AttributeError):
        users.source = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        users._users["mallory"] = users._users["alice"]  # type: ignore[index]


def test_load_accounts(tmp_path: Path) -> None:
    assert load_accounts("none") is None
    anyone = load_accounts("any")
    assert isinstance(anyone, AcceptAny)
    assert anyone.accepts_any
    assert anyone.check("whoever", "") and anyone.check("", "anything")
    path = write(tmp_path, f"alice:{H}\n")
    users = load_accounts(str(path))
    assert isinstance(users, PasswordFile)
    assert not users.accepts_any
    assert users.check("alice", "pw") and not users.check("alice", "none")


def test_load_accounts_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match=r"absent\.txt: No such file or directory$"):
        load_accounts(str(tmp_path / "absent.txt"))


def test_load_accounts_unreadable(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match=r"cannot read the password file .*: Is a directory$"):
        load_accounts(str(tmp_path))
