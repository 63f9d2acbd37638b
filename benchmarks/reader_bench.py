"""Times `postier inbox` and `postier read ADDRESS` on a mailbox of 100 000 messages.

Builds the mailbox in a temporary directory, once as an mbox and once as a Maildir, in
the store's own format (its trace headers, `From ` lines and quoting), then runs each
command as a user would: a fresh `python -m postier` process, its output thrown away.
Prints the figures; it is not a test.

    python benchmarks/reader_bench.py [--messages 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from postier.store.envelope import Envelope  # noqa: E402
from postier.store.maildir import unique_name  # noqa: E402
from postier.store.mboxrd import from_line, mbox_transform  # noqa: E402
from postier.store.naming import mailbox_path  # noqa: E402
from postier.store.trace import trace_headers  # noqa: E402

ADDRESS = "bench@example.org"
PLACEHOLDER_DATE = "Thu, 01 Jan 1970 00:00:00 +0000"
START = datetime(2026, 1, 1, tzinfo=UTC)


def sample_messages() -> list[bytes]:
    """A mix: plain text, text with a `From ` line, HTML only, text with an attachment."""
    plain = EmailMessage()
    plain["From"] = "Sender Name <sender@example.com>"
    plain["To"] = ADDRESS
    plain["Subject"] = "Your order NUMBER has shipped"
    plain["Date"] = PLACEHOLDER_DATE
    plain["Message-ID"] = "<NUMBER@example.com>"
    plain.set_content("Hello,\n\n" + "Your parcel is on its way. " * 40 + "\n\nFrom the team\n")
    html = EmailMessage()
    html["From"] = "=?utf-8?q?J=C3=A9r=C3=B4me?= <news@example.com>"
    html["To"] = ADDRESS
    html["Subject"] = "=?utf-8?q?Nouveaut=C3=A9s_de_la_semaine?="
    html["Date"] = PLACEHOLDER_DATE
    html.set_content("<html><body>" + "<p>News item.</p>" * 60 + "</body></html>", subtype="html")
    attached = EmailMessage()
    attached["From"] = "billing@example.com"
    attached["To"] = ADDRESS
    attached["Subject"] = "Invoice NUMBER"
    attached["Date"] = PLACEHOLDER_DATE
    attached.set_content("Please find the invoice attached.\n")
    attached.add_attachment(
        os.urandom(6000), maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    messages = [plain, plain, plain, plain, plain, plain, html, html, attached, attached]
    return [message.as_bytes().replace(b"\r\n", b"\n") for message in messages]


def personalise(sample: bytes, number: int) -> bytes:
    """Each message its own number and date, as in a real mailbox (no cache helps)."""
    date = format_datetime(START + timedelta(seconds=number)).encode()
    number_text = str(number).encode()
    return sample.replace(b"NUMBER", number_text).replace(PLACEHOLDER_DATE.encode(), date)


def envelope(number: int) -> Envelope:
    return Envelope(
        sender="sender@example.com",
        recipients=(ADDRESS,),
        helo="client.example.com",
        peer_ip="192.0.2.7",
        server_name="mx.example.org",
        protocol="ESMTP",
        queue_id=f"Q{number:08d}",
        received_at=START + timedelta(seconds=number),
    )


def build_mbox(store: Path, count: int) -> int:
    samples = sample_messages()
    path = mailbox_path(store, ADDRESS, "mbox")
    with open(path, "wb") as file:
        for number in range(count):
            env = envelope(number)
            transform = mbox_transform()
            message = personalise(samples[number % len(samples)], number)
            body = transform.feed(message) + transform.finish()
            file.write(from_line(env.sender, env.received_at) + trace_headers(env, ADDRESS))
            file.write(body + (b"\n" if body.endswith(b"\n") else b"\n\n"))
    return path.stat().st_size


def build_maildir(store: Path, count: int) -> int:
    samples = sample_messages()
    maildir = mailbox_path(store, ADDRESS, "maildir")
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    total = 0
    for number in range(count):
        message = personalise(samples[number % len(samples)], number)
        data = trace_headers(envelope(number), ADDRESS) + message
        with open(maildir / "new" / unique_name("bench"), "wb") as file:
            file.write(data)
        total += len(data)
    return total


def timed(store: Path, *arguments: str, runs: int) -> float:
    """The best wall-clock time of `runs` runs of `python -m postier ARGUMENTS`."""
    env = dict(os.environ, PYTHONPATH=str(SRC), POSTIER_STORE=str(store))
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "postier", *arguments],
            env=env,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages per mailbox")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (best kept)")
    args = parser.parse_args()
    baseline = timed(Path(tempfile.gettempdir()), "--version", runs=args.runs)
    print(f"python -m postier --version (interpreter start-up): {baseline:.2f} s")
    for fmt, build in (("mbox", build_mbox), ("maildir", build_maildir)):
        with tempfile.TemporaryDirectory(prefix="postier-bench-") as tmp:
            store = Path(tmp)
            started = time.perf_counter()
            size = build(store, args.messages)
            built = time.perf_counter() - started
            mib = size / 2**20
            print(f"\n{fmt}: {args.messages} messages, {mib:.0f} MiB (built in {built:.1f} s)")
            for label, command in (
                ("inbox", ["inbox"]),
                ("inbox --json", ["inbox", "--json"]),
                ("read ADDRESS (the table)", ["read", ADDRESS]),
                ("read ADDRESS --last", ["read", ADDRESS, "--last"]),
                ("read ADDRESS N (middle)", ["read", ADDRESS, str(args.messages // 2)]),
            ):
                print(f"  {label:<28} {timed(store, *command, runs=args.runs):6.2f} s")


if __name__ == "__main__":
    main()
