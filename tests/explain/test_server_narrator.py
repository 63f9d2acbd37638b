"""A scripted conversation told in each language: the parts in their order, the wire
lines verbatim, the lesson of each refusal, the mailbox, and never a password."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

import pytest

from postier.explain.explainer import CATALOGUES
from postier.explain.narration import Narration
from postier.explain.parts import LABELS, Part
from postier.explain.printer import TerminalPrinter
from postier.explain.server_narrator import SHOWN_DATA_LINES, ServerNarrator
from postier.protocol.smtp import (
    NEED_DATA,
    CredentialsReceived,
    MessageComplete,
    ServerConfig,
    ServerConnection,
    catalogue,
)
from postier.server.context import EndReason
from postier.store.naming import mailbox_paths

PASSWORD = "s3cr3t-Passw0rd"
LESSON = (
    b"EHLO client.test\r\n"
    b"RCPT TO:<bob@exemple.fr>\r\n"  # 503: the sender comes first
    b"MAIL FROM alice@exemple.fr\r\n"  # 501: the form is MAIL FROM:<address>
    b"NOOP\n"  # a bare LF, as nc sends it
    b"MAIL FROM:<alice@exemple.fr>\r\n"
    b"RCPT TO:<bob@exemple.fr>\r\n"
    b"DATA\r\n"
    b"Subject: bonjour\r\n\r\n" + b"".join(b"line %d\r\n" % n for n in range(20)) + b".\r\n"
    b"QUIT\r\n"
)


class Conversation:
    """A core, its narrator and what the narrator told, driven as the session drives them."""

    def __init__(self, language: str, **config: object) -> None:
        self.told: list[Narration] = []
        self.narrator = ServerNarrator(
            1,
            CATALOGUES[language],
            self.told.append,
            line_limit=512,  # type: ignore[index]
            mailbox_paths=functools.partial(mailbox_paths, Path("store"), "mbox"),
        )
        self.conn = ServerConnection(ServerConfig(hostname="mx.test", **config),  # type: ignore[arg-type]
                                     observer=self.narrator)  # fmt: skip
        self.narrator.accepted("[127.0.0.1]:40000", 2525, 1)
        self.wire = self.conn.data_to_send()

    def feed(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while True:
            event = self.conn.next_event()
            if event is NEED_DATA or not hasattr(event, "__dataclass_fields__"):
                break
            self.narrator.event(event)
            if isinstance(event, MessageComplete):
                self.narrator.stored(event.recipients, event.size, "QUEUEID")
                self.conn.answer_message(catalogue.stored("QUEUEID"))
            elif isinstance(event, CredentialsReceived):
                self.conn.answer_auth(True)
        self.wire += self.conn.data_to_send()

    def parts(self) -> list[Part]:
        return [step.part for step in self.told]

    def text(self) -> str:
        return "\n".join(f"{step.wire} {step.text}" for step in self.told)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_lesson_is_told_part_by_part(language: str) -> None:
    talk = Conversation(language)
    talk.feed(LESSON)
    talk.narrator.ended(EndReason.QUIT)
    parts = talk.parts()
    # Every part of the server speaks, the listener first and the terminus last.
    assert parts[0] is Part.LISTENER
    assert parts[-1] is Part.TERMINUS
    assert {Part.LISTENER, Part.UNDERSTAND, Part.PROCESS, Part.SEND, Part.BRAIN,
            Part.INTERMEDIARY, Part.TERMINUS} <= set(parts)  # fmt: skip
    # Each reply the client got is told verbatim, in the order it went out.
    sent = [s.wire[3:] for s in talk.told if s.wire.startswith("S: ")]
    assert sent == talk.wire.decode().split("\r\n")[:-1]
    # Each command line is told as the client typed it.
    said = [s.wire[3:] for s in talk.told if s.wire.startswith("C: ") and s.part is Part.UNDERSTAND]
    assert said == [
        "EHLO client.test", "RCPT TO:<bob@exemple.fr>", "MAIL FROM alice@exemple.fr", "NOOP",
        "MAIL FROM:<alice@exemple.fr>", "RCPT TO:<bob@exemple.fr>", "DATA", "QUIT",
    ]  # fmt: skip
    # The message: its first lines, then a count, never all of it.
    lines = [s for s in talk.told if s.part is Part.PROCESS and s.wire.startswith("C: ")]
    assert len(lines) == SHOWN_DATA_LINES
    assert lines[0].wire == "C: Subject: bonjour"
    assert "17" in talk.text()  # 22 lines, 5 shown
    # The intermediary names the file before the 250 is sent.
    kept = next(i for i, s in enumerate(talk.told) if "bob@exemple.fr.mbox" in s.text)
    ok = next(i for i, s in enumerate(talk.told) if s.wire.startswith("S: 250 2.0.0 Ok: stored"))
    assert kept < ok


@pytest.mark.parametrize(
    ("language", "lessons"),
    [
        ("fr", ["l'expéditeur doit venir d'abord, MAIL FROM:<...> ; RFC 5321 §4.1.4",
                "MAIL FROM:<adresse>", "RFC 5321 §4.1.1.2", "nc -C"]),
        ("en", ["the sender must come first, MAIL FROM:<...>; RFC 5321 §4.1.4",
                "MAIL FROM:<address>", "RFC 5321 §4.1.1.2", "nc -C"]),
    ],
)  # fmt: skip
def test_refusals_teach_what_to_send_instead(language: str, lessons: list[str]) -> None:
    talk = Conversation(language)
    talk.feed(LESSON)
    text = talk.text()
    for lesson in lessons:
        assert lesson in text
    # The bare LF is pointed out once, not at every line.
    assert text.count("nc -C") == 1


def test_the_bare_lf_lesson_comes_right_after_the_line() -> None:
    talk = Conversation("en")
    talk.feed(b"EHLO a\r\nNOOP\nNOOP\n")
    index = next(i for i, s in enumerate(talk.told) if s.wire == "C: NOOP")
    assert "nc -C" in talk.told[index + 1].text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_password_is_ever_told(language: str) -> None:
    talk = Conversation(language, auth_mechanisms=("PLAIN", "LOGIN"), auth_insecure=True)
    plain = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    login_user = base64.b64encode(b"alice").decode()
    login_password = base64.b64encode(PASSWORD.encode()).decode()
    talk.feed(f"EHLO a\r\nAUTH PLAIN {plain}\r\n".encode())
    talk.conn = ServerConnection(
        ServerConfig(auth_mechanisms=("LOGIN",), auth_insecure=True), observer=talk.narrator
    )
    talk.feed(f"EHLO a\r\nAUTH LOGIN\r\n{login_user}\r\n{login_password}\r\n".encode())
    text = talk.text()
    for secret in (PASSWORD, plain, login_password):
        assert secret not in text
    assert "AUTH PLAIN ****" in text
    assert text.count("C: ****") == 2  # LOGIN's two answers, hidden


def test_a_line_over_the_limit_is_told_without_its_text() -> None:
    talk = Conversation("en")
    talk.feed(b"EHLO a\r\nNOOP " + b"x" * 600 + b"\r\n")
    assert "xxxx" not in talk.text()
    assert "512" in talk.text()


def test_the_greeting_waits_for_the_listener_and_a_refusal_drops_it() -> None:
    told: list[Narration] = []
    narrator = ServerNarrator(7, CATALOGUES["en"], told.append, line_limit=512)
    conn = ServerConnection(ServerConfig(), observer=narrator)
    assert told == []  # the greeting is held until the listener speaks
    narrator.refused("[::1]:1", "too many connections")
    conn.refuse_connection(catalogue.too_many_connections("mx.test"))
    assert [s.part for s in told] == [Part.LISTENER, Part.PROCESS, Part.SEND]
    assert [s.wire[:6] for s in told if s.wire] == ["S: 421"]
    assert all(s.session == 7 for s in told)


def test_unoffered_commands_are_not_suggested() -> None:
    told: list[Narration] = []
    narrator = ServerNarrator(1, CATALOGUES["en"], told.append, line_limit=512,
                              unoffered=frozenset({"STARTTLS", "AUTH"}))  # fmt: skip
    narrator.accepted("peer", 25, 1)
    conn = ServerConnection(ServerConfig(), observer=narrator)
    conn.receive_data(b"EHLO a\r\n")
    conn.next_event()
    waits = [s.text for s in told if s.part is Part.BRAIN]
    assert waits and "MAIL" in waits[0]
    assert "STARTTLS" not in waits[0] and "AUTH" not in waits[0]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_printer_starts_each_line_with_the_label_in_brackets(language: str) -> None:
    import io

    stream = io.StringIO()
    printer = TerminalPrinter(language, stream)  # type: ignore[arg-type]
    talk = Conversation(language)
    for step in talk.told:
        printer(step)
    talk.told.clear()
    talk.feed(LESSON)
    for step in talk.told:
        printer(step)
    labels = {f"[{label}]" for label in LABELS[language].values()}  # type: ignore[index]
    for line in stream.getvalue().splitlines():
        assert line.split()[0] in labels, line
    assert f"[{LABELS[language][Part.INTERMEDIARY]}]" in stream.getvalue()  # type: ignore[index]
