"""Recipient policy and chaos on a live `postier serve`, through smtplib, swaks and a raw
socket: refusals as often as asked (over 1,000 attempts, within four standard deviations),
repeatable with a seed, greylisting that lets a retry through after its delay and not
before, a change through `PUT /api/v1/chaos` for the very next command, a hang-up in the
middle of DATA that stores nothing, and `--accept`/`--reject`."""

from __future__ import annotations

import json
import math
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.support.mailboxes import mbox_messages
from tests.support.server import ServerProcess
from tests.support.smtp import RawClient
from tests.support.tools import require_tool
from tests.web.test_serve import api_url

ATTEMPTS = 1000


def within_bounds(refused: int, attempts: int, percent: int) -> bool:
    p = percent / 100
    sigma = math.sqrt(p * (1 - p) / attempts)
    return abs(refused / attempts - p) <= 4 * sigma


def client(server: ServerProcess) -> smtplib.SMTP:
    smtp = smtplib.SMTP(server.host, server.port, timeout=10)
    smtp.ehlo("client.test")
    return smtp


def recipient_codes(server: ServerProcess, attempts: int) -> list[int]:
    """One RCPT an attempt, each in its own transaction (so none hits the 100 limit)."""
    codes = []
    with client(server) as smtp:
        for number in range(attempts):
            assert smtp.mail("a@b.test")[0] == 250
            codes.append(smtp.rcpt(f"r{number}@d.test")[0])
            smtp.rset()
    return codes


def sender_codes(server: ServerProcess, attempts: int) -> list[int]:
    codes = []
    with client(server) as smtp:
        for _ in range(attempts):
            code = smtp.mail("a@b.test")[0]
            codes.append(code)
            if code == 250:
                smtp.rset()
    return codes


def put_chaos(url: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        f"{url}/api/v1/chaos", data=json.dumps(body).encode(), method="PUT"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


# --- how often, and repeatably ---------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "codes_of"),
    [("recipient=550:30", recipient_codes), ("sender=451:30", sender_codes)],
    ids=["recipient", "sender"],
)
def test_refusals_as_often_as_asked(
    start_server: StartServer, trigger: str, codes_of: object
) -> None:
    server = start_server("--chaos", trigger, "--chaos-seed", "16")
    assert callable(codes_of)
    codes = Counter(codes_of(server, ATTEMPTS))
    code = int(trigger.split("=")[1].split(":", maxsplit=1)[0])
    assert set(codes) == {250, code}
    assert within_bounds(codes[code], ATTEMPTS, 30), codes
    # Every chaotic reply is logged as chaos, and only those.
    server.wait_for_log(rf"chaos \({trigger}\)", count=codes[code])
    assert server.log_text().count(f"chaos ({trigger})") == codes[code]


def test_a_seed_repeats_the_run(start_server: StartServer, tmp_path: Path) -> None:
    runs = []
    for name in ("one", "two"):
        server = start_server(
            "--chaos", "recipient=452:50", "--chaos-seed", "99", store=tmp_path / name
        )
        runs.append(recipient_codes(server, 200))
        server.stop()
    other = start_server(
        "--chaos", "recipient=452:50", "--chaos-seed", "100", store=tmp_path / "three"
    )
    assert runs[0] == runs[1]
    assert recipient_codes(other, 200) != runs[0]
    assert 452 in runs[0] and 250 in runs[0]


def test_data_refused_by_chaos_is_never_stored(start_server: StartServer) -> None:
    attempts = 300
    server = start_server("--chaos", "data=451:30", "--chaos-seed", "5", "--no-fsync")
    stored = refused = 0
    with client(server) as smtp:
        for number in range(attempts):
            try:
                smtp.sendmail("a@b.test", ["c@d.test"], f"Subject: {number}\r\n\r\nx\r\n")
            except smtplib.SMTPDataError as error:
                assert error.smtp_code == 451
                assert b"chaos" in error.smtp_error
                refused += 1
            else:
                stored += 1
    assert within_bounds(refused, attempts, 30)
    kept = mbox_messages(server.store, "c@d.test")
    assert len(kept) == stored == attempts - refused
    subjects = {m.split(b"Subject: ")[1].split(b"\n")[0] for m in kept}
    assert len(subjects) == stored  # none twice, and none of those refused


# --- greylisting ---------------------------------------------------------------------


def test_greylisting_lets_a_retry_through_after_the_delay_not_before(
    start_server: StartServer,
) -> None:
    server = start_server("--chaos", "greylist=1")
    with client(server) as smtp:
        smtp.mail("a@b.test")
        first = time.monotonic()
        code, text = smtp.rcpt("c@d.test")
        assert (code, text[:5]) == (451, b"4.7.1")
        code, _ = smtp.rcpt("c@d.test")  # at once: too early
        assert code == 451
        assert smtp.rcpt("e@d.test")[0] == 451  # another triple starts its own clock
    time.sleep(max(0.0, first + 1.05 - time.monotonic()))
    with client(server) as smtp:  # a new connection, as a real retry comes
        smtp.sendmail("a@b.test", ["c@d.test"], "Subject: retry\r\n\r\nat last\r\n")
        assert smtp.mail("x@b.test")[0] == 250
        assert smtp.rcpt("c@d.test")[0] == 451  # another sender: its own triple
    assert len(mbox_messages(server.store, "c@d.test")) == 1
    assert "chaos (greylist=1)" in server.log_text()


# --- changed at run time ----------------------------------------------------------------


def test_put_takes_effect_for_the_next_command(start_server: StartServer) -> None:
    server = start_server("--http-port", "0")
    url = api_url(server)
    with client(server) as smtp:
        assert smtp.mail("a@b.test")[0] == 250
        assert smtp.rcpt("c@d.test")[0] == 250
        body = put_chaos(url, {"Recipient": {"ErrorCode": 550, "Probability": 100}})
        assert body["Recipient"] == {"ErrorCode": 550, "Probability": 100}
        assert smtp.rcpt("e@d.test")[0] == 550  # same connection, same transaction
        put_chaos(url, {"Sender": {"ErrorCode": 421, "Probability": 100}})  # Recipient reset
        assert smtp.rcpt("f@d.test")[0] == 250
        smtp.rset()
        assert smtp.mail("a@b.test")[0] == 421
        put_chaos(url, {})
        assert smtp.mail("a@b.test")[0] == 250
    with urllib.request.urlopen(f"{url}/api/v1/chaos", timeout=10) as response:
        assert json.loads(response.read())["Sender"] == {"ErrorCode": 451, "Probability": 0}


def test_with_workers_the_api_refuses_a_change(start_server: StartServer) -> None:
    server = start_server("--workers", "2", "--http-port", "0", "--chaos", "recipient=550:5")
    url = api_url(server)
    with urllib.request.urlopen(f"{url}/api/v1/chaos", timeout=10) as response:
        assert json.loads(response.read())["Recipient"]["Probability"] == 5
    with pytest.raises(urllib.error.HTTPError) as refused:
        put_chaos(url, {})
    assert refused.value.code == 400
    assert "--workers" in json.loads(refused.value.read())["Error"]
    refused.value.close()


# --- hanging up, answering late, refusing logins -------------------------------------


def test_a_hang_up_in_the_middle_of_data_stores_nothing(start_server: StartServer) -> None:
    server = start_server("--chaos", "disconnect=100", "--explain")
    with RawClient(server.address) as raw:
        raw.reply()
        for line in ("EHLO client.test", "MAIL FROM:<a@b.test>", "RCPT TO:<c@d.test>"):
            assert raw.command(line).code == 250
        assert raw.command("DATA").code == 354
        raw.send(b"Subject: lost\r\n\r\nfirst line\r\n")
        assert raw.closed_by_server()
    with pytest.raises(smtplib.SMTPServerDisconnected), client(server) as smtp:
        smtp.sendmail("a@b.test", ["c@d.test"], "Subject: lost too\r\n\r\nx\r\n")
    server.wait_for_log(r"chaos \(disconnect=100\)", count=2)
    assert not (server.store / "c@d.test.mbox").exists() or not mbox_messages(
        server.store, "c@d.test"
    )
    log = server.log_text()
    assert "chaos: dropped in the middle of DATA" in log
    assert "chaos: the server hung up in the middle of the message" in log  # --explain


def test_every_reply_late_without_holding_up_the_others(start_server: StartServer) -> None:
    server = start_server("--chaos", "delay=0.6")
    started = time.monotonic()
    sockets = [socket.create_connection(server.address, timeout=10) for _ in range(4)]
    try:
        greetings = [s.recv(1024) for s in sockets]
        elapsed = time.monotonic() - started
    finally:
        for s in sockets:
            s.close()
    assert all(g.startswith(b"220 ") for g in greetings)
    assert 0.6 <= elapsed < 1.5  # late, all at once: one timer each, no loop held
    with client(server) as smtp:
        before = time.monotonic()
        assert smtp.noop()[0] == 250
        assert time.monotonic() - before >= 0.6
        smtp.sendmail("a@b.test", ["c@d.test"], "Subject: late\r\n\r\nstill kept\r\n")
    assert len(mbox_messages(server.store, "c@d.test")) == 1


def test_a_pipelined_flood_answered_late_is_answered_in_full(start_server: StartServer) -> None:
    # More replies than the late writer holds: reading stops, then goes on as they leave.
    count = 10_000
    server = start_server("--chaos", "delay=0.2")
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(b"EHLO client.test\r\n" + b"NOOP\r\n" * count + b"QUIT\r\n")
        received = bytearray()
        deadline = time.monotonic() + 30
        while not received.endswith(b"closing connection, bye\r\n"):
            assert time.monotonic() < deadline, f"{received.count(b'250 2.0.0 Ok')} replies"
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert received.count(b"250 2.0.0 Ok\r\n") == count
    assert received.startswith(b"220 ") and received.endswith(b"closing connection, bye\r\n")


def test_a_login_refused_by_chaos(start_server: StartServer) -> None:
    server = start_server("--auth", "any", "--auth-insecure", "--chaos", "authentication=454:100")
    with client(server) as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        smtp.login("user", "secret")
    assert refused.value.smtp_code == 454
    server.wait_for_log(r"chaos \(authentication=454:100\)")


def test_the_teaching_view_says_chaos(start_server: StartServer) -> None:
    server = start_server("--chaos", "recipient=550:100", "--explain", "--lang", "en")
    with client(server) as smtp:
        smtp.mail("a@b.test")
        assert smtp.rcpt("c@d.test")[0] == 550
    server.wait_for_log(r"chaos \(recipient=550:100\): that failure is on purpose")


# --- --accept and --reject -------------------------------------------------------------


def test_accept_and_reject(start_server: StartServer) -> None:
    server = start_server("--accept", r".*@example\.com", "--accept", "postmaster@.*",
                          "--reject", "bounce.*@.*")  # fmt: skip
    with client(server) as smtp:
        smtp.mail("a@b.test")
        codes = {
            address: smtp.rcpt(address)
            for address in (
                "bob@example.com", "Bob@EXAMPLE.com", "bob@example.com.evil.test",
                "postmaster@other.test", "bounce-7@example.com", "bob@other.test",
            )
        }  # fmt: skip
        assert smtp.data(b"Subject: policy\r\n\r\nx\r\n")[0] == 250
    assert {a: c for a, (c, _) in codes.items()} == {
        "bob@example.com": 250,
        "Bob@EXAMPLE.com": 250,
        "bob@example.com.evil.test": 550,
        "postmaster@other.test": 250,
        "bounce-7@example.com": 550,
        "bob@other.test": 550,
    }
    assert codes["bob@other.test"][1] == b"5.1.1 Error: no mailbox here for <bob@other.test>"
    assert len(mbox_messages(server.store, "bob@example.com")) == 1  # both spellings: one copy
    assert not (server.store / "bob@other.test.mbox").exists()


@pytest.mark.interop
def test_swaks_hears_the_policy(start_server: StartServer) -> None:
    server = start_server("--reject", r".*@blocked\.test")
    swaks = require_tool("swaks", "swaks")
    command = [swaks, "--server", server.host, "--port", str(server.port),
               "--from", "a@b.test", "--timeout", "10"]  # fmt: skip
    refused = subprocess.run(
        [*command, "--to", "x@blocked.test"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "<** 550 5.1.1 Error: no mailbox here for <x@blocked.test>" in refused.stdout
    taken = subprocess.run(
        [*command, "--to", "x@open.test"], capture_output=True, text=True, timeout=60, check=False
    )
    assert taken.returncode == 0, taken.stdout
    assert len(mbox_messages(server.store, "x@open.test")) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--accept", "("], "--accept: not a regular expression: '('"),
        (["--reject", "[a-"], "--reject: not a regular expression"),
        (["--chaos", "sender=200:1"], "--chaos: 'sender=200:1': error code must be"),
        (["--chaos", "typo=1"], "no such chaos trigger"),
    ],
)
def test_a_bad_option_is_one_line_and_a_failure(args: list[str], says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "postier", "serve", "--no-http", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
