"""The index's record agrees with the full view (the email package) on messages that the
email package itself writes.

Where they may differ, and why:
- `sender` is `From:` decoded as written, as the mailbox list shows it (`summary`); the view
  prints the parsed mailbox, which quotes a display name holding a special character
  (`"Doe, Jo" <jo@example.org>`). So a name with one agrees once those quotes are added.
- `to`/`cc` give "Name <address>"; the view gives the addresses alone: the addresses agree.
- `text` leaves out an HTML alternative when a text/plain one with text in it stands beside
  it (RFC 2046 §5.1.4); the view keeps the HTML apart. Bodies are joined by one LF. The
  view keeps the first HTML body only, extract every one (so `build` writes one at most).
- The snippet prefers the HTML when the text/plain bodies are only whitespace.
Headers are written without folding: CPython's folder can turn the comma between two
addresses into an encoded word (`=?utf-8?q?=2C?=`), which neither reader takes for a comma.
"""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from postier.store.read.extract import SNIPPET_LENGTH, extract
from postier.store.read.html2text import html_to_text
from postier.store.read.message import view
from postier.store.read.scan import StoredMessage

UNFOLDED = policy.default.clone(max_line_length=None)
INLINE_HTML = "<p>PS: inline</p>"
SPECIALS = set('()<>@,:;."[]\\')

text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
body_text = st.text(
    st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=400,
)
local = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
addresses = st.builds(
    lambda name, user: Address(name, addr_spec=f"{user}@example.org"), text, local
)
encodings = st.sampled_from(["quoted-printable", "base64", "8bit"])
html = st.lists(
    st.one_of(
        st.sampled_from(["<p>", "</p>", "<b>", "</b>", "<br>", "<ul><li>item</li></ul>", "<hr>"]),
        text.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
        st.just('<a href="https://example.com/x">link</a>'),
    ),
    max_size=12,
).map(lambda pieces: "<html><body>" + "".join(pieces) + "</body></html>")
attachments = st.lists(
    st.sampled_from(["pdf", "text", "image", "inline-html", "message"]), max_size=3, unique=True
)
"""At most one inline HTML part: the view keeps only the first HTML body."""


def shown(address: Address) -> str:
    """The view's `sender` for a mailbox, from extract's: quotes added where needed."""
    name = address.display_name
    if not name.split():
        return address.addr_spec
    if not SPECIALS.isdisjoint(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(f"{name} <{address.addr_spec}>".split())


def loose(sender: str) -> str:
    """A sender without its quotes and with its white space collapsed: a name written as
    encoded words (non-ASCII) is shown decoded, unquoted (`extract`), while the email
    package, writing it, may already have dropped a space at its end (`"\u2003[ "` is
    written `=?utf-8?q?=E2=80=83=5B?=`), and quotes it when parsed."""
    return " ".join(sender.replace('"', " ").split())


def build(
    *,
    subject: str,
    sender: Address,
    to: list[Address],
    cc: list[Address],
    plain: str | None,
    markup: str | None,
    cte: str,
    extra: list[str],
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["Subject"] = subject
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    if plain is not None:
        message.set_content(plain, cte=cte)
        if markup is not None:
            message.add_alternative(markup, subtype="html", cte=cte)
    elif markup is not None:
        message.set_content(markup, subtype="html", cte=cte)
    for kind in extra:
        if kind == "pdf":
            message.add_attachment(
                b"%PDF-1.4\n\x00\xff", maintype="application", subtype="pdf", filename="a.pdf"
            )
        elif kind == "text":
            message.add_attachment("notes: é\n", filename="notés.txt")
        elif kind == "image":
            message.add_attachment(
                b"\x89PNG", maintype="image", subtype="png", disposition="inline"
            )
        elif kind == "inline-html":
            message.add_attachment(INLINE_HTML, subtype="html", disposition="inline")
        else:
            inner = EmailMessage()
            inner["Subject"] = "forwarded"
            inner.set_content("inner text that is no body\n")
            message.add_attachment(inner)
    return message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    subject="",
    sender=Address("\xa0[\xa0", addr_spec="a@example.org"),
    to=[],
    cc=[],
    plain=None,
    markup=None,
    cte="8bit",
    extra=[],
)
@example(
    subject="",
    sender=Address("\u2003[ ", addr_spec="a@example.org"),
    to=[],
    cc=[],
    plain="x",
    markup=None,
    cte="8bit",
    extra=[],
)
@given(
    subject=text,
    sender=addresses,
    to=st.lists(addresses, max_size=3),
    cc=st.lists(addresses, max_size=2),
    plain=st.none() | body_text,
    markup=st.none() | html,
    cte=encodings,
    extra=attachments,
)
def test_extract_agrees_with_the_full_view(
    *,
    subject: str,
    sender: Address,
    to: list[Address],
    cc: list[Address],
    plain: str | None,
    markup: str | None,
    cte: str,
    extra: list[str],
) -> None:
    message = build(
        subject=subject,
        sender=sender,
        to=to,
        cc=cc,
        plain=plain,
        markup=markup,
        cte=cte,
        extra=extra,
    )
    raw = message.as_bytes(policy=UNFOLDED)
    record = extract(raw)
    full = view(1, StoredMessage(raw, quoted=False))

    assert (
        record.sender == full.sender
        or shown(sender) == full.sender
        or (not sender.display_name.isascii() and loose(record.sender) == loose(full.sender))
    ), (record.sender, full.sender)
    assert record.from_address == full.from_address
    assert [entry.rpartition("<")[2].rstrip(">") for entry in record.to] == full.to
    assert [entry.rpartition("<")[2].rstrip(">") for entry in record.cc] == full.cc
    assert record.subject == full.subject
    assert record.attachments == len(full.attachments)

    # The view's bodies, in the order `build` writes them; the view keeps the first HTML.
    rendered = html_to_text(full.html) if full.html is not None else None
    pieces = [full.plain] if full.plain is not None else []
    if markup is not None and not (plain is not None and plain.strip()):
        pieces.append(html_to_text(markup))  # beside a text/plain alternative: left out
    if "inline-html" in extra:
        pieces.append(html_to_text(INLINE_HTML))
    if markup is not None:  # the HTML expected is the view's own
        assert rendered == html_to_text(markup)
    assert record.text == "\n".join(pieces)

    shown_text = full.plain if full.plain is not None and full.plain.strip() else rendered
    expected = " ".join((shown_text or "").split())[:SNIPPET_LENGTH].rstrip()
    assert record.snippet == expected
