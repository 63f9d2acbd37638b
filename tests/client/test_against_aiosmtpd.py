"""`postier send` and the Python API against aiosmtpd, an independent server, over loopback."""

from __future__ import annotations

import asyncio
import io
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from postier import Client, SyncClient
from postier.cli.send import ExitStatus
from postier.client import (
    AuthenticationError,
    Draft,
    RecipientsRefusedError,
    Transcript,
    client_context,
    compose,
)
from tests.client.conftest import RunCli, StartProxy, StartSmtpd
from tests.client.reading import parsed
from tests.client.servers import PASSWORD, USER, RecordingHandler
from tests.support.tls import TlsFiles

BODY = "First line\nFrom me\n.\n..x\n.leading dot\nlast line\n"


def basic(server: str, *extra: str) -> tuple[str, ...]:
    return ("--server", server, "--from", "me@example.com", "--to", "you@example.org", *extra)


def test_a_message_from_the_command_line(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd()
    result = send_cli(*basic(smtpd.server, "--subject", "hello", "--body", "hi there"))
    assert result.status == ExitStatus.OK, result.err
    assert result.err == ""
    assert result.out.startswith("sent to you@example.org: 250 2.0.0 queued")
    (received,) = smtpd.handler.messages
    assert received.sender == "me@example.com"
    assert received.recipients == ["you@example.org"]
    message = parsed(received.content)
    assert message["Subject"] == "hello"
    assert message.get_content() == "hi there\n"
    assert message["Message-ID"] and message["Date"] and message["MIME-Version"] == "1.0"


def test_dots_and_from_lines_arrive_intact(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd()
    result = send_cli(*basic(smtpd.server, "--body", BODY, "--quiet"))
    assert (result.status, result.out, result.err) == (ExitStatus.OK, "", "")
    (received,) = smtpd.handler.messages
    body = received.content.split(b"\r\n\r\n", 1)[1]
    assert body == BODY.replace("\n", "\r\n").encode()


def test_the_body_from_standard_input(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd()
    result = send_cli(*basic(smtpd.server), stdin=BODY.encode())
    assert result.status == ExitStatus.OK, result.err
    (received,) = smtpd.handler.messages
    assert parsed(received.content).get_content() == BODY


def test_attachments_utf8_and_bcc_round_trip(
    start_smtpd: StartSmtpd, send_cli: RunCli, tmp_path: Path
) -> None:
    smtpd = start_smtpd()
    picture = tmp_path / "photo été.png"
    picture.write_bytes(os.urandom(5000))
    html = tmp_path / "page.html"
    html.write_text("<p>Grüße</p>", encoding="utf-8")
    result = send_cli(
        "--server", smtpd.server,
        "--from", "Zoë Dupré <zoe@example.com>",
        "--to", "Jürgen <j@example.org>", "--cc", "c@example.org", "--bcc", "secret@example.net",
        "--subject", "Café ☕ et crème",
        "--body", "Ça marche ? 日本語\n",
        "--html-file", str(html),
        "--attach", str(picture),
        "--header", "X-Test: oui",
    )  # fmt: skip
    assert result.status == ExitStatus.OK, result.err
    (received,) = smtpd.handler.messages
    assert received.recipients == ["j@example.org", "c@example.org", "secret@example.net"]
    assert b"secret@example.net" not in received.content
    assert received.content.isascii()  # RFC 2047 headers, quoted-printable text
    message = parsed(received.content)
    assert message["Subject"] == "Café ☕ et crème"
    assert message["From"].addresses[0].display_name == "Zoë Dupré"
    assert message["X-Test"] == "oui"
    text = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text is not None and html_part is not None
    assert text.get_content() == "Ça marche ? 日本語\n"
    assert "Grüße" in html_part.get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "photo été.png"
    assert attachment.get_content_type() == "image/png"
    assert attachment.get_content() == picture.read_bytes()


def test_utf8_addresses_use_smtputf8(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd()
    result = send_cli("--server", smtpd.server, "--from", "zoë@exemple.fr", "--to", "jü@ex.de")
    assert result.status == ExitStatus.OK, result.err
    (received,) = smtpd.handler.messages
    assert received.recipients == ["jü@ex.de"]
    assert "SMTPUTF8" in received.mail_options
    assert "BODY=8BITMIME" in received.mail_options  # RFC 6531 §3.4: UTF-8 headers are 8-bit
    assert "From: zoë@exemple.fr".encode() in received.content


def test_8bit_data_uses_8bitmime(start_smtpd: StartSmtpd, send_cli: RunCli, tmp_path: Path) -> None:
    smtpd = start_smtpd()
    raw = b"From: a@b.c\r\nTo: x@y.z\r\nSubject: raw\r\n\r\nd\xc3\xa9j\xc3\xa0 vu\r\n.\r\n"
    path = tmp_path / "raw.eml"
    path.write_bytes(raw)
    result = send_cli("--server", smtpd.server, "--data", str(path))
    assert result.status == ExitStatus.OK, result.err
    (received,) = smtpd.handler.messages
    assert (received.sender, received.recipients) == ("a@b.c", ["x@y.z"])
    assert "BODY=8BITMIME" in received.mail_options
    assert received.content == raw


def test_starttls_with_a_trusted_certificate(
    start_smtpd: StartSmtpd, send_cli: RunCli, tls_files: TlsFiles
) -> None:
    smtpd = start_smtpd(starttls=True, require_starttls=True)
    args = basic(smtpd.server, "--body", "secret", "--starttls", "--cafile", str(tls_files.ca_pem))
    result = send_cli(*args, "--transcript")
    assert result.status == ExitStatus.OK, result.err
    assert "*: TLS started: TLSv1." in result.out
    assert result.out.count("C: EHLO") == 2  # RFC 3207 §4.2: EHLO again under TLS
    assert len(smtpd.handler.messages) == 1


def test_implicit_tls(start_smtpd: StartSmtpd, send_cli: RunCli, tls_files: TlsFiles) -> None:
    smtpd = start_smtpd(implicit_tls=True)
    args = basic(smtpd.server, "--body", "hi", "--tls", "--cafile", str(tls_files.ca_pem))
    result = send_cli(*args, "--transcript")
    assert result.status == ExitStatus.OK, result.err
    assert "connected to 127.0.0.1" in result.out and " over TLSv1." in result.out
    assert len(smtpd.handler.messages) == 1


@pytest.mark.parametrize("mode", ["--starttls", "--tls"])
def test_a_certificate_that_does_not_verify_is_a_tls_failure(
    start_smtpd: StartSmtpd, send_cli: RunCli, mode: str
) -> None:
    smtpd = start_smtpd(starttls=mode == "--starttls", implicit_tls=mode == "--tls")
    result = send_cli(*basic(smtpd.server, "--body", "hi", mode))
    assert result.status == ExitStatus.TLS
    assert result.err.startswith("postier: TLS certificate of 127.0.0.1 does not verify")
    assert result.err.count("\n") == 1
    assert smtpd.handler.messages == []
    # --insecure says otherwise, explicitly.
    result = send_cli(*basic(smtpd.server, "--body", "hi", mode, "--insecure"))
    assert result.status == ExitStatus.OK, result.err
    assert len(smtpd.handler.messages) == 1


def test_starttls_not_offered_is_never_silently_dropped(
    start_smtpd: StartSmtpd, send_cli: RunCli
) -> None:
    smtpd = start_smtpd()
    result = send_cli(*basic(smtpd.server, "--body", "hi", "--starttls"))
    assert result.status == ExitStatus.TLS
    assert result.err == "postier: 127.0.0.1 does not offer STARTTLS\n"
    assert smtpd.handler.messages == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_auth_mechanisms(start_smtpd: StartSmtpd, send_cli: RunCli, mechanism: str) -> None:
    handler = RecordingHandler()
    smtpd = start_smtpd(handler, auth=True, auth_required=False)
    auth = ("--auth-user", USER, "--auth-password", PASSWORD, "--auth-mechanism", mechanism)
    result = send_cli(*basic(smtpd.server, "--body", "hi", *auth), "--transcript")
    assert result.status == ExitStatus.OK, result.err
    assert f"C: AUTH {mechanism}" in result.out
    assert "S: 235 2.7.0 Authentication successful" in result.out
    assert PASSWORD not in result.out
    assert "czNjcmV0" not in result.out  # no base64 of the password either
    assert "warning" not in result.err  # loopback: no warning about clear text
    assert len(handler.messages) == 1
    assert handler.cram_logins == ([USER.encode()] if mechanism == "CRAM-MD5" else [])


def test_a_wrong_password_is_an_authentication_failure(
    start_smtpd: StartSmtpd, send_cli: RunCli
) -> None:
    smtpd = start_smtpd(auth=True)
    auth = ("--auth-user", USER, "--auth-password", "wrong")
    result = send_cli(*basic(smtpd.server, "--body", "hi", *auth))
    assert result.status == ExitStatus.AUTH
    assert result.err == (
        "postier: authentication failed: 535 5.7.8 Authentication credentials invalid\n"
    )
    assert smtpd.handler.messages == []


def test_auth_that_is_not_offered(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd()  # AUTH only under TLS, which is not on
    result = send_cli(*basic(smtpd.server, "--auth-user", USER, "--auth-password", PASSWORD))
    assert result.status == ExitStatus.AUTH
    assert result.err == "postier: 127.0.0.1 does not offer AUTH\n"


def test_a_refused_sender(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd(RecordingHandler(refuse_sender="me@example.com"))
    result = send_cli(*basic(smtpd.server, "--body", "hi"))
    assert result.status == ExitStatus.REFUSED
    assert result.err == (
        "postier: server refused MAIL FROM:<me@example.com>: 550 5.7.1 sender not welcome\n"
    )


def test_a_refused_recipient(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    handler = RecordingHandler(refuse_recipients={"x@y.z": "550 5.1.1 no such user"})
    smtpd = start_smtpd(handler)
    result = send_cli("--server", smtpd.server, "--from", "a@b.c", "--to", "x@y.z", "--body", "hi")
    assert result.status == ExitStatus.REFUSED
    assert result.err == "postier: server refused RCPT TO:<x@y.z>: 550 5.1.1 no such user\n"
    assert handler.messages == []


def test_some_recipients_refused(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    handler = RecordingHandler(refuse_recipients={"x@y.z": "550 5.1.1 no such user"})
    smtpd = start_smtpd(handler)
    args = ("--server", smtpd.server, "--from", "a@b.c", "--to", "x@y.z", "--to", "ok@y.z")
    result = send_cli(*args, "--body", "hi")
    assert result.status == ExitStatus.PARTIAL
    assert result.err.splitlines() == [
        "postier: server refused RCPT TO:<x@y.z>: 550 5.1.1 no such user",
        "postier: the message went only to ok@y.z: 250 2.0.0 queued",
    ]
    (received,) = handler.messages
    assert received.recipients == ["ok@y.z"]


def test_the_message_refused_after_its_data(start_smtpd: StartSmtpd, send_cli: RunCli) -> None:
    smtpd = start_smtpd(RecordingHandler(data_reply="554 5.6.0 content rejected"))
    result = send_cli(*basic(smtpd.server, "--body", "hi"))
    assert result.status == ExitStatus.REFUSED
    assert result.err == "postier: server refused the message: 554 5.6.0 content rejected\n"


def test_a_message_over_the_servers_size_is_refused_before_sending(
    start_smtpd: StartSmtpd, send_cli: RunCli
) -> None:
    smtpd = start_smtpd(data_size_limit=1000)
    result = send_cli(*basic(smtpd.server, "--body", "x" * 2000, "--transcript"))
    assert result.status == ExitStatus.REFUSED
    assert result.err.startswith("postier: cannot send: message is ")
    assert "the server takes at most 1000 (SIZE)" in result.err
    assert "MAIL FROM" not in result.out  # RFC 1870 §6.1: not even tried
    assert smtpd.handler.messages == []


def test_one_round_trip_per_command_without_pipelining(
    start_smtpd: StartSmtpd, send_cli: RunCli, counting_proxy: StartProxy
) -> None:
    smtpd = start_smtpd()
    proxy = counting_proxy(smtpd.port)
    args = ("--server", f"127.0.0.1:{proxy.port}", "--from", "a@b.c", "--body", "hi")
    result = send_cli(*args, "--to", "x@y.z", "--to", "q@r.s")
    assert result.status == ExitStatus.OK, result.err
    # EHLO, MAIL, RCPT, RCPT, DATA, the message, QUIT.
    assert proxy.round_trips == 7


def test_pipelining_groups_the_envelope_in_one_round_trip(
    start_smtpd: StartSmtpd, send_cli: RunCli, counting_proxy: StartProxy
) -> None:
    smtpd = start_smtpd()

    def offer_pipelining(data: bytes) -> bytes:
        # aiosmtpd reads pipelined commands fine but does not say so: say it for it.
        return data.replace(b"250 HELP\r\n", b"250-PIPELINING\r\n250 HELP\r\n")

    proxy = counting_proxy(smtpd.port, offer_pipelining)
    args = ("--server", f"127.0.0.1:{proxy.port}", "--from", "a@b.c", "--body", "hi")
    result = send_cli(*args, "--to", "x@y.z", "--to", "q@r.s", "--to", "t@u.v")
    assert result.status == ExitStatus.OK, result.err
    # EHLO; MAIL + 3 RCPT + DATA together (RFC 2920); the message; QUIT.
    assert proxy.round_trips == 4
    (received,) = smtpd.handler.messages
    assert received.recipients == ["x@y.z", "q@r.s", "t@u.v"]


def test_the_async_api(start_smtpd: StartSmtpd, tls_files: TlsFiles) -> None:
    handler = RecordingHandler(refuse_recipients={"no@y.z": "550 5.1.1 unknown"})
    smtpd = start_smtpd(handler, starttls=True, auth=True)
    message = compose(Draft("me@example.com", to=["x@y.z", "no@y.z"], subject="api", text=BODY))

    async def main() -> None:
        context = client_context(tls_files.ca_pem)
        async with Client(
            "127.0.0.1", smtpd.port, security="starttls", ssl_context=context, timeout=10
        ) as client:
            assert client.encrypted
            assert client.capabilities.auth_mechanisms >= {"PLAIN", "LOGIN"}
            reply = await client.login(USER, PASSWORD)
            assert reply.code == 235
            result = await client.send_message(message)
            assert not result.ok
            assert list(result.accepted) == ["x@y.z"]
            assert result.refused["no@y.z"].code == 550
            assert result.refused["no@y.z"].enhanced == "5.1.1"
            assert (await client.noop()).code == 250
            with pytest.raises(RecipientsRefusedError) as refused:
                await client.send_message(b"Subject: x\r\n\r\nbody\r\n", "a@b.c", ["no@y.z"])
            assert (refused.value.code, refused.value.enhanced) == (550, "5.1.1")
            assert refused.value.text == "unknown"

    asyncio.run(main())
    (received,) = handler.messages
    assert parsed(received.content).get_content() == BODY


def test_the_sync_api(start_smtpd: StartSmtpd) -> None:
    smtpd = start_smtpd(auth=True)
    message = EmailMessage()
    message["From"] = "me@example.com"
    message["To"] = "x@y.z"
    message.set_content("From me\n")
    with SyncClient("127.0.0.1", smtpd.port, timeout=10) as client:
        with pytest.raises(AuthenticationError) as failed:
            client.login(USER, "wrong", mechanism="LOGIN")
        assert failed.value.code == 535
        client.login(USER, PASSWORD, mechanism="PLAIN")
        result = client.send_message(message)
        assert result.ok
        assert result.reply.text == "queued"
    (received,) = smtpd.handler.messages
    assert b"\r\nFrom me\r\n" in received.content


@pytest.mark.slow
def test_a_20_mb_message(start_smtpd: StartSmtpd, tmp_path: Path) -> None:
    smtpd = start_smtpd()
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(15 * 1024 * 1024))  # 20 MB once in base64
    message = compose(Draft("me@example.com", to=["x@y.z"], text="big", attachments=[blob]))
    shown = io.StringIO()
    with SyncClient("127.0.0.1", smtpd.port, timeout=30, transcript=Transcript(shown)) as client:
        result = client.send_message(message)
    assert result.ok
    (received,) = smtpd.handler.messages
    assert len(received.content) > 20_000_000
    (attachment,) = parsed(received.content).iter_attachments()
    assert attachment.get_content() == blob.read_bytes()
    # The transcript shows the start of the data and a note, not 20 MB.
    lines = shown.getvalue().splitlines()
    assert len(lines) < 150
    notes = [line for line in lines if "more lines of message data not shown" in line]
    assert len(notes) == 1
    assert lines[lines.index(notes[0]) + 1] == "C: ."


def test_bare_lf_lines_go_as_crlf(
    start_smtpd: StartSmtpd, send_cli: RunCli, tmp_path: Path
) -> None:
    smtpd = start_smtpd()
    path = tmp_path / "unix.eml"
    path.write_bytes(b"From: a@b.c\nTo: x@y.z\nSubject: lf\n\nline\n.\n..x\nFrom me\nend")
    result = send_cli("--server", smtpd.server, "--data", str(path))
    assert result.status == ExitStatus.OK, result.err
    (received,) = smtpd.handler.messages
    assert received.content == (
        b"From: a@b.c\r\nTo: x@y.z\r\nSubject: lf\r\n\r\nline\r\n.\r\n..x\r\nFrom me\r\nend\r\n"
    )


def test_utf8_addresses_without_smtputf8_fail_clearly(
    start_smtpd: StartSmtpd, send_cli: RunCli
) -> None:
    smtpd = start_smtpd(enable_SMTPUTF8=False)
    result = send_cli("--server", smtpd.server, "--from", "a@b.c", "--to", "jü@ex.de")
    assert result.status == ExitStatus.REFUSED
    assert result.err == (
        "postier: cannot send: non-ASCII addresses or headers need SMTPUTF8, "
        "which the server does not offer\n"
    )
    assert smtpd.handler.messages == []


def test_8bit_data_without_8bitmime_fails_clearly(
    start_smtpd: StartSmtpd, send_cli: RunCli, tmp_path: Path
) -> None:
    smtpd = start_smtpd(decode_data=True)  # aiosmtpd then offers no 8BITMIME
    path = tmp_path / "raw.eml"
    path.write_bytes(b"From: a@b.c\r\nTo: x@y.z\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n")
    result = send_cli("--server", smtpd.server, "--data", str(path))
    assert result.status == ExitStatus.REFUSED
    assert result.err == (
        "postier: cannot send: message holds 8-bit data and the server does not offer 8BITMIME\n"
    )
    # A composed message stays 7-bit (quoted-printable), so it goes anyway.
    result = send_cli(
        "--server", smtpd.server, "--from", "a@b.c", "--to", "x@y.z", "--body", "déjà"
    )
    assert result.status == ExitStatus.OK, result.err
