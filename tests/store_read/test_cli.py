"""`postier inbox` and `postier read` on stores filled by the store's own `deliver`."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from postier.store.naming import StoreFormat, mailbox_path
from tests.store_read.helpers import (
    PDF,
    WHEN,
    CliRun,
    deliver,
    html_only,
    mbox_bytes,
    plain,
    wire_bytes,
    with_attachments,
)
from tests.support.mailboxes import maildir_messages, mbox_messages

FORMATS = ["mbox", "maildir"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> StoreFormat:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def filled(store: Path, fmt: StoreFormat) -> Path:
    """alice has three messages (text, attachments, HTML only), bob one."""
    deliver(store, fmt, [plain("First"), with_attachments(), html_only()])
    deliver(store, fmt, [plain("For Bob", to="bob@example.org")], ["Bob@Example.org"])
    return store


# -- inbox ---------------------------------------------------------------------------


def test_inbox_lists_each_mailbox(cli: CliRun, filled: Path) -> None:
    result = cli("inbox", "--store", filled)
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["Mailbox", "Messages", "Unread", "Size", "Newest"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["alice@example.org"][1:3] == ["3", "3"]
    assert rows["bob@example.org"][1:3] == ["1", "1"]
    assert rows["alice@example.org"][4] == "2026-11-27"


def test_inbox_json(cli: CliRun, filled: Path, fmt: StoreFormat) -> None:
    result = cli("inbox", "--store", filled, "--json")
    document = sorted(json.loads(result.out), key=lambda row: row["mailbox"])
    assert document[0] == {
        "mailbox": "alice@example.org",
        "count": 3,
        "unread": 3,
        # The messages' sizes, as `read` gives them (trace headers in, mbox quoting out).
        "size": sum(len(raw) for raw in _stored(filled, fmt, "alice@example.org")),
        "newest": document[0]["newest"],
    }
    assert (document[1]["mailbox"], document[1]["count"]) == ("bob@example.org", 1)
    # When the newest message was received, in both formats: the date of the last
    # `From ` line of an mbox, the time in the newest Maildir file's name.
    newest = [datetime.fromisoformat(row["newest"]) for row in document]
    assert newest == [WHEN + timedelta(seconds=2), WHEN]


def test_inbox_puts_the_newest_first(cli: CliRun, store: Path, fmt: StoreFormat) -> None:
    deliver(store, fmt, [plain("old")], ["old@example.org"])
    deliver(store, fmt, [plain("new")], ["new@example.org"], when=WHEN + timedelta(days=1))
    deliver(store, fmt, [plain("mid")], ["mid@example.org"], when=WHEN + timedelta(hours=1))
    rows = [row["mailbox"] for row in json.loads(cli("inbox", "--store", store, "--json").out)]
    # By when each was received, whatever the order they were filed in.
    assert rows == ["new@example.org", "mid@example.org", "old@example.org"]


def test_an_empty_or_missing_store_says_so(cli: CliRun, store: Path) -> None:
    assert (
        cli("inbox", "--store", store).out == f"No mailboxes: the store {store} does not exist.\n"
    )
    assert cli("inbox", "--store", store, "--json").out == "[]\n"
    store.mkdir()
    (store / ".postier").mkdir()  # the server's own directory is no mailbox
    assert cli("inbox", "--store", store).out == f"No mailboxes: the store {store} is empty.\n"


def test_the_store_comes_from_the_environment(
    cli: CliRun, filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTIER_STORE", str(filled))
    assert "alice@example.org" in cli("inbox").out
    assert "First" in cli("read", "alice@example.org").out


def test_a_damaged_mailbox_is_one_error_line(cli: CliRun, filled: Path, fmt: StoreFormat) -> None:
    if fmt == "mbox":
        (filled / "broken@example.org.mbox").write_bytes(b"this is no mbox\n")
    else:
        (filled / "broken@example.org.mbox").write_bytes(b"")  # an empty mbox is fine...
        (filled / "other@example.org.mbox").write_bytes(b"garbage")  # ...this one is not
    result = cli("inbox", "--store", filled)
    assert result.status == 1
    [line] = result.err.splitlines()
    assert line.startswith("postier: damaged or unreadable mailbox ")
    assert "alice@example.org" in result.out
    broken = "broken@example.org" if fmt == "mbox" else "other@example.org"
    result = cli("read", broken, "--store", filled)
    assert result.status == 1
    assert result.err.count("\n") == 1 and result.err.startswith("postier: ")


# -- read: the table -----------------------------------------------------------------


def test_the_table(cli: CliRun, filled: Path) -> None:
    result = cli("read", "ALICE@example.ORG", "--store", filled)
    assert result.status == 0, result.err
    heading, columns, *rows = result.out.splitlines()
    assert heading == "alice@example.org: 3 messages, 3 unread"
    assert columns.split() == ["#", "ID", "N", "Date", "From", "Subject", "Size", "Att"]
    assert [row.split()[:1] + row.split()[2:5] for row in rows] == [
        [str(n), "N", "2026-11-27", "02:23"] for n in (1, 2, 3)
    ]
    assert "First" in rows[0] and rows[0].rstrip().endswith(" 0")
    assert "Invoice" in rows[1] and rows[1].rstrip().endswith(" 2")
    assert "Newsletter" in rows[2]


def test_the_table_as_json(cli: CliRun, filled: Path, fmt: StoreFormat) -> None:
    result = cli("read", "alice@example.org", "--store", filled, "--json")
    document = json.loads(result.out)
    assert [item["index"] for item in document] == [1, 2, 3]
    assert [item["subject"] for item in document] == ["First", "Invoice", "Newsletter"]
    assert document[1]["attachments"] == [
        {"name": "invoice.pdf", "type": "application/pdf", "size": len(PDF)},
        {"name": "notés.txt", "type": "text/plain", "size": len("notes: é\n".encode())},
    ]
    assert document[2]["text"] == "News\n\nRead the news (https://example.com/news)."
    # raw_base64 is the stored message, as an independent reader finds it.
    stored = _stored(filled, fmt, "alice@example.org")
    assert [base64.b64decode(item["raw_base64"]) for item in document] == stored


def test_a_search_as_json_numbers_each_match_in_its_mailbox(cli: CliRun, filled: Path) -> None:
    result = cli("read", "alice@example.org", "--search", "invoice", "--json", "--store", filled)
    assert [(item["index"], item["subject"]) for item in json.loads(result.out)] == [(2, "Invoice")]
    result = cli("read", "--search", "bob", "--json", "--store", filled)
    assert [(item["index"], item["mailbox"]) for item in json.loads(result.out)] == [
        (1, "bob@example.org")
    ]


def test_a_store_that_is_a_file(cli: CliRun, tmp_path: Path) -> None:
    store = tmp_path / "file"
    store.write_text("")
    for command in (["inbox"], ["read", "a@b"]):
        result = cli(*command, "--store", store)
        assert (result.status, result.err) == (
            1,
            f"postier: the store {store} is not a directory\n",
        )


def test_a_missing_mailbox_is_empty(cli: CliRun, filled: Path) -> None:
    assert (
        cli("read", "nobody@example.org", "--store", filled).out
        == "No mail for nobody@example.org.\n"
    )
    assert cli("read", "nobody@example.org", "--store", filled, "--json").out == "[]\n"
    assert cli("read", "nobody@example.org", "--store", filled / "nowhere").status == 0


# -- read: one message ---------------------------------------------------------------


def test_one_message(cli: CliRun, filled: Path) -> None:
    result = cli("read", "alice@example.org", "2", "--store", filled)
    assert result.status == 0, result.err
    assert result.out.splitlines()[:7] == [
        f"Message 2 in alice@example.org (ID {_id(cli, filled, 2)})",
        "From:     Sender <sender@example.com>",
        "To:       alice@example.org",
        "Date:     Fri, 27 Nov 2026 03:23:09 +0100",
        "Subject:  Invoice",
        "",
        "See the attachments.",
    ]
    assert result.out.endswith(
        "Attachments:\n"
        "  1. invoice.pdf  (application/pdf, 2.0K)\n"
        "  2. notés.txt  (text/plain, 10B)\n"
    )


def test_the_last_message_and_its_json(cli: CliRun, filled: Path) -> None:
    result = cli("read", "alice@example.org", "--last", "--store", filled)
    assert "[the HTML part, rendered as text]" in result.out
    assert "Read the news (https://example.com/news)." in result.out
    document = json.loads(
        cli("read", "alice@example.org", "--last", "--json", "--store", filled).out
    )
    assert document["index"] == 3 and document["subject"] == "Newsletter"
    assert document["html"].startswith("<html>")


def test_raw_is_the_stored_message(cli: CliRun, store: Path, fmt: StoreFormat) -> None:
    message = plain("raw", "From the top\n>From quoted\n")
    deliver(store, fmt, [message])
    raw = cli("read", "alice@example.org", "1", "--raw", "--store", store).raw
    assert raw.startswith(b"Return-Path: <sender@example.com>\nDelivered-To: alice@example.org\n")
    assert raw.endswith(b"\n\n" + wire_bytes(message).replace(b"\r\n", b"\n").split(b"\n\n", 1)[1])
    document = json.loads(cli("read", "alice@example.org", "1", "--json", "--store", store).out)
    assert base64.b64decode(document["raw_base64"]) == raw


def test_parts_are_saved(cli: CliRun, filled: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    result = cli(
        "read",
        "alice@example.org",
        "2",
        "--part",
        "invoice.pdf",
        "--output",
        target,
        "--store",
        filled,
    )
    assert result.status == 0, result.err
    assert target.read_bytes() == PDF
    assert result.out == f"Saved invoice.pdf of message 2 (2.0K) to {target}.\n"
    cli("read", "alice@example.org", "2", "--part", "2", "--output", target, "--store", filled)
    assert target.read_bytes() == "notes: é\n".encode()
    cli("read", "alice@example.org", "2", "--part", "html", "--output", target, "--store", filled)
    assert target.read_bytes() == b"<p>See the <b>attachments</b>.</p>\n"
    result = cli(
        "read", "alice@example.org", "3", "--part", "text", "--output", "-", "--store", filled
    )
    assert result.raw == b"News\n\nRead the news (https://example.com/news)."
    result = cli(
        "read",
        "alice@example.org",
        "2",
        "--part",
        "nope.txt",
        "--output",
        target,
        "--store",
        filled,
    )
    assert result.status == 1
    assert result.err == (
        "postier: message 2 has no part 'nope.txt' (its attachments: 'invoice.pdf', 'notés.txt')\n"
    )


@pytest.mark.parametrize(
    ("args", "error", "status"),
    [
        (
            ["alice@example.org", "9"],
            "postier: no message 9 in alice@example.org: it holds 3 messages\n",
            1,
        ),
        (
            ["nobody@example.org", "1"],
            "postier: no mailbox for nobody@example.org in the store\n",
            1,
        ),
        (
            ["nobody@example.org", "--last"],
            "postier: no mailbox for nobody@example.org in the store\n",
            1,
        ),
        (["not an address"], "postier: not an address: 'not an address'\n", 1),
        (["", "1"], "postier: not an address: ''\n", 1),
        (
            ["alice@example.org", "--raw"],
            "postier: --raw needs a message: give N, --last or an ID\n",
            2,
        ),
        (
            ["alice@example.org", "--part", "text", "--output", "x"],
            "postier: --part needs a message: give N, --last or an ID\n",
            2,
        ),
        (
            ["alice@example.org", "1", "--part", "text"],
            "postier: --part and --output go together: --part PART --output FILE\n",
            2,
        ),
    ],
)
def test_bad_input_is_one_line(
    cli: CliRun, filled: Path, args: list[str], error: str, status: int
) -> None:
    result = cli("read", *args, "--store", filled)
    assert (result.status, result.err, result.out) == (status, error, "")


def test_argument_errors_come_from_argparse(cli: CliRun, filled: Path) -> None:
    for args in (
        ["alice@example.org", "0"],
        ["alice@example.org", "x"],
        ["alice@example.org", "1", "--last"],
    ):
        result = cli("read", *args, "--store", filled)
        assert result.status == 2 and "Traceback" not in result.err


def test_addresses_are_matched_as_the_server_names_files(
    cli: CliRun, store: Path, fmt: StoreFormat
) -> None:
    odd = "Odd/Name+tag@Example.org"
    deliver(store, fmt, [plain("odd one")], [odd])
    assert mailbox_path(store, odd, fmt).name.startswith("odd%2Fname+tag@example.org")
    assert "odd%2F" not in cli("inbox", "--store", store).out
    assert "odd/name+tag@example.org" in cli("inbox", "--store", store).out
    assert "odd one" in cli("read", "odd/NAME+tag@example.ORG", "--store", store).out


def test_a_shortened_name_takes_its_address_from_the_messages(
    cli: CliRun, store: Path, fmt: StoreFormat
) -> None:
    long = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".org"
    deliver(store, fmt, [plain("long one")], [long])
    assert "~" in mailbox_path(store, long, fmt).name
    assert json.loads(cli("inbox", "--store", store, "--json").out)[0]["mailbox"] == long
    assert "long one" in cli("read", long.upper(), "--store", store).out


def test_control_characters_never_reach_the_terminal(
    cli: CliRun, store: Path, fmt: StoreFormat
) -> None:
    message = (
        b"From: evil <e@x>\r\nSubject: =?utf-8?q?bad=1B]0;title=07_ok?=\r\n\r\nbody\x1b[2J\r\n"
    )
    deliver(store, fmt, [message])
    for args in ([], ["1"]):
        out = cli("read", "alice@example.org", *args, "--store", store).out
        assert "\x1b" not in out and "\x07" not in out
        assert "ok" in out


def test_no_traceback_from_the_real_command(tmp_path: Path) -> None:
    store = tmp_path / "mail"
    store.mkdir()
    (store / "x@y.mbox").write_bytes(b"garbage\n")
    env = {**os.environ, "PYTHONPATH": SRC, "POSTIER_STORE": str(store)}
    for args in (["read", "x@y"], ["read", "x@y", "1"], ["read", "@@@"], ["read", "x@y", "--raw"]):
        done = subprocess.run(
            [sys.executable, "-m", "postier", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0
        assert done.stderr.startswith("postier: ") and done.stderr.count("\n") == 1, done.stderr


def test_a_reader_that_stops_early_is_no_error(store: Path) -> None:
    """`postier read ADDRESS | head -1`: the closed pipe ends the command quietly."""
    store.mkdir()
    messages = [f"Subject: message {n}\n\nbody\n".encode() for n in range(3000)]
    (store / "alice@example.org.mbox").write_bytes(mbox_bytes(messages))
    command = [sys.executable, "-m", "postier", "read", "alice@example.org", "--store", str(store)]
    env = {**os.environ, "PYTHONPATH": SRC}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline() == b"alice@example.org: 3000 messages, 3000 unread\n"
        child.stdout.close()
        err = child.stderr.read()
    assert (child.returncode, err) == (0, b"")


def test_a_maildir_being_made_is_empty_and_a_stray_directory_is_not_one(
    cli: CliRun, store: Path
) -> None:
    (store / "new@example.org").mkdir(parents=True)  # the server is about to add tmp/ new/ cur/
    assert cli("read", "new@example.org", "--store", store).out == "No mail for new@example.org.\n"
    (store / "odd@example.org").mkdir()
    (store / "odd@example.org" / "notes.txt").write_text("")
    result = cli("read", "odd@example.org", "--store", store)
    expected = "postier: odd@example.org is not a Maildir (no tmp/, new/ or cur/)\n"
    assert (result.status, result.err) == (1, expected)


def _stored(store: Path, fmt: StoreFormat, address: str) -> list[bytes]:
    """The messages of a mailbox as an independent reader finds them, quoting undone."""
    if fmt == "mbox":
        stored = [m.replace(b">From", b"From") for m in mbox_messages(store, address)]
        return [m.removesuffix(b"\n") if m.endswith(b"\n\n") else m for m in stored]
    return maildir_messages(store, address)


def _id(cli: CliRun, store: Path, number: int) -> str:
    rows = json.loads(cli("read", "alice@example.org", "--json", "--store", store).out)
    return str(rows[number - 1]["id"])
