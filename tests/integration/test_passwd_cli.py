"""`postier passwd USER` as a user runs it: piped or typed passwords, one line out, errors."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time

import pytest

from postier.cli import main
from postier.server.accounts import verify_password

# USER:HASH and a newline, the hash with the default parameters, a 16-byte salt and a
# 32-byte key (22 and 43 base64 characters without padding).
LINE = re.compile(
    r"(?P<user>[^:]+):"
    r"(?P<hash>\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43})\n"
)


def passwd(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSTIER_")}
    return subprocess.run(
        [sys.executable, "-m", "postier", "passwd", *args],
        input=stdin,
        capture_output=True,
        timeout=20,
        env=clean,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[bytes], needle: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith("postier: passwd: "), stderr
    assert needle in stderr, stderr


def test_piped_password_gives_a_line_that_verifies() -> None:
    result = passwd("alice", stdin=b"s3cret pass\nrest is ignored\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    match = LINE.fullmatch(result.stdout.decode())
    assert match, result.stdout
    assert match["user"] == "alice"
    assert verify_password("s3cret pass", match["hash"])
    assert not verify_password("s3cret pass\n", match["hash"])


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_line_ending_is_removed_and_utf8_kept(ending: bytes) -> None:
    result = passwd("bøb", stdin="pässwörd".encode() + ending)
    assert result.returncode == 0, result.stderr
    user, encoded = result.stdout.decode("utf-8").rstrip("\n").split(":", 1)
    assert user == "bøb"
    assert verify_password("pässwörd", encoded)


def test_a_new_salt_each_time() -> None:
    first, second = (passwd("alice", stdin=b"pw\n").stdout for _ in range(2))
    assert first != second


@pytest.mark.parametrize(
    ("user", "stdin", "needle"),
    [
        ("", b"pw\n", "empty user name"),
        ("al:ice", b"pw\n", "cannot contain ':'"),
        ("al ice", b"pw\n", "spaces or control characters"),
        ("al\tice", b"pw\n", "spaces or control characters"),
        ("al\x1bice", b"pw\n", "spaces or control characters"),
        ("alice", b"", "no password on standard input"),
        ("alice", b"\n", "empty password"),
        ("alice", b"\r\nsecond line\n", "empty password"),
        ("alice", b"a\0b\n", "cannot contain NUL"),
        ("alice", b"\xff\xfe\n", "not UTF-8"),
    ],
)
def test_bad_input(user: str, stdin: bytes, needle: str) -> None:
    one_line_error(passwd(user, stdin=stdin), needle)


def test_no_user_is_a_usage_error() -> None:
    result = passwd(stdin=b"pw\n")
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"postier: passwd: the following arguments are required: USER" in result.stderr


def test_help_says_how_to_use_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "postier", "passwd", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 0
    assert "postier passwd alice >> users.txt" in result.stdout
    assert "postier serve --auth users.txt" in result.stdout
    assert "salted scrypt" in result.stdout


class Terminal:
    """A `postier passwd` whose standard input is a terminal, as when a person types."""

    def __init__(self, user: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "postier", "passwd", user],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            # Make the terminal the controlling one: getpass talks to /dev/tty. (The
            # child only makes one system call before exec, safe even with threads.)
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
        )
        os.close(slave)
        self.screen = b""

    def answer(self, prompt: bytes, text: bytes) -> None:
        """Wait for `prompt`, then type `text`: typed earlier, getpass would flush it."""
        deadline = time.monotonic() + 20
        while not self.screen.endswith(prompt):
            assert time.monotonic() < deadline, self.screen
            if select.select([self.master], [], [], 0.1)[0]:
                self.screen += os.read(self.master, 1024)
        os.write(self.master, text)

    def finish(self) -> tuple[int, bytes, bytes]:
        stdout, stderr = self.process.communicate(timeout=20)
        os.close(self.master)
        return self.process.returncode, stdout, stderr


def test_terminal_asks_twice() -> None:
    terminal = Terminal("alice")
    terminal.answer(b"Password: ", b"typed secret\n")
    terminal.answer(b"Again: ", b"typed secret\n")
    status, stdout, stderr = terminal.finish()
    assert status == 0, stderr
    match = LINE.fullmatch(stdout.decode())
    assert match and verify_password("typed secret", match["hash"])
    assert b"typed secret" not in terminal.screen  # no echo


def test_terminal_mismatch_fails() -> None:
    terminal = Terminal("alice")
    terminal.answer(b"Password: ", b"one\n")
    terminal.answer(b"Again: ", b"two\n")
    status, stdout, stderr = terminal.finish()
    assert (status, stdout) == (2, b"")
    assert stderr == b"postier: passwd: the passwords do not match\n"


class FakeTty:
    """Standard input that says it is a terminal; getpass is replaced, so never read."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("typed", "status", "error"),
    [
        (["pw", "pw"], 0, ""),
        (["pw", "pW"], 2, "postier: passwd: the passwords do not match\n"),
        (["", ""], 2, "postier: passwd: empty password\n"),
        ([], 2, "postier: passwd: no password given\n"),  # end of input at the prompt
        (["pw"], 2, "postier: passwd: no password given\n"),
    ],
)
def test_prompts_in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    typed: list[str],
    status: int,
    error: str,
) -> None:
    answers = iter(typed)
    prompts: list[str] = []

    def fake_getpass(prompt: str = "Password: ") -> str:
        prompts.append(prompt)
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("sys.stdin", FakeTty())
    assert main(["passwd", "carol"]) == status
    out, err = capsys.readouterr()
    assert err == error
    if status == 0:
        assert prompts == ["Password: ", "Again: "]
        user, encoded = out.rstrip("\n").split(":", 1)
        assert user == "carol" and verify_password("pw", encoded)
    else:
        assert out == ""
