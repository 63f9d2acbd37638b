"""Times `extract` (the index's record of a message) against the full view (`view`, the
email package) on three messages: a plain 1 KiB text, a 6 KiB multipart/alternative (text
and HTML), and a 200 KiB text with a PDF attached.

Each message is filed as the store files it (trace headers first) and given its own
number in the subject and Message-ID, so that the caches help no more than in a real
mailbox. Prints messages per second for each; it is not a test.

    python benchmarks/extract_bench.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from postier.store.read.extract import extract  # noqa: E402
from postier.store.read.message import view  # noqa: E402
from postier.store.read.scan import StoredMessage  # noqa: E402

TRACE = (
    b"Return-Path: <sender@example.com>\n"
    b"Delivered-To: alice@example.org\n"
    b"Received: from client.example.com (client.example.com [192.0.2.7])\n"
    b"\tby mx.example.org (postier) with ESMTP id Q00000001\n"
    b"\tfor <alice@example.org>; Fri, 27 Nov 2026 03:23:09 +0100\n"
)
WORDS = "Your parcel left our warehouse this morning and is on its way to you. "
PARAGRAPH = (
    "<p>Your parcel left our <b>warehouse</b> this morning; follow it on "
    "<a href='https://example.com/track/NUMBER'>the tracking page</a>.</p>\n"
)


def _headed(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Example Shop <shop@example.com>"
    message["To"] = "Alice Martin <alice@example.org>"
    message["Subject"] = subject
    message["Date"] = "Fri, 27 Nov 2026 03:23:09 +0100"
    message["Message-ID"] = "<NUMBER.shipping@example.com>"
    return message


def samples() -> dict[str, bytes]:
    plain = _headed("Your order NUMBER has shipped")
    plain.set_content("Hello Alice,\n\n" + WORDS * 10 + "\n\nThe Example Shop team\n")
    alternative = _headed("Nouveautés de la semaine, NUMBER")
    alternative.set_content("Hello Alice,\n\n" + WORDS * 36 + "\n")
    alternative.add_alternative(
        "<html><body><h1>Hello Alice</h1>\n" + PARAGRAPH * 18 + "</body></html>\n", subtype="html"
    )
    attached = _headed("Invoice NUMBER")
    attached.set_content("Please find the invoice attached.\n\n" + WORDS * 4 + "\n")
    attached.add_attachment(
        os.urandom(150_000), maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    return {
        name: TRACE + message.as_bytes()
        for name, message in [
            ("plain 1 KiB", plain),
            ("alternative 6 KiB", alternative),
            ("attachment 200 KiB", attached),
        ]
    }


def rate(work: Callable[[bytes], object], sample: bytes, seconds: float) -> float:
    """Messages per second over about `seconds`, each a new number."""
    copies = [sample.replace(b"NUMBER", str(number).encode()) for number in range(1000)]
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for raw in copies[:100]:
            work(raw)
        done += 100
        copies = copies[100:] + copies[:100]
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent on each figure")
    seconds = parser.parse_args().seconds
    print(f"{'message':<20} {'size':>8} {'extract msg/s':>14} {'view msg/s':>11}")
    for name, sample in samples().items():
        fast = rate(extract, sample, seconds)
        slow = rate(lambda raw: view(1, StoredMessage(raw, quoted=False)), sample, seconds)
        print(f"{name:<20} {len(sample):>8} {fast:>14,.0f} {slow:>11,.0f}")


if __name__ == "__main__":
    main()
