"""Who may log in (RFC 4954 SMTP AUTH): nobody, anybody, or the users of a password file.

A password file holds one `user:hash` line per account, the hash a salted scrypt
(RFC 7914) in the modular-crypt shape that passlib also writes and reads:

    alice:$scrypt$ln=15,r=8,p=1$<salt>$<hash>

(salt and hash in standard base64 without padding; ln is log2 of scrypt's N).
Each line carries its own parameters, so the default cost can be raised later
while the lines written before keep working.

Checking a password is slow on purpose, so that a stolen file is slow to attack:
with the default ln=15, r=8, p=1 (32 MiB) one `check()` took 94-124 ms, median
109 ms over 20 runs, on the machine this was written on (2-core AMD EPYC, Python
3.11.7, OpenSSL's scrypt; ln=14 took about 55 ms, ln=16 about 210 ms). The server
must therefore call `check()` on a thread, never on the event loop; hashlib releases
the GIL while scrypt runs, so other sessions carry on meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, Protocol

DEFAULT_COST = 15  # log2 of scrypt's N
BLOCK_SIZE = 8  # scrypt's r
PARALLELISM = 1  # scrypt's p
SALT_SIZE = 16
HASH_SIZE = 32

# A line of the file may ask for any cost; past these limits a single login attempt
# could take the server's memory or minutes of CPU, so such a line is refused at load.
_MAX_MEMORY = 256 * 1024 * 1024
_MAX_PARALLELISM = 16

_ENCODED = re.compile(
    r"\$scrypt\$ln=(?P<ln>[0-9]{1,2}),r=(?P<r>[0-9]{1,3}),p=(?P<p>[0-9]{1,3})"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<hash>[A-Za-z0-9+/]+)"
)


class AccountError(ValueError):
    """An account file or hash that cannot be used; the message is one line for the user
    and never contains a password or a hash."""


class Accounts(Protocol):
    """What the server asks of its accounts when a client authenticates."""

    @property
    def accepts_any(self) -> bool:
        """True when any user name and password are let in (for testing applications)."""
        ...

    def check(self, username: str, password: str) -> bool:
        """Whether this user exists and this is their password. May be slow: call it
        on a thread."""
        ...


class AcceptAny:
    """Every user name and password is accepted: for developers testing an application
    that logs in, never for a server that others can reach."""

    accepts_any: ClassVar[bool] = True

    def check(self, username: str, password: str) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _Scrypt:
    """One parsed hash: its parameters, salt and derived key."""

    cost: int
    block_size: int
    parallelism: int
    salt: bytes
    digest: bytes

    def derive(self, password: str) -> bytes:
        n = 1 << self.cost
        # OpenSSL needs 128*r*(N + p + 2) bytes; Python's default cap of 32 MiB is
        # exactly the default's need and too little once the overhead is counted.
        maxmem = 128 * self.block_size * (n + self.parallelism + 2) + 1024 * 1024
        return hashlib.scrypt(
            _password_bytes(password),
            salt=self.salt,
            n=n,
            r=self.block_size,
            p=self.parallelism,
            maxmem=maxmem,
            dklen=len(self.digest),
        )

    def matches(self, password: str) -> bool:
        same = hmac.compare_digest(self.derive(password), self.digest)
        # scrypt keys HMAC with the password, and HMAC pads keys with zero bytes: "pw" and
        # "pw\0" would give the same hash. No stored password holds NUL (`hash_password`).
        return same and "\0" not in password

    def encode(self) -> str:
        return (
            f"$scrypt$ln={self.cost},r={self.block_size},p={self.parallelism}"
            f"${_b64(self.salt)}${_b64(self.digest)}"
        )


def _password_bytes(password: str) -> bytes:
    # UTF-8; "surrogatepass" so that a string with a lone surrogate still gives the
    # same bytes when hashed and when checked, instead of an exception mid-login.
    return password.encode("utf-8", "surrogatepass")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _check_parameters(cost: int, block_size: int, parallelism: int) -> None:
    if not 1 <= cost <= 31 or block_size < 1 or not 1 <= parallelism <= _MAX_PARALLELISM:
        raise AccountError(
            f"scrypt parameters out of range (ln={cost}, r={block_size}, p={parallelism})"
        )
    if 128 * block_size * (1 << cost) > _MAX_MEMORY:
        raise AccountError(
            f"scrypt parameters too costly (ln={cost}, r={block_size}, p={parallelism}): "
            f"more than {_MAX_MEMORY // 2**20} MiB per check"
        )


def _parse(encoded: str) -> _Scrypt:
    """The parts of an encoded hash; AccountError (without the hash's text) if malformed."""
    match = _ENCODED.fullmatch(encoded)
    if match is None:
        raise AccountError("not a hash of the form $scrypt$ln=N,r=N,p=N$SALT$HASH")
    cost, block_size, parallelism = (int(match[name]) for name in ("ln", "r", "p"))
    _check_parameters(cost, block_size, parallelism)
    try:
        salt, digest = _unb64(match["salt"]), _unb64(match["hash"])
    except binascii.Error:
        raise AccountError("the salt or hash of the scrypt line is not valid base64") from None
    if not 16 <= len(digest) <= 64:
        raise AccountError(f"the scrypt hash is {len(digest)} bytes; 16 to 64 expected")
    return _Scrypt(cost, block_size, parallelism, salt, digest)


def hash_password(password: str, *, salt: bytes | None = None, cost: int = DEFAULT_COST) -> str:
    """`$scrypt$ln=15,r=8,p=1$SALT$HASH` for `password`, with a fresh random salt unless
    one is given. `cost` (log2 N) is there so tests can hash cheaply; keep the default."""
    _check_parameters(cost, BLOCK_SIZE, PARALLELISM)
    if "\0" in password:
        raise AccountError("a password cannot hold a NUL character")
    salt = os.urandom(SALT_SIZE) if salt is None else salt
    blank = _Scrypt(cost, BLOCK_SIZE, PARALLELISM, salt, bytes(HASH_SIZE))
    return _Scrypt(cost, BLOCK_SIZE, PARALLELISM, salt, blank.derive(password)).encode()


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` gives `encoded` again, with the parameters `encoded` names.

    Raises AccountError when `encoded` is malformed; `PasswordFile` parses its lines
    when it loads, so its `check` never does.
    """
    return _parse(encoded).matches(password)


def check_username(username: str) -> str | None:
    """What is wrong with a user name for the file, or None: it must be non-empty and
    have no ':' (the file's separator), whitespace or control characters (SMTP AUTH
    clients could not send them reliably)."""
    if not username:
        return "empty user name"
    if ":" in username:
        return "a user name cannot contain ':'"
    if any(char.isspace() or not char.isprintable() for char in username):
        return "a user name cannot contain spaces or control characters"
    return None


@dataclass(frozen=True, slots=True)
class PasswordFile:
    """The accounts of a `user:hash` file, parsed once; immutable (reload by loading anew).

    `check` takes as long for an unknown user as for a known one: it runs scrypt
    against a dummy hash, so the time of a reply does not tell which users exist.
    """

    source: str
    _users: Mapping[str, _Scrypt]
    _dummy: _Scrypt

    accepts_any: ClassVar[bool] = False

    @classmethod
    def load(cls, path: Path | str) -> PasswordFile:
        """Read and parse the file; AccountError with a one-line message if it cannot be."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise AccountError(
                f"cannot read the password file {path}: {exc.strerror or exc}"
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise AccountError(f"{path}:{line}: not UTF-8 text") from None
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str = "<string>") -> PasswordFile:
        """The accounts in `text`, the contents of a file; `source` names it in errors."""
        users: dict[str, _Scrypt] = {}
        first_seen: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                username, encoded = _split_line(line)
                if username in users:
                    raise AccountError(
                        f"user {username!r} appears again (first on line {first_seen[username]})"
                    )
                users[username] = _parse(encoded)
                first_seen[username] = number
            except AccountError as exc:
                raise AccountError(f"{source}:{number}: {exc}") from None
        # The dummy costs what a real line costs (the first one's parameters), so an
        # unknown user is not answered faster than a known one.
        model = next(iter(users.values()), None)
        dummy = _Scrypt(
            model.cost if model else DEFAULT_COST,
            model.block_size if model else BLOCK_SIZE,
            model.parallelism if model else PARALLELISM,
            bytes(SALT_SIZE),
            bytes(len(model.digest) if model else HASH_SIZE),
        )
        return cls(source, MappingProxyType(users), dummy)

    def check(self, username: str, password: str) -> bool:
        """Whether `username` (exactly, case-sensitive) has this password.

        Slow on purpose (one scrypt, about 0.1 s): the server runs it on a thread,
        never on the event loop.
        """
        entry = self._users.get(username)
        if entry is None:
            self._dummy.matches(password)  # the same work, the answer thrown away
            return False
        return entry.matches(password)

    def __len__(self) -> int:
        return len(self._users)

    def __contains__(self, username: object) -> bool:
        return username in self._users


def _split_line(line: str) -> tuple[str, str]:
    username, colon, encoded = line.partition(":")
    if not colon:
        raise AccountError("no ':' between the user name and the hash")
    problem = check_username(username)
    if problem:
        raise AccountError(problem)
    if not encoded:
        raise AccountError("no hash after the user name")
    return username, encoded


def load_accounts(spec: str) -> Accounts | None:
    """The accounts `--auth` names: "none" (no AUTH offered), "any" (everyone is let
    in), or the path of a password file."""
    if spec == "none":
        return None
    if spec == "any":
        return AcceptAny()
    return PasswordFile.load(Path(spec))
